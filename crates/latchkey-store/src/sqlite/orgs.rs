//! Organisations on SQLite: creation with the first super admin and the
//! enrolment link in one transaction, reads, settings updates.

use async_trait::async_trait;
use latchkey_core::audit::AuditEvent;
use latchkey_core::ids::OrgId;
use latchkey_core::model::{Invitation, Org, OrgSettings, User};
use latchkey_core::store::OrgStore;
use latchkey_core::{ErrorCode, Result};
use rusqlite::{params, Connection};

use super::{all, audit, exec, json, one, users, SqliteStore};
use crate::error::{not_found, DbResultExt};
use crate::rows::{convert_all, passkey_status_str, OrgRow};

fn insert_org(conn: &Connection, org: &Org) -> Result<()> {
    exec(
        conn,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at) VALUES (?, ?, ?, ?, ?)",
        params![
            org.id.as_str(),
            org.name.as_str(),
            passkey_status_str(org.passkey_status),
            json(&org.settings)?,
            org.created_at.millis(),
        ],
    )
    .db()?;
    Ok(())
}

/// Marks the org's passkeys active (idempotent).
pub(super) fn activate(conn: &Connection, id: &OrgId) -> Result<()> {
    let changed = exec(
        conn,
        "UPDATE orgs SET passkey_status = 'active' WHERE id = ?",
        [id.as_str()],
    )
    .db()?;
    if changed == 0 {
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
        let (org, admin, enrolment, audit) = (
            org.clone(),
            admin.clone(),
            enrolment.clone(),
            audit.to_vec(),
        );
        self.conns
            .write(move |tx| {
                insert_org(tx, &org)?;
                users::insert_user(tx, &admin)?;
                users::insert_invitation(tx, &enrolment)?;
                audit::append(tx, &audit)
            })
            .await
    }

    async fn get_org(&self, id: &OrgId) -> Result<Option<Org>> {
        let id = id.clone();
        self.conns
            .read(move |conn| {
                let row = one(
                    conn,
                    concat!("SELECT ", org_columns!(), " FROM orgs WHERE id = ?"),
                    [id.as_str()],
                    OrgRow::from_rusqlite,
                )?;
                row.map(Org::try_from).transpose()
            })
            .await
    }

    async fn list_orgs(&self) -> Result<Vec<Org>> {
        self.conns
            .read(|conn| {
                convert_all(all(
                    conn,
                    concat!(
                        "SELECT ",
                        org_columns!(),
                        " FROM orgs ORDER BY created_at, id"
                    ),
                    [],
                    OrgRow::from_rusqlite,
                )?)
            })
            .await
    }

    async fn update_org_settings(
        &self,
        id: &OrgId,
        settings: &OrgSettings,
        audit: &[AuditEvent],
    ) -> Result<()> {
        let (id, settings, audit) = (id.clone(), json(settings)?, audit.to_vec());
        self.conns
            .write(move |tx| {
                let changed = exec(
                    tx,
                    "UPDATE orgs SET settings = ? WHERE id = ?",
                    params![settings, id.as_str()],
                )
                .db()?;
                if changed == 0 {
                    return Err(not_found(ErrorCode::OrgNotFound, "organization"));
                }
                audit::append(tx, &audit)
            })
            .await
    }
}
