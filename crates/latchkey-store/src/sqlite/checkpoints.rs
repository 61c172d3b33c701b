//! Copying the WAL back into the database, off the writer thread.
//!
//! The writer's automatic checkpoint is off; each time the WAL has grown by
//! [`CHECKPOINT_FRAMES`] frames the writer asks a checkpointer thread, whose
//! own connection copies the WAL back into the database (`PASSIVE`: it never
//! blocks the writer). A WAL larger than SQLite's default (1,000 frames)
//! means pages rewritten by many commits (index right edges, the org's audit
//! head) are copied back once.
//!
//! Under steady load the writer appends while a pass copies, so a pass never
//! reaches the WAL's end, and SQLite only rewinds a WAL that was copied back
//! entirely: it would grow for ever (measured: one checkpoint per commit
//! after the first, each with its fsyncs). So once the WAL holds
//! [`REWIND_FRAMES`] and the checkpointer is done, the writer copies the
//! frames added since itself, between two batches, with every write
//! waiting, and the next batch rewinds the WAL. To keep that pause short,
//! the checkpointer makes further passes while the writer appended more
//! than [`FRAMES_LEFT_TO_WRITER`] during the last one; each is shorter than
//! the one before.
//!
//! That pause is two fsyncs, with every request in flight waiting: 9–30 ms
//! on the VM where it was timed (2026-12-03). Their length is the dirty
//! data they write back, not the disk's cache flush (on this kind of VM an
//! fsync with nothing dirty takes ~0.05 ms, with 1 MiB of scattered pages
//! 5–7 ms, with 8 MiB 22–32 ms), and the database file's share was every
//! page copied back since the last rewind: the kernel writes dirty pages
//! back after 30 s, the WAL is rewound every second or two. So before a
//! rewind the checkpointer syncs the database file, then the WAL, after
//! each of its passes, while the writer goes on, and leaves the writer's
//! pause only the pages it copies itself and the frames appended since:
//! 33–48 ms before, 3–14 ms after, on a VM where the copying had slowed
//! down (bench/RESULTS.md, 2026-12-04, sixteenth session).
//!
//! Rewinding at every checkpoint (every 4,000 frames, twice a second under
//! sign-in load) put it into one sign-in in a hundred: p99 37 ms against
//! 19–27 ms without checkpoints. Rewinding every eighth checkpoint keeps
//! the copying as it was and makes the pause eight times rarer, for a WAL
//! file of up to ~130 MiB instead of ~20.
//!
//! The checkpointer runs at nice 5: its passes are CPU bursts on the
//! server's busy core, and at equal weight they held up every request in
//! flight (most of the p99 tail, bench/RESULTS.md, 2026-12-04). In two
//! alternated full runs every scenario's p99 fell by 2–13 %, registrations'
//! included. Measured and not kept (2026-12-03): checkpointing every 16,000
//! frames with a first pass at nice 10. It looked good in short runs on a
//! small database; in the full benchmark, whose database grows by ~100,000
//! users per registration run, registrations' p99 went from 27 to 42–69 ms.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use latchkey_core::{Error, Result};
use rusqlite::hooks::Wal;
use rusqlite::{ffi, Connection};

use super::timeline;

/// WAL frames (pages) appended that trigger a checkpoint: about 16 MiB.
const CHECKPOINT_FRAMES: i32 = 4000;
/// WAL frames from which the writer finishes a checkpoint so the WAL is
/// rewound: about 128 MiB.
const REWIND_FRAMES: i32 = 8 * CHECKPOINT_FRAMES;
/// Passes per checkpoint at most.
const MAX_PASSES: usize = 4;
/// Frames appended during a pass below which no further pass is made.
const FRAMES_LEFT_TO_WRITER: i64 = 64;
/// Nice levels the checkpointer thread takes below the others.
#[cfg(target_os = "linux")]
const NICE_INCREMENT: i32 = 5;

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
    ask: SyncSender<bool>,
    done: Arc<AtomicBool>,
    /// A checkpoint is under way; whether it ends with a rewind.
    asked: Option<bool>,
    /// WAL frames appended that trigger a checkpoint ([`CHECKPOINT_FRAMES`]
    /// outside tests).
    every: i32,
    /// The WAL's frames when the next checkpoint is due.
    next_at: i32,
    /// WAL frames from which a finished checkpoint rewinds the WAL
    /// ([`REWIND_FRAMES`] outside tests).
    rewind: i32,
}

impl Checkpoints {
    /// Starts the checkpointer thread on its own connection.
    pub fn start(conn: Connection) -> Result<Checkpoints> {
        Self::start_every(conn, CHECKPOINT_FRAMES, REWIND_FRAMES)
    }

    pub(super) fn start_every(conn: Connection, every: i32, rewind: i32) -> Result<Checkpoints> {
        let (ask, asks) = std::sync::mpsc::sync_channel(1);
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        std::thread::Builder::new()
            .name("latchkey-ckpt".to_owned())
            .spawn(move || checkpointer(conn, asks, flag))
            .map_err(Error::internal)?;
        Ok(Checkpoints {
            ask,
            done,
            asked: None,
            every,
            next_at: every,
            rewind,
        })
    }

