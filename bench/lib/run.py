"""bench/run.sh's driver: runs every scenario against every target under
identical load, alternating targets (their order rotates each repetition so
none always runs first or last), and prints the medians side by side with the
ratio Latchkey/peer. Raw per-run figures go to bench/out/<stamp>/runs.jsonl.

Server CPU per ceremony is the server's utime+stime between the load
generator's `MEASURE start` and `MEASURE end` markers divided by the
ceremonies it completed in that window: the fair figure on a small box, as it
doesn't depend on how much CPU the load generator leaves over. On PostgreSQL
the database's own CPU in the same window (every process of the local
cluster) is recorded too: on one machine it is what limits that target.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
import table  # noqa: E402
from targets import render as render_targets  # noqa: E402

LOADGEN = os.path.join(servers.ROOT, "target", "release", "latchkey-bench")
ALL_SCENARIOS = ["auth-username", "auth-usernameless", "register", "mix"]
ALL_TARGETS = ["sqlite", "postgres", "peer"]


def env(name, default):
    return os.environ.get(f"BENCH_{name}", default)


def parse_args():
    p = argparse.ArgumentParser(description="Latchkey vs @simplewebauthn/server, side by side.")
    p.add_argument("--quick", action="store_true", help="5s runs, 1s warmup, 1 repetition, 64 users (~2 min)")
    p.add_argument("--duration", default=env("DURATION", "20s"))
    p.add_argument("--warmup", default=env("WARMUP", "3s"))
    p.add_argument("--concurrency", type=int, default=int(env("CONCURRENCY", "32")))
    p.add_argument("--users", type=int, default=int(env("USERS", "200")))
    p.add_argument("--reps", type=int, default=int(env("REPS", "3")))
    p.add_argument("--scenarios", default=env("SCENARIOS", ",".join(ALL_SCENARIOS)))
    p.add_argument("--targets", default=env("TARGETS", ",".join(ALL_TARGETS)))
    p.add_argument("--alg", default=env("ALG", "es256"), choices=["es256", "eddsa"])
    p.add_argument("--attestation", default=env("ATTESTATION", "none"), choices=["none", "packed"])
    p.add_argument("--abandoned", type=int, default=int(env("ABANDONED", "0")),
                   help="challenges each run starts and never completes before it measures "
                        "(sealed into their ids: they store nothing)")
    p.add_argument("--server-cpu", default=env("SERVER_CPU", "0"))
    p.add_argument("--client-cpu", default=env("CLIENT_CPU", "1"))
    p.add_argument("--base-port", type=int, default=int(env("BASE_PORT", "18080")))
    p.add_argument("--out-dir", default=None,
                   help="where runs.jsonl and the logs go (default bench/out/<stamp>)")
    p.add_argument("--latency-logs", action="store_true",
                   help="also write each run's ceremonies (end_ms,latency_ms) to "
                        "<out-dir>/<target>/latency-<scenario>-<n>.csv")
    p.add_argument("--pg-url", default=env("PG_URL", "postgres://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server URL without a database; a fresh database is made per run")
    a = p.parse_args()
    if a.quick:
        a.duration, a.warmup, a.reps, a.users = "5s", "1s", 1, min(a.users, 64)
    a.scenarios = [s for s in a.scenarios.split(",") if s]
    a.targets = [t for t in a.targets.split(",") if t]
    return a


def make_targets(a, out_dir):
    made = {}
    for i, name in enumerate(a.targets):
        port = a.base_port + i
        if name == "sqlite":
            made[name] = servers.LatchkeySqlite(port, out_dir, a.server_cpu)
        elif name == "postgres":
            made[name] = servers.LatchkeyPostgres(port, out_dir, a.server_cpu, a.pg_url)
        elif name == "peer":
            made[name] = servers.Peer(port, out_dir, a.server_cpu)
        else:
            sys.exit(f"unknown target {name!r}: use {', '.join(ALL_TARGETS)}")
    return made


def run_once(a, server, scenario, enrol):
    """One load-generator run against a started server; returns its record."""
    cmd = ["taskset", "-c", str(a.client_cpu), LOADGEN,
           "--target", f"http://127.0.0.1:{server.port}", "--origin", server.origin,
           "--org", server.org, "--scenario", scenario, "--concurrency", str(a.concurrency),
           "--users", str(a.users), "--duration", a.duration, "--warmup", a.warmup,
           "--alg", a.alg, "--attestation", a.attestation, "--label", server.name,
           "--abandoned", str(a.abandoned)]
    if a.latency_logs:
        runs = len([f for f in os.listdir(server.dir) if f.startswith(f"latency-{scenario}-")])
        cmd += ["--latency-log", os.path.join(server.dir, f"latency-{scenario}-{runs + 1}.csv")]
    if enrol and server.enrol_token:
        # One argument: a base64url token may start with '-'.
        cmd += [f"--enrol-token={server.enrol_token}"]
    pid = server.proc.pid
    cpu_start = cpu_end = db_start = db_end = gen_start = gen_end = None
    result = None
    log = open(os.path.join(server.dir, "loadgen.log"), "a")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
    for line in proc.stdout:
        log.write(line)
        if line.startswith("MEASURE start"):
            cpu_start = servers.cpu_seconds(pid)
            db_start = server.database_cpu()
            gen_start = servers.cpu_seconds(proc.pid)
        elif line.startswith("MEASURE end"):
            cpu_end = servers.cpu_seconds(pid)
            db_end = server.database_cpu()
            gen_end = servers.cpu_seconds(proc.pid)
        elif line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
    proc.wait()
    log.close()
    if proc.returncode != 0 or result is None or cpu_start is None or cpu_end is None:
        print(f"  {server.name}/{scenario}: load generator failed (exit {proc.returncode}); see {server.dir}/loadgen.log",
              file=sys.stderr)
        return None
    done = max(result["ceremonies"], 1)
    result["serverCpuUsPerCeremony"] = round((cpu_end - cpu_start) * 1e6 / done, 1)
    result["serverCpuSeconds"] = round(cpu_end - cpu_start, 3)
    result["peakRssKiB"] = servers.peak_rss_kib(pid)
    # The load generator's own CPU: near its core's limit, its queueing
    # shows in the latencies it measures (more so for the faster server).
    result["loadgenCpuUsPerCeremony"] = round((gen_end - gen_start) * 1e6 / done, 1)
    if db_start is not None and db_end is not None:
        result["databaseCpuUsPerCeremony"] = round(servers.cpu_between(db_start, db_end) * 1e6 / done, 1)
    return result


def medians(records):
    """(target, scenario) → median of each figure over the repetitions."""
    grouped = {}
    for r in records:
        grouped.setdefault((r["label"], r["scenario"]), []).append(r)
    out = {}
    for key, rs in grouped.items():
        out[key] = {
            "rate": statistics.median(r["ceremoniesPerSec"] for r in rs),
            "p99": statistics.median(r["latencyMs"]["p99"] for r in rs),
            "cpu": statistics.median(r["serverCpuUsPerCeremony"] for r in rs),
            "dbcpu": (statistics.median(r["databaseCpuUsPerCeremony"] for r in rs)
                      if all("databaseCpuUsPerCeremony" in r for r in rs) else None),
            "rss": max(r["peakRssKiB"] for r in rs),
            "gencpu": (statistics.median(r["loadgenCpuUsPerCeremony"] for r in rs)
                       if all("loadgenCpuUsPerCeremony" in r for r in rs) else None),
            "errors": sum(r["errors"] for r in rs),
            "n": len(rs),
        }
    return out


def main():
    a = parse_args()
    out_dir = a.out_dir or os.path.join(servers.ROOT, "bench", "out", time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out_dir, exist_ok=True)
    print(f"bench: {a.reps} x {a.scenarios} x {a.targets}; {a.duration} measured after {a.warmup} warmup, "
          f"concurrency {a.concurrency}, {a.users} users, {a.alg}/{a.attestation}; "
          f"server on CPU {a.server_cpu}, load generator on CPU {a.client_cpu}; output {out_dir}")
    targets = make_targets(a, out_dir)
    records, started = [], []
    try:
        for t in targets.values():
            t.prepare()
            t.start()
            started.append(t)
            print(f"  {t.name}: ready in {t.startup_ms:.1f} ms (pid {t.proc.pid}, org {t.org})")
        enrolled = set()
        runs = open(os.path.join(out_dir, "runs.jsonl"), "a")
        names = list(targets)
        for rep in range(a.reps):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for scenario in a.scenarios:
                for name in order:
                    r = run_once(a, targets[name], scenario, name not in enrolled)
                    enrolled.add(name)
                    if r is None:
                        continue
                    r["rep"] = rep + 1
                    records.append(r)
                    runs.write(json.dumps(r) + "\n")
                    runs.flush()
                    print(f"  rep {rep + 1} {scenario:<18} {name:<9} {r['ceremoniesPerSec']:>9.1f}/s  "
                          f"p99 {r['latencyMs']['p99']:>7.2f} ms  cpu {r['serverCpuUsPerCeremony']:>7.1f} µs  "
                          + (f"db cpu {r['databaseCpuUsPerCeremony']:>7.1f} µs  "
                             if "databaseCpuUsPerCeremony" in r else "")
                          + f"errors {r['errors']}")
    finally:
        for t in started:
            t.stop()
        for t in targets.values():
            try:
                t.cleanup()
            except Exception as e:  # cleanup must not hide the results
                print(f"  cleanup of {t.name} failed: {e}", file=sys.stderr)
    startup = {t.name: t.startup_ms for t in targets.values()}
    med = medians(records)
    text = table.render(med, a.scenarios, list(targets), startup, records)
    verdicts = render_targets(med, a.scenarios, startup, a.concurrency)
    if verdicts:
        text += "\n\n" + verdicts
    print(text)
    with open(os.path.join(out_dir, "table.txt"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
