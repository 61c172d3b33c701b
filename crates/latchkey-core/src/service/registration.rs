//! Registration ceremonies: `register_init` decides who is registering (an
//! invitee, a signed-in user adding a passkey, or an open sign-up), binds a
//! ceremony to that user and returns creation options, writing nothing (the
//! ceremony is sealed into its id, see [`crate::sealed`]); `register_complete`
//! opens it, verifies the response and commits the credential, the spent ceremony,
//! the user's activation, the invitation's consumption and (for the
//! bootstrap link) the org's activation in one store transaction.

use serde::Deserialize;
use serde_json::json;

use super::options;
use super::orgs::{check_display_name, check_username};
use super::{CeremonyStart, CredentialView, Latchkey, Principal};
use crate::audit::{AuditEvent, AuditKind};
use crate::challenge::random_challenge;
use crate::error::{fail, Error, ErrorCode, Result};
use crate::ids::{CeremonyId, InvitationId, OrgId, UserId};
use crate::model::{
    Ceremony, CeremonyPurpose, Credential, InvitationKind, Org, PasskeyStatus, RegistrationMode,
    Role, User, UserKind, UserStatus, UserVerification,
};
use crate::store::{RegistrationCommit, SpentCeremony};
use crate::webauthn::json::{b64url_decode, RegistrationResponseJson};
use crate::webauthn::{verify_registration, RegistrationCheck};
use crate::{aaguid, random};

/// Who is asking to register.
pub enum RegisterAuth {
    /// An invitation or enrolment token from a one-time link.
    Invitation(String),
    /// A signed-in user adding another passkey.
    Session(Principal),
    /// Nobody: only for orgs with open registration.
    Anonymous,
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterInit {
    pub username: Option<String>,
    pub display_name: Option<String>,
}

/// What register_complete needs to remember between the two calls.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PendingRegistration {
    user_id: String,
    /// Set for open sign-up: the user is created on completion.
    new_user: Option<NewUserState>,
    invitation_id: Option<String>,
    activates_org: bool,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUserState {
    username: String,
    display_name: String,
    user_handle: String,
}

impl Latchkey {
    pub async fn register_init(
        &self,
        org_id: &OrgId,
        auth: RegisterAuth,
        input: RegisterInit,
    ) -> Result<CeremonyStart> {
        let org = self.org(org_id).await?;
        let now = self.now();
        let (user, pending) = match auth {
            RegisterAuth::Invitation(token) => self.invitee(&org, &token).await?,
            RegisterAuth::Session(p) => self.session_user(&org, &p).await?,
            RegisterAuth::Anonymous => self.sign_up(&org, input).await?,
        };
        // An open sign-up's user doesn't exist yet: nothing to exclude.
        let exclude = match pending.new_user {
            Some(_) => Vec::new(),
            None => self.store.user_credentials(org_id, &user.id).await?,
        };
        let challenge = random_challenge();
        let name = options::display_name_or(&user);
        let public_key = options::creation(
            &org.settings,
            &user.user_handle,
            &user.username,
            name,
            &challenge,
            &exclude,
        );
        let ceremony = Ceremony {
            id: CeremonyId::generate_at(now),
            org_id: org_id.clone(),
            purpose: CeremonyPurpose::Registration,
            user_id: Some(user.id.clone()),
            challenge,
            payload_hash: None,
            state: serde_json::to_value(&pending).map_err(Error::internal)?,
            created_at: now,
            expires_at: now.plus_secs(org.settings.ceremony_ttl_secs),
        };
        // Nothing stored: the ceremony travels sealed in its id.
        Ok(CeremonyStart {
            ceremony_id: self.seal.seal(&ceremony)?,
            public_key,
        })
    }

    async fn invitee(&self, org: &Org, token: &str) -> Result<(User, PendingRegistration)> {
        let inv = self.redeemable_invitation(&org.id, token).await?;
        let activates_org =
            inv.kind == InvitationKind::Enrolment && org.passkey_status == PasskeyStatus::Inactive;
        if org.passkey_status == PasskeyStatus::Inactive && !activates_org {
            return fail(
                ErrorCode::PasskeysInactive,
                "passkeys are not activated for this organisation yet",
            );
        }
        let user = self.user(&org.id, &inv.user_id).await?;
        let pending = PendingRegistration {
            user_id: user.id.to_string(),
            new_user: None,
            invitation_id: Some(inv.id.to_string()),
            activates_org,
        };
        Ok((user, pending))
    }

