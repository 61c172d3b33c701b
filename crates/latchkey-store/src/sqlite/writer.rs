//! The writer thread: group commit. Every write a store method makes is a
//! job sent to one thread that owns the writer connection. The thread takes
//! every job waiting (up to [`MAX_BATCH`]), runs them inside one `BEGIN
//! IMMEDIATE` transaction, commits once, and only then answers the callers.
//! No caller hears "done" before the commit that holds its writes, so a
//! reply still means durable (as durable as `synchronous = NORMAL` is),
//! while under load one commit and one thread wake-up serve a whole batch
//! instead of one per write.
//!
//! A failing job must not take the others down, nor leave half its writes.
//! Most failures happen before a job writes anything (a ceremony already
//! used, a name taken: SQLite undoes a failed statement by itself), so a
//! batch runs optimistically, without savepoints, which cost a copy of every
//! page a job touches: a job that fails without a change (SQLite's change
//! counter) simply reports its error. Only a job that fails AFTER writing
//! forces a rollback; its error is reported and the batch's earlier jobs
//! are run again, each in its own SAVEPOINT (the careful mode, kept for that
//! one batch). Jobs are therefore `FnMut`: running one twice on the same
//! state must give the same result, which holds for closures that only
//! read their captures and the database.
//!
//! Checkpoints are moved off this thread but finished on it, between two
//! batches (see `checkpoints`).

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;

use latchkey_core::{Error, Result};
use rusqlite::Connection;
use tokio::sync::{oneshot, Mutex};

use super::checkpoints::{note_wal_frames, Checkpoints};
use super::{exec, timeline};
use crate::error::DbResultExt;

/// Jobs committed together at most; bounds one batch's latency.
const MAX_BATCH: usize = 128;

/// One write waiting for the writer thread.
pub(super) trait Job: Send {
    /// Runs the write on the connection (inside the job's savepoint) and
    /// keeps its result; whether it succeeded.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller: the kept result, or `failed` when the batch it
    /// ran in did not commit (or it never ran).
    fn answer(self: Box<Self>, failed: Option<Error>);
}

/// A job from a closure, answered through a oneshot channel.
pub(super) struct Pending<T, F> {
    f: F,
    out: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Pending<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection) -> Result<T> + Send + 'static,
{
    pub fn job(f: F) -> (Box<dyn Job>, oneshot::Receiver<Result<T>>) {
        let (reply, answer) = oneshot::channel();
        let job = Pending {
            f,
            out: None,
            reply,
        };
        (Box::new(job), answer)
    }
}

impl<T, F> Job for Pending<T, F>
where
    T: Send + 'static,
    F: FnMut(&Connection) -> Result<T> + Send + 'static,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let out = (self.f)(conn);
        let ok = out.is_ok();
        self.out = Some(out);
        ok
    }

    fn answer(self: Box<Self>, failed: Option<Error>) {
        let out = match (failed, self.out) {
            // The job's own error explains more than the batch's.
            (_, Some(Err(e))) => Err(e),
            (Some(e), _) => Err(e),
            (None, Some(out)) => out,
            (None, None) => Err(Error::internal("a store call panicked or never ran")),
        };
        // The caller may have gone (its request was cancelled); nothing to do.
        let _ = self.reply.send(out);
    }
}

