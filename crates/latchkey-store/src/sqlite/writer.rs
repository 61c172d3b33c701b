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
//! Checkpoints are mostly moved off this thread: the writer's automatic
//! checkpoint is off, and once the WAL holds [`CHECKPOINT_FRAMES`] frames the
//! writer asks a checkpointer thread, whose own connection copies the WAL
//! back into the database (`PASSIVE`: it never blocks the writer). A larger
//! WAL than SQLite's default (1,000 frames) means pages rewritten by many
//! commits (index right edges, the org's audit head) are copied back once.
//! Under steady load the writer appends while the checkpointer copies, so
//! that copy never reaches the WAL's end, and SQLite only rewinds a WAL
//! that was copied back entirely: it would grow for ever (measured: one
//! checkpoint per commit after the first, each with its fsyncs). So once the
//! checkpointer is done, the writer copies the few frames added since
//! itself, between two batches, and the next batch rewinds the WAL.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::c_int;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::Arc;

use latchkey_core::{Error, Result};
use rusqlite::hooks::Wal;
use rusqlite::Connection;
use tokio::sync::{oneshot, Mutex};

use super::exec;
use crate::error::DbResultExt;

/// Jobs committed together at most; bounds one batch's latency.
const MAX_BATCH: usize = 128;
/// WAL frames (pages) that trigger a checkpoint: about 64 MiB. Each
/// checkpoint ends with the writer's own short copy (see the module notes),
/// a pause of a few ms for every write: at 4,000 frames that came every
/// ~0.1 s at full load. Measured against 4,000: p99 −10 %, +4 % sign-ins/s;
/// the WAL file stays at its largest size, ~64–110 MiB after full load.
const CHECKPOINT_FRAMES: i32 = 16_000;
/// Checkpoint passes the checkpointer makes per request at most.
const MAX_PASSES: usize = 4;
/// Frames a pass may leave for the writer's own final copy.
const FRAMES_LEFT_TO_WRITER: i64 = 64;

thread_local! {
    /// Frames in the WAL after this thread's last commit (SQLite's WAL hook
    /// takes a plain function, so it reports through the committing thread).
    static WAL_FRAMES: Cell<i32> = const { Cell::new(0) };
}

fn note_wal_frames(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(frames);
    Ok(())
}

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
        mode = run_batch(&conn, &mut queue, mode);
        if let Some(checkpoints) = &mut checkpoints {
            checkpoints.after_batch(&conn);
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
/// with no timer, and an idle server still answers at once.
fn batch_scheduling() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` outlives the call,
        // which only reads it.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
        if rc != 0 {
            tracing::debug!("SCHED_BATCH refused for the SQLite writer thread");
        }
    }
}

/// Lowers the calling thread's priority (nice 10). The checkpointer's
/// passes are long (~15 ms of copying and two fsyncs for 4,000 frames) and
/// nothing waits for them, but at the default priority each one took half
/// of a busy core from the request thread for their duration, and every
/// ceremony in flight then was late: measured p99 12–15 → 11–12 ms. At
/// nice 10 a pass still gets a fixed share of the core, so it can't starve.
fn background_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain syscall; who 0 is the calling thread (Linux keeps
        // nice per thread). Raising one's own nice needs no privilege.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
        if rc != 0 {
            tracing::debug!("nice 10 refused for the SQLite checkpointer thread");
        }
    }
}

/// The writer's side of the checkpointer thread.
pub(super) struct Checkpoints {
    ask: SyncSender<()>,
    done: Arc<AtomicBool>,
    asked: bool,
    /// WAL frames that trigger a checkpoint ([`CHECKPOINT_FRAMES`] outside tests).
    every: i32,
}

impl Checkpoints {
    /// Starts the checkpointer thread on its own connection.
    pub fn start(conn: Connection) -> Result<Checkpoints> {
        Self::start_every(conn, CHECKPOINT_FRAMES)
    }

    fn start_every(conn: Connection, every: i32) -> Result<Checkpoints> {
        let (ask, asks) = std::sync::mpsc::sync_channel(1);
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        std::thread::Builder::new()
            .name("latchkey-sqlite-checkpoint".to_owned())
            .spawn(move || checkpointer(conn, asks, flag))
            .map_err(Error::internal)?;
        Ok(Checkpoints {
            ask,
            done,
            asked: false,
            every,
        })
    }

    /// Between batches: ask for a checkpoint when the WAL is big; once the
    /// checkpointer has done it, finish it here (see the module notes).
    fn after_batch(&mut self, conn: &Connection) {
        if !self.asked {
            if WAL_FRAMES.get() >= self.every {
                // Full means a request is already pending: nothing lost.
                let _ = self.ask.try_send(());
                self.asked = true;
            }
        } else if self.done.swap(false, Ordering::AcqRel) {
            self.asked = false;
            if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
            }
        }
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

/// Copies the WAL back into the database whenever asked, on its own
/// connection, until the writer thread ends. One pass leaves behind the
/// frames the writer appended meanwhile, which the writer then copies
/// itself, between two batches, with every write waiting: after a single
/// pass of ~4,000 frames that was ~400 frames and 3–9 ms, every ~0.1 s at
/// full load. So passes repeat while
/// the writer appended more than [`FRAMES_LEFT_TO_WRITER`] during the last;
/// each is shorter than the one before (copying back is several times faster
/// than the writer appends).
fn checkpointer(conn: Connection, asks: Receiver<()>, done: Arc<AtomicBool>) {
    background_priority();
    while asks.recv().is_ok() {
        let mut copied_up_to = 0;
        for _ in 0..MAX_PASSES {
            match passive_checkpoint(&conn) {
                // A pass copies the WAL as it was when the pass began.
                Ok(wal_frames) if wal_frames - copied_up_to > FRAMES_LEFT_TO_WRITER => {
                    copied_up_to = wal_frames;
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
                    break;
                }
            }
        }
        done.store(true, Ordering::Release);
    }
}

/// One PASSIVE checkpoint; the WAL's frames when it began (0 outside WAL mode).
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    // Columns: busy, frames in the WAL, frames copied back (-1 outside WAL mode).
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
        .map(|frames| frames.max(0))
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
