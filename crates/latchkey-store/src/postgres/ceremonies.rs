//! Pending WebAuthn ceremonies on PostgreSQL. Insertion is capped per org by one
//! conditional INSERT … SELECT; taking is one conditional UPDATE … RETURNING,
//! so of any number of concurrent takes exactly one sees a row.

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{CeremonyId, OrgId};
use latchkey_core::model::Ceremony;
use latchkey_core::store::CeremonyStore;
use latchkey_core::{Error, ErrorCode, Result};
use sqlx::types::Json;
use sqlx::PgConnection;

use super::completions::Completion;
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
/// the caller's transaction. One statement: the count and the insert are
/// evaluated together. Under READ COMMITTED, inserts racing in the same
/// instant may each see the other's row missing, so the cap can be exceeded
/// by at most the number of concurrent starts; it bounds pending state, it
/// is not a quota.
pub(super) async fn insert(
    conn: &mut PgConnection,
    ceremony: &Ceremony,
    max_pending: i64,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO ceremonies \
         (id, org_id, purpose, user_id, challenge, payload_hash, state, created_at, expires_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
         WHERE (SELECT COUNT(*) FROM ceremonies \
                WHERE org_id = $10 AND consumed_at IS NULL AND expires_at > $11) < $12",
    )
    .bind(ceremony.id.as_str())
    .bind(ceremony.org_id.as_str())
    .bind(ceremony.purpose.as_str())
    .bind(ceremony.user_id.as_ref().map(|u| u.as_str()))
    .bind(ceremony.challenge.as_slice())
    .bind(ceremony.payload_hash.as_deref())
    .bind(Json(&ceremony.state))
    .bind(ceremony.created_at.millis())
    .bind(ceremony.expires_at.millis())
    .bind(ceremony.org_id.as_str())
    .bind(now.millis())
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
    Ok(())
}

/// Consumes a pending ceremony read earlier, inside the caller's
/// transaction: `ceremony_already_used` when another request got there first.
pub(super) async fn consume(
    conn: &mut PgConnection,
    org: &OrgId,
    id: &CeremonyId,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE ceremonies SET consumed_at = $1 \
         WHERE id = $2 AND org_id = $3 AND consumed_at IS NULL",
    )
    .bind(now.millis())
    .bind(id.as_str())
    .bind(org.as_str())
    .execute(conn)
    .await
    .db()?;
    if done.rows_affected() == 0 {
        return Err(ceremony_refusal(true));
    }
    Ok(())
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
        let taken: Option<CeremonyRow> = sqlx::query_as(concat!(
            "UPDATE ceremonies SET consumed_at = $1 \
             WHERE id = $2 AND org_id = $3 AND consumed_at IS NULL RETURNING ",
            ceremony_columns!()
        ))
        .bind(now.millis())
        .bind(id.as_str())
        .bind(org.as_str())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        if let Some(row) = taken {
            return Ceremony::try_from(row);
        }
        Err(self.refusal(org, id).await?)
    }

    async fn purge_ceremonies(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM ceremonies WHERE expires_at < $1")
            .bind(before.millis())
            .execute(&self.pool)
            .await
            .db()?;
        Ok(done.rows_affected())
    }
}