    /// Between batches: ask for a checkpoint when the WAL has grown; once
    /// the checkpointer is done, finish it here if the WAL is to be rewound
    /// (see the module notes).
    pub(super) fn after_batch(&mut self, conn: &Connection) {
        let frames = WAL_FRAMES.get();
        // Rewound without the writer (a pass reached the end): count anew.
        if frames < self.next_at - self.every {
            self.next_at = self.every;
        }
        match self.asked {
            None if frames >= self.next_at => {
                let rewind = frames >= self.rewind;
                // Full means a request is already pending: nothing lost.
                let _ = self.ask.try_send(rewind);
                self.asked = Some(rewind);
            }
            None => {}
            Some(rewind) if self.done.swap(false, Ordering::AcqRel) => {
                self.asked = None;
                if !rewind {
                    self.next_at = frames.saturating_add(self.every);
                    return;
                }
                // Rewound by the next batch, the WAL starts again from
                // nothing (if a reader kept it from that, this is retried).
                self.next_at = self.every;
                if let Err(e) = passive_checkpoint(conn) {
                    warn_failed(&e);
                }
            }
            Some(_) => {}
        }
    }
}

/// Copies the WAL back whenever asked, in passes before a rewind (see the
/// module notes), until the writer thread ends.
fn checkpointer(conn: Connection, asks: Receiver<bool>, done: Arc<AtomicBool>) {
    yield_to_requests();
    while let Ok(rewind) = asks.recv() {
        let passes = if rewind { MAX_PASSES } else { 1 };
        let mut copied_up_to = 0;
        for _ in 0..passes {
            let started = timeline::start();
            let copied = passive_checkpoint(&conn);
            if rewind && copied.is_ok() {
                sync_files(&conn);
            }
            if let Some(started) = started {
                timeline::pass(started, rewind, copied.as_ref().ok().copied());
            }
            match copied {
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

/// Lowers this thread's priority by [`NICE_INCREMENT`]: a pass is a burst
/// of 4–8 ms of copying and writeback (kernel time, nearly all of it) on
/// the core the request and writer threads share; at equal weight it took
/// a third of that core for the length of the burst, and the requests in
/// flight waited. Niced, it still runs whenever they wait, and about a
/// seventh to a quarter of the core while they don't.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `nice` only changes the calling thread's priority (Linux
        // keeps it per thread). Unlike the writer's SCHED_BATCH, raising
        // one's own nice is never refused, so there is no failure to log.
        let _ = unsafe { libc::nice(NICE_INCREMENT) };
    }
}

/// One PASSIVE checkpoint; the WAL's frames when it began (0 outside WAL mode).
fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<i64> {
    // Columns: busy, frames in the WAL, frames copied back (-1 outside WAL mode).
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
        .map(|frames| frames.max(0))
}

/// Writes the database file's and then the WAL's dirty pages to disk
/// before the writer's rewind has to (see the module notes). Nothing else
/// changes, so a failure only leaves the work to the rewind.
fn sync_files(conn: &Connection) {
    for file in [
        ffi::SQLITE_FCNTL_FILE_POINTER,
        ffi::SQLITE_FCNTL_JOURNAL_POINTER,
    ] {
        if let Err(e) = sync_file(conn, file) {
            warn_failed(&e);
        }
    }
}

/// One `fsync` of the connection's database file
/// (`SQLITE_FCNTL_FILE_POINTER`) or WAL (`SQLITE_FCNTL_JOURNAL_POINTER`),
/// through SQLite's own handle: a descriptor of our own, once closed, would
/// drop every POSIX lock SQLite holds on the file in this process.
fn sync_file(conn: &Connection, which: c_int) -> rusqlite::Result<()> {
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: the handle is this thread's open connection, "main" its
    // database, and both opcodes write one `sqlite3_file` pointer (null if
    // that file isn't open) into `file`, valid while the connection is open.
    let mut rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            which,
            (&raw mut file).cast(),
        )
    };
    // SAFETY: a non-null `file` is the open file of a connection no other
    // thread uses, and its methods table lives as long as the file.
    let sync = unsafe { file.as_ref().and_then(|f| f.pMethods.as_ref()) }.and_then(|m| m.xSync);
    if let (ffi::SQLITE_OK, Some(sync)) = (rc, sync) {
        // SAFETY: `xSync` is the file's fsync, safe outside a transaction.
        rc = unsafe { sync(file, ffi::SQLITE_SYNC_NORMAL) };
    }
    match rc {
        ffi::SQLITE_OK => Ok(()),
        rc => Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None)),
    }
}

fn warn_failed(e: &rusqlite::Error) {
    tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
}

#[cfg(test)]
#[path = "checkpoints_tests.rs"]
mod tests;
