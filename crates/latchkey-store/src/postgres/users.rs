//! Users and invitations on PostgreSQL. Every query filters on the org.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{InvitationId, OrgId, UserId};
use latchkey_core::model::{Credential, Invitation, Page, Paged, User, UserStatus};
use latchkey_core::store::UserStore;
use latchkey_core::{ErrorCode, Result};
use sqlx::PgConnection;

use super::{audit, joins, PgStore};
use crate::error::{invitation_refusal, not_found, username_taken, DbResultExt};
use crate::rows::{
    convert_all, invitation_kind_str, page_limit, user_kind_str, user_status_str, InvitationRow,
    UserRow,
};

/// Fails with `username_taken` when the username exists in the org.
pub(super) async fn insert_user(conn: &mut PgConnection, user: &User) -> Result<()> {
    sqlx::query(
        "INSERT INTO users \
         (id, org_id, username, display_name, role, kind, status, user_handle, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(user.id.as_str())
    .bind(user.org_id.as_str())
    .bind(user.username.as_str())
    .bind(user.display_name.as_str())
    .bind(user.role.as_str())
    .bind(user_kind_str(user.kind))
    .bind(user_status_str(user.status))
    .bind(user.user_handle.as_slice())
    .bind(user.created_at.millis())
    .execute(conn)
    .await
    .map_err(username_taken)?;
    Ok(())
}

pub(super) async fn insert_invitation(conn: &mut PgConnection, inv: &Invitation) -> Result<()> {
    sqlx::query(
        "INSERT INTO invitations \
         (id, org_id, user_id, kind, token_hash, created_by, created_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(inv.id.as_str())
    .bind(inv.org_id.as_str())
    .bind(inv.user_id.as_str())
    .bind(invitation_kind_str(inv.kind))
    .bind(inv.token_hash.as_slice())
    .bind(inv.created_by.as_ref().map(|u| u.as_str()))
    .bind(inv.created_at.millis())
    .bind(inv.expires_at.millis())
    .bind(inv.used_at.map(|t| t.millis()))
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Sets a user's status; `user_not_found` when the user is not in `org`.
pub(super) async fn update_status(
    conn: &mut PgConnection,
    org: &OrgId,
    id: &UserId,
    status: UserStatus,
) -> Result<()> {
    let done = sqlx::query("UPDATE users SET status = $1 WHERE org_id = $2 AND id = $3")
        .bind(user_status_str(status))
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(conn)
        .await
        .db()?;
    if done.rows_affected() == 0 {
        return Err(not_found(ErrorCode::UserNotFound, "user"));
    }
    Ok(())
}

#[async_trait]
impl UserStore for PgStore {
    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE org_id = $1 AND id = $2"
        ))
        .bind(org.as_str())
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(User::try_from).transpose()
    }

    async fn user_with_credentials(
        &self,
        org: &OrgId,
        username: &str,
    ) -> Result<Option<(User, Vec<Credential>)>> {
        joins::user_with_credentials(&self.pool, org, username).await
    }

    async fn find_user_by_username(&self, org: &OrgId, username: &str) -> Result<Option<User>> {
        let row: Option<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE org_id = $1 AND username = $2"
        ))
        .bind(org.as_str())
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(User::try_from).transpose()
    }

    async fn list_users(&self, org: &OrgId, page: Page) -> Result<Paged<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE org_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"
        ))
        .bind(org.as_str())
        .bind(page_limit(page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .db()?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_one(&self.pool)
            .await
            .db()?;
        Ok(Paged {
            items: convert_all(rows)?,
            total,
        })
    }

    async fn set_user_status(
        &self,
        org: &OrgId,
        id: &UserId,
        status: UserStatus,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        update_status(&mut tx, org, id, status).await?;
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()
    }

    async fn create_invitation(
        &self,
        new_user: Option<&User>,
        invitation: &Invitation,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Some(user) = new_user {
            insert_user(&mut tx, user).await?;
        }
        insert_invitation(&mut tx, invitation).await?;
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()
    }

    async fn find_invitation(&self, org: &OrgId, token_hash: &[u8]) -> Result<Option<Invitation>> {
        let row: Option<InvitationRow> = sqlx::query_as(concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations WHERE org_id = $1 AND token_hash = $2"
        ))
        .bind(org.as_str())
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(Invitation::try_from).transpose()
    }
}

/// Consumes an invitation with one conditional UPDATE. When it matches no
/// row, a read decides why: unknown (`invitation_invalid`), already used, or expired.
pub(super) async fn consume_invitation(
    conn: &mut PgConnection,
    org: &OrgId,
    id: &InvitationId,
    now: Timestamp,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE invitations SET used_at = $1 \
         WHERE id = $2 AND org_id = $3 AND used_at IS NULL AND expires_at > $4",
    )
    .bind(now.millis())
    .bind(id.as_str())
    .bind(org.as_str())
    .bind(now.millis())
    .execute(&mut *conn)
    .await
    .db()?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
    let used_at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT used_at FROM invitations WHERE id = $1 AND org_id = $2")
            .bind(id.as_str())
            .bind(org.as_str())
            .fetch_optional(&mut *conn)
            .await
            .db()?;
    Err(invitation_refusal(used_at))
}
