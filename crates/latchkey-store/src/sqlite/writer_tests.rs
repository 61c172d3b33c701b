//! The writer's batches on an in-memory table: failures before and after
//! writing, and a panic, each confined to its own job.

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
