//! The audit hook. Every change the product makes names an [`AuditEvent`]
//! from a closed list (`area.subject.past_verb`) and hands it to the store
//! together with the change, so the store writes both in one transaction.
//! The per-organisation hash chain is computed by the store on append; this
//! module only defines what an event is.

use serde::Serialize;

use crate::clock::Timestamp;
use crate::ids::{OrgId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AuditKind {
    #[serde(rename = "org.organization.created")]
    OrgCreated,
    #[serde(rename = "org.settings.updated")]
    OrgSettingsUpdated,
    #[serde(rename = "org.passkeys.activated")]
    OrgPasskeysActivated,
    #[serde(rename = "identity.user.invited")]
    UserInvited,
    #[serde(rename = "identity.user.enrolled")]
    UserEnrolled,
    #[serde(rename = "identity.user.status_changed")]
    UserStatusChanged,
    #[serde(rename = "passkey.credential.registered")]
    CredentialRegistered,
    #[serde(rename = "passkey.credential.renamed")]
    CredentialRenamed,
    #[serde(rename = "passkey.credential.deleted")]
    CredentialDeleted,
    #[serde(rename = "passkey.credential.flagged_cloned")]
    CredentialFlaggedCloned,
    #[serde(rename = "passkey.assertion.verified")]
    AssertionVerified,
    #[serde(rename = "token.session.issued")]
    SessionIssued,
    #[serde(rename = "token.session.revoked")]
    SessionRevoked,
    #[serde(rename = "token.verification.issued")]
    VerificationTokenIssued,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::OrgCreated => "org.organization.created",
            AuditKind::OrgSettingsUpdated => "org.settings.updated",
            AuditKind::OrgPasskeysActivated => "org.passkeys.activated",
            AuditKind::UserInvited => "identity.user.invited",
            AuditKind::UserEnrolled => "identity.user.enrolled",
            AuditKind::UserStatusChanged => "identity.user.status_changed",
            AuditKind::CredentialRegistered => "passkey.credential.registered",
            AuditKind::CredentialRenamed => "passkey.credential.renamed",
            AuditKind::CredentialDeleted => "passkey.credential.deleted",
            AuditKind::CredentialFlaggedCloned => "passkey.credential.flagged_cloned",
            AuditKind::AssertionVerified => "passkey.assertion.verified",
            AuditKind::SessionIssued => "token.session.issued",
            AuditKind::SessionRevoked => "token.session.revoked",
            AuditKind::VerificationTokenIssued => "token.verification.issued",
        }
    }
}

/// One audit entry as the core hands it to the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub org_id: OrgId,
    pub at: Timestamp,
    pub kind: AuditKind,
    /// The user who acted; `None` for the system or the CLI operator.
    pub actor: Option<UserId>,
    /// What the event is about, e.g. `credential:<id>` or `usr_…`.
    pub subject: String,
    pub data: serde_json::Value,
}

impl AuditEvent {
    pub fn new(org_id: &OrgId, at: Timestamp, kind: AuditKind, subject: impl Into<String>) -> Self {
        AuditEvent {
            org_id: org_id.clone(),
            at,
            kind,
            actor: None,
            subject: subject.into(),
            data: serde_json::Value::Null,
        }
    }

    pub fn by(mut self, actor: &UserId) -> Self {
        self.actor = Some(actor.clone());
        self
    }

    pub fn with(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }
}
