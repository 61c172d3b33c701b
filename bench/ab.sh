#!/usr/bin/env bash
# Compares two Latchkey builds on SQLite by alternating them: A, B, A, B, …
# (this VM's speed drifts by ±10 % between runs of one binary, so two
# binaries measured one after the other can't be compared; alternated,
# the drift hits both alike). Each turn is one bench/run.sh of REPS x
# DURATION; prints each turn's medians, then each binary's median of them.
#
#   bench/ab.sh A_BINARY B_BINARY [rounds]     (default 2 rounds)
#   AB_SCENARIO=register AB_USERS=64 AB_DURATION=6s AB_REPS=3 bench/ab.sh …
#
# Build the two first, e.g. `git stash; cargo build --release -p latchkey;
# cp target/release/latchkey /tmp/latchkey.a; git stash pop; cargo build …`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,12p "$0"; exit 2; }
a=$(realpath "$1"); b=$(realpath "$2"); rounds=${3:-2}
[ -x target/release/latchkey-bench ] || cargo build --release -p latchkey-bench
out=$(mktemp -d)
for r in $(seq 1 "$rounds"); do
  for side in A B; do
    bin=$a; [ "$side" = B ] && bin=$b
    BENCH_LATCHKEY=$bin BENCH_NO_BUILD=1 LATCHKEY_LOG=warn python3 bench/lib/run.py \
      --targets sqlite --scenarios "${AB_SCENARIO:-auth-username}" \
      --duration "${AB_DURATION:-6s}" --warmup 1s --reps "${AB_REPS:-3}" \
      --users "${AB_USERS:-200}" > "$out/$side.$r.log" 2>&1 \
      || { cat "$out/$side.$r.log"; exit 1; }
    python3 - "$out/$side.$r.log" "$side" "$r" >> "$out/turns" <<'PY'
import re, statistics, sys
rates, cpus = [], []
for line in open(sys.argv[1]):
    m = re.search(r"([\d.]+)/s\s+p99\s+[\d.]+ ms\s+cpu\s+([\d.]+)", line)
    if m and " rep " in line:
        rates.append(float(m[1])); cpus.append(float(m[2]))
print(sys.argv[2], sys.argv[3], statistics.median(rates), statistics.median(cpus))
PY
    tail -1 "$out/turns" | awk '{printf "round %s %s: %.0f/s, %.1f µs per ceremony\n", $2, $1, $3, $4}'
  done
done
python3 - "$out/turns" <<'PY'
import statistics, sys
turns = [l.split() for l in open(sys.argv[1])]
for side in "AB":
    mine = [t for t in turns if t[0] == side]
    print(f"{side}: median {statistics.median(float(t[2]) for t in mine):.0f}/s, "
          f"{statistics.median(float(t[3]) for t in mine):.1f} µs per ceremony over {len(mine)} turns")
PY
