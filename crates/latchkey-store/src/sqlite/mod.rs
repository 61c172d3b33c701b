//! The SQLite backend: one file, WAL, on rusqlite. Every store call is one
//! closure run by a single writer thread that owns the connection and
//! group-commits (see [`writer`]); reads run there too, on its warm page
//! cache (see [`conns`] for why not a pool of readers). SQLite allows one
//! writer at a time anyway: with several connections competing for it, the
//! losers sat in SQLite's busy handler, which sleeps in steps of
//! milliseconds; with sqlx every statement and row crossed threads. Batches
//! run in `BEGIN IMMEDIATE`, so another process writing the same file (the
//! CLI while the server runs) is waited for up front rather than failing to
//! upgrade a read transaction. The writer's connection opens through
//! [`walbuf`], which hands each commit's WAL frames to the kernel in two writes.
//!
//! Migrations stay sqlx's (`MIGRATOR`), applied at open through a short-lived
//! sqlx pool, so `_sqlx_migrations` is kept exactly as before.

mod audit;
mod ceremonies;
mod checkpoints;
mod conns;
mod credentials;
mod keys;
mod orgs;
mod sessions;
mod timeline;
mod transfer;
mod users;
mod walbuf;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::store::{Purged, Store};
use latchkey_core::{Error, Result};
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OptionalExtension, Params, Row};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::DbResultExt;
use conns::Conns;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for the lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The writer's page cache (KiB): the working set of the hot tables'
/// upper b-tree levels and right edges stays in memory.
const WRITER_CACHE_KIB: i64 = 8 * 1024;
/// Cached prepared statements per connection: more than the backend has
/// distinct statements, so none is ever re-prepared.
const STATEMENT_CACHE: usize = 128;

/// The core's [`Store`] on SQLite.
#[derive(Clone)]
pub struct SqliteStore {
    conns: Conns,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

/// Settings every connection needs; WAL is a property of the file, set once
/// by the migrating sqlx pool (and a no-op for in-memory databases).
fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    // NORMAL is durable against application crashes in WAL mode; only an
    // OS crash can lose the last commits, and nothing is ever corrupted.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
        .db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Query planner stability: without it, SQLite (built with STAT4) lets
    // bound values such as `LIMIT ?` shape the plan, and then expires the
    // cached statement on every rebind, so it was re-parsed on each call
    // (~4 % of a sign-in's CPU). Plans here never depend on the values.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .db()?;
    Ok(())
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).db()?;
    configure(&conn)?;
    Ok(conn)
}

/// The writer's connection, opened through [`walbuf`] so that each commit's
/// WAL frames reach the kernel in two writes rather than two per page.
fn connect_writer(path: &Path) -> Result<Connection> {
    walbuf::register()
        .map_err(|rc| Error::internal(format!("cannot register the WAL VFS ({rc})")))?;
    let conn =
        Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), walbuf::NAME)
            .db()?;
    configure(&conn)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Off while migrating, as SQLite requires for rebuilding a table
            // that others reference (dropping it would cascade); checked
            // whole afterwards.
            .foreign_keys(false)
            .busy_timeout(BUSY_TIMEOUT);
        let migrating = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .db()?;
        let migrated = migrate(&migrating).await;
        migrating.close().await;
        migrated?;
        let path: PathBuf = path.to_owned();
        let conns = tokio::task::spawn_blocking(move || -> Result<Conns> {
            let writer = connect_writer(&path)?;
            // The checkpointer thread checkpoints instead (see `writer`).
            writer
                .execute_batch(&format!(
                    "PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -{WRITER_CACHE_KIB};"
                ))
                .db()?;
            Conns::new(writer, connect(&path)?, connect(&path)?)
        })
        .await
        .map_err(Error::internal)??;
        Ok(SqliteStore { conns })
    }

    /// A private in-memory database, for tests: one connection for reads and
    /// writes, since each in-memory connection is its own database. Its
    /// migrations are applied directly (sqlx can't reach this connection), in
    /// one transaction.
    pub async fn open_memory() -> Result<SqliteStore> {
        let conn = tokio::task::spawn_blocking(|| -> Result<Connection> {
            let mut conn = Connection::open_in_memory().db()?;
            let tx = conn.transaction().db()?;
            for migration in MIGRATOR.iter() {
                tx.execute_batch(migration.sql.as_str()).db()?;
            }
            tx.commit().db()?;
            configure(&conn)?;
            Ok(conn)
        })
        .await
        .map_err(Error::internal)??;
        Ok(SqliteStore {
            conns: Conns::single(conn)?,
        })
    }
}

