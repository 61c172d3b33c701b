//! Authentication ceremonies. `challenge` binds a ceremony to the user it is
//! for (by username or credential id) or to nobody (usernameless, conditional
//! UI); unknown usernames get a ceremony that no credential can complete, so
//! the response doesn't reveal who exists. A sign-in ceremony is stored
//! nowhere: it is sealed into its id (see [`crate::sealed`]), with the
//! offered passkeys' keys when they fit (see [`super::assertion`]), and
//! spent when completed or failed. `verify` checks the credential belongs
//! to the org and to the ceremony's user, verifies the assertion and commits
//! the spent ceremony, counter, flags and the new session, the store
//! checking the passkey and its owner again in that commit.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::assertion::{PendingAssertion, Subject};
use super::options;
use super::{CeremonyStart, Latchkey, UserView};
use crate::audit::{AuditEvent, AuditKind};
use crate::challenge::{commit, payload_hash, random_challenge};
use crate::error::{fail, Error, ErrorCode, Result};
use crate::ids::{CeremonyId, OrgId, SessionId};
use crate::model::{
    Ceremony, CeremonyPurpose, Credential, Org, PasskeyStatus, Session, User, UserVerification,
};
use crate::store::{AuthenticationCommit, SpentCeremony};
use crate::tokens::{self, SessionClaims, VerificationClaims};
use crate::webauthn::json::{b64url_decode, b64url_encode, AuthenticationResponseJson};
use crate::webauthn::{verify_authentication, AssertionCheck};

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChallengeInput {
    pub username: Option<String>,
    pub credential_id: Option<String>,
    /// Any JSON the challenge should commit to (an action, a transaction).
    pub payload: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    #[default]
    Session,
    Verification,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenGrant {
    pub token: String,
    pub token_type: TokenType,
    pub expires_at: String,
    pub user: UserView,
}

/// One call to `verify`, with what it knows of the passkey before verifying.
struct Attempt<'a> {
    ceremony: &'a Ceremony,
    pending: PendingAssertion,
    subject: Option<Subject>,
    response: &'a AuthenticationResponseJson,
    token_type: TokenType,
    user_agent: Option<String>,
}

