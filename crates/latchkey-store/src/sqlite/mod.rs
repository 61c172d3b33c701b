//! The SQLite backend: one file, WAL, a pool sized for a server. Every write
//! that spans statements runs in `BEGIN IMMEDIATE`, taking the write lock up
//! front: a deferred transaction that reads first and writes later can fail
//! to upgrade (SQLITE_BUSY_SNAPSHOT) under concurrency, and busy_timeout
//! cannot help it. Single-statement writes take the lock by themselves.

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
/// Readers run in parallel under WAL; writers queue on the lock.
const MAX_CONNECTIONS: u32 = 8;

/// The core's [`Store`] on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
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
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .db()?;
        Self::migrated(pool).await
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
        Ok(SqliteStore { pool })
    }

    /// The underlying pool (for operational commands and tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction holding the database write lock from its first statement.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.db()
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