/// Applies the migrations (on a connection with foreign keys off, see
/// `open`); when any was applied, checks that every foreign key still holds,
/// as SQLite advises after rebuilding a table that others reference.
async fn migrate(pool: &sqlx::SqlitePool) -> Result<()> {
    let before = latest_migration(pool).await?;
    MIGRATOR.run(pool).await.map_err(Error::internal)?;
    if latest_migration(pool).await? == before {
        return Ok(());
    }
    let broken: Vec<String> = sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(pool)
        .await
        .db()?;
    match broken.first() {
        None => Ok(()),
        Some(table) => Err(Error::internal(format!(
            "after migrating, {} row(s) break a foreign key, the first in {table} \
             (PRAGMA foreign_key_check lists them)",
            broken.len()
        ))),
    }
}

/// The newest migration applied to the file; none on a new one.
async fn latest_migration(pool: &sqlx::SqlitePool) -> Result<Option<i64>> {
    let tracked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await
    .db()?;
    if tracked == 0 {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await
        .db()
}

// Statement helpers for the closures: every statement is a cached prepared
// one, so a hot path prepares each SQL text once per connection.

/// Runs a statement; the affected-row count.
pub(super) fn exec<P: Params>(conn: &Connection, sql: &str, params: P) -> rusqlite::Result<u64> {
    let changed = conn.prepare_cached(sql)?.execute(params)?;
    Ok(changed as u64)
}

/// The first row, if any, read by `read`.
pub(super) fn one<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    read: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>> {
    conn.prepare_cached(sql)
        .db()?
        .query_row(params, read)
        .optional()
        .db()
}

/// Every row, read by `read`.
pub(super) fn all<T, P: Params>(
    conn: &Connection,
    sql: &str,
    params: P,
    read: fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt.query_map(params, read).db()?;
    rows.collect::<rusqlite::Result<Vec<T>>>().db()
}

/// A single integer (a COUNT).
pub(super) fn count<P: Params>(conn: &Connection, sql: &str, params: P) -> Result<i64> {
    conn.prepare_cached(sql)
        .db()?
        .query_row(params, |r| r.get(0))
        .db()
}

/// Serialises a JSON column's value as sqlx's `Json` did: compact text.
pub(super) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(Error::internal)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        self.conns
            .read(|conn| count(conn, "SELECT 1", []).map(|_| ()))
            .await
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<Purged> {
        let expired = self
            .purge_in_chunks(
                "DELETE FROM sessions WHERE id IN \
                 (SELECT id FROM sessions WHERE expires_at < ? LIMIT ?)",
                before,
            )
            .await?;
        let revoked = self
            .purge_in_chunks(
                "DELETE FROM sessions WHERE id IN \
                 (SELECT id FROM sessions WHERE revoked_at < ? LIMIT ?)",
                before,
            )
            .await?;
        let invitations = self
            .purge_in_chunks(
                "DELETE FROM invitations WHERE id IN \
                 (SELECT id FROM invitations WHERE expires_at < ? LIMIT ?)",
                before,
            )
            .await?;
        Ok(Purged {
            sessions: expired + revoked,
            invitations,
        })
    }
}

/// Rows one purge job deletes at most: a few milliseconds of the writer.
const PURGE_CHUNK: i64 = 1000;

impl SqliteStore {
    /// Runs `sql` (binding the cut-off, then the chunk size) as one writer
    /// job per chunk until a chunk comes back short. A purge of an hour of
    /// busy sign-ins as one job held the writer, and every request behind
    /// it, for as long as the whole delete took; between chunks, waiting
    /// requests get their turn. The total deleted.
    async fn purge_in_chunks(&self, sql: &'static str, before: Timestamp) -> Result<u64> {
        let mut total = 0;
        loop {
            let deleted = self
                .conns
                .write(move |tx| exec(tx, sql, params![before.millis(), PURGE_CHUNK]).db())
                .await?;
            total += deleted;
            if deleted < PURGE_CHUNK as u64 {
                return Ok(total);
            }
        }
    }
}

#[cfg(test)]
#[path = "migration_tests.rs"]
mod migration_tests;
