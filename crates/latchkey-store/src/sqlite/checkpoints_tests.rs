//! Checkpoints on a file: the WAL is rewound under continuous writes once
//! it reached the rewind size, and nothing is lost.

use super::*;

/// A WAL database in a fresh directory: the writer's connection (WAL hook
/// on, automatic checkpoints off, as the writer thread sets it) and another.
fn wal_db(dir: &tempfile::TempDir) -> (Connection, Connection) {
    let path = dir.path().join("wal.db");
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x INTEGER UNIQUE, pad BLOB)",
        )
        .unwrap();
    writer.wal_hook(Some(note_wal_frames));
    (writer, Connection::open(&path).unwrap())
}

fn insert(conn: &Connection, x: i64) {
    conn.execute("INSERT INTO t (x, pad) VALUES (?, zeroblob(3000))", [x])
        .unwrap();
}

#[test]
fn checkpoints_rewind_the_wal_under_continuous_writes_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, checkpointer) = wal_db(&dir);
    let mut checkpoints = Checkpoints::start_every(checkpointer, 200, 800).unwrap();
    let (mut rewinds, mut last, mut written) = (0, 0, 0i64);
    // Until the WAL has been rewound three times; the cap only stops a broken protocol.
    while rewinds < 3 && written < 50_000 {
        // Each commit adds a few pages; the writer never pauses for the checkpointer.
        insert(&writer, written);
        written += 1;
        checkpoints.after_batch(&writer);
        let frames = WAL_FRAMES.get();
        if frames < last {
            rewinds += 1;
            // Only a WAL that reached the rewind size is rewound.
            assert!(last >= 800, "rewound at {last} frames");
        }
        last = frames;
    }
    assert_eq!(
        rewinds, 3,
        "the WAL was rewound {rewinds} times in {written} commits"
    );
    let count: i64 = writer
        .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, written);
    let check: String = writer
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn a_passive_checkpoint_reports_the_wal_frames_it_saw() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, other) = wal_db(&dir);
    insert(&writer, 1);
    let frames = passive_checkpoint(&other).unwrap();
    assert!(
        frames > 0 && frames == i64::from(WAL_FRAMES.get()),
        "{frames} frames"
    );
    // Outside WAL mode there is nothing to copy back.
    let memory = Connection::open_in_memory().unwrap();
    assert_eq!(passive_checkpoint(&memory).unwrap(), 0);
}

#[test]
fn the_files_are_synced_through_the_connections_own_handles() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, other) = wal_db(&dir);
    insert(&writer, 1);
    passive_checkpoint(&other).unwrap();
    sync_file(&other, ffi::SQLITE_FCNTL_FILE_POINTER).unwrap();
    sync_file(&other, ffi::SQLITE_FCNTL_JOURNAL_POINTER).unwrap();
    // The handle stays SQLite's: both connections go on reading and writing.
    insert(&writer, 2);
    let count: i64 = other
        .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 2);
    // An in-memory database has nothing to sync, and says so without error.
    let memory = Connection::open_in_memory().unwrap();
    sync_file(&memory, ffi::SQLITE_FCNTL_FILE_POINTER).unwrap();
    sync_file(&memory, ffi::SQLITE_FCNTL_JOURNAL_POINTER).unwrap();
}
