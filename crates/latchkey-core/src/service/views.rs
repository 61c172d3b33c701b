//! What the API shows of the records: camelCase JSON, times in RFC 3339,
//! binary ids in base64url. Secrets and keys never appear here.

use serde::Serialize;

use crate::aaguid;
use crate::model::{
    Credential, Org, PasskeyStatus, RegistrationMode, Role, User, UserKind, UserStatus,
    UserVerification,
};
use crate::webauthn::json::b64url_encode;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorView {
    pub aaguid: String,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_light: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_dark: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    pub credential_id: String,
    pub user_id: String,
    pub name: String,
    pub authenticator: AuthenticatorView,
    pub algorithm: i64,
    pub transports: Vec<String>,
    pub attestation_format: String,
    pub backup_eligible: bool,
    pub backup_state: bool,
    /// `multi_device` (synced) or `single_device` (device-bound).
    pub device_type: &'static str,
    pub user_verified: bool,
    pub sign_count: u32,
    pub possibly_cloned: bool,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&Credential> for CredentialView {
    fn from(c: &Credential) -> Self {
        let model = aaguid::lookup(&c.aaguid);
        CredentialView {
            credential_id: b64url_encode(&c.id),
            user_id: c.user_id.to_string(),
            name: c.name.clone(),
            authenticator: AuthenticatorView {
                aaguid: aaguid::format_aaguid(&c.aaguid),
                name: model.map(|m| m.name.clone()),
                icon_light: model.and_then(|m| m.icon_light.clone()),
                icon_dark: model.and_then(|m| m.icon_dark.clone()),
            },
            algorithm: c.alg,
            transports: c.transports.clone(),
            attestation_format: c.attestation_format.clone(),
            backup_eligible: c.backup_eligible,
            backup_state: c.backup_state,
            device_type: if c.backup_eligible {
                "multi_device"
            } else {
                "single_device"
            },
            user_verified: c.uv_initialized,
            sign_count: c.sign_count,
            possibly_cloned: c.possibly_cloned,
            created_at: c.created_at.to_rfc3339(),
            last_used_at: c.last_used_at.map(|t| t.to_rfc3339()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub kind: UserKind,
    pub status: UserStatus,
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.to_string(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            kind: u.kind,
            status: u.status,
            created_at: u.created_at.to_rfc3339(),
        }
    }
}

/// What anyone may see of an organisation: enough for a sign-in or
/// enrolment page, nothing of its policy knobs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgView {
    pub id: String,
    pub name: String,
    pub passkey_status: PasskeyStatus,
    pub rp_id: String,
    pub rp_name: String,
    pub registration_mode: RegistrationMode,
    pub user_verification: UserVerification,
    pub created_at: String,
}

impl From<&Org> for OrgView {
    fn from(o: &Org) -> Self {
        OrgView {
            id: o.id.to_string(),
            name: o.name.clone(),
            passkey_status: o.passkey_status,
            rp_id: o.settings.rp_id.clone(),
            rp_name: o.settings.rp_name.clone(),
            registration_mode: o.settings.registration_mode,
            user_verification: o.settings.user_verification,
            created_at: o.created_at.to_rfc3339(),
        }
    }
}
