//! The writer's batches on an in-memory table: failures before and after
//! writing, and a panic, each confined to its own job. The checkpoints on a
//! file: the WAL is rewound under continuous writes, and nothing is lost.

use latchkey_core::ErrorCode;

use super::*;

/// Runs `jobs` through batches as the writer thread does; their answers.
fn run_all(conn: &Connection, jobs: Vec<Box<dyn Job>>) {
    let mut queue: VecDeque<Box<dyn Job>> = jobs.into();
    let mut mode = Mode::Optimistic;
    while !queue.is_empty() {
        mode = run_batch(conn, &mut queue, mode);
    }
}

fn insert(values: &'static [i64]) -> (Box<dyn Job>, oneshot::Receiver<Result<()>>) {
    Pending::job(move |conn: &Connection| {
        for v in values {
            exec(conn, "INSERT INTO t (x) VALUES (?)", [v]).db()?;
        }
        Ok(())
    })
}

fn db() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")
        .unwrap();
    conn
}

fn rows(conn: &Connection) -> Vec<i64> {
    let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.collect::<rusqlite::Result<Vec<i64>>>().unwrap()
}

#[test]
fn a_job_failing_before_writing_fails_alone_in_an_optimistic_batch() {
    let conn = db();
    let (a, ra) = insert(&[1]);
    let (b, rb) = insert(&[1]);
    let (c, rc) = insert(&[2]);
    run_all(&conn, vec![a, b, c]);
    assert!(ra.blocking_recv().unwrap().is_ok());
    assert!(rb.blocking_recv().unwrap().is_err());
    assert!(rc.blocking_recv().unwrap().is_ok());
    assert_eq!(rows(&conn), vec![1, 2]);
}

#[test]
fn a_job_failing_after_writing_leaves_nothing_and_its_neighbours_commit() {
    let conn = db();
    let (a, ra) = insert(&[1]);
    let (b, rb) = insert(&[3, 1]);
    let (c, rc) = insert(&[2]);
    run_all(&conn, vec![a, b, c]);
    assert!(ra.blocking_recv().unwrap().is_ok());
    assert!(rb.blocking_recv().unwrap().is_err());
    assert!(rc.blocking_recv().unwrap().is_ok());
    assert_eq!(rows(&conn), vec![1, 2], "the failed job's 3 was undone");
}

#[test]
fn a_panicking_job_fails_alone_and_the_batch_commits_the_rest() {
    let conn = db();
    let (a, ra) = insert(&[1]);
    let (b, rb) = Pending::job(|conn: &Connection| -> Result<()> {
        exec(conn, "INSERT INTO t (x) VALUES (5)", []).db()?;
        panic!("a bug in a store call");
    });
    let (c, rc) = insert(&[2]);
    run_all(&conn, vec![a, b, c]);
    assert!(ra.blocking_recv().unwrap().is_ok());
    assert_eq!(
        rb.blocking_recv().unwrap().unwrap_err().code,
        ErrorCode::Internal
    );
    assert!(rc.blocking_recv().unwrap().is_ok());
    assert_eq!(rows(&conn), vec![1, 2]);
    assert!(conn.is_autocommit(), "no transaction left open");
}

/// A WAL database in a fresh directory: the writer's connection (WAL hook
/// on, automatic checkpoints off, as the writer thread sets it) and the
/// checkpointer's.
fn wal_db(dir: &std::path::Path) -> (Connection, Connection) {
    let path = dir.join("wal.db");
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

#[test]
fn checkpoints_rewind_the_wal_under_continuous_writes_and_lose_nothing() {
    let dir = std::env::temp_dir().join(format!("latchkey-wal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (writer, checkpointer) = wal_db(&dir);
    let mut checkpoints = Checkpoints::start_every(checkpointer, 200).unwrap();
    let (mut rewinds, mut last, mut written) = (0, 0, 0i64);
    // Until the WAL has been rewound three times; the cap only stops a broken protocol.
    while rewinds < 3 && written < 50_000 {
        // Each commit adds a few pages; the writer never pauses for the checkpointer.
        let x = written;
        let (job, _answer) = Pending::job(move |conn: &Connection| {
            exec(
                conn,
                "INSERT INTO t (x, pad) VALUES (?, zeroblob(3000))",
                [x],
            )
            .db()
        });
        run_all(&writer, vec![job]);
        written += 1;
        checkpoints.after_batch(&writer);
        let frames = WAL_FRAMES.get();
        if frames < last {
            rewinds += 1;
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
    drop((writer, checkpoints));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_passive_checkpoint_reports_the_wal_frames_it_saw() {
    let dir = std::env::temp_dir().join(format!("latchkey-wal-frames-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (writer, other) = wal_db(&dir);
    exec(
        &writer,
        "INSERT INTO t (x, pad) VALUES (1, zeroblob(3000))",
        [],
    )
    .unwrap();
    let frames = passive_checkpoint(&other).unwrap();
    assert!(
        frames > 0 && frames == i64::from(WAL_FRAMES.get()),
        "{frames} frames"
    );
    // Outside WAL mode there is nothing to copy back.
    assert_eq!(passive_checkpoint(&db()).unwrap(), 0);
    drop((writer, other));
    let _ = std::fs::remove_dir_all(&dir);
}
