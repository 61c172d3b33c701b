#!/usr/bin/env python3
"""What held up the slowest ceremonies of one load-generator run.

Inputs: the run's `--latency-log` CSV, its load generator log (for the
`MEASURE start monotonic=` line) and a scheduler trace of the same run,
taken on both CPUs on the same clock (the server on CPU 0 and the load
generator on CPU 1, as `bench/run.sh` pins them):

    perf record -k CLOCK_MONOTONIC -e sched:sched_switch -a -o sched.data -- sleep 12
    perf script -i sched.data -F cpu,pid,tid,time,event,trace > sched.txt
    python3 bench/lib/stalls.py latency.csv loadgen.log sched.txt

Ceremonies at or above the p99 that ended within 5 ms of each other form a
cluster; a cluster of 8 or more is a stall (many ceremonies held up at
once) rather than queueing. For each stall inside the trace, it prints what
ran on each CPU meanwhile, and a cause: `checkpointer` (Latchkey's
`latchkey-ckpt` thread ran >= 3 ms), `machine` (processes other than the
server, the load generator and perf ran >= 3 ms; told apart by process, as
other programs' threads may share names with ours, such as tokio's
`tokio-rt-worker`), `io-wait` (the server's
CPU idled >= 3 ms while requests waited: a thread blocked in the kernel,
such as the writer's fsyncs when it rewinds the WAL), or `other`. Such a
trace keeps few of the idle task's own switches: where a switch is missing,
who ran is shown as `unknown` and counts for no cause.
"""
import collections
import re
import sys

SERVER_THREADS = ("latchkey-writer", "latchkey-ckpt")
UNKNOWN = "unknown"
SWITCH = re.compile(
    r"\s*(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:sched_switch: "
    r"prev_comm=(.+?) prev_pid=\d+ .*next_comm=(.+?) next_pid=(\d+)")


def load(csv_path, log_path, trace_path):
    """The ceremonies, and per CPU who ran when: [(from_ms, to_ms, process, "comm/tid")]."""
    rows = [tuple(map(float, line.split(","))) for line in open(csv_path).read().split("\n")[1:] if line]
    if not rows:
        sys.exit(f"{csv_path}: no ceremonies")
    m = re.search(r"MEASURE start monotonic=([\d.]+) pid=(\d+)", open(log_path).read())
    if not m:
        sys.exit(f"{log_path}: no 'MEASURE start monotonic=… pid=…' line")
    start, loadgen = float(m.group(1)), m.group(2)
    runs, server, last = collections.defaultdict(list), set(), {}
    for line in open(trace_path):
        m = SWITCH.match(line)
        if not m:
            continue
        process, tid, cpu, comm = m.group(1), m.group(2), int(m.group(3)), m.group(5)
        t = (float(m.group(4)) - start) * 1000
        if cpu in last:
            since, came = last[cpu]
            # The task the last switch brought in ran until this one, unless
            # a switch between them is missing from the trace (perf keeps few
            # of the idle task's): then who ran when is unknown.
            who = f"{comm}/{tid}" if came == tid else UNKNOWN
            runs[cpu].append((since, t, process if came == tid else None, who))
        last[cpu] = (t, m.group(7))
        if comm in SERVER_THREADS:
            server.add(process)
    # The idle task is ours too: an idle CPU is what io-wait looks for.
    return rows, runs, server | {loadgen, "0"}


def clusters(rows):
    latencies = sorted(r[1] for r in rows)
    p99 = latencies[int(0.99 * len(latencies))]
    found, current = [], []
    for end, latency in sorted(r for r in rows if r[1] >= p99):
        if current and end - current[-1][0] > 5:
            found.append(current)
            current = []
        current.append((end, latency))
    return p99, found + [current]


def occupancy(runs, a, b, ours):
    """Who ran between a and b (ms), and how long the others (not the
    server, the load generator, the idle task or perf) ran."""
    taken, others = collections.Counter(), 0.0
    for x, y, process, who in runs:
        overlap = min(b, y) - max(a, x)
        if overlap > 0:
            taken[who] += overlap
            if process is not None and process not in ours and not who.startswith("perf/"):
                others += overlap
    return taken, others


def cause(cpu0, cpu1, machine):
    ckpt = sum(v for k, v in cpu0.items() if k.startswith("latchkey-ckpt"))
    idle = sum(v for k, v in cpu0.items() if k.startswith("swapper"))
    if ckpt >= 3:
        return "checkpointer" if machine < 3 else "checkpointer+machine"
    if machine >= 3:
        return "machine"
    return "io-wait" if idle >= 3 else "other"


def main():
    rows, runs, ours = load(*sys.argv[1:4])
    p99, found = clusters(rows)
    lo = max(min(r[0] for r in runs[c]) for c in runs)
    hi = min(max(r[1] for r in runs[c]) for c in runs)
    causes = collections.Counter()
    slow_in_trace = sum(len([x for x in c if lo <= x[0] <= hi]) for c in found)
    print(f"p99 {p99:.2f} ms; trace covers {lo:.0f}-{hi:.0f} ms of the measured window")
    for c in found:
        a, b = min(e - l for e, l in c), max(e for e, _ in c)
        if len(c) < 8 or a < lo or b > hi:
            continue
        # Where the cluster's ceremonies overlap: the stall itself.
        s, f = max(e - l for e, l in c), min(e for e, _ in c)
        s, f = min(s, f) - 5, max(s, f)
        (cpu0, others0), (cpu1, others1) = occupancy(runs[0], s, f, ours), occupancy(runs[1], s, f, ours)
        why = cause(cpu0, cpu1, others0 + others1)
        causes[why] += len(c)
        top = lambda o: ", ".join(f"{k} {v:.1f}" for k, v in o.most_common(4) if v >= 0.5)
        print(f"{len(c):3d} slow at {s:8.1f}-{f:8.1f} ms  {why:21s} CPU0: {top(cpu0)} | CPU1: {top(cpu1)}")
    print(f"slow ceremonies in the trace: {slow_in_trace}; in stalls, by cause: {dict(causes)}")


if __name__ == "__main__":
    main()
