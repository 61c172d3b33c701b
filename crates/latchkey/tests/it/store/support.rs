//! The storage test fixture: every storage test runs on both databases.
//!
//! - [`each_backend`] gives a fresh SQLite file and a fresh PostgreSQL
//!   database; a test loops over them (`for db in each_backend().await`) and
//!   uses `db.store` (an `Arc<dyn Store>`, as the server sees it), naming
//!   `db.backend` in its assertion messages.
//! - [`sqlite_store`] / [`postgres_store`] give just the store, for tests in
//!   other areas (the API tests) that need a real, migrated, empty database.
//!
//! PostgreSQL comes from `LATCHKEY_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each call creates its own
//! database `latchkey_it_<millis>_<random>` there, so tests never share state
//! and may run in parallel. Databases older than two hours from earlier runs
//! are dropped on the way. An unreachable server FAILS the test, never skips.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use latchkey_core::ids::OrgId;
use latchkey_core::store::Store;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tempfile::TempDir;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const DB_PREFIX: &str = "latchkey_it_";
/// Test databases older than this are dropped by the next run.
const STALE_AFTER_MS: u128 = 2 * 3600 * 1000;

/// A migrated, empty database of one backend, with a side door for
/// assertions the store API cannot express (the audit trail).
pub struct TestDb {
    /// `"sqlite"` or `"postgres"`, for assertion messages.
    pub backend: &'static str,
    pub store: Arc<dyn Store>,
    raw: Raw,
    /// Keeps the SQLite file's directory alive as long as the fixture.
    _dir: Option<TempDir>,
}

enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub kind: String,
    pub subject: String,
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Vec<u8>,
}

const AUDIT_SQLITE: &str =
    "SELECT seq, kind, subject, prev_hash, hash FROM audit_events WHERE org_id = ? ORDER BY seq";
const AUDIT_PG: &str =
    "SELECT seq, kind, subject, prev_hash, hash FROM audit_events WHERE org_id = $1 ORDER BY seq";

impl TestDb {
    /// The org's audit trail, in sequence order.
    pub async fn audit(&self, org: &OrgId) -> Vec<AuditRow> {
        let rows = match &self.raw {
            Raw::Sqlite(pool) => {
                sqlx::query_as(AUDIT_SQLITE)
                    .bind(org.as_str())
                    .fetch_all(pool)
                    .await
            }
            Raw::Postgres(pool) => {
                sqlx::query_as(AUDIT_PG)
                    .bind(org.as_str())
                    .fetch_all(pool)
                    .await
            }
        };
        rows.unwrap_or_else(|e| panic!("{}: reading audit_events: {e}", self.backend))
    }

    /// Just the kinds of the org's audit trail, in order.
    /// The raw PostgreSQL pool (`None` on SQLite), for tests that must hold
    /// a lock the store will wait for.
    pub fn pg_pool(&self) -> Option<&PgPool> {
        match &self.raw {
            Raw::Postgres(pool) => Some(pool),
            Raw::Sqlite(_) => None,
        }
    }

    pub async fn audit_kinds(&self, org: &OrgId) -> Vec<String> {
        self.audit(org).await.into_iter().map(|r| r.kind).collect()
    }
}

/// Both backends, SQLite first. Every storage test loops over this.
pub async fn each_backend() -> Vec<TestDb> {
    vec![sqlite_db().await, postgres_db().await]
}

/// A fresh SQLite database in a temporary file (removed with the fixture).
pub async fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
    let path = dir.path().join("latchkey.db");
    let store = latchkey_store::open_sqlite(&path)
        .await
        .unwrap_or_else(|e| panic!("opening SQLite at {}: {e}", path.display()));
    let raw = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap_or_else(|e| panic!("opening a raw SQLite pool: {e}"));
    TestDb {
        backend: "sqlite",
        store,
        raw: Raw::Sqlite(raw),
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL database on the test server (see the module docs).
/// Panics with a clear message when the server is unreachable.
pub async fn postgres_db() -> TestDb {
    let url = fresh_postgres_url().await;
    let store = latchkey_store::open_postgres(&url)
        .await
        .unwrap_or_else(|e| panic!("opening PostgreSQL at {url}: {e}"));
    let raw = PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("opening a raw PostgreSQL pool at {url}: {e}"));
    TestDb {
        backend: "postgres",
        store,
        raw: Raw::Postgres(raw),
        _dir: None,
    }
}

