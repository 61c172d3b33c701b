//! Passkeys on SQLite: the registration and authentication commits (each one
//! transaction), listing newest first, rename, delete (revoking the sessions
//! the credential created) and the clone flag.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::model::{Credential, Page, Paged, User, UserStatus};
use latchkey_core::store::{AuthenticationCommit, CredentialStore, RegistrationCommit};
use latchkey_core::{ErrorCode, Result};
use rusqlite::{params, Connection};

use super::{all, audit, ceremonies, count, exec, json, one, orgs, sessions, users, SqliteStore};
use crate::error::{credential_taken, not_found, DbResultExt};
use crate::rows::{convert_all, page_limit, CredentialRow};

/// Fails with `credential_already_registered` when the id exists in any org.
fn insert_credential(conn: &Connection, c: &Credential) -> Result<()> {
    exec(
        conn,
        concat!(
            "INSERT INTO credentials (",
            credential_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        params![
            c.id.as_slice(),
            c.org_id.as_str(),
            c.user_id.as_str(),
            c.name.as_str(),
            c.public_key_cose.as_slice(),
            c.alg,
            i64::from(c.sign_count),
            c.aaguid.as_slice(),
            json(&c.transports)?,
            c.attestation_format.as_str(),
            c.backup_eligible,
            c.backup_state,
            c.uv_initialized,
            c.possibly_cloned,
            c.created_at.millis(),
            c.last_used_at.map(|t| t.millis()),
        ],
    )
    .map_err(credential_taken)?;
    Ok(())
}

fn credential_not_found() -> latchkey_core::Error {
    not_found(ErrorCode::CredentialNotFound, "credential")
}

/// Runs one UPDATE of a credential by org and id in a transaction, then the
/// audit events; `credential_not_found` when the statement matched nothing.
async fn change_credential(
    store: &SqliteStore,
    sql: &'static str,
    first: Option<String>,
    org: &OrgId,
    id: &[u8],
    audit: &[AuditEvent],
) -> Result<()> {
    let (org, id, audit) = (org.clone(), id.to_vec(), audit.to_vec());
    store
        .conns
        .write(move |tx| {
            let changed = match &first {
                Some(value) => exec(tx, sql, params![value, org.as_str(), id]),
                None => exec(tx, sql, params![org.as_str(), id]),
            }
            .db()?;
            if changed == 0 {
                return Err(credential_not_found());
            }
            audit::append(tx, &audit)
        })
        .await
}

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn complete_registration(&self, commit: &RegistrationCommit) -> Result<()> {
        let commit = commit.clone();
        self.conns
            .write(move |tx| {
                let org = &commit.credential.org_id;
                if let Some(ceremony) = &commit.ceremony {
                    ceremonies::spend_on(tx, ceremony)?;
                }
                if let Some(user) = &commit.new_user {
                    users::insert_user(tx, user)?;
                }
                if let Some(invitation) = &commit.invitation {
                    users::consume_invitation(tx, org, invitation, commit.now)?;
                }
                if let Some(user) = &commit.activate_user {
                    users::update_status(tx, org, user, UserStatus::Active)?;
                }
                insert_credential(tx, &commit.credential)?;
                if commit.activate_org {
                    orgs::activate(tx, org)?;
                }
                audit::append(tx, &commit.audit)
            })
            .await
    }

    async fn complete_authentication(&self, commit: &AuthenticationCommit) -> Result<User> {
        let commit = commit.clone();
        self.conns
            .write(move |tx| {
                if let Some(ceremony) = &commit.ceremony {
                    ceremonies::spend_on(tx, ceremony)?;
                }
                let fresh = subject_on(tx, &commit.org_id, &commit.credential_id)?;
                if let Err(refused) = commit.recheck(fresh.as_ref().map(|(c, u)| (c, u))) {
                    // Committed with the ceremony spent, as a failed attempt is.
                    return Ok(Err(refused));
                }
                // MAX: a slower concurrent assertion can never move the counter back.
                let changed = exec(
                    tx,
                    "UPDATE credentials SET sign_count = MAX(sign_count, ?), backup_eligible = ?, \
                     backup_state = ?, last_used_at = ? WHERE org_id = ? AND id = ?",
                    params![
                        i64::from(commit.sign_count),
                        commit.backup_eligible,
                        commit.backup_state,
                        commit.now.millis(),
                        commit.org_id.as_str(),
                        commit.credential_id.as_slice(),
                    ],
                )
                .db()?;
                if changed == 0 {
                    return Err(credential_not_found());
                }
                if let Some(session) = &commit.session {
                    sessions::insert_session(tx, session)?;
                }
                audit::append(tx, &commit.audit)?;
                Ok(fresh
                    .map(|(_, owner)| owner)
                    .ok_or_else(credential_not_found))
            })
            .await?
    }

    async fn get_credential(&self, org: &OrgId, id: &[u8]) -> Result<Option<Credential>> {
        let (org, id) = (org.clone(), id.to_vec());
        self.conns
            .read(move |conn| credential_on(conn, &org, &id))
            .await
    }

    async fn assertion_subject(
        &self,
        org: &OrgId,
        credential_id: &[u8],
    ) -> Result<Option<(Credential, User)>> {
        let (org, id) = (org.clone(), credential_id.to_vec());
        self.conns
            .read(move |conn| subject_on(conn, &org, &id))
            .await
    }

    async fn list_user_credentials(
        &self,
        org: &OrgId,
        user: &UserId,
        page: Page,
    ) -> Result<Paged<Credential>> {
        let (org, user) = (org.clone(), user.clone());
        self.conns
            .read(move |conn| {
                let rows = all(
                    conn,
                    concat!(
                        "SELECT ",
                        credential_columns!(),
                        " FROM credentials WHERE org_id = ? AND user_id = ? \
                         ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
                    ),
                    params![org.as_str(), user.as_str(), page_limit(page), page.offset()],
                    CredentialRow::from_rusqlite,
                )?;
                Ok(Paged {
                    items: convert_all(rows)?,
                    total: count_for_user(conn, &org, &user)?,
                })
            })
            .await
    }

    async fn user_credentials(&self, org: &OrgId, user: &UserId) -> Result<Vec<Credential>> {
        let (org, user) = (org.clone(), user.clone());
        self.conns
            .read(move |conn| user_credentials_on(conn, &org, &user))
            .await
    }

    async fn list_org_credentials(&self, org: &OrgId, page: Page) -> Result<Paged<Credential>> {
        let org = org.clone();
        self.conns
            .read(move |conn| {
                let rows = all(
                    conn,
                    concat!(
                        "SELECT ",
                        credential_columns!(),
                        " FROM credentials WHERE org_id = ? \
                         ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
                    ),
                    params![org.as_str(), page_limit(page), page.offset()],
                    CredentialRow::from_rusqlite,
                )?;
                let total = count(
                    conn,
                    "SELECT COUNT(*) FROM credentials WHERE org_id = ?",
                    [org.as_str()],
                )?;
                Ok(Paged {
                    items: convert_all(rows)?,
                    total,
                })
            })
            .await
    }

    async fn count_user_credentials(&self, org: &OrgId, user: &UserId) -> Result<i64> {
        let (org, user) = (org.clone(), user.clone());
        self.conns
            .read(move |conn| count_for_user(conn, &org, &user))
            .await
    }

    async fn rename_credential(
        &self,
        org: &OrgId,
        id: &[u8],
        name: &str,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let sql = "UPDATE credentials SET name = ? WHERE org_id = ? AND id = ?";
        change_credential(self, sql, Some(name.to_owned()), org, id, audit).await
    }

    async fn delete_credential(
        &self,
        org: &OrgId,
        id: &[u8],
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let (org, id, audit) = (org.clone(), id.to_vec(), audit.to_vec());
        self.conns
            .write(move |tx| {
                let owner = one(
                    tx,
                    "DELETE FROM credentials WHERE org_id = ? AND id = ? RETURNING user_id",
                    params![org.as_str(), id],
                    |r| r.get::<_, String>(0),
                )?
                .ok_or_else(credential_not_found)?;
                sessions::revoke_for_credential(tx, &org, &owner, &id, now)?;
                audit::append(tx, &audit)
            })
            .await
    }

    async fn flag_credential_cloned(
        &self,
        org: &OrgId,
        id: &[u8],
        audit: &[AuditEvent],
    ) -> Result<()> {
        let sql = "UPDATE credentials SET possibly_cloned = 1 WHERE org_id = ? AND id = ?";
        change_credential(self, sql, None, org, id, audit).await
    }
}