/// Runs batches until every sender is dropped (the store is gone).
pub(super) fn run(
    writer: Arc<Mutex<Connection>>,
    jobs: Receiver<Box<dyn Job>>,
    mut checkpoints: Option<Checkpoints>,
) {
    let mut queue: VecDeque<Box<dyn Job>> = VecDeque::new();
    let mut mode = Mode::Optimistic;
    batch_scheduling();
    writer.blocking_lock().wal_hook(Some(note_wal_frames));
    loop {
        if queue.is_empty() {
            match jobs.recv() {
                Ok(job) => queue.push_back(job),
                Err(_) => return,
            }
        }
        while queue.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => queue.push_back(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        // The import holds this lock across its whole transaction.
        let mut conn = writer.blocking_lock();
        super::conns::end_abandoned_transaction(&mut conn);
        let (jobs, started) = (queue.len(), timeline::start());
        mode = run_batch(&conn, &mut queue, mode);
        let committed = started.map(|started| (started, timeline::now()));
        if let Some(checkpoints) = &mut checkpoints {
            checkpoints.after_batch(&conn);
        }
        if let Some((started, committed)) = committed {
            timeline::batch(started, committed, jobs);
        }
        drop(conn);
    }
}

/// Asks Linux not to let a new job's wake-up preempt the thread that sent
/// it (`SCHED_BATCH`; same share of the CPU otherwise). Measured on one
/// core: woken at once for every job, the writer committed batches of about
/// four jobs, and a commit costs the pages it writes to the WAL whatever
/// its size; woken when the request threads have nothing left to run, it
/// finds all their jobs waiting. Batches grow with load on their own,
/// with no timer, and an idle server still answers at once. `latchkey
/// serve` puts the whole process under `SCHED_BATCH` before this thread
/// starts (so the request threads can't preempt a batch either); this
/// call keeps the writer's half for any other process that opens a store.
fn batch_scheduling() {
    #[cfg(target_os = "linux")]
    if !crate::sched::batch_this_thread() {
        tracing::debug!("SCHED_BATCH refused for the SQLite writer thread");
    }
}

/// How a batch keeps its jobs apart (see the module notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Optimistic,
    Careful,
}

/// Runs the queued jobs in one transaction and answers them; the mode for
/// the next batch. Jobs left in the queue (after a transaction-wide failure,
/// or to be redone carefully) go into the next batch.
fn run_batch(conn: &Connection, queue: &mut VecDeque<Box<dyn Job>>, mode: Mode) -> Mode {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE", []).db() {
        for job in queue.drain(..) {
            job.answer(Some(e.clone()));
        }
        return Mode::Optimistic;
    }
    let careful = mode == Mode::Careful;
    let mut ran: Vec<Box<dyn Job>> = Vec::with_capacity(queue.len());
    while let Some(mut job) = queue.pop_front() {
        if careful {
            if let Err(e) = exec(conn, "SAVEPOINT job", []).db() {
                job.answer(Some(e));
                continue;
            }
        }
        let before = conn.total_changes();
        // A panicking job fails alone (it may have written: treated as
        // half-written) instead of taking the writer thread down with it.
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| job.run(conn)));
        let panicked = run.is_err();
        let ok = run.unwrap_or(false);
        if conn.is_autocommit() {
            // Some errors (I/O, a full disk) roll back the whole transaction:
            // the jobs before this one lost their writes too.
            let lost = Error::internal("the write transaction was rolled back by SQLite");
            for earlier in ran {
                earlier.answer(Some(lost.clone()));
            }
            job.answer(None);
            return Mode::Optimistic;
        }
        if careful {
            let end = if ok {
                exec(conn, "RELEASE job", [])
            } else {
                exec(conn, "ROLLBACK TO job", []).and_then(|_| exec(conn, "RELEASE job", []))
            };
            if let Err(e) = end.db() {
                abandon(conn, ran, job, e);
                return Mode::Optimistic;
            }
        } else if !ok && (panicked || conn.total_changes() != before) {
            // Half-written: undo the batch, report this job's error, and
            // redo the others carefully.
            let _ = exec(conn, "ROLLBACK", []);
            job.answer(None);
            for earlier in ran.into_iter().rev() {
                queue.push_front(earlier);
            }
            return Mode::Careful;
        }
        ran.push(job);
    }
    match exec(conn, "COMMIT", []).db() {
        Ok(_) => {
            for job in ran {
                job.answer(None);
            }
        }
        Err(e) => {
            let _ = exec(conn, "ROLLBACK", []);
            for job in ran {
                job.answer(Some(e.clone()));
            }
        }
    }
    Mode::Optimistic
}

/// Rolls the batch back after its bookkeeping failed, answering every job.
fn abandon(conn: &Connection, ran: Vec<Box<dyn Job>>, job: Box<dyn Job>, e: Error) {
    let _ = exec(conn, "ROLLBACK", []);
    for earlier in ran {
        earlier.answer(Some(e.clone()));
    }
    job.answer(Some(e));
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
