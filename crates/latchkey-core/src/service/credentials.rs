//! Passkey management: list one's own (paginated), list all (admins), rename,
//! delete. A user's last passkey is only deleted on an admin's explicit
//! override, because without it the user is locked out; deletion revokes the
//! sessions the passkey created.

use super::{CredentialView, Latchkey, Principal};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{fail, Error, ErrorCode, Result};
use crate::model::{Credential, Page, Paged};
use crate::webauthn::json::b64url_decode;

fn views(page: Paged<Credential>) -> Paged<CredentialView> {
    Paged {
        items: page.items.iter().map(CredentialView::from).collect(),
        total: page.total,
    }
}

/// A passkey's user-given name, trimmed: 1 to 100 printable characters.
/// Shared by registration and rename, so both accept the same names.
pub(crate) fn passkey_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return fail(
            ErrorCode::InvalidRequest,
            "name must be 1 to 100 printable characters",
        );
    }
    Ok(name.to_owned())
}

impl Latchkey {
    pub async fn list_my_credentials(
        &self,
        p: &Principal,
        page: Page,
    ) -> Result<Paged<CredentialView>> {
        Ok(views(
            self.store
                .list_user_credentials(&p.org_id, &p.user_id, page)
                .await?,
        ))
    }

    pub async fn list_all_credentials(
        &self,
        p: &Principal,
        page: Page,
    ) -> Result<Paged<CredentialView>> {
        p.require_admin()?;
        Ok(views(
            self.store.list_org_credentials(&p.org_id, page).await?,
        ))
    }

    /// The credential if the caller may manage it: their own, or any in the org for admins.
    async fn manageable(&self, p: &Principal, id: &str) -> Result<Credential> {
        let raw = b64url_decode("credentialId", id)?;
        let cred = self.store.get_credential(&p.org_id, &raw).await?;
        match cred {
            Some(c) if c.user_id == p.user_id || p.role.is_admin() => Ok(c),
            // Someone else's passkey is reported as absent, not forbidden, so ids can't be probed.
            _ => Err(Error::new(ErrorCode::CredentialNotFound, "no such passkey")),
        }
    }

    pub async fn rename_credential(
        &self,
        p: &Principal,
        id: &str,
        name: &str,
    ) -> Result<CredentialView> {
        let cred = self.manageable(p, id).await?;
        let name = passkey_name(name)?;
        let name = name.as_str();
        let event = AuditEvent::new(
            &p.org_id,
            self.now(),
            AuditKind::CredentialRenamed,
            format!("credential:{id}"),
        )
        .by(&p.user_id)
        .with(serde_json::json!({"name": name}));
        self.store
            .rename_credential(&p.org_id, &cred.id, name, &[event])
            .await?;
        let renamed = Credential {
            name: name.to_owned(),
            ..cred
        };
        Ok(CredentialView::from(&renamed))
    }

    pub async fn delete_credential(
        &self,
        p: &Principal,
        id: &str,
        admin_override: bool,
    ) -> Result<()> {
        let cred = self.manageable(p, id).await?;
        let remaining = self
            .store
            .count_user_credentials(&p.org_id, &cred.user_id)
            .await?;
        if remaining <= 1 && !(admin_override && p.role.is_admin()) {
            return fail(
                ErrorCode::LastCredential,
                "this is the user's last passkey; add another first, or an admin can delete it with override=true",
            );
        }
        let now = self.now();
        let event = AuditEvent::new(&p.org_id, now, AuditKind::CredentialDeleted, format!("credential:{id}"))
            .by(&p.user_id)
            .with(serde_json::json!({"owner": cred.user_id, "override": admin_override && remaining <= 1}));
        self.store
            .delete_credential(&p.org_id, &cred.id, now, &[event])
            .await
    }
}
