//! Copying the WAL back into the database, off the writer thread.
//!
//! The writer's automatic checkpoint is off; once the WAL holds
//! [`CHECKPOINT_FRAMES`] frames the writer asks for a checkpoint, which two
//! threads with their own connections make (`PASSIVE`: they never block
//! the writer). A WAL larger than SQLite's default (1,000 frames) means
//! pages rewritten by many commits (index right edges, the org's audit
//! head) are copied back once.
//!
//! Under steady load the writer appends while a pass copies, so a pass never
//! reaches the WAL's end, and SQLite only rewinds a WAL that was copied back
//! entirely: it would grow for ever (measured: one checkpoint per commit
//! after the first, each with its fsyncs). So once the passes are done the
//! writer copies the frames added since itself, between two batches, with
//! every write waiting, and the next batch rewinds the WAL. To keep that
//! pause short and rare:
//!
//! - the first pass, long (~15 ms for 4,000 frames of sign-ins, ~200 ms for
//!   16,000 of registrations) and waited for by nobody, runs at nice 10, so
//!   it no longer takes half of a busy core from the request thread while
//!   every ceremony in flight is late;
//! - catch-up passes at normal priority follow while the writer appended
//!   more than [`FRAMES_LEFT_TO_WRITER`] during the last one; each is
//!   shorter than the one before. (One thread can't do both: going back
//!   from nice 10 needs a privilege.) With a single pass, the writer's own
//!   copy was ~400 frames and 3–9 ms every ~0.1 s; with the first pass at
//!   nice 10 and no catch-up at normal priority, registrations left it
//!   10,000 frames and 40–60 ms.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use latchkey_core::{Error, Result};
use rusqlite::hooks::Wal;
use rusqlite::Connection;

/// WAL frames (pages) that trigger a checkpoint: about 64 MiB, so the
/// writer's pause comes every ~0.4–0.6 s at full load instead of every
/// ~0.1 s with 4,000. The WAL keeps its largest size: what accrues while
/// the passes run comes on top, ~90 MiB under sign-ins, ~145 MiB under
/// registrations.
const CHECKPOINT_FRAMES: i32 = 16_000;
/// Passes per checkpoint at most, the first included.
const MAX_PASSES: usize = 4;
/// Frames appended during a pass below which no further pass is made.
const FRAMES_LEFT_TO_WRITER: i64 = 64;

thread_local! {
    /// Frames in the WAL after this thread's last commit (SQLite's WAL hook
    /// takes a plain function, so it reports through the committing thread).
    static WAL_FRAMES: Cell<i32> = const { Cell::new(0) };
}

/// The writer connection's WAL hook.
pub(super) fn note_wal_frames(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(frames);
    Ok(())
}

/// The writer's side of the checkpointing threads.
pub(super) struct Checkpoints {
    ask: SyncSender<()>,
    done: Arc<AtomicBool>,
    asked: bool,
    /// WAL frames that trigger a checkpoint ([`CHECKPOINT_FRAMES`] outside tests).
    every: i32,
}

impl Checkpoints {
    /// Starts the two threads, on a connection each.
    pub fn start(first: Connection, catch_up: Connection) -> Result<Checkpoints> {
        Self::start_every(first, catch_up, CHECKPOINT_FRAMES)
    }

    pub(super) fn start_every(
        first: Connection,
        catch_up: Connection,
        every: i32,
    ) -> Result<Checkpoints> {
        let (ask, asks) = std::sync::mpsc::sync_channel(1);
        let (hand_over, handed) = std::sync::mpsc::sync_channel(1);
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        spawn("latchkey-sqlite-checkpoint", move || {
            first_passes(first, asks, hand_over)
        })?;
        spawn("latchkey-sqlite-catch-up", move || {
            catch_up_passes(catch_up, handed, flag)
        })?;
        Ok(Checkpoints {
            ask,
            done,
            asked: false,
            every,
        })
    }

    /// Between batches: ask for a checkpoint when the WAL is big; once the
    /// passes are done, finish it here (see the module notes).
    pub(super) fn after_batch(&mut self, conn: &Connection) {
        if !self.asked {
            if WAL_FRAMES.get() >= self.every {
                // Full means a request is already pending: nothing lost.
                let _ = self.ask.try_send(());
                self.asked = true;
            }
        } else if self.done.swap(false, Ordering::AcqRel) {
            self.asked = false;
            if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
                warn_failed(&e);
            }
        }
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map(drop)
        .map_err(Error::internal)
}

/// The first pass of every checkpoint, at nice 10; hands the WAL's frames
/// at its start to the catch-up thread. Ends with the writer.
fn first_passes(conn: Connection, asks: Receiver<()>, hand_over: SyncSender<i64>) {
    background_priority();
    while asks.recv().is_ok() {
        let copied_up_to = passive_checkpoint(&conn).unwrap_or_else(|e| {
            warn_failed(&e);
            0
        });
        if hand_over.send(copied_up_to).is_err() {
            return;
        }
    }
}

/// Further passes while the last one had much to copy; then tells the
/// writer. Ends with the first-pass thread.
fn catch_up_passes(conn: Connection, handed: Receiver<i64>, done: Arc<AtomicBool>) {
    while let Ok(mut copied_up_to) = handed.recv() {
        for _ in 1..MAX_PASSES {
            match passive_checkpoint(&conn) {
                // A pass copies the WAL as it was when the pass began.
                Ok(frames) if frames - copied_up_to > FRAMES_LEFT_TO_WRITER => {
                    copied_up_to = frames;
                }
                Ok(_) => break,
                Err(e) => {
                    warn_failed(&e);
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

fn warn_failed(e: &rusqlite::Error) {
    tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
}

/// Lowers the calling thread's priority to nice 10: it still gets a fixed
/// share of a busy core, so it can't starve.
fn background_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain syscall; who 0 is the calling thread (Linux keeps
        // nice per thread). Raising one's own nice needs no privilege.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
        if rc != 0 {
            tracing::debug!("nice 10 refused for the SQLite checkpoint thread");
        }
    }
}

#[cfg(test)]
#[path = "checkpoints_tests.rs"]
mod tests;
