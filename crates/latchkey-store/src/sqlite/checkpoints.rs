//! Copying the WAL back into the database, off the writer thread.
//!
//! The writer's automatic checkpoint is off; once the WAL holds
//! [`CHECKPOINT_FRAMES`] frames the writer asks a checkpointer thread, whose
//! own connection copies the WAL back into the database (`PASSIVE`: it never
//! blocks the writer). A WAL larger than SQLite's default (1,000 frames)
//! means pages rewritten by many commits (index right edges, the org's audit
//! head) are copied back once.
//!
//! Under steady load the writer appends while a pass copies, so a pass never
//! reaches the WAL's end, and SQLite only rewinds a WAL that was copied back
//! entirely: it would grow for ever (measured: one checkpoint per commit
//! after the first, each with its fsyncs). So once the checkpointer is done
//! the writer copies the frames added since itself, between two batches,
//! with every write waiting, and the next batch rewinds the WAL. To keep
//! that pause short, the checkpointer makes further passes while the writer
//! appended more than [`FRAMES_LEFT_TO_WRITER`] during the last one; each is
//! shorter than the one before. With one pass, the writer's own copy was
//! ~400 frames and 3–9 ms.
//!
//! Measured and not kept (bench/RESULTS.md, 2026-12-03): checkpointing
//! every 16,000 frames, and a first pass at nice 10. Both looked good in
//! short runs on a small database (sign-ins' p99 −25 %); in the full
//! benchmark, whose database grows by ~100,000 users per registration run,
//! registrations' p99 went from 27 to 42–69 ms.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use latchkey_core::{Error, Result};
use rusqlite::hooks::Wal;
use rusqlite::Connection;

/// WAL frames (pages) that trigger a checkpoint: about 16 MiB.
const CHECKPOINT_FRAMES: i32 = 4000;
/// Passes per checkpoint at most.
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

    pub(super) fn start_every(conn: Connection, every: i32) -> Result<Checkpoints> {
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
    /// checkpointer is done, finish it here (see the module notes).
    pub(super) fn after_batch(&mut self, conn: &Connection) {
        if !self.asked {
            if WAL_FRAMES.get() >= self.every {
                // Full means a request is already pending: nothing lost.
                let _ = self.ask.try_send(());
                self.asked = true;
            }
        } else if self.done.swap(false, Ordering::AcqRel) {
            self.asked = false;
            if let Err(e) = passive_checkpoint(conn) {
                warn_failed(&e);
            }
        }
    }
}

/// Copies the WAL back whenever asked, in passes (see the module notes),
/// until the writer thread ends.
fn checkpointer(conn: Connection, asks: Receiver<()>, done: Arc<AtomicBool>) {
    while asks.recv().is_ok() {
        let mut copied_up_to = 0;
        for _ in 0..MAX_PASSES {
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

#[cfg(test)]
#[path = "checkpoints_tests.rs"]
mod tests;
