//! Passkeys on PostgreSQL: the registration and authentication commits (each one
//! transaction), listing newest first, rename, delete (revoking the sessions
//! the credential created) and the clone flag.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::model::{Credential, Page, Paged, User, UserStatus};
use latchkey_core::store::{AuthenticationCommit, CredentialStore, RegistrationCommit};
use latchkey_core::{Error, ErrorCode, Result};
use sqlx::types::Json;
use sqlx::PgConnection;

use super::completions::Completion;
use super::{audit, ceremonies, joins, orgs, sessions, users, PgStore};
use crate::error::{credential_taken, not_found, DbResultExt};
use crate::rows::{convert_all, page_limit, CredentialRow};

/// Fails with `credential_already_registered` when the id exists in any org.
async fn insert_credential(conn: &mut PgConnection, c: &Credential) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO credentials (",
        credential_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    ))
    .bind(c.id.as_slice())
    .bind(c.org_id.as_str())
    .bind(c.user_id.as_str())
    .bind(c.name.as_str())
    .bind(c.public_key_cose.as_slice())
    .bind(c.alg)
    .bind(i64::from(c.sign_count))
    .bind(c.aaguid.as_slice())
    .bind(Json(&c.transports))
    .bind(c.attestation_format.as_str())
    .bind(c.backup_eligible)
    .bind(c.backup_state)
    .bind(c.uv_initialized)
    .bind(c.possibly_cloned)
    .bind(c.created_at.millis())
    .bind(c.last_used_at.map(|t| t.millis()))
    .execute(conn)
    .await
    .map_err(credential_taken)?;
    Ok(())
}

pub(super) fn credential_not_found() -> latchkey_core::Error {
    not_found(ErrorCode::CredentialNotFound, "credential")
}

/// A registration's writes but its audit events, inside the caller's
/// transaction (see `completions`, which writes those last).
pub(super) async fn registration_in(
    conn: &mut PgConnection,
    commit: &RegistrationCommit,
) -> Result<()> {
    let org = &commit.credential.org_id;
    if let Some(ceremony) = &commit.ceremony {
        ceremonies::spend(conn, ceremony).await?;
    }
    if let Some(user) = &commit.new_user {
        users::insert_user(conn, user).await?;
    }
    if let Some(invitation) = &commit.invitation {
        users::consume_invitation(conn, org, invitation, commit.now).await?;
    }
    if let Some(user) = &commit.activate_user {
        users::update_status(conn, org, user, UserStatus::Active).await?;
    }
    insert_credential(conn, &commit.credential).await?;
    if commit.activate_org {
        orgs::activate(conn, org).await?;
    }
    Ok(())
}

#[async_trait]
impl CredentialStore for PgStore {
    async fn complete_registration(&self, commit: &RegistrationCommit) -> Result<()> {
        let what = Completion::Registration(commit.clone());
        self.completions.commit(what).await.map(|_| ())
    }

    async fn complete_authentication(&self, commit: &AuthenticationCommit) -> Result<User> {
        let what = Completion::Authentication(commit.clone());
        let owner = self.completions.commit(what).await?;
        owner.ok_or_else(|| Error::internal("a sign-in's commit returned no owner"))
    }

    async fn get_credential(&self, org: &OrgId, id: &[u8]) -> Result<Option<Credential>> {
        let row: Option<CredentialRow> = sqlx::query_as(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE org_id = $1 AND id = $2"
        ))
        .bind(org.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(Credential::try_from).transpose()
    }

    async fn assertion_subject(
        &self,
        org: &OrgId,
        credential_id: &[u8],
    ) -> Result<Option<(Credential, User)>> {
        joins::assertion_subject(&self.pool, org, credential_id).await
    }

    async fn list_user_credentials(
        &self,
        org: &OrgId,
        user: &UserId,
        page: Page,
    ) -> Result<Paged<Credential>> {
        let rows: Vec<CredentialRow> = sqlx::query_as(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE org_id = $1 AND user_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(org.as_str())
        .bind(user.as_str())
        .bind(page_limit(page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(Paged {
            items: convert_all(rows)?,
            total: self.count_user_credentials(org, user).await?,
        })
    }

    async fn user_credentials(&self, org: &OrgId, user: &UserId) -> Result<Vec<Credential>> {
        let rows: Vec<CredentialRow> = sqlx::query_as(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE org_id = $1 AND user_id = $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(org.as_str())
        .bind(user.as_str())
        .bind(i64::from(Page::MAX_PER_PAGE))
        .fetch_all(&self.pool)
        .await
        .db()?;
        convert_all(rows)
    }

    async fn list_org_credentials(&self, org: &OrgId, page: Page) -> Result<Paged<Credential>> {
        let rows: Vec<CredentialRow> = sqlx::query_as(concat!(
            "SELECT ",
            credential_columns!(),
            " FROM credentials WHERE org_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(org.as_str())
        .bind(page_limit(page))
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await
        .db()?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM credentials WHERE org_id = $1")
            .bind(org.as_str())
            .fetch_one(&self.pool)
            .await
            .db()?;
        Ok(Paged {
            items: convert_all(rows)?,
            total,
        })
    }

    async fn count_user_credentials(&self, org: &OrgId, user: &UserId) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM credentials WHERE org_id = $1 AND user_id = $2")
            .bind(org.as_str())
            .bind(user.as_str())
            .fetch_one(&self.pool)
            .await
            .db()
    }

    async fn rename_credential(
        &self,
        org: &OrgId,
        id: &[u8],
        name: &str,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE credentials SET name = $1 WHERE org_id = $2 AND id = $3")
            .bind(name)
            .bind(org.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Err(credential_not_found());
        }
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()
    }

    async fn delete_credential(
        &self,
        org: &OrgId,
        id: &[u8],
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let owner: Option<String> = sqlx::query_scalar(
            "DELETE FROM credentials WHERE org_id = $1 AND id = $2 RETURNING user_id",
        )
        .bind(org.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let Some(owner) = owner else {
            return Err(credential_not_found());
        };
        sessions::revoke_for_credential(&mut tx, org, &owner, id, now).await?;
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()
    }

    async fn flag_credential_cloned(
        &self,
        org: &OrgId,
        id: &[u8],
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE credentials SET possibly_cloned = TRUE WHERE org_id = $1 AND id = $2",
        )
        .bind(org.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await
        .db()?;
        if done.rows_affected() == 0 {
            return Err(credential_not_found());
        }
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()
    }
}