/// A migrated, empty SQLite store in a temporary file. The file is left in
/// the system temp dir (the store may outlive any guard we could return).
#[allow(dead_code)] // for other areas' tests (the API tests)
pub async fn sqlite_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
    let path = dir.keep().join("latchkey.db");
    latchkey_store::open_sqlite(&path)
        .await
        .unwrap_or_else(|e| panic!("opening SQLite at {}: {e}", path.display()))
}

/// A migrated, empty PostgreSQL store in its own fresh database.
#[allow(dead_code)] // for other areas' tests (the API tests)
pub async fn postgres_store() -> Arc<dyn Store> {
    postgres_db().await.store
}

/// A migrated, empty database opened for operational commands (export,
/// import, backup), as `latchkey_store::open_database` gives the CLI.
pub struct OpsDb {
    pub backend: &'static str,
    pub db: Arc<dyn latchkey_store::Database>,
    /// Keeps the SQLite file's directory alive; `None` for PostgreSQL.
    _dir: Option<TempDir>,
}

impl OpsDb {
    /// The same database as the server sees it.
    pub fn store(&self) -> Arc<dyn Store> {
        self.db.clone()
    }
}

/// Both backends as [`OpsDb`]s, SQLite first.
pub async fn each_database() -> Vec<OpsDb> {
    vec![sqlite_database().await, postgres_database().await]
}

pub async fn sqlite_database() -> OpsDb {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("creating a temp dir: {e}"));
    let url = format!("sqlite:{}", dir.path().join("latchkey.db").display());
    let db = latchkey_store::open_database(Some(&url), dir.path())
        .await
        .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    OpsDb {
        backend: "sqlite",
        db,
        _dir: Some(dir),
    }
}

pub async fn postgres_database() -> OpsDb {
    let url = fresh_postgres_url().await;
    let db = latchkey_store::open_database(Some(&url), std::path::Path::new("."))
        .await
        .unwrap_or_else(|e| panic!("opening PostgreSQL at {url}: {e}"));
    OpsDb {
        backend: "postgres",
        db,
        _dir: None,
    }
}

/// The admin URL for the test server.
pub fn postgres_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

/// Creates an empty database `latchkey_it_<millis>_<random>` on the test
/// server and returns its URL (for tests that open the store themselves).
pub async fn fresh_postgres_url() -> String {
    let admin_url = postgres_admin_url();
    let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for the storage tests and is unreachable at {admin_url} \
             ({e}). Start it or set LATCHKEY_TEST_PG_URL to a server where the user may \
             CREATE DATABASE."
        )
    });
    let now = now_ms();
    drop_stale_databases(&mut admin, now).await;
    let name = format!("{DB_PREFIX}{now}_{}", latchkey_core::random::id_tail());
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin_url}: {e}"));
    let _ = admin.close().await;
    with_database(&admin_url, &name)
}

/// Best effort: drops test databases that earlier runs left behind.
async fn drop_stale_databases(admin: &mut PgConnection, now: u128) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'latchkey_it_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let born = name
            .strip_prefix(DB_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|ms| ms.parse::<u128>().ok());
        if born.is_some_and(|b| now.saturating_sub(b) > STALE_AFTER_MS) {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut *admin).await;
        }
    }
}

/// `url` with its database (path) replaced by `name`, query string kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

/// Of racing attempts at one ceremony: how many won, how many were told
/// `ceremony_already_used`.
pub fn wins_and_used<T>(results: &[latchkey_core::Result<T>]) -> (usize, usize) {
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let used = results
        .iter()
        .filter(|r| matches!(r, Err(e) if e.code == latchkey_core::ErrorCode::CeremonyAlreadyUsed))
        .count();
    (wins, used)
}
