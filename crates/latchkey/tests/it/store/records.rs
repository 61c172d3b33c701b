//! Builders for the records the storage tests write, at a fixed time.

use latchkey_core::audit::{AuditEvent, AuditKind};
use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{CeremonyId, InvitationId, OrgId, SessionId, UserId};
use latchkey_core::model::{
    Ceremony, CeremonyPurpose, Credential, Invitation, InvitationKind, Org, OrgSettings,
    PasskeyStatus, Role, Session, User, UserKind, UserStatus,
};
use latchkey_core::random;
use latchkey_core::store::RegistrationCommit;

/// The tests' "now": 2025-01-01T00:00:00Z.
pub const T0: Timestamp = Timestamp(1_735_689_600_000);

pub fn org(name: &str) -> Org {
    let mut settings = OrgSettings::new("example.test", name, vec!["https://example.test".into()]);
    settings.allowed_aaguids = Some(vec!["00000000000000000000000000000000".into()]);
    Org {
        id: OrgId::generate(),
        name: name.to_owned(),
        passkey_status: PasskeyStatus::Inactive,
        settings,
        created_at: T0,
    }
}

pub fn user(org: &OrgId, username: &str, status: UserStatus) -> User {
    User {
        id: UserId::generate(),
        org_id: org.clone(),
        username: username.to_owned(),
        display_name: format!("{username} (display)"),
        role: Role::Member,
        kind: UserKind::Human,
        status,
        user_handle: random::bytes::<32>().to_vec(),
        created_at: T0,
    }
}

pub fn invitation(user: &User, expires_at: Timestamp) -> Invitation {
    Invitation {
        id: InvitationId::generate(),
        org_id: user.org_id.clone(),
        user_id: user.id.clone(),
        kind: InvitationKind::Invitation,
        token_hash: random::bytes::<32>().to_vec(),
        created_by: None,
        created_at: T0,
        expires_at,
        used_at: None,
    }
}

/// Every test passkey's COSE_Key: a completion names the key it verified.
pub const KEY: [u8; 5] = [0xa5, 0x01, 0x02, 0x03, 0x26];

/// A synced passkey's counter stays 0, so sign-ins of it in any number and
/// order pass the commit's counter check unless a test gives them counts.
pub fn credential(user: &User, id: &[u8], created_at: Timestamp) -> Credential {
    Credential {
        id: id.to_vec(),
        org_id: user.org_id.clone(),
        user_id: user.id.clone(),
        name: "YubiKey 5".into(),
        public_key_cose: KEY.to_vec(),
        alg: -7,
        sign_count: 0,
        aaguid: [0xcb; 16],
        transports: vec!["usb".into(), "nfc".into()],
        attestation_format: "none".into(),
        backup_eligible: true,
        backup_state: false,
        uv_initialized: true,
        possibly_cloned: false,
        created_at,
        last_used_at: None,
    }
}

pub fn ceremony(org: &OrgId, expires_at: Timestamp) -> Ceremony {
    Ceremony {
        id: CeremonyId::generate(),
        org_id: org.clone(),
        purpose: CeremonyPurpose::Authentication,
        user_id: Some(UserId::generate()),
        challenge: random::bytes::<32>().to_vec(),
        payload_hash: Some("sha256:abc".into()),
        state: serde_json::json!({"allow": ["a", "b"], "n": 1}),
        created_at: T0,
        expires_at,
    }
}

pub fn session(user: &User, credential_id: &[u8]) -> Session {
    Session {
        id: SessionId::generate(),
        org_id: user.org_id.clone(),
        user_id: user.id.clone(),
        credential_id: credential_id.to_vec(),
        created_at: T0,
        expires_at: T0.plus_secs(3600),
        last_seen_at: T0,
        revoked_at: None,
        user_agent: Some("test-agent/1".into()),
    }
}

pub fn event(org: &OrgId, kind: AuditKind, subject: &str) -> AuditEvent {
    AuditEvent::new(org, T0, kind, subject).with(serde_json::json!({"b": 2, "a": [1, 2]}))
}

/// A registration of `credential` for an existing user, nothing else.
pub fn registration(credential: Credential) -> RegistrationCommit {
    let audit = vec![event(
        &credential.org_id,
        AuditKind::CredentialRegistered,
        "credential",
    )];
    RegistrationCommit {
        ceremony: None,
        credential,
        new_user: None,
        activate_user: None,
        invitation: None,
        activate_org: false,
        now: T0,
        audit,
    }
}

/// Creates an org with its invited super admin and enrolment link; returns all three.
pub async fn create_org(
    store: &dyn latchkey_core::store::Store,
    name: &str,
) -> (Org, User, Invitation) {
    let org = org(name);
    let mut admin = user(&org.id, "admin", UserStatus::Invited);
    admin.role = Role::SuperAdmin;
    let mut enrolment = invitation(&admin, T0.plus_secs(3600));
    enrolment.kind = InvitationKind::Enrolment;
    let audit = [event(&org.id, AuditKind::OrgCreated, org.id.as_str())];
    store
        .create_org(&org, &admin, &enrolment, &audit)
        .await
        .unwrap_or_else(|e| panic!("{} create_org: {e}", store.backend()));
    (org, admin, enrolment)
}

/// An org whose super admin has registered passkey `k` (no ceremony).
pub async fn org_with_passkey(store: &dyn latchkey_core::store::Store) -> (Org, User) {
    let (org, admin, _) = create_org(store, "Acme").await;
    store
        .complete_registration(&registration(credential(&admin, b"k", T0)))
        .await
        .unwrap_or_else(|e| panic!("{} complete_registration: {e}", store.backend()));
    (org, admin)
}

/// Adds an active member with no passkey.
pub async fn add_user(
    store: &dyn latchkey_core::store::Store,
    org: &OrgId,
    username: &str,
) -> User {
    let member = user(org, username, UserStatus::Active);
    let inv = invitation(&member, T0.plus_secs(3600));
    store
        .create_invitation(Some(&member), &inv, &[])
        .await
        .unwrap_or_else(|e| panic!("{} create_invitation: {e}", store.backend()));
    member
}
