//! Sessions on SQLite: created by an authentication commit, read by org,
//! revoked one by one, all of a user's, or all those a deleted credential
//! created.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{OrgId, SessionId, UserId};
use latchkey_core::model::Session;
use latchkey_core::store::SessionStore;
use latchkey_core::Result;
use rusqlite::{params, Connection};

use super::{audit, exec, one, SqliteStore};
use crate::error::DbResultExt;
use crate::rows::SessionRow;

pub(super) fn insert_session(conn: &Connection, s: &Session) -> Result<()> {
    exec(
        conn,
        concat!(
            "INSERT INTO sessions (",
            session_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        params![
            s.id.as_str(),
            s.org_id.as_str(),
            s.user_id.as_str(),
            s.credential_id.as_slice(),
            s.created_at.millis(),
            s.expires_at.millis(),
            s.last_seen_at.millis(),
            s.revoked_at.map(|t| t.millis()),
            s.user_agent.as_deref(),
        ],
    )
    .db()?;
    Ok(())
}

/// Revokes every unrevoked session the credential created; returns how many.
/// Found through the owner's sessions (`sessions_user_idx`): an index on the
/// credential would cost every sign-in a write for this rare deletion.
pub(super) fn revoke_for_credential(
    conn: &Connection,
    org: &OrgId,
    owner: &str,
    credential_id: &[u8],
    now: Timestamp,
) -> Result<u64> {
    exec(
        conn,
        "UPDATE sessions SET revoked_at = ? \
         WHERE org_id = ? AND user_id = ? AND credential_id = ? AND revoked_at IS NULL",
        params![now.millis(), org.as_str(), owner, credential_id],
    )
    .db()
}

/// Revokes live sessions matching `sql` (which binds now, org, key, now) and
/// writes the audit events only when at least one was revoked: nothing
/// changed, nothing to audit.
async fn revoke(
    store: &SqliteStore,
    sql: &'static str,
    org: &OrgId,
    key: &str,
    now: Timestamp,
    audit: &[AuditEvent],
) -> Result<u64> {
    let (org, key, audit) = (org.clone(), key.to_owned(), audit.to_vec());
    store
        .conns
        .write(move |tx| {
            let revoked = exec(
                tx,
                sql,
                params![now.millis(), org.as_str(), key, now.millis()],
            )
            .db()?;
            if revoked > 0 {
                audit::append(tx, &audit)?;
            }
            Ok(revoked)
        })
        .await
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn get_session(&self, org: &OrgId, id: &SessionId) -> Result<Option<Session>> {
        let (org, id) = (org.clone(), id.clone());
        self.conns
            .read(move |conn| {
                let row = one(
                    conn,
                    concat!(
                        "SELECT ",
                        session_columns!(),
                        " FROM sessions WHERE org_id = ? AND id = ?"
                    ),
                    [org.as_str(), id.as_str()],
                    SessionRow::from_rusqlite,
                )?;
                row.map(Session::try_from).transpose()
            })
            .await
    }

    async fn revoke_session(
        &self,
        org: &OrgId,
        id: &SessionId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<bool> {
        let sql = "UPDATE sessions SET revoked_at = ? \
                   WHERE org_id = ? AND id = ? AND revoked_at IS NULL AND expires_at > ?";
        Ok(revoke(self, sql, org, id.as_str(), now, audit).await? > 0)
    }

    async fn revoke_user_sessions(
        &self,
        org: &OrgId,
        user: &UserId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<u64> {
        let sql = "UPDATE sessions SET revoked_at = ? \
                   WHERE org_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?";
        revoke(self, sql, org, user.as_str(), now, audit).await
    }
}
