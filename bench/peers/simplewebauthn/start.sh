#!/usr/bin/env bash
# Starts the @simplewebauthn/server peer on PORT (default 8090), installing its
# pinned dependencies first when node_modules is missing (npm ci: exactly the
# versions in package-lock.json). Runs in the foreground: `exec` keeps the PID
# the caller sees equal to node's, so bench/run.sh can sample its CPU and RSS.
set -euo pipefail
cd "$(dirname "$0")"
PORT="${1:-${PORT:-8090}}"
if [ ! -d node_modules/@simplewebauthn/server ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
exec node server.js "$PORT"