    async fn session_user(&self, org: &Org, p: &Principal) -> Result<(User, PendingRegistration)> {
        if p.org_id != org.id {
            return fail(
                ErrorCode::WrongOrganization,
                "the session belongs to another organisation",
            );
        }
        let user = self.user(&org.id, &p.user_id).await?;
        let pending = PendingRegistration {
            user_id: user.id.to_string(),
            new_user: None,
            invitation_id: None,
            activates_org: false,
        };
        Ok((user, pending))
    }

    async fn sign_up(&self, org: &Org, input: RegisterInit) -> Result<(User, PendingRegistration)> {
        if org.settings.registration_mode != RegistrationMode::Open {
            return fail(
                ErrorCode::RegistrationClosed,
                "this organisation registers users by invitation only",
            );
        }
        if org.passkey_status != PasskeyStatus::Active {
            return fail(
                ErrorCode::PasskeysInactive,
                "passkeys are not activated for this organisation yet",
            );
        }
        let username = check_username(input.username.as_deref().unwrap_or_default())?;
        if self
            .store
            .find_user_by_username(&org.id, &username)
            .await?
            .is_some()
        {
            return fail(ErrorCode::UsernameTaken, "this username is taken");
        }
        let display_name = check_display_name(input.display_name, &username)?;
        let now = self.now();
        let user = User {
            id: UserId::generate_at(now),
            org_id: org.id.clone(),
            display_name,
            username,
            role: Role::Member,
            kind: UserKind::Human,
            status: UserStatus::Active,
            user_handle: random::unique_bytes::<16>().to_vec(),
            created_at: now,
        };
        let pending = PendingRegistration {
            user_id: user.id.to_string(),
            new_user: Some(NewUserState {
                username: user.username.clone(),
                display_name: user.display_name.clone(),
                user_handle: crate::webauthn::json::b64url_encode(&user.user_handle),
            }),
            invitation_id: None,
            activates_org: false,
        };
        Ok((user, pending))
    }

    pub(crate) async fn user(&self, org: &OrgId, id: &UserId) -> Result<User> {
        self.store
            .get_user(org, id)
            .await?
            .ok_or_else(|| Error::new(ErrorCode::UserNotFound, "no such user"))
    }

    pub async fn register_complete(
        &self,
        org_id: &OrgId,
        ceremony_id: &str,
        response: &RegistrationResponseJson,
        name: Option<String>,
    ) -> Result<CredentialView> {
        let ceremony = self
            .seal
            .open(org_id, CeremonyPurpose::Registration, ceremony_id)?;
        match self
            .finish_registration(org_id, &ceremony, response, name)
            .await
        {
            Err(e) => Err(self.burn(&ceremony, e).await),
            ok => ok,
        }
    }

    /// Verifies the response and commits the credential with the
    /// ceremony's consumption.
    async fn finish_registration(
        &self,
        org_id: &OrgId,
        ceremony: &Ceremony,
        response: &RegistrationResponseJson,
        name: Option<String>,
    ) -> Result<CredentialView> {
        self.check_ceremony(ceremony, CeremonyPurpose::Registration)?;
        let org = self.org(org_id).await?;
        let now = self.now();
        let pending: PendingRegistration =
            PendingRegistration::deserialize(&ceremony.state).map_err(Error::internal)?;
        let policy = self.attestation_policy(&org)?;
        let check = RegistrationCheck {
            challenge: &ceremony.challenge,
            origins: &org.settings.origins,
            rp_id: &org.settings.rp_id,
            require_user_verification: org.settings.user_verification == UserVerification::Required,
            policy: &policy,
            now,
        };
        let verified = verify_registration(response, &check)?;
        let user_id = UserId::from_stored(pending.user_id.clone());
        let name = credential_name(name, &verified.aaguid)?;
        let credential = Credential {
            id: verified.credential_id,
            org_id: org_id.clone(),
            user_id: user_id.clone(),
            name,
            public_key_cose: verified.public_key_cose,
            alg: verified.alg,
            sign_count: verified.sign_count,
            aaguid: verified.aaguid,
            transports: verified.transports,
            attestation_format: verified.fmt,
            backup_eligible: verified.backup_eligible,
            backup_state: verified.backup_state,
            uv_initialized: verified.user_verified,
            possibly_cloned: false,
            created_at: now,
            last_used_at: None,
        };
        let commit = self.registration_commit(&org, ceremony, credential.clone(), pending, now)?;
        self.store.complete_registration(&commit).await?;
        Ok(CredentialView::from(&credential))
    }

