//! Users and invitations on SQLite. Every query filters on the org.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{InvitationId, OrgId, UserId};
use latchkey_core::model::{Credential, Invitation, Page, Paged, User, UserStatus};
use latchkey_core::store::UserStore;
use latchkey_core::{ErrorCode, Result};
use rusqlite::{params, Connection};

use super::{all, audit, count, credentials, exec, one, SqliteStore};
use crate::error::{invitation_refusal, not_found, username_taken, DbResultExt};
use crate::rows::{
    convert_all, invitation_kind_str, page_limit, user_kind_str, user_status_str, InvitationRow,
    UserRow,
};

/// Fails with `username_taken` when the username exists in the org.
pub(super) fn insert_user(conn: &Connection, user: &User) -> Result<()> {
    exec(
        conn,
        "INSERT INTO users \
         (id, org_id, username, display_name, role, kind, status, user_handle, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            user.id.as_str(),
            user.org_id.as_str(),
            user.username.as_str(),
            user.display_name.as_str(),
            user.role.as_str(),
            user_kind_str(user.kind),
            user_status_str(user.status),
            user.user_handle.as_slice(),
            user.created_at.millis(),
        ],
    )
    .map_err(username_taken)?;
    Ok(())
}

pub(super) fn insert_invitation(conn: &Connection, inv: &Invitation) -> Result<()> {
    exec(
        conn,
        "INSERT INTO invitations \
         (id, org_id, user_id, kind, token_hash, created_by, created_at, expires_at, used_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            inv.id.as_str(),
            inv.org_id.as_str(),
            inv.user_id.as_str(),
            invitation_kind_str(inv.kind),
            inv.token_hash.as_slice(),
            inv.created_by.as_ref().map(|u| u.as_str()),
            inv.created_at.millis(),
            inv.expires_at.millis(),
            inv.used_at.map(|t| t.millis()),
        ],
    )
    .db()?;
    Ok(())
}

/// Sets a user's status; `user_not_found` when the user is not in `org`.
pub(super) fn update_status(
    conn: &Connection,
    org: &OrgId,
    id: &UserId,
    status: UserStatus,
) -> Result<()> {
    let changed = exec(
        conn,
        "UPDATE users SET status = ? WHERE org_id = ? AND id = ?",
        params![user_status_str(status), org.as_str(), id.as_str()],
    )
    .db()?;
    if changed == 0 {
        return Err(not_found(ErrorCode::UserNotFound, "user"));
    }
    Ok(())
}

/// Consumes an invitation with one conditional UPDATE. When it matches no
/// row, a read decides why: unknown (`invitation_invalid`), already used, or expired.
pub(super) fn consume_invitation(
    conn: &Connection,
    org: &OrgId,
    id: &InvitationId,
    now: Timestamp,
) -> Result<()> {
    let changed = exec(
        conn,
        "UPDATE invitations SET used_at = ? \
         WHERE id = ? AND org_id = ? AND used_at IS NULL AND expires_at > ?",
        params![now.millis(), id.as_str(), org.as_str(), now.millis()],
    )
    .db()?;
    if changed == 1 {
        return Ok(());
    }
    let used_at: Option<Option<i64>> = one(
        conn,
        "SELECT used_at FROM invitations WHERE id = ? AND org_id = ?",
        [id.as_str(), org.as_str()],
        |r| r.get(0),
    )?;
    Err(invitation_refusal(used_at))
}

const USER_BY_ID: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE org_id = ? AND id = ?"
);
const USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE org_id = ? AND username = ?"
);

/// One user of the org by id.
pub(super) fn user_on(conn: &Connection, org: &OrgId, id: &UserId) -> Result<Option<User>> {
    user_by_key(conn, USER_BY_ID, org, id.as_str())
}

/// One user by a unique key of the org: `sql` binds the org, then `key`.
fn user_by_key(conn: &Connection, sql: &str, org: &OrgId, key: &str) -> Result<Option<User>> {
    one(
        conn,
        sql,
        params![org.as_str(), key],
        UserRow::from_rusqlite,
    )?
    .map(User::try_from)
    .transpose()
}

/// [`user_by_key`] as one store call.
async fn user_by(
    store: &SqliteStore,
    sql: &'static str,
    org: &OrgId,
    key: String,
) -> Result<Option<User>> {
    let org = org.clone();
    store
        .conns
        .read(move |conn| user_by_key(conn, sql, &org, &key))
        .await
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<User>> {
        user_by(self, USER_BY_ID, org, id.as_str().to_owned()).await
    }

    async fn find_user_by_username(&self, org: &OrgId, username: &str) -> Result<Option<User>> {
        user_by(self, USER_BY_USERNAME, org, username.to_owned()).await
    }

    async fn user_with_credentials(
        &self,
        org: &OrgId,
        username: &str,
    ) -> Result<Option<(User, Vec<Credential>)>> {
        let (org, key) = (org.clone(), username.to_owned());
        self.conns
            .read(move |conn| {
                let Some(user) = user_by_key(conn, USER_BY_USERNAME, &org, &key)? else {
                    return Ok(None);
                };
                let creds = credentials::user_credentials_on(conn, &org, &user.id)?;
                Ok(Some((user, creds)))
            })
            .await
    }

    async fn list_users(&self, org: &OrgId, page: Page) -> Result<Paged<User>> {
        let org = org.clone();
        self.conns
            .read(move |conn| {
                let rows = all(
                    conn,
                    concat!(
                        "SELECT ",
                        user_columns!(),
                        " FROM users WHERE org_id = ? ORDER BY created_at, id LIMIT ? OFFSET ?"
                    ),
                    params![org.as_str(), page_limit(page), page.offset()],
                    UserRow::from_rusqlite,
                )?;
                let total = count(
                    conn,
                    "SELECT COUNT(*) FROM users WHERE org_id = ?",
                    [org.as_str()],
                )?;
                Ok(Paged {
                    items: convert_all(rows)?,
                    total,
                })
            })
            .await
    }

    async fn set_user_status(
        &self,
        org: &OrgId,
        id: &UserId,
        status: UserStatus,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let (org, id, audit) = (org.clone(), id.clone(), audit.to_vec());
        self.conns
            .write(move |tx| {
                update_status(tx, &org, &id, status)?;
                audit::append(tx, &audit)
            })
            .await
    }

    async fn create_invitation(
        &self,
        new_user: Option<&User>,
        invitation: &Invitation,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let (new_user, invitation, audit) = (new_user.cloned(), invitation.clone(), audit.to_vec());
        self.conns
            .write(move |tx| {
                if let Some(user) = &new_user {
                    insert_user(tx, user)?;
                }
                insert_invitation(tx, &invitation)?;
                audit::append(tx, &audit)
            })
            .await
    }

    async fn find_invitation(&self, org: &OrgId, token_hash: &[u8]) -> Result<Option<Invitation>> {
        let (org, token_hash) = (org.clone(), token_hash.to_vec());
        self.conns
            .read(move |conn| {
                let row = one(
                    conn,
                    concat!(
                        "SELECT ",
                        invitation_columns!(),
                        " FROM invitations WHERE org_id = ? AND token_hash = ?"
                    ),
                    params![org.as_str(), token_hash],
                    InvitationRow::from_rusqlite,
                )?;
                row.map(Invitation::try_from).transpose()
            })
            .await
    }
}
