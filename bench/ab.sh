#!/usr/bin/env bash
# Compares two Latchkey builds on SQLite (AB_TARGET=postgres: on
# PostgreSQL) by alternating them: A, B, B, A, A, B, …
# (this VM's speed drifts by ±10 % between runs of one binary, so two
# binaries measured one after the other can't be compared; alternated,
# the drift hits both alike). Each turn is one bench/run.sh of REPS x
# DURATION; prints each turn's medians (run.py's), each binary's median
# over its turns, then each round's B/A ratios: their median, range and
# in how many rounds B did better (bench/lib/paired.py).
#
#   bench/ab.sh A_BINARY B_BINARY [rounds]     (default 2 rounds)
#   AB_SCENARIO=register AB_USERS=64 AB_DURATION=6s AB_REPS=3 bench/ab.sh …
#   AB_TARGET=postgres bench/ab.sh …
#
# Build the two first, e.g. `git stash -u; cargo build --release -p latchkey;
# cp target/release/latchkey /tmp/latchkey.a; git stash pop; cargo build …`
# (-u: without it a new, untracked migration file stays in the tree, and
# sqlx embeds the whole folder in A too), or check out the base commit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,18p "$0"; exit 2; }
a=$(realpath "$1"); b=$(realpath "$2"); rounds=${3:-2}
[ -x target/release/latchkey-bench ] || cargo build --release -p latchkey-bench
out=$(mktemp -d)
for r in $(seq 1 "$rounds"); do
  # A B, then B A: whatever a turn's place in its round costs falls on both.
  order="A B"; [ $((r % 2)) -eq 0 ] && order="B A"
  for side in $order; do
    bin=$a; [ "$side" = B ] && bin=$b
    BENCH_LATCHKEY=$bin BENCH_NO_BUILD=1 LATCHKEY_LOG=warn python3 bench/lib/run.py \
      --targets "${AB_TARGET:-sqlite}" --scenarios "${AB_SCENARIO:-auth-username}" \
      --duration "${AB_DURATION:-6s}" --warmup 1s --reps "${AB_REPS:-3}" \
      --users "${AB_USERS:-200}" --out-dir "$out/$side.$r" > "$out/$side.$r.log" 2>&1 \
      || { cat "$out/$side.$r.log"; exit 1; }
  done
done
# run.py's own medians over each turn's records, then the median of the turns.
python3 - "$out" "$rounds" <<'PY'
import json, os, statistics, sys
sys.path.insert(0, os.path.join("bench", "lib"))
from run import medians
import paired
out, rounds = sys.argv[1], int(sys.argv[2])
turns = {"A": [], "B": []}
for r in range(1, rounds + 1):
    for side in "AB":
        records = [json.loads(l) for l in open(os.path.join(out, f"{side}.{r}", "runs.jsonl"))]
        (m,) = medians(records).values()
        turns[side].append(m)
        db = f", database {m['dbcpu']:.1f} µs" if m.get("dbcpu") is not None else ""
        print(f"round {r} {side}: {m['rate']:.0f}/s, {m['cpu']:.1f} µs per ceremony{db}, p99 {m['p99']:.1f} ms")
for side, ms in turns.items():
    db = [m["dbcpu"] for m in ms if m.get("dbcpu") is not None]
    db = f", database {statistics.median(db):.1f} µs" if db else ""
    print(f"{side}: median {statistics.median(m['rate'] for m in ms):.0f}/s, "
          f"{statistics.median(m['cpu'] for m in ms):.1f} µs per ceremony{db}, "
          f"p99 {statistics.median(m['p99'] for m in ms):.1f} ms over {len(ms)} turns")
# Round by round, where the VM's drift between turns hurts least.
print("\n".join(paired.lines(turns["A"], turns["B"])))
PY
