//! Pending WebAuthn ceremonies on SQLite. Insertion is capped per org by one
//! conditional INSERT … SELECT; taking is one conditional UPDATE … RETURNING,
//! so of any number of concurrent takes exactly one sees a row.

use async_trait::async_trait;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{CeremonyId, OrgId};
use latchkey_core::model::Ceremony;
use latchkey_core::store::CeremonyStore;
use latchkey_core::{Error, ErrorCode, Result};
use sqlx::types::Json;

use super::SqliteStore;
use crate::error::{ceremony_refusal, DbResultExt};
use crate::rows::CeremonyRow;

#[async_trait]
impl CeremonyStore for SqliteStore {
    async fn insert_ceremony(
        &self,
        ceremony: &Ceremony,
        max_pending: i64,
        now: Timestamp,
    ) -> Result<()> {
        // One statement: SQLite takes the write lock when the statement
        // starts, so the count and the insert see the same state and no other
        // writer can slip in between. No explicit transaction is needed.
        let done = sqlx::query(
            "INSERT INTO ceremonies \
             (id, org_id, purpose, user_id, challenge, payload_hash, state, created_at, expires_at) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? \
             WHERE (SELECT COUNT(*) FROM ceremonies \
                    WHERE org_id = ? AND consumed_at IS NULL AND expires_at > ?) < ?",
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
        .execute(&self.writer)
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

    async fn take_ceremony(
        &self,
        org: &OrgId,
        id: &CeremonyId,
        now: Timestamp,
    ) -> Result<Ceremony> {
        let taken: Option<CeremonyRow> = sqlx::query_as(concat!(
            "UPDATE ceremonies SET consumed_at = ? \
             WHERE id = ? AND org_id = ? AND consumed_at IS NULL RETURNING ",
            ceremony_columns!()
        ))
        .bind(now.millis())
        .bind(id.as_str())
        .bind(org.as_str())
        .fetch_optional(&self.writer)
        .await
        .db()?;
        if let Some(row) = taken {
            return Ceremony::try_from(row);
        }
        // Nothing taken: tell "never existed here" from "someone took it".
        let matching: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM ceremonies WHERE id = ? AND org_id = ?")
                .bind(id.as_str())
                .bind(org.as_str())
                .fetch_one(&self.pool)
                .await
                .db()?;
        Err(ceremony_refusal(matching > 0))
    }

    async fn purge_ceremonies(&self, before: Timestamp) -> Result<u64> {
        let done = sqlx::query("DELETE FROM ceremonies WHERE expires_at < ?")
            .bind(before.millis())
            .execute(&self.writer)
            .await
            .db()?;
        Ok(done.rows_affected())
    }
}
