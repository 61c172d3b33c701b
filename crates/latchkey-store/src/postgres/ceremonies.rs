//! Spent ceremonies on PostgreSQL. Ceremonies are sealed into their ids,
//! not stored (see `latchkey_core::sealed`); a ceremony is recorded once
//! spent, by an INSERT that exactly one of any number of concurrent spends
//! makes, and kept until it expires.

use std::collections::HashSet;

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::store::{CeremonyStore, SpentCeremony};
use latchkey_core::Result;
use sqlx::PgConnection;

use super::{column, PgStore};
use crate::error::{ceremony_already_used, DbResultExt};

#[async_trait]
impl CeremonyStore for PgStore {
    async fn spend_ceremony(&self, spent: &SpentCeremony) -> Result<()> {
        let mut conn = self.pool.acquire().await.db()?;
        spend(&mut conn, spent).await
    }

    async fn purge_ceremonies(&self, before: Timestamp) -> Result<u64> {
        let spent = sqlx::query("DELETE FROM spent_ceremonies WHERE expires_at < $1")
            .bind(before.millis())
            .execute(&self.pool)
            .await
            .db()?;
        Ok(spent.rows_affected())
    }
}

/// Records one sealed ceremony as spent, inside the caller's transaction:
/// `ceremony_already_used` when it was spent before.
pub(super) async fn spend(conn: &mut PgConnection, spent: &SpentCeremony) -> Result<()> {
    match spend_all(conn, &[spent]).await?[..] {
        [true] => Ok(()),
        _ => Err(ceremony_already_used()),
    }
}

/// Records sealed ceremonies as spent, inside the caller's transaction, in
/// one statement; for each, whether this call spent it (false: spent
/// before, or by an earlier one of `spent`). Of two nodes racing, the
/// second INSERT waits for the first transaction and then conflicts.
pub(super) async fn spend_all(
    conn: &mut PgConnection,
    spent: &[&SpentCeremony],
) -> Result<Vec<bool>> {
    if spent.is_empty() {
        return Ok(Vec::new());
    }
    // Rows of one statement that conflict with each other are skipped like
    // rows that conflict with the table, so a ceremony comes back once.
    let won: Vec<String> = sqlx::query_scalar(
        "INSERT INTO spent_ceremonies (expires_at, id, org_id) \
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(column(spent, |s| s.expires_at.millis()))
    .bind(column(spent, |s| s.id.as_str()))
    .bind(column(spent, |s| s.org_id.as_str()))
    .fetch_all(conn)
    .await
    .db()?;
    let mut won: HashSet<String> = won.into_iter().collect();
    // The first to name a ceremony takes it.
    Ok(spent.iter().map(|s| won.remove(s.id.as_str())).collect())
}
