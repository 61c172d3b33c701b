//! Sessions on PostgreSQL: created by an authentication commit, read by org,
//! revoked one by one, all of a user's, or all those a deleted credential
//! created.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{OrgId, SessionId, UserId};
use latchkey_core::model::Session;
use latchkey_core::store::SessionStore;
use latchkey_core::Result;
use sqlx::PgConnection;

use super::{audit, PgStore};
use crate::error::DbResultExt;
use crate::rows::SessionRow;

/// Revokes every unrevoked session the credential created; returns how many.
/// Found through the owner's sessions (`sessions_user_idx`): an index on the
/// credential would cost every sign-in a write for this rare deletion.
pub(super) async fn revoke_for_credential(
    conn: &mut PgConnection,
    org: &OrgId,
    owner: &str,
    credential_id: &[u8],
    now: Timestamp,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE org_id = $2 AND user_id = $3 AND credential_id = $4 AND revoked_at IS NULL",
    )
    .bind(now.millis())
    .bind(org.as_str())
    .bind(owner)
    .bind(credential_id)
    .execute(conn)
    .await
    .db()?;
    Ok(done.rows_affected())
}

#[async_trait]
impl SessionStore for PgStore {
    async fn get_session(&self, org: &OrgId, id: &SessionId) -> Result<Option<Session>> {
        let row: Option<SessionRow> = sqlx::query_as(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE org_id = $1 AND id = $2"
        ))
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(Session::try_from).transpose()
    }

    async fn revoke_session(
        &self,
        org: &OrgId,
        id: &SessionId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL AND expires_at > $4",
        )
        .bind(now.millis())
        .bind(org.as_str())
        .bind(id.as_str())
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() == 0 {
            // Nothing changed, so nothing to audit.
            return Ok(false);
        }
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()?;
        Ok(true)
    }

    async fn revoke_user_sessions(
        &self,
        org: &OrgId,
        user: &UserId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 \
             WHERE org_id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $4",
        )
        .bind(now.millis())
        .bind(org.as_str())
        .bind(user.as_str())
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .db()?;
        let revoked = done.rows_affected();
        if revoked == 0 {
            // Nothing changed, so nothing to audit.
            return Ok(0);
        }
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()?;
        Ok(revoked)
    }
}
