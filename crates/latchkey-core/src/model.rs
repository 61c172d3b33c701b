//! The records the product keeps. Plain data: no I/O, no HTTP, no SQL. The
//! store traits persist exactly these shapes.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::{CeremonyId, InvitationId, OrgId, SessionId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyStatus {
    Inactive,
    Active,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    Invite,
    Open,
}

/// WebAuthn's UserVerificationRequirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserVerification {
    Required,
    Preferred,
    Discouraged,
}

impl UserVerification {
    pub fn as_webauthn(self) -> &'static str {
        match self {
            UserVerification::Required => "required",
            UserVerification::Preferred => "preferred",
            UserVerification::Discouraged => "discouraged",
        }
    }
}

/// WebAuthn's AttestationConveyancePreference. Anything but `none` makes
/// registration verify the attestation statement's trust path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestationConveyance {
    None,
    Indirect,
    Direct,
    Enterprise,
}

impl AttestationConveyance {
    pub fn as_webauthn(self) -> &'static str {
        match self {
            AttestationConveyance::None => "none",
            AttestationConveyance::Indirect => "indirect",
            AttestationConveyance::Direct => "direct",
            AttestationConveyance::Enterprise => "enterprise",
        }
    }
}

/// An organisation's relying-party settings and policy knobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgSettings {
    pub rp_id: String,
    pub rp_name: String,
    pub origins: Vec<String>,
    pub registration_mode: RegistrationMode,
    pub user_verification: UserVerification,
    pub attestation: AttestationConveyance,
    /// When set, only these authenticator models (lowercase AAGUIDs) may register.
    pub allowed_aaguids: Option<Vec<String>>,
    pub ceremony_ttl_secs: i64,
    pub session_ttl_secs: i64,
    pub verification_token_ttl_secs: i64,
    pub invitation_ttl_secs: i64,
}

impl OrgSettings {
    pub fn new(rp_id: &str, rp_name: &str, origins: Vec<String>) -> Self {
        OrgSettings {
            rp_id: rp_id.to_owned(),
            rp_name: rp_name.to_owned(),
            origins,
            registration_mode: RegistrationMode::Invite,
            user_verification: UserVerification::Required,
            attestation: AttestationConveyance::None,
            allowed_aaguids: None,
            ceremony_ttl_secs: 300,
            session_ttl_secs: 12 * 3600,
            verification_token_ttl_secs: 120,
            invitation_ttl_secs: 7 * 24 * 3600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub passkey_status: PasskeyStatus,
    pub settings: OrgSettings,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Approver,
    Admin,
    SuperAdmin,
}

impl Role {
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Admin | Role::SuperAdmin)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Approver => "approver",
            Role::Admin => "admin",
            Role::SuperAdmin => "super_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Member, Role::Approver, Role::Admin, Role::SuperAdmin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    Human,
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Invited, no passkey yet.
    Invited,
    Active,
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub kind: UserKind,
    pub status: UserStatus,
    /// WebAuthn user handle: random, opaque, never the username.
    pub user_handle: Vec<u8>,
    pub created_at: Timestamp,
}

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: Vec<u8>,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub name: String,
    /// The credential public key exactly as the authenticator gave it (COSE_Key).
    pub public_key_cose: Vec<u8>,
    pub alg: i64,
    pub sign_count: u32,
    pub aaguid: [u8; 16],
    pub transports: Vec<String>,
    pub attestation_format: String,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub uv_initialized: bool,
    pub possibly_cloned: bool,
    /// The session that registered it, if any (deletion revokes sessions the credential created).
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// What a ceremony is for; completing it for another purpose is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyPurpose {
    Registration,
    Authentication,
}

impl CeremonyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyPurpose::Registration => "registration",
            CeremonyPurpose::Authentication => "authentication",
        }
    }
}

/// A pending WebAuthn ceremony: single use, bound to org, purpose and (when
/// known) user, and expiring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    pub id: CeremonyId,
    pub org_id: OrgId,
    pub purpose: CeremonyPurpose,
    pub user_id: Option<UserId>,
    pub challenge: Vec<u8>,
    /// `sha256:<b64url>` of the payload the challenge commits to, if any.
    pub payload_hash: Option<String>,
    /// Purpose-specific state (JSON): e.g. the pending username, the invitation, allowed credentials.
    pub state: serde_json::Value,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    /// The bootstrap link for the first super admin; enrolling through it activates passkeys.
    Enrolment,
    Invitation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub kind: InvitationKind,
    /// SHA-256 of the secret token; the token itself is shown once and never stored.
    pub token_hash: Vec<u8>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub org_id: OrgId,
    pub user_id: UserId,
    pub credential_id: Vec<u8>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub user_agent: Option<String>,
}

/// A token-signing key, private half encrypted under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: String,
    pub private_key_encrypted: Vec<u8>,
    pub public_jwk: serde_json::Value,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

/// A page request: 1-based page, bounded size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub const MAX_PER_PAGE: u32 = 100;

    pub fn offset(self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.per_page)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}
