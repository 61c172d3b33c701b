//! The SQLite connections and how store methods reach them. rusqlite is
//! synchronous, so each store method runs as ONE closure on one connection,
//! off the async runtime: one thread hand-off per store call, however many
//! statements it runs (sqlx's SQLite driver paid a hand-off per statement and
//! per row, and those context switches dominated a sign-in's CPU).
//!
//! - The writer: exactly one connection, owned by the writer thread, which
//!   group-commits every write (see [`super::writer`]), so writers queue in
//!   a channel instead of in SQLite's sleeping busy handler.
//! - The readers: a stack of connections behind a semaphore with one permit
//!   per connection, used in `spawn_blocking`; WAL snapshots let them run
//!   beside the writer.
//! - In memory there is no reader stack: every closure runs on the writer,
//!   since each in-memory connection would be its own empty database.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use latchkey_core::{Error, Result};
use rusqlite::Connection;
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::writer::{self, Job, Pending};

/// Idle reader connections; `permits` counts them, so a holder of a permit
/// always finds one on the stack.
struct Readers {
    permits: Arc<Semaphore>,
    idle: StdMutex<Vec<Connection>>,
}

impl Readers {
    fn push(&self, conn: Connection) {
        // A poisoned lock only means a panic elsewhere; the Vec is still sound.
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }

    fn pop(&self) -> Option<Connection> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }
}

/// A reader on loan to one blocking task. Dropping it (even while a panic
/// unwinds) returns the connection before releasing the permit.
struct Lease {
    conn: Option<Connection>,
    readers: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.push(conn);
        }
    }
}

/// The writer and the readers of one database.
#[derive(Clone)]
pub(super) struct Conns {
    writer: Arc<Mutex<Connection>>,
    jobs: Sender<Box<dyn Job>>,
    readers: Option<Arc<Readers>>,
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
    /// A file database: one writer, `readers` reader connections and a
    /// connection for the checkpointer thread.
    pub fn new(
        writer: Connection,
        readers: Vec<Connection>,
        checkpoints: Connection,
    ) -> Result<Conns> {
        let (nudge, nudges) = mpsc::sync_channel(1);
        spawn("latchkey-sqlite-checkpoint", move || {
            writer::checkpointer(checkpoints, nudges)
        })?;
        let permits = Arc::new(Semaphore::new(readers.len()));
        let readers = Some(Arc::new(Readers {
            permits,
            idle: StdMutex::new(readers),
        }));
        Conns::start(writer, readers, Some(nudge))
    }

    /// An in-memory database: one connection does everything.
    pub fn single(conn: Connection) -> Result<Conns> {
        Conns::start(conn, None, None)
    }

    fn start(
        writer: Connection,
        readers: Option<Arc<Readers>>,
        nudge: Option<mpsc::SyncSender<()>>,
    ) -> Result<Conns> {
        let writer = Arc::new(Mutex::new(writer));
        let (jobs, queue) = mpsc::channel();
        let owned = writer.clone();
        spawn("latchkey-sqlite-writer", move || {
            writer::run(owned, queue, nudge)
        })?;
        Ok(Conns {
            writer,
            jobs,
            readers,
        })
    }

    /// Runs `f` on a reader connection (on the writer in memory).
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let Some(readers) = &self.readers else {
            return self.write(move |conn| f(conn)).await;
        };
        let permit = readers
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        let lease = Lease {
            conn: readers.pop(),
            readers: readers.clone(),
            _permit: permit,
        };
        blocking(move || {
            let lease = lease;
            match &lease.conn {
                Some(conn) => f(conn),
                None => Err(Error::internal("no idle SQLite reader for a permit")),
            }
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
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
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
