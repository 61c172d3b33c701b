//! The WAL VFS: a commit goes out in two writes whatever its size, and every
//! commit is in the files the moment it returns: another connection sees it,
//! and a copy of the files taken then (what a crash would leave) recovers it;
//! a write that fails fails its commit and nothing else.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::*;

/// A WAL database written through this VFS, with a `cache_pages` page cache
/// (small ones make SQLite spill frames before the commit).
fn writer(path: &Path, cache_pages: i64) -> Connection {
    register().unwrap();
    let conn = Connection::open_with_flags_and_vfs(path, OpenFlags::default(), NAME).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = {cache_pages}; \
         CREATE TABLE IF NOT EXISTS t (x INTEGER PRIMARY KEY, pad BLOB)"
    ))
    .unwrap();
    conn
}

/// `rows` rows of `size` random bytes each, from `first` on, in one transaction.
fn insert(conn: &Connection, first: i64, rows: i64, size: i64) {
    try_insert(conn, first, rows, size).unwrap();
}

fn try_insert(conn: &Connection, first: i64, rows: i64, size: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 + ?2 - 1) \
         INSERT INTO t (x, pad) SELECT i, randomblob(?3) FROM n",
        rusqlite::params![first, rows, size],
    )
}

fn count(conn: &Connection) -> i64 {
    conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
        .unwrap()
}

fn integrity(conn: &Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Copies what a crash now would leave (the database and its WAL, without
/// the shared-memory index, so opening the copy recovers from the WAL alone)
/// to `to`, and checks the copy holds `rows` rows and passes
/// `integrity_check`.
fn assert_recovers(path: &Path, to: &Path, rows: i64) {
    let _ = std::fs::remove_file(to.with_extension("db-shm"));
    std::fs::copy(path, to).unwrap();
    std::fs::copy(path.with_extension("db-wal"), to.with_extension("db-wal")).unwrap();
    let copy = Connection::open(to).unwrap();
    assert_eq!(count(&copy), rows);
    assert_eq!(integrity(&copy), "ok");
}

#[test]
fn a_commit_of_many_pages_takes_two_writes() {
    let dir = tempfile::tempdir().unwrap();
    let conn = writer(&dir.path().join("w.db"), 2000);
    insert(&conn, 0, 1, 10);
    let before = REAL_WRITES.get();
    // ~20 pages: a table leaf per row.
    insert(&conn, 1, 20, 3000);
    // The frames with the commit frame's header, then its page.
    assert_eq!(REAL_WRITES.get() - before, 2);
}

#[test]
fn every_commit_is_visible_to_another_connection_and_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let conn = writer(&path, 2000);
    let reader = Connection::open(&path).unwrap();
    let mut written = 0;
    for round in 0..60 {
        let rows = 1 + round % 7;
        insert(&conn, written, rows, 500 + 300 * (round % 11));
        written += rows;
        assert_eq!(count(&reader), written);
        if round % 10 == 9 {
            assert_recovers(&path, &dir.path().join(format!("c{round}.db")), written);
        }
    }
}

#[test]
fn transactions_larger_than_the_cache_read_back_their_frames_and_roll_back_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    // 10 pages of cache: SQLite writes the transaction's frames before its
    // commit (~0.8 MiB here, so they all wait) and reads them back.
    let mut conn = writer(&path, 10);
    insert(&conn, 0, 10, 100);
    let tx = conn.transaction().unwrap();
    insert(&tx, 10, 200, 4000);
    let sum: i64 = tx
        .query_row("SELECT SUM(length(pad)) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sum, 10 * 100 + 200 * 4000);
    tx.rollback().unwrap();
    assert_eq!(count(&conn), 10);
    // 3 MiB: more than may wait, and than the default VFS writes at once.
    let tx = conn.transaction().unwrap();
    insert(&tx, 10, 800, 4000);
    tx.commit().unwrap();
    insert(&conn, 810, 3, 100);
    assert_recovers(&path, &dir.path().join("c.db"), 813);
}

#[test]
fn the_wal_restarts_and_truncates_without_losing_commits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let conn = writer(&path, 2000);
    let mut written = 0;
    for mode in ["RESTART", "TRUNCATE", "RESTART"] {
        for _ in 0..20 {
            insert(&conn, written, 3, 2000);
            written += 3;
        }
        let (busy, _, _): (i64, i64, i64) = conn
            .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(busy, 0);
        // The next commit starts the WAL over, header first.
        insert(&conn, written, 3, 2000);
        written += 3;
        assert_recovers(&path, &dir.path().join(format!("{mode}.db")), written);
    }
    drop(conn);
    let reopened = Connection::open(&path).unwrap();
    assert_eq!(count(&reopened), written);
}

#[test]
fn a_failed_write_fails_its_commit_and_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let conn = writer(&path, 2000);
    let reader = Connection::open(&path).unwrap();
    insert(&conn, 0, 5, 2000);
    let mut written = 5;
    // The disk fills at the commit's first write (its frames), then at its
    // second (the commit frame's page).
    for (round, succeed) in [0, 1].into_iter().enumerate() {
        FAIL_AFTER.set(Some(succeed));
        let failed = try_insert(&conn, written, 20, 2000);
        FAIL_AFTER.set(None);
        assert!(failed.is_err(), "round {round}: the commit succeeded");
        assert_eq!(count(&conn), written);
        assert_eq!(count(&reader), written);
        // The next commit writes where the failed one did.
        insert(&conn, written, 3, 2000);
        written += 3;
        assert_eq!(count(&reader), written);
        assert_recovers(&path, &dir.path().join(format!("f{round}.db")), written);
    }
}
