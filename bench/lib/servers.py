"""The servers bench/run.sh compares, and how each is set up, started,
watched and stopped.

Every target is started once per bench run, pinned to the server CPU with
taskset, and sampled through /proc: utime+stime (all threads) for CPU time and
VmHWM for peak resident memory; on PostgreSQL also the CPU of every process of
the local cluster (the database's own cost, on the same machine). Start-up time is measured from the spawn to the
first 200 of its readiness route, polled every millisecond over a raw socket
(spawning curl per poll would be coarser than what we measure).
"""

import json
import os
import shutil
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# BENCH_LATCHKEY points at another build (bench/ab.sh compares two).
LATCHKEY = os.environ.get("BENCH_LATCHKEY") or os.path.join(ROOT, "target", "release", "latchkey")
PEER_DIR = os.path.join(ROOT, "bench", "peers", "simplewebauthn")


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name may contain spaces; fields resume after its ')'.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def postgres_cpu():
    """utime + stime (seconds) of every PostgreSQL server process, by pid: the
    local cluster's backends, walwriter, checkpointer and the rest."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if not f.read().startswith(b"postgres"):
                    continue
            out[pid] = cpu_seconds(pid)
        except OSError:  # gone meanwhile
            continue
    return out


def cpu_between(before, after):
    """CPU seconds spent between two `postgres_cpu` snapshots (a process
    started meanwhile counts whole; one that ended is lost, which a bench
    run's pooled connections don't do)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def http_ok(port, path, timeout=0.05):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Server:
    """One target. Subclasses say how to prepare and what command to run."""

    name = "?"
    ready_path = "/healthz"

    def __init__(self, port, out_dir, cpu):
        self.port, self.cpu = port, cpu
        self.dir = os.path.join(out_dir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.org = "org_bench"
        self.enrol_token = None
        self.startup_ms = None

    @property
    def origin(self):
        return f"http://localhost:{self.port}"

    def prepare(self):
        """Anything before the first start: data, database, organisation."""

    def command(self):
        raise NotImplementedError

    def start(self):
        log = open(os.path.join(self.dir, "server.log"), "ab")
        began = time.perf_counter()
        self.proc = subprocess.Popen(
            ["taskset", "-c", str(self.cpu)] + self.command(),
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=self.env(),
        )
        deadline = began + 30
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.dir}/server.log")
            if http_ok(self.port, self.ready_path):
                self.startup_ms = (time.perf_counter() - began) * 1000
                return
            time.sleep(0.001)
        raise RuntimeError(f"{self.name} not ready after 30 s")

    def env(self):
        return dict(os.environ)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def database_cpu(self):
        """A snapshot for `cpu_between` of the database's own processes, or
        None when the target has no database server (SQLite, the peer)."""
        return None

    def cleanup(self):
        """Drop whatever prepare() made outside the output directory."""


class Latchkey(Server):
    ready_path = "/readyz"

    def database_url(self):
        return None

    def global_flags(self):
        flags = ["--data-dir", os.path.join(self.dir, "data")]
        if self.database_url():
            flags += ["--database-url", self.database_url()]
        return flags

    def prepare(self):
        cmd = [LATCHKEY, "org", "create", "--name", "Bench", "--admin", "admin@bench.example",
               "--registration", "open", "--rp-id", "localhost", "--origin", self.origin,
               "--public-url", self.origin, "--json"] + self.global_flags()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        created = json.loads(out)
        self.org, self.enrol_token = created["orgId"], created["enrolmentToken"]

    def command(self):
        return [LATCHKEY, "serve", "--listen", f"127.0.0.1:{self.port}",
                "--public-url", self.origin] + self.global_flags()


class LatchkeySqlite(Latchkey):
    name = "sqlite"


class LatchkeyPostgres(Latchkey):
    name = "postgres"

    def __init__(self, port, out_dir, cpu, pg_base):
        super().__init__(port, out_dir, cpu)
        self.pg_base = pg_base.rstrip("/")
        self.db = f"latchkey_bench_{os.getpid()}_{int(time.time())}"

    def database_url(self):
        return f"{self.pg_base}/{self.db}"

    def psql(self, sql):
        subprocess.run(["psql", f"{self.pg_base}/postgres", "-qAtc", sql], check=True, capture_output=True)

    def prepare(self):
        self.psql(f'CREATE DATABASE "{self.db}"')
        super().prepare()

    def database_cpu(self):
        return postgres_cpu()

    def cleanup(self):
        if not os.environ.get("BENCH_KEEP"):
            self.psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')


class Peer(Server):
    name = "peer"

    def prepare(self):
        # Install outside the timed start-up; npm ci pins the lockfile's versions.
        if not os.path.isdir(os.path.join(PEER_DIR, "node_modules", "@simplewebauthn", "server")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True)
        if not shutil.which("node"):
            raise RuntimeError("node is not installed")

    def command(self):
        return [os.path.join(PEER_DIR, "start.sh"), str(self.port)]
