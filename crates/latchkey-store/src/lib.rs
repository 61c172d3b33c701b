//! Storage for Latchkey: the core's store traits implemented once per
//! database, SQLite ([`SqliteStore`], rusqlite: each store call one closure
//! on one connection, see `sqlite/conns.rs`) and PostgreSQL ([`PgStore`],
//! sqlx runtime queries). The backend is chosen once, at start-up, by
//! [`open`]; everything above sees only `Arc<dyn Store>`. Operational
//! commands open a [`Database`] instead (see [`open_database`]), which adds
//! export/import ([`transfer`]) and online backup. Migrations are
//! embedded, mirrored (same versions and names in both folders, see
//! [`migration_versions`]) and applied on open. This crate owns SQL and
//! nothing else: no policy, no clock, no HTTP (besides SQL, only the
//! writer thread's scheduling policy, [`sched`], which `latchkey serve`
//! applies to the whole process).

#[macro_use]
mod rows;
mod chain;
mod error;
mod postgres;
pub mod sched;
mod sqlite;
pub mod transfer;

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use latchkey_core::store::Store;
use latchkey_core::Result;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// The SQLite file `open` uses inside the data directory.
pub const SQLITE_FILE_NAME: &str = "latchkey.db";

/// Opens (creating if needed) a SQLite database file, WAL mode, migrated.
pub async fn open_sqlite(path: &Path) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqliteStore::open(path).await?))
}

/// A private, migrated in-memory SQLite database on one connection; for tests.
pub async fn open_sqlite_memory() -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqliteStore::open_memory().await?))
}

/// Connects to PostgreSQL and applies migrations under sqlx's advisory
/// migration lock, so several nodes may start at once.
pub async fn open_postgres(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(PgStore::open(url).await?))
}

/// A store opened for operational commands: everything a [`Store`] does,
/// plus moving the data out and in, and backing it up.
#[async_trait]
pub trait Database: Store {
    /// Writes every table as versioned JSON Lines; see [`transfer::export`].
    async fn export_to(&self, out: &mut (dyn Write + Send)) -> Result<transfer::Counts>;
    /// Loads an export into this (empty) database; see [`transfer::import`].
    async fn import_from(&self, input: &mut (dyn BufRead + Send)) -> Result<transfer::Counts>;
    /// SQLite: an online, consistent copy to the new file `out` (`VACUUM
    /// INTO`). PostgreSQL: refused, pointing at `pg_dump`.
    async fn backup_to(&self, out: &Path) -> Result<()>;
}

/// Chooses the backend: a `postgres://` / `postgresql://` URL opens
/// PostgreSQL, `sqlite::memory:` a private in-memory database, a `sqlite:`
/// URL that file, and `None` the SQLite file
/// `<data_dir>/latchkey.db` (the directory is created if missing).
pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Arc<dyn Store>> {
    Ok(open_database(database_url, data_dir).await?)
}

/// Like [`open`], for operational commands (export, import, backup).
pub async fn open_database(
    database_url: Option<&str>,
    data_dir: &Path,
) -> Result<Arc<dyn Database>> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(PgStore::open(url).await?))
        }
        Some("sqlite::memory:") => Ok(Arc::new(SqliteStore::open_memory().await?)),
        Some(url) => match url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))
        {
            Some(path) => Ok(Arc::new(SqliteStore::open(Path::new(path)).await?)),
            None => Err(latchkey_core::Error::new(
                latchkey_core::ErrorCode::InvalidRequest,
                "database URL must start with postgres://, postgresql:// or sqlite:",
            )),
        },
        None => {
            tokio::fs::create_dir_all(data_dir)
                .await
                .map_err(latchkey_core::Error::internal)?;
            let path = data_dir.join(SQLITE_FILE_NAME);
            Ok(Arc::new(SqliteStore::open(&path).await?))
        }
    }
}

/// One embedded migration: its version and name (the file name's description).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationInfo {
    pub version: i64,
    pub description: String,
}

/// The embedded migrations of both backends, for the test that keeps the two
/// folders in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationVersions {
    pub sqlite: Vec<MigrationInfo>,
    pub postgres: Vec<MigrationInfo>,
}

fn infos(migrator: &sqlx::migrate::Migrator) -> Vec<MigrationInfo> {
    migrator
        .iter()
        .map(|m| MigrationInfo {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect()
}

pub fn migration_versions() -> MigrationVersions {
    MigrationVersions {
        sqlite: infos(&sqlite::MIGRATOR),
        postgres: infos(&postgres::MIGRATOR),
    }
}
