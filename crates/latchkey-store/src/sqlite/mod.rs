//! The SQLite backend: one file, WAL, readers in parallel and one writer.
//! SQLite allows a single writer at a time; with several pooled connections
//! competing for it, the losers sit in SQLite's busy handler, which sleeps in
//! steps of milliseconds, and that dominated latency under load. So every
//! write goes through a pool of exactly one connection: writers queue on an
//! async semaphore instead, and reads (WAL snapshots) never wait for them.
//! Writes that span statements still run in `BEGIN IMMEDIATE`, so another
//! process writing the same file (the CLI while the server runs) is waited
//! for up front rather than failing to upgrade a read transaction.

mod audit;
mod ceremonies;
mod credentials;
mod keys;
mod orgs;
mod sessions;
mod transfer;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::store::{Purged, Store};
use latchkey_core::Result;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::error::DbResultExt;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for the lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Readers run in parallel under WAL.
const MAX_READERS: u32 = 8;

/// The core's [`Store`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Reads.
    pool: SqlitePool,
    /// Writes: a pool of one connection (the same pool as `pool` in memory).
    writer: SqlitePool,
}

fn base_options() -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL is durable against application crashes in WAL mode; only an
        // OS crash can lose the last commits, and nothing is ever corrupted.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let options = base_options().filename(path).create_if_missing(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .db()?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(latchkey_core::Error::internal)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_READERS)
            .connect_with(options)
            .await
            .db()?;
        Ok(SqliteStore { pool, writer })
    }

    /// A private in-memory database, for tests. One connection that never
    /// closes: each SQLite in-memory connection would otherwise be its own
    /// empty database.
    pub async fn open_memory() -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .db()?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .db()?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<SqliteStore> {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(latchkey_core::Error::internal)?;
        Ok(SqliteStore {
            writer: pool.clone(),
            pool,
        })
    }

    /// The underlying pool (for operational commands and tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction holding the database write lock from its first statement.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.db()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.db()?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<Purged> {
        // One transaction, so a purge is all or nothing.
        let mut tx = self.begin_write().await?;
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ?")
            .bind(before.millis())
            .bind(before.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        let invitations = sqlx::query("DELETE FROM invitations WHERE expires_at < ?")
            .bind(before.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(Purged {
            sessions: sessions.rows_affected(),
            invitations: invitations.rows_affected(),
        })
    }
}