fn count_for_user(conn: &Connection, org: &OrgId, user: &UserId) -> Result<i64> {
    count(
        conn,
        "SELECT COUNT(*) FROM credentials WHERE org_id = ? AND user_id = ?",
        [org.as_str(), user.as_str()],
    )
}

/// The credential with its owner, or `None` when either is missing.
fn subject_on(conn: &Connection, org: &OrgId, id: &[u8]) -> Result<Option<(Credential, User)>> {
    let Some(credential) = credential_on(conn, org, id)? else {
        return Ok(None);
    };
    let owner = users::user_on(conn, org, &credential.user_id)?;
    Ok(owner.map(|user| (credential, user)))
}

/// One credential of the org.
pub(super) fn credential_on(
    conn: &Connection,
    org: &OrgId,
    id: &[u8],
) -> Result<Option<Credential>> {
    let row = one(
        conn,
        concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE org_id = ? AND id = ?"
        ),
        params![org.as_str(), id],
        CredentialRow::from_rusqlite,
    )?;
    row.map(Credential::try_from).transpose()
}

/// A user's newest credentials (at most a page).
///
/// Here and in the listings, ties of `created_at` go by rowid (the later
/// registered first), which the `(org_id, …, created_at)` indexes hold:
/// ordered by the `id` column instead, SQLite sorted every read's rows in a
/// temporary b-tree, a page cache allocated and freed per sign-in start
/// (PostgreSQL orders by id, as its plans sort nothing to disk).
pub(super) fn user_credentials_on(
    conn: &Connection,
    org: &OrgId,
    user: &UserId,
) -> Result<Vec<Credential>> {
    convert_all(all(
        conn,
        concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE org_id = ? AND user_id = ? \
             ORDER BY created_at DESC, rowid DESC LIMIT ?"
        ),
        params![org.as_str(), user.as_str(), i64::from(Page::MAX_PER_PAGE)],
        CredentialRow::from_rusqlite,
    )?)
}