    fn registration_commit(
        &self,
        org: &Org,
        ceremony: &Ceremony,
        credential: Credential,
        pending: PendingRegistration,
        now: crate::clock::Timestamp,
    ) -> Result<RegistrationCommit> {
        let user_id = credential.user_id.clone();
        let subject = format!(
            "credential:{}",
            crate::webauthn::json::b64url_encode(&credential.id)
        );
        let mut audit = vec![AuditEvent::new(&org.id, now, AuditKind::CredentialRegistered, subject)
            .by(&user_id)
            .with(json!({"aaguid": aaguid::format_aaguid(&credential.aaguid), "fmt": credential.attestation_format}))];
        let new_user = match pending.new_user {
            Some(n) => Some(User {
                id: user_id.clone(),
                org_id: org.id.clone(),
                username: n.username,
                display_name: n.display_name,
                role: Role::Member,
                kind: UserKind::Human,
                status: UserStatus::Active,
                user_handle: b64url_decode("userHandle", &n.user_handle)?,
                created_at: now,
            }),
            None => None,
        };
        let invitation = pending.invitation_id.map(InvitationId::from_stored);
        if invitation.is_some() || new_user.is_some() {
            audit.push(
                AuditEvent::new(&org.id, now, AuditKind::UserEnrolled, user_id.as_str())
                    .by(&user_id),
            );
        }
        if pending.activates_org {
            audit.push(
                AuditEvent::new(
                    &org.id,
                    now,
                    AuditKind::OrgPasskeysActivated,
                    org.id.as_str(),
                )
                .by(&user_id),
            );
        }
        Ok(RegistrationCommit {
            ceremony: Some(SpentCeremony::of(ceremony)),
            activate_user: invitation.as_ref().map(|_| user_id.clone()),
            credential,
            new_user,
            invitation,
            activate_org: pending.activates_org,
            now,
            audit,
        })
    }

    /// Refuses a ceremony that expired or is for the other purpose.
    pub(crate) fn check_ceremony(
        &self,
        ceremony: &Ceremony,
        purpose: CeremonyPurpose,
    ) -> Result<()> {
        if ceremony.expires_at <= self.now() {
            return fail(
                ErrorCode::CeremonyExpired,
                "the ceremony has expired; start a new one",
            );
        }
        if ceremony.purpose != purpose {
            return fail(
                ErrorCode::CeremonyPurposeMismatch,
                format!("this ceremony is for {}", ceremony.purpose.as_str()),
            );
        }
        Ok(())
    }

    /// A completion failed: consume the ceremony anyway, so a ceremony gets
    /// one attempt (a successful completion consumes it in its commit).
    /// Returns the failure to report.
    pub(crate) async fn burn(&self, ceremony: &Ceremony, failure: Error) -> Error {
        if failure.code == ErrorCode::CeremonyAlreadyUsed {
            return failure;
        }
        let consumed = self
            .store
            .spend_ceremony(&SpentCeremony::of(ceremony))
            .await;
        if let Err(e) = consumed {
            if e.code == ErrorCode::Internal {
                tracing::warn!(error = %e, "could not consume a failed ceremony");
            }
        }
        failure
    }

    fn attestation_policy(&self, org: &Org) -> Result<crate::webauthn::AttestationPolicy> {
        let mut policy = self.vendor_roots.clone();
        policy.require_trusted =
            org.settings.attestation != crate::model::AttestationConveyance::None;
        if let Some(list) = &org.settings.allowed_aaguids {
            let parsed: Option<Vec<[u8; 16]>> =
                list.iter().map(|a| aaguid::parse_aaguid(a)).collect();
            policy.allowed_aaguids =
                Some(parsed.ok_or_else(|| Error::internal("stored AAGUID list is invalid"))?);
        }
        Ok(policy)
    }
}

/// The user's name for the passkey, or the authenticator model's, or "Passkey".
fn credential_name(name: Option<String>, aaguid: &[u8; 16]) -> Result<String> {
    match name.filter(|n| !n.trim().is_empty()) {
        Some(n) => super::credentials::passkey_name(&n),
        None => Ok(aaguid::lookup(aaguid).map_or_else(|| "Passkey".to_owned(), |m| m.name.clone())),
    }
}
