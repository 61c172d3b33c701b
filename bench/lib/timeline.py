#!/usr/bin/env python3
"""What the SQLite threads were doing while the slowest ceremonies ran.

Inputs: one load-generator run's `--latency-log` CSV, its load generator
log (the `MEASURE start monotonic=` line; the last one, or the N-th with
`--measure N`) and the server's log with the `latchkey::timeline` trace
events (writer batches of 1 ms or more, every checkpointer pass), e.g.:

    LATCHKEY_LOG=warn,latchkey::timeline=trace BENCH_NO_BUILD=1 \\
      python3 bench/lib/run.py --targets sqlite --scenarios auth-username \\
      --duration 20s --reps 1 --latency-logs --out-dir /tmp/tl
    python3 bench/lib/timeline.py /tmp/tl/sqlite/latency-auth-username-1.csv \\
      /tmp/tl/sqlite/loadgen.log /tmp/tl/sqlite/server.log

Each event is an interval on CLOCK_MONOTONIC: `rewind` (the writer
finishing a checkpoint itself so the WAL starts again: two fsyncs with
every write waiting), `slow-batch` (a writer batch of 2.5 ms or more),
`big-batch` (1-2.5 ms: a batch of ~32 jobs after a pause),
`rewind-pass` / `pass` (checkpointer passes before a rewind, and the
others). A ceremony counts for the first kind, in that order, whose
interval overlaps its own (start = end - latency). Printed: how many
ceremonies at or above the p99, between the p95 and the p99, and below the
p95 overlapped each kind, and the share of the window each kind covered.
A kind that covers much time but few slow ceremonies is background; one
whose ceremonies are mostly slow is a stall.
"""
import argparse
import collections
import re

KINDS = ("rewind", "slow-batch", "rewind-pass", "pass", "big-batch")
FIELD = re.compile(r"(\w+)=(\S+)")


def measure_start_us(log_path, nth):
    starts = [float(m.group(1)) * 1e6 for m in
              (re.search(r"MEASURE start monotonic=([\d.]+)", line) for line in open(log_path)) if m]
    if not starts:
        raise SystemExit(f"no MEASURE start line in {log_path}")
    return starts[nth - 1] if nth else starts[-1]


def ceremonies(csv_path, start_us):
    """(start_us, end_us, latency_ms) per measured ceremony."""
    out = []
    for line in open(csv_path).read().split("\n")[1:]:
        if line:
            end_ms, latency_ms = map(float, line.split(","))
            end = start_us + end_ms * 1000
            out.append((end - latency_ms * 1000, end, latency_ms))
    return out


def events(server_log):
    """(kind, from_us, to_us) from the server's timeline trace."""
    out = []
    for line in open(server_log):
        if "latchkey::timeline" not in line:
            continue
        f = dict(FIELD.findall(line))
        start = int(f["start_us"])
        if "writer batch" in line:
            batch, after = int(f["batch_us"]), int(f["after_us"])
            if after >= 1000:
                out.append(("rewind", start + batch, start + batch + after))
            if batch >= 2500:
                out.append(("slow-batch", start, start + batch))
            elif batch >= 1000:
                out.append(("big-batch", start, start + batch))
        elif "checkpoint pass" in line:
            kind = "rewind-pass" if f["rewind"] == "true" else "pass"
            out.append((kind, start, start + int(f["pass_us"])))
    return out


def kind_of(start, end, evs):
    hit = {k for k, a, b in evs if a < end and b > start}
    return next((k for k in KINDS if k in hit), "none")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("latency_csv")
    p.add_argument("loadgen_log")
    p.add_argument("server_log")
    p.add_argument("--measure", type=int, default=0, help="use the N-th MEASURE start line (default: the last)")
    a = p.parse_args()
    cer = ceremonies(a.latency_csv, measure_start_us(a.loadgen_log, a.measure))
    evs = events(a.server_log)
    if not cer:
        raise SystemExit("no ceremonies in the latency log")
    lat = sorted(x for _, _, x in cer)
    p95, p99 = lat[int(len(lat) * 0.95)], lat[int(len(lat) * 0.99)]
    bands = {"≥ p99": collections.Counter(), "p95–p99": collections.Counter(), "< p95": collections.Counter()}
    for s, e, x in cer:
        band = "≥ p99" if x >= p99 else "p95–p99" if x >= p95 else "< p95"
        bands[band][kind_of(s, e, evs)] += 1
    window_us = max(e for _, e, _ in cer) - min(s for s, _, _ in cer)
    print(f"{len(cer)} ceremonies, p95 {p95:.2f} ms, p99 {p99:.2f} ms; {len(evs)} timeline events")
    print(f"{'kind':<12} {'≥ p99':>7} {'p95–p99':>8} {'< p95':>8} {'events':>7} {'time %':>7}")
    for k in KINDS + ("none",):
        counts = f"{k:<12} {bands['≥ p99'][k]:>7} {bands['p95–p99'][k]:>8} {bands['< p95'][k]:>8}"
        if k == "none":
            print(counts)
            continue
        n = sum(1 for kk, _, _ in evs if kk == k)
        share = sum(b - a for kk, a, b in evs if kk == k) / window_us * 100
        print(f"{counts} {n:>7} {share:>7.1f}")


if __name__ == "__main__":
    main()
