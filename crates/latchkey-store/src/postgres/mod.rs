//! The PostgreSQL backend: a connection pool, migrations applied under sqlx's
//! advisory migration lock (several nodes may start at once). Transactions
//! run at READ COMMITTED; every single-use consumption is one conditional
//! statement, whose row lock makes concurrent consumers wait and then find
//! the row already taken.

mod audit;
mod ceremonies;
mod completions;
mod credentials;
mod joins;
mod keys;
mod orgs;
mod sessions;
mod signins;
mod transfer;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::store::{Purged, Store};
use latchkey_core::Result;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::error::DbResultExt;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// One column of an `unnest($1::…[], …)` statement: `f` of every item.
fn column<'a, T, U>(items: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
    items.iter().map(f).collect()
}

/// Enough for a busy node; PostgreSQL's default max_connections (100) leaves
/// room for several.
const MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a pooled connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The core's [`Store`] on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    completions: completions::Completions,
}

impl PgStore {
    /// Connects and applies migrations (under the migration lock).
    pub async fn open(url: &str) -> Result<PgStore> {
        // Plan every execution with the table sizes of the moment. sqlx keeps
        // each statement prepared for a connection's life, and PostgreSQL's
        // cached generic plan, chosen while the tables were tiny, stayed even
        // as they grew (until an ANALYZE, which autovacuum may not run in
        // time, or at all): measured with auto_explain, the username lookup
        // kept scanning every user of the org through the (org_id, id) index,
        // and sign-ins by username fell from ~1,000/s to ~300/s as a
        // benchmark registered users. Planning these short statements costs
        // far less than one such scan.
        let options = PgConnectOptions::from_str(url)
            .db()?
            .options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .db()?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(latchkey_core::Error::internal)?;
        let completions = completions::Completions::start(pool.clone());
        Ok(PgStore { pool, completions })
    }

    /// The underlying pool (for operational commands and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction. Named like SQLite's so both backends read alike.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.db()
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.db()?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn purge_expired(&self, before: Timestamp) -> Result<Purged> {
        // One transaction, so a purge is all or nothing.
        let mut tx = self.begin_write().await?;
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $2")
            .bind(before.millis())
            .bind(before.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        let invitations = sqlx::query("DELETE FROM invitations WHERE expires_at < $1")
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
