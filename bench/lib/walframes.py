#!/usr/bin/env python3
"""Which b-trees a Latchkey SQLite database's recent commits wrote.

Every page a commit changes is one frame (4 KiB and a 24-byte header)
appended to the WAL, copied again by the next checkpoint: frames per
commit are most of the writer's kernel time. This reads the frames in the
WAL (those since the last rewind), maps each frame's page number to the
table or index that owns the page now (SQLite's `dbstat`; page 1, the
database header, is `sqlite_schema`'s), and prints each b-tree's frames
per commit and share of all frames (bench/RESULTS.md, fifteenth session):

    python3 bench/lib/walframes.py /tmp/lk-data

Frames per ceremony need the count of a whole run, which the WAL doesn't
keep once it rewinds: uprobes count those (bench/README.md).

Safe on a live server's data directory: the WAL is copied first, then the
database with its WAL into a scratch directory, which is opened read-only.
"""
import argparse
import collections
import os
import shutil
import sqlite3
import struct
import tempfile

WAL_HEADER = struct.Struct(">IIIIIIII")
FRAME_HEADER = struct.Struct(">IIII")


def frames(wal):
    """(page number, ends a commit) of each valid frame, in order."""
    _, _, page_size, _, salt1, salt2, _, _ = WAL_HEADER.unpack_from(wal)
    size = FRAME_HEADER.size + 8 + page_size
    at = WAL_HEADER.size
    while at + size <= len(wal):
        page, commit_size, s1, s2 = FRAME_HEADER.unpack_from(wal, at)
        # Frames left over from before the last rewind carry older salts.
        if (s1, s2) != (salt1, salt2):
            return
        yield page, commit_size != 0
        at += size


def owners(db_path):
    """The b-tree owning each page of the database (with its WAL applied)."""
    uri = f"file:{db_path}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        return dict(conn.execute("SELECT pageno, name FROM dbstat"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="a data directory or its latchkey.db")
    args = p.parse_args()
    db = args.data if args.data.endswith(".db") else os.path.join(args.data, "latchkey.db")
    with tempfile.TemporaryDirectory() as scratch:
        wal_copy = os.path.join(scratch, "frames.wal")
        shutil.copyfile(db + "-wal", wal_copy)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                shutil.copyfile(db + suffix, os.path.join(scratch, "copy.db" + suffix))
        pages = owners(os.path.join(scratch, "copy.db"))
        with open(wal_copy, "rb") as f:
            wal = f.read()
    counts, commits, total = collections.Counter(), 0, 0
    for page, ends_commit in frames(wal):
        counts[pages.get(page, "(free or new)")] += 1
        total += 1
        commits += ends_commit
    if not commits:
        raise SystemExit("no committed frames in the WAL (just rewound, or checkpointed on close)")
    print(f"{total} frames, {commits} commits, {total / commits:.1f} frames per commit")
    print(f"{'b-tree':40s} {'frames':>7s} {'/commit':>8s} {'share':>6s}")
    for name, n in counts.most_common():
        print(f"{name:40s} {n:7d} {n / commits:8.2f} {100 * n / total:5.1f}%")

if __name__ == "__main__":
    main()