impl Latchkey {
    pub async fn challenge(&self, org_id: &OrgId, input: ChallengeInput) -> Result<CeremonyStart> {
        let org = self.org(org_id).await?;
        if org.passkey_status != PasskeyStatus::Active {
            return fail(
                ErrorCode::PasskeysInactive,
                "passkeys are not activated for this organisation yet",
            );
        }
        let (user, allow, nobody) = self.challenge_target(&org, &input).await?;
        let now = self.now();
        let hash = input.payload.as_ref().map(payload_hash);
        let (nonce, challenge) = match &hash {
            Some(h) => {
                let (n, c) = commit(h);
                (Some(b64url_encode(&n)), c)
            }
            None => (None, random_challenge()),
        };
        let pending = PendingAssertion::new(user.as_ref(), &allow, nobody, nonce);
        let public_key = options::request(&org.settings, &challenge, &allow);
        let ceremony = Ceremony {
            id: CeremonyId::generate_at(now),
            org_id: org_id.clone(),
            purpose: CeremonyPurpose::Authentication,
            user_id: user.map(|u| u.id),
            challenge,
            payload_hash: hash,
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

    /// The user and allowed credentials a challenge is for.
    async fn challenge_target(
        &self,
        org: &Org,
        input: &ChallengeInput,
    ) -> Result<(Option<User>, Vec<Credential>, bool)> {
        match (&input.username, &input.credential_id) {
            (Some(_), Some(_)) => fail(
                ErrorCode::InvalidRequest,
                "give either username or credentialId, not both",
            ),
            (Some(name), None) => Ok(
                match self
                    .store
                    .user_with_credentials(&org.id, name.trim())
                    .await?
                {
                    Some((user, creds)) => (Some(user), creds, false),
                    None => (None, vec![], true),
                },
            ),
            (None, Some(id)) => {
                let raw = b64url_decode("credentialId", id)?;
                Ok(match self.store.get_credential(&org.id, &raw).await? {
                    Some(c) => (
                        self.store.get_user(&org.id, &c.user_id).await?,
                        vec![c],
                        false,
                    ),
                    None => (None, vec![], true),
                })
            }
            (None, None) => Ok((None, vec![], false)),
        }
    }

    pub async fn verify(
        &self,
        org_id: &OrgId,
        ceremony_id: &str,
        response: &AuthenticationResponseJson,
        token_type: TokenType,
        user_agent: Option<String>,
    ) -> Result<TokenGrant> {
        let ceremony = self
            .seal
            .open(org_id, CeremonyPurpose::Authentication, ceremony_id)?;
        let pending = PendingAssertion::deserialize(&ceremony.state).unwrap_or_default();
        let raw_id = b64url_decode("rawId", &response.raw_id)?;
        let subject = match pending.sealed_subject(&ceremony, &raw_id) {
            Some(sealed) => Some(sealed),
            None => (self.store.assertion_subject(org_id, &raw_id).await?).map(Subject::read),
        };
        let attempt = Attempt {
            ceremony: &ceremony,
            pending,
            subject,
            response,
            token_type,
            user_agent,
        };
        match self.finish_assertion(org_id, attempt).await {
            Err(e) => Err(self.burn(&ceremony, e).await),
            ok => ok,
        }
    }

    /// Checks and verifies the assertion, then commits it with the
    /// ceremony's consumption.
    async fn finish_assertion(&self, org_id: &OrgId, attempt: Attempt<'_>) -> Result<TokenGrant> {
        let Attempt {
            ceremony,
            pending,
            subject,
            response,
            token_type,
            user_agent,
        } = attempt;
        self.check_ceremony(ceremony, CeremonyPurpose::Authentication)?;
        let org = self.org(org_id).await?;
        let subject = pending.check(ceremony, subject, response)?;
        let check = AssertionCheck {
            challenge: &ceremony.challenge,
            origins: &org.settings.origins,
            rp_id: &org.settings.rp_id,
            require_user_verification: org.settings.user_verification == UserVerification::Required,
            public_key_cose: &subject.public_key_cose,
            stored_sign_count: subject.sign_count,
        };
        let verified = match verify_authentication(response, &check) {
            Err(e) if e.code == ErrorCode::SignCountRegression => {
                // Only a ceremony nobody completed proves a clone: the twin of
                // a double-submitted assertion can read the counter its
                // sibling just stored. Spending the ceremony decides which.
                self.store
                    .spend_ceremony(&SpentCeremony::of(ceremony))
                    .await?;
                self.flag_cloned(&org, &subject).await?;
                return Err(e);
            }
            other => other?,
        };
        let now = self.now();
        let cred_b64 = b64url_encode(&subject.credential_id);
        let mut amr = vec!["hwk".to_owned()];
        if verified.user_verified {
            amr.push("user".to_owned());
        }
        let mut audit = vec![AuditEvent::new(
            org_id,
            now,
            AuditKind::AssertionVerified,
            format!("credential:{cred_b64}"),
        )
        .by(&subject.user_id)
        .with(json!({"userVerified": verified.user_verified, "signCount": verified.sign_count}))];
        let (token, expires_at, session) = match token_type {
            TokenType::Session => {
                let ttl = org.settings.session_ttl_secs;
                let session = Session {
                    id: SessionId::generate_at(now),
                    org_id: org_id.clone(),
                    user_id: subject.user_id.clone(),
                    credential_id: subject.credential_id.clone(),
                    created_at: now,
                    expires_at: now.plus_secs(ttl),
                    last_seen_at: now,
                    revoked_at: None,
                    user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
                };
                let claims = SessionClaims {
                    iss: self.config.public_url.clone(),
                    aud: tokens::SESSION_AUD.to_owned(),
                    sub: subject.user_id.to_string(),
                    org: org_id.to_string(),
                    sid: session.id.to_string(),
                    iat: now.secs(),
                    exp: session.expires_at.secs(),
                    amr,
                };
                audit.push(
                    AuditEvent::new(org_id, now, AuditKind::SessionIssued, session.id.as_str())
                        .by(&subject.user_id),
                );
                (
                    tokens::sign(&self.keys, tokens::SESSION_TYP, &claims)?,
                    session.expires_at,
                    Some(session),
                )
            }
            TokenType::Verification => {
                let exp = now.plus_secs(org.settings.verification_token_ttl_secs);
                let claims = VerificationClaims {
                    iss: self.config.public_url.clone(),
                    aud: tokens::VERIFICATION_AUD.to_owned(),
                    sub: subject.user_id.to_string(),
                    org: org_id.to_string(),
                    jti: format!("vtk_{}", crate::random::id_tail()),
                    iat: now.secs(),
                    exp: exp.secs(),
                    cred: cred_b64,
                    amr,
                    chal: b64url_encode(&ceremony.challenge),
                    req: ceremony.payload_hash.clone(),
                };
                audit.push(
                    AuditEvent::new(
                        org_id,
                        now,
                        AuditKind::VerificationTokenIssued,
                        claims.jti.clone(),
                    )
                    .by(&subject.user_id),
                );
                (
                    tokens::sign(&self.keys, tokens::VERIFICATION_TYP, &claims)?,
                    exp,
                    None,
                )
            }
        };
        let commit = AuthenticationCommit {
            org_id: org_id.clone(),
            ceremony: Some(SpentCeremony::of(ceremony)),
            credential_id: subject.credential_id.clone(),
            user_id: subject.user_id.clone(),
            public_key_cose: subject.public_key_cose.clone(),
            sign_count: verified.sign_count,
            backup_eligible: verified.backup_eligible,
            backup_state: verified.backup_state,
            now,
            session,
            audit,
        };
        let user = match self.store.complete_authentication(&commit).await {
            // The store spent the ceremony before finding the counter had
            // reached this assertion's: nobody else completed it, a clone.
            Err(e) if e.code == ErrorCode::SignCountRegression => {
                self.flag_cloned(&org, &subject).await?;
                return Err(e);
            }
            other => other?,
        };
        Ok(TokenGrant {
            token,
            token_type,
            expires_at: expires_at.to_rfc3339(),
            user: UserView::from(&user),
        })
    }

    async fn flag_cloned(&self, org: &Org, subject: &Subject) -> Result<()> {
        let id = &subject.credential_id;
        let event = AuditEvent::new(
            &org.id,
            self.now(),
            AuditKind::CredentialFlaggedCloned,
            format!("credential:{}", b64url_encode(id)),
        )
        .by(&subject.user_id);
        self.store
            .flag_credential_cloned(&org.id, id, &[event])
            .await
    }
}
