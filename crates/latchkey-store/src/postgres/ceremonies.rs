//! Pending WebAuthn ceremonies on PostgreSQL. Insertion is capped per org by one
//! conditional INSERT … SELECT, whose count comes from `ceremony_load`
//! ([`super::load`]); taking is one conditional UPDATE … RETURNING, so of
//! any number of concurrent takes exactly one sees a row. Sealed (sign-in)
//! ceremonies are only recorded once spent, by an INSERT that exactly one
//! of any number of concurrent spends makes.

use std::collections::HashSet;

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{CeremonyId, OrgId};
use latchkey_core::model::Ceremony;
use latchkey_core::store::{CeremonyStore, SpentCeremony};
use latchkey_core::{Error, ErrorCode, Result};
use sqlx::types::Json;
use sqlx::PgConnection;

use super::completions::Completion;
use super::load::{self, Load};
use super::PgStore;
use crate::error::{ceremony_refusal, DbResultExt};
use crate::rows::CeremonyRow;

impl PgStore {
    /// Why no pending ceremony matched: "never existed here" or "someone took it".
    async fn refusal(&self, org: &OrgId, id: &CeremonyId) -> Result<Error> {
        let matching: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM ceremonies WHERE id = $1 AND org_id = $2")
                .bind(id.as_str())
                .bind(org.as_str())
                .fetch_one(&self.pool)
                .await
                .db()?;
        Ok(ceremony_refusal(matching > 0))
    }
}

/// Inserts a ceremony unless the org has `max_pending` pending ones, inside
/// the caller's transaction, noting it in `mine`. One statement: the count
/// and the insert are evaluated together. The count is the org's buckets
/// that expire wholly after now's bucket (as written, plus the changes of
/// this batch's earlier jobs, `batch`) and the live rows of now's own
/// bucket. Under READ COMMITTED, concurrent batches don't see each other's
/// starts until they commit, so the cap can be exceeded by at most the
/// number of concurrent starts; it bounds pending state, it is not a quota.
pub(super) async fn insert(
    conn: &mut PgConnection,
    ceremony: &Ceremony,
    max_pending: i64,
    now: Timestamp,
    batch: &Load,
    mine: &mut Load,
) -> Result<()> {
    let org = ceremony.org_id.as_str();
    let now_bucket = load::bucket(now);
    let done = sqlx::query(
        "INSERT INTO ceremonies \
         (id, org_id, purpose, user_id, challenge, payload_hash, state, created_at, expires_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
         WHERE (SELECT COALESCE(SUM(pending), 0) FROM ceremony_load \
                WHERE org_id = $2 AND bucket > $10) \
             + (SELECT COUNT(*) FROM ceremonies \
                WHERE org_id = $2 AND consumed_at IS NULL AND expires_at > $11 AND expires_at < $12) \
             + $13 < $14",
    )
    .bind(ceremony.id.as_str())
    .bind(org)
    .bind(ceremony.purpose.as_str())
    .bind(ceremony.user_id.as_ref().map(|u| u.as_str()))
    .bind(ceremony.challenge.as_slice())
    .bind(ceremony.payload_hash.as_deref())
    .bind(Json(&ceremony.state))
    .bind(ceremony.created_at.millis())
    .bind(ceremony.expires_at.millis())
    .bind(now_bucket)
    .bind(now.millis())
    .bind((now_bucket + 1) * load::BUCKET_MS)
    .bind(batch.pending_after(org, now_bucket))
    .bind(max_pending)
    .execute(conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(Error::new(
            ErrorCode::TooManyPendingCeremonies,
            "too many pending ceremonies for this organization; try again later",
        ));
    }
    mine.add(org, ceremony.expires_at, 1);
    Ok(())
}

