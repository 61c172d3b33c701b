//! Storage as traits. The core states what it needs; `latchkey-store` has one
//! implementation per database, chosen once at start-up. Rules every
//! implementation keeps:
//! - every org-owned query takes the `OrgId` and filters on it;
//! - single-use values (ceremonies, invitations) are consumed by one
//!   conditional statement whose affected-row count decides, so two nodes
//!   racing can't both win;
//! - a method that changes state writes the audit events it is given in the
//!   same transaction, or nothing at all.

use async_trait::async_trait;

use crate::audit::AuditEvent;
use crate::clock::Timestamp;
use crate::error::Result;
use crate::ids::{CeremonyId, InvitationId, OrgId, SessionId, UserId};
use crate::model::{
    Ceremony, Credential, Invitation, Org, OrgSettings, Page, Paged, Session, SigningKeyRecord,
    User, UserStatus,
};

#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Creates the org, its first super admin (status `invited`) and the enrolment link.
    async fn create_org(
        &self,
        org: &Org,
        admin: &User,
        enrolment: &Invitation,
        audit: &[AuditEvent],
    ) -> Result<()>;
    async fn get_org(&self, id: &OrgId) -> Result<Option<Org>>;
    async fn list_orgs(&self) -> Result<Vec<Org>>;
    async fn update_org_settings(
        &self,
        id: &OrgId,
        settings: &OrgSettings,
        audit: &[AuditEvent],
    ) -> Result<()>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<User>>;
    async fn find_user_by_username(&self, org: &OrgId, username: &str) -> Result<Option<User>>;
    /// The user with their newest credentials (as [`CredentialStore::user_credentials`]),
    /// in one read: what an authentication challenge by username needs.
    async fn user_with_credentials(
        &self,
        org: &OrgId,
        username: &str,
    ) -> Result<Option<(User, Vec<Credential>)>>;
    async fn list_users(&self, org: &OrgId, page: Page) -> Result<Paged<User>>;
    /// Fails with `user_not_found` when the user is not in `org`.
    async fn set_user_status(
        &self,
        org: &OrgId,
        id: &UserId,
        status: UserStatus,
        audit: &[AuditEvent],
    ) -> Result<()>;
    /// Inserts `new_user` (when the invitee doesn't exist yet) and the invitation.
    /// Fails with `username_taken` when the username exists in the org.
    async fn create_invitation(
        &self,
        new_user: Option<&User>,
        invitation: &Invitation,
        audit: &[AuditEvent],
    ) -> Result<()>;
    async fn find_invitation(&self, org: &OrgId, token_hash: &[u8]) -> Result<Option<Invitation>>;
}

#[async_trait]
pub trait CeremonyStore: Send + Sync {
    /// Records a sealed ceremony (see [`crate::sealed`]) as spent, so it
    /// completes once: `ceremony_already_used` if it was spent before.
    async fn spend_ceremony(&self, spent: &SpentCeremony) -> Result<()>;
    /// Deletes the spent ceremonies that expired before `before`: an
    /// expired ceremony can't complete, so its row guards nothing.
    async fn purge_ceremonies(&self, before: Timestamp) -> Result<u64>;
}

/// A sealed ceremony that was completed or failed: kept until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpentCeremony {
    pub id: CeremonyId,
    pub org_id: OrgId,
    pub expires_at: Timestamp,
}

impl SpentCeremony {
    pub fn of(ceremony: &Ceremony) -> Self {
        SpentCeremony {
            id: ceremony.id.clone(),
            org_id: ceremony.org_id.clone(),
            expires_at: ceremony.expires_at,
        }
    }
}

/// Everything a finished registration writes, in one transaction.
#[derive(Debug, Clone)]
pub struct RegistrationCommit {
    /// Spent first (see [`CeremonyStore::spend_ceremony`]):
    /// `ceremony_already_used` if it was spent before (`None`: spent already).
    pub ceremony: Option<SpentCeremony>,
    pub credential: Credential,
    /// Inserted first when registration created the user (open sign-up).
    pub new_user: Option<User>,
    /// Marked `active` (an invited user's first passkey).
    pub activate_user: Option<UserId>,
    /// Consumed conditionally; `invitation_already_used` or `invitation_expired` if that fails.
    pub invitation: Option<InvitationId>,
    pub activate_org: bool,
    pub now: Timestamp,
    pub audit: Vec<AuditEvent>,
}

