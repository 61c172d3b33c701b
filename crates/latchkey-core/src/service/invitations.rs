//! Looking at a one-time link before redeeming it: `inspect_invitation`
//! tells the enrolment screen whose link it is, whether enrolling through
//! it activates passkeys for the organisation (the super admin's bootstrap
//! link), or whether activation is still pending. It consumes nothing and
//! writes nothing; `register_init` performs the same checks again when the
//! link is redeemed.

use serde::Serialize;

use super::orgs::hash_token;
use super::{Latchkey, OrgView};
use crate::error::{fail, Error, ErrorCode, Result};
use crate::ids::OrgId;
use crate::model::{Invitation, InvitationKind, PasskeyStatus, Role};

/// What the holder of a link may learn about it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub kind: InvitationKind,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub expires_at: String,
    /// Enrolling through this link activates passkeys for the organisation.
    pub activates_org: bool,
    /// Passkeys are inactive and this link can't activate them: wait for the super admin.
    pub activation_pending: bool,
    pub org: OrgView,
    /// The allowed origins, shown to the super admin to check before activation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origins: Option<Vec<String>>,
}

impl Latchkey {
    /// The invitation behind `token` if it can still be redeemed: shared by
    /// inspection and by `register_init`, so both refuse the same links.
    pub(crate) async fn redeemable_invitation(
        &self,
        org_id: &OrgId,
        token: &str,
    ) -> Result<Invitation> {
        let inv = self
            .store
            .find_invitation(org_id, &hash_token(token))
            .await?
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvitationInvalid,
                    "this invitation link is not valid",
                )
            })?;
        if inv.used_at.is_some() {
            return fail(
                ErrorCode::InvitationAlreadyUsed,
                "this invitation link has already been used",
            );
        }
        if inv.expires_at <= self.now() {
            return fail(
                ErrorCode::InvitationExpired,
                "this invitation link has expired",
            );
        }
        Ok(inv)
    }

    /// What the enrolment screen shows about the link behind `token`.
    pub async fn inspect_invitation(&self, org_id: &OrgId, token: &str) -> Result<InvitationView> {
        let org = self.org(org_id).await?;
        let inv = self.redeemable_invitation(org_id, token).await?;
        let user = self.user(org_id, &inv.user_id).await?;
        let inactive = org.passkey_status == PasskeyStatus::Inactive;
        let activates_org = inactive && inv.kind == InvitationKind::Enrolment;
        Ok(InvitationView {
            kind: inv.kind,
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            expires_at: inv.expires_at.to_rfc3339(),
            activates_org,
            activation_pending: inactive && !activates_org,
            origins: activates_org.then(|| org.settings.origins.clone()),
            org: OrgView::from(&*org),
        })
    }
}