/// Consumes a pending ceremony read earlier, inside the caller's
/// transaction, noting it in `mine`: `ceremony_already_used` when another
/// request got there first.
pub(super) async fn consume(
    conn: &mut PgConnection,
    org: &OrgId,
    id: &CeremonyId,
    now: Timestamp,
    mine: &mut Load,
) -> Result<()> {
    let expires_at: Option<i64> = sqlx::query_scalar(
        "UPDATE ceremonies SET consumed_at = $1 \
         WHERE id = $2 AND org_id = $3 AND consumed_at IS NULL RETURNING expires_at",
    )
    .bind(now.millis())
    .bind(id.as_str())
    .bind(org.as_str())
    .fetch_optional(conn)
    .await
    .db()?;
    match expires_at {
        Some(at) => {
            mine.add(org.as_str(), Timestamp(at), -1);
            Ok(())
        }
        None => Err(ceremony_refusal(true)),
    }
}

#[async_trait]
impl CeremonyStore for PgStore {
    async fn insert_ceremony(
        &self,
        ceremony: &Ceremony,
        max_pending: i64,
        now: Timestamp,
    ) -> Result<()> {
        // With the completions: one WAL flush for a batch of them.
        let what = Completion::Ceremony {
            ceremony: ceremony.clone(),
            max_pending,
            now,
        };
        self.completions.commit(what).await
    }

    async fn get_ceremony(&self, org: &OrgId, id: &CeremonyId) -> Result<Ceremony> {
        let found: Option<CeremonyRow> = sqlx::query_as(concat!(
            "SELECT ",
            ceremony_columns!(),
            " FROM ceremonies WHERE id = $1 AND org_id = $2 AND consumed_at IS NULL"
        ))
        .bind(id.as_str())
        .bind(org.as_str())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        match found {
            Some(row) => Ceremony::try_from(row),
            None => Err(self.refusal(org, id).await?),
        }
    }

    async fn take_ceremony(
        &self,
        org: &OrgId,
        id: &CeremonyId,
        now: Timestamp,
    ) -> Result<Ceremony> {
        // Outside the completion batches: counted out of its bucket at once.
        let taken: Option<CeremonyRow> = sqlx::query_as(concat!(
            "WITH taken AS (UPDATE ceremonies SET consumed_at = $1 \
             WHERE id = $2 AND org_id = $3 AND consumed_at IS NULL RETURNING ",
            ceremony_columns!(),
            "), counted AS (INSERT INTO ceremony_load (org_id, bucket, pending) \
             SELECT org_id, expires_at / $4, -1 FROM taken \
             ON CONFLICT (org_id, bucket) \
             DO UPDATE SET pending = ceremony_load.pending + excluded.pending) \
             SELECT ",
            ceremony_columns!(),
            " FROM taken"
        ))
        .bind(now.millis())
        .bind(id.as_str())
        .bind(org.as_str())
        .bind(load::BUCKET_MS)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        if let Some(row) = taken {
            return Ceremony::try_from(row);
        }
        Err(self.refusal(org, id).await?)
    }

    async fn purge_ceremonies(&self, before: Timestamp) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM ceremonies WHERE expires_at < $1")
            .bind(before.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        // Buckets wholly before `before` can't hold a pending ceremony.
        sqlx::query("DELETE FROM ceremony_load WHERE bucket < $1")
            .bind(load::bucket(before))
            .execute(&mut *tx)
            .await
            .db()?;
        let spent = sqlx::query("DELETE FROM spent_ceremonies WHERE expires_at < $1")
            .bind(before.millis())
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(done.rows_affected() + spent.rows_affected())
    }

    async fn spend_ceremony(&self, spent: &SpentCeremony) -> Result<()> {
        let mut conn = self.pool.acquire().await.db()?;
        match spend_all(&mut conn, &[spent]).await?[..] {
            [true] => Ok(()),
            _ => Err(ceremony_refusal(true)),
        }
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
    .bind(
        spent
            .iter()
            .map(|s| s.expires_at.millis())
            .collect::<Vec<_>>(),
    )
    .bind(spent.iter().map(|s| s.id.as_str()).collect::<Vec<_>>())
    .bind(spent.iter().map(|s| s.org_id.as_str()).collect::<Vec<_>>())
    .fetch_all(conn)
    .await
    .db()?;
    let mut won: HashSet<String> = won.into_iter().collect();
    // The first to name a ceremony takes it.
    Ok(spent.iter().map(|s| won.remove(s.id.as_str())).collect())
}