/// Everything a verified assertion writes, in one transaction.
#[derive(Debug, Clone)]
pub struct AuthenticationCommit {
    pub org_id: OrgId,
    /// Spent first (see [`CeremonyStore::spend_ceremony`]): the single-use
    /// check and the session commit together, so a sign-in costs one write.
    pub ceremony: Option<SpentCeremony>,
    pub credential_id: Vec<u8>,
    /// The owner and the COSE_Key the assertion was verified for, read or
    /// sealed before the commit; checked again inside it (see
    /// [`AuthenticationCommit::recheck`]).
    pub user_id: UserId,
    pub public_key_cose: Vec<u8>,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub now: Timestamp,
    pub session: Option<Session>,
    pub audit: Vec<AuditEvent>,
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Fails with `credential_already_registered` when the credential id exists
    /// (in any org), `username_taken`, or the invitation errors above.
    async fn complete_registration(&self, commit: &RegistrationCommit) -> Result<()>;
    /// Spends the ceremony first (`ceremony_already_used`: nothing written),
    /// then reads the credential and its owner as they stand in the same
    /// transaction and applies [`AuthenticationCommit::recheck`]: a refusal
    /// there writes nothing else (the ceremony may stay spent, as a failed
    /// attempt's does). Returns the owner as committed.
    async fn complete_authentication(&self, commit: &AuthenticationCommit) -> Result<User>;
    async fn get_credential(&self, org: &OrgId, id: &[u8]) -> Result<Option<Credential>>;
    /// The credential with its owner, in one read: what verifying an
    /// assertion needs when its ceremony didn't seal the passkey.
    async fn assertion_subject(
        &self,
        org: &OrgId,
        credential_id: &[u8],
    ) -> Result<Option<(Credential, User)>>;
    /// Newest first.
    async fn list_user_credentials(
        &self,
        org: &OrgId,
        user: &UserId,
        page: Page,
    ) -> Result<Paged<Credential>>;
    /// A user's newest credentials (at most `Page::MAX_PER_PAGE`), without a
    /// total: what a ceremony's allow or exclude list needs, in one query.
    async fn user_credentials(&self, org: &OrgId, user: &UserId) -> Result<Vec<Credential>>;
    async fn list_org_credentials(&self, org: &OrgId, page: Page) -> Result<Paged<Credential>>;
    async fn count_user_credentials(&self, org: &OrgId, user: &UserId) -> Result<i64>;
    /// Fails with `credential_not_found`.
    async fn rename_credential(
        &self,
        org: &OrgId,
        id: &[u8],
        name: &str,
        audit: &[AuditEvent],
    ) -> Result<()>;
    /// Deletes the credential and revokes every session it created. Fails with
    /// `credential_not_found`.
    async fn delete_credential(
        &self,
        org: &OrgId,
        id: &[u8],
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<()>;
    async fn flag_credential_cloned(
        &self,
        org: &OrgId,
        id: &[u8],
        audit: &[AuditEvent],
    ) -> Result<()>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn get_session(&self, org: &OrgId, id: &SessionId) -> Result<Option<Session>>;
    /// Returns whether a live session was revoked.
    async fn revoke_session(
        &self,
        org: &OrgId,
        id: &SessionId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<bool>;
    /// Revokes every live session of the user (suspension, offboarding) and
    /// returns how many. The audit events are written only when at least one
    /// session was revoked.
    async fn revoke_user_sessions(
        &self,
        org: &OrgId,
        user: &UserId,
        now: Timestamp,
        audit: &[AuditEvent],
    ) -> Result<u64>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>>;
    /// Inserts the key unless one with the same kid exists.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<()>;
    /// Marks the key retired: it no longer signs, but stays published so
    /// tokens it signed verify until they expire. Returns whether an
    /// unretired key was retired (false for an unknown or already retired kid).
    async fn retire_signing_key(&self, kid: &str, now: Timestamp) -> Result<bool>;
    /// Deletes keys retired before `before`; returns how many.
    async fn purge_retired_signing_keys(&self, before: Timestamp) -> Result<u64>;
    /// This database's salt for sealed ceremonies (see [`crate::sealed`]),
    /// storing `fresh` if it has none yet; every node gets the same. Not
    /// exported, which binds sealed ceremonies to the database they were
    /// issued against.
    async fn ceremony_salt(&self, fresh: &[u8]) -> Result<Vec<u8>>;
}

/// What [`Store::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub invitations: u64,
}

/// The whole store, as the core and the HTTP layer see it: `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    OrgStore + UserStore + CeremonyStore + CredentialStore + SessionStore + KeyStore
{
    /// Cheap liveness check of the database connection, for `/readyz`.
    async fn ping(&self) -> Result<()>;
    /// The backend's name, for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Deletes sessions that expired or were revoked before `before`, and
    /// invitations that expired before `before` (used or not): neither can be
    /// used any more, and the audit trail keeps their history. For the janitor,
    /// alongside [`CeremonyStore::purge_ceremonies`].
    async fn purge_expired(&self, before: Timestamp) -> Result<Purged>;
}
