//! The SQLite connections and how store methods reach them. rusqlite is
//! synchronous, so each store method runs as ONE closure on one connection,
//! off the async runtime: one thread hand-off per store call, however many
//! statements it runs (sqlx's SQLite driver paid a hand-off per statement and
//! per row, and those context switches dominated a sign-in's CPU).
//!
//! - The writer: exactly one connection, owned by the writer thread, which
//!   group-commits every write (see [`super::writer`]), so writers queue in
//!   a channel instead of in SQLite's sleeping busy handler.
//! - Reads run there too, as jobs of the same batches. That was measured
//!   against a pool of reader connections: under WAL a connection drops its
//!   whole page cache whenever another connection has committed, so pooled
//!   readers re-read every page of every lookup, and each read cost a hand-off
//!   to the blocking pool of its own. On the writer thread a point read hits
//!   a warm cache and shares the batch's single wake-up; its answer waits for
//!   the batch's commit, so it never reports anything that could roll back.
//! - One snapshot connection serves the long reads that must not hold up
//!   writes (`VACUUM INTO` for backups), in `spawn_blocking`.
//! - In memory the writer is the only connection, since each in-memory
//!   connection would be its own empty database.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use latchkey_core::{Error, Result};
use rusqlite::Connection;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::checkpoints::Checkpoints;
use super::writer::{self, Job, Pending};

/// The writer thread's queue and connection, and the snapshot connection.
#[derive(Clone)]
pub(super) struct Conns {
    writer: Arc<Mutex<Connection>>,
    jobs: Sender<Box<dyn Job>>,
    snapshot: Option<Arc<StdMutex<Connection>>>,
}

/// Runs `f` on tokio's blocking pool; a panic there is `internal`.
async fn blocking<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(Error::internal)?
}

impl Conns {
    /// A file database: the writer, a snapshot connection for long reads and
    /// one for the checkpointer thread.
    pub fn new(writer: Connection, snapshot: Connection, checkpoints: Connection) -> Result<Conns> {
        let checkpoints = Checkpoints::start(checkpoints)?;
        let snapshot = Some(Arc::new(StdMutex::new(snapshot)));
        Conns::start(writer, snapshot, Some(checkpoints))
    }

    /// An in-memory database: one connection does everything.
    pub fn single(conn: Connection) -> Result<Conns> {
        Conns::start(conn, None, None)
    }

    fn start(
        writer: Connection,
        snapshot: Option<Arc<StdMutex<Connection>>>,
        checkpoints: Option<Checkpoints>,
    ) -> Result<Conns> {
        let writer = Arc::new(Mutex::new(writer));
        let (jobs, queue) = mpsc::channel();
        let owned = writer.clone();
        // Linux keeps 15 bytes of a thread name: this and "latchkey-ckpt"
        // stay apart in top and perf.
        spawn("latchkey-writer", move || {
            writer::run(owned, queue, checkpoints)
        })?;
        Ok(Conns {
            writer,
            jobs,
            snapshot,
        })
    }

    /// Runs a short read on the writer thread (see the module notes).
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T> + Send + 'static,
    {
        self.write(f).await
    }

    /// Runs a long read on the snapshot connection, beside the writer thread
    /// rather than in its way (in memory: on the writer, between batches).
    pub async fn snapshot<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let Some(conn) = self.snapshot.clone() else {
            return self.exclusive(move |conn| f(conn)).await;
        };
        blocking(move || {
            // A poisoned lock only means a panic elsewhere; the connection is sound.
            let conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&conn)
        })
        .await
    }

    /// The writer, held until the guard drops (for the import's transaction,
    /// which spans several blocking calls); the writer thread waits meanwhile.
    pub async fn lock_writer(&self) -> OwnedMutexGuard<Connection> {
        let mut guard = self.writer.clone().lock_owned().await;
        end_abandoned_transaction(&mut guard);
        guard
    }

    /// Runs `f` on the writer, alone and outside the writer thread's batches
    /// (the export's own long read transaction).
    pub async fn exclusive<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let mut guard = self.lock_writer().await;
        blocking(move || f(&mut guard)).await
    }

    /// Runs `f` as one job of the writer thread: in its own savepoint of a
    /// group-committed `BEGIN IMMEDIATE` transaction, so everything `f`
    /// writes commits or rolls back together, and the answer comes after the
    /// commit. IMMEDIATE takes the database write lock up front, so another
    /// process writing the same file (the CLI) is waited for (busy timeout)
    /// rather than failing a later upgrade.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T> + Send + 'static,
    {
        let (job, answer) = Pending::job(f);
        self.jobs
            .send(job)
            .map_err(|_| Error::internal("the SQLite writer thread has stopped"))?;
        answer
            .await
            .map_err(|_| Error::internal("the SQLite writer thread dropped a write"))?
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map(|_| ())
        .map_err(Error::internal)
}

/// A transaction left open on the writer (an import whose future was
/// dropped mid-way) would make the next `BEGIN` fail; roll it back first.
/// Costs nothing when, as always otherwise, the connection is in autocommit.
pub(super) fn end_abandoned_transaction(conn: &mut Connection) {
    if !conn.is_autocommit() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::warn!(error = %e, "rolling back an abandoned SQLite transaction");
        }
    }
}
