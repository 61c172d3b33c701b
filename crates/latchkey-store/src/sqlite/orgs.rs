//! Organisations on SQLite: creation with the first super admin and the
//! enrolment link in one transaction, reads, settings updates.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::ids::OrgId;
use latchkey_core::model::{Invitation, Org, OrgSettings, User};
use latchkey_core::store::OrgStore;
use latchkey_core::{ErrorCode, Result};
use sqlx::types::Json;
use sqlx::SqliteConnection;

use super::{audit, users, SqliteStore};
use crate::error::{not_found, DbResultExt};
use crate::rows::{convert_all, passkey_status_str, OrgRow};

async fn insert_org(conn: &mut SqliteConnection, org: &Org) -> Result<()> {
    sqlx::query(
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(org.id.as_str())
    .bind(org.name.as_str())
    .bind(passkey_status_str(org.passkey_status))
    .bind(Json(&org.settings))
    .bind(org.created_at.millis())
    .execute(conn)
    .await
    .db()?;
    Ok(())
}

/// Marks the org's passkeys active (idempotent).
pub(super) async fn activate(conn: &mut SqliteConnection, id: &OrgId) -> Result<()> {
    let done = sqlx::query("UPDATE orgs SET passkey_status = 'active' WHERE id = ?")
        .bind(id.as_str())
        .execute(conn)
        .await
        .db()?;
    if done.rows_affected() == 0 {
        return Err(not_found(ErrorCode::OrgNotFound, "organization"));
    }
    Ok(())
}

#[async_trait]
impl OrgStore for SqliteStore {
    async fn create_org(
        &self,
        org: &Org,
        admin: &User,
        enrolment: &Invitation,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_org(&mut tx, org).await?;
        users::insert_user(&mut tx, admin).await?;
        users::insert_invitation(&mut tx, enrolment).await?;
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()
    }

    async fn get_org(&self, id: &OrgId) -> Result<Option<Org>> {
        let row: Option<OrgRow> = sqlx::query_as(concat!(
            "SELECT ",
            org_columns!(),
            " FROM orgs WHERE id = ?"
        ))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.map(Org::try_from).transpose()
    }

    async fn list_orgs(&self) -> Result<Vec<Org>> {
        let rows: Vec<OrgRow> = sqlx::query_as(concat!(
            "SELECT ",
            org_columns!(),
            " FROM orgs ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await
        .db()?;
        convert_all(rows)
    }

    async fn update_org_settings(
        &self,
        id: &OrgId,
        settings: &OrgSettings,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE orgs SET settings = ? WHERE id = ?")
            .bind(Json(settings))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Err(not_found(ErrorCode::OrgNotFound, "organization"));
        }
        audit::append(&mut tx, audit).await?;
        tx.commit().await.db()
    }
}
