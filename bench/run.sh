#!/usr/bin/env bash
# Latchkey (SQLite and PostgreSQL) vs a @simplewebauthn/server peer, side by
# side under identical load. Builds both binaries in release mode, then hands
# over to bench/lib/run.py; every flag is passed through (see bench/README.md,
# or `bench/run.sh --help`). Quick run (~2 min): bench/run.sh --quick
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BENCH_NO_BUILD:-}" ]; then
  cargo build --release -p latchkey -p latchkey-bench
fi
exec python3 bench/lib/run.py "$@"
