//! Session tokens in use: every protected request proves a session token,
//! which is checked cryptographically and then against the server-side
//! session row, so a logout or revocation on any node takes effect at once.

use super::{Latchkey, Principal};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{fail, Error, ErrorCode, Result};
use crate::ids::{OrgId, SessionId, UserId};
use crate::model::UserStatus;
use crate::tokens;

impl Latchkey {
    /// Establishes the caller of a request to `org_id` from a bearer token.
    pub async fn authenticate(&self, org_id: &OrgId, token: &str) -> Result<Principal> {
        let now = self.now();
        let issuer = &self.config.public_url;
        let claims = match tokens::decode_session(&self.keys, token, issuer, now)? {
            Some(c) => c,
            None => {
                // A key we don't know may have been added by another node.
                self.keys.reload(self.store.as_ref()).await?;
                tokens::decode_session(&self.keys, token, issuer, now)?.ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidToken,
                        "the token was signed by an unknown key",
                    )
                })?
            }
        };
        if claims.org != org_id.as_str() {
            return fail(
                ErrorCode::WrongOrganization,
                "the token belongs to another organisation",
            );
        }
        let sid = SessionId::parse(&claims.sid)
            .map_err(|_| Error::new(ErrorCode::InvalidToken, "bad session id"))?;
        let session =
            self.store.get_session(org_id, &sid).await?.ok_or_else(|| {
                Error::new(ErrorCode::SessionRevoked, "the session no longer exists")
            })?;
        if session.revoked_at.is_some() {
            return fail(ErrorCode::SessionRevoked, "the session has been revoked");
        }
        if session.expires_at <= now {
            return fail(ErrorCode::TokenExpired, "the session has expired");
        }
        let user_id = UserId::from_stored(claims.sub);
        let user = self.user(org_id, &user_id).await?;
        if user.status == UserStatus::Suspended {
            return fail(ErrorCode::UserSuspended, "this user is suspended");
        }
        Ok(Principal {
            org_id: org_id.clone(),
            user_id,
            role: user.role,
            session_id: sid,
        })
    }

    /// Ends the caller's session server-side.
    pub async fn logout(&self, p: &Principal) -> Result<()> {
        let now = self.now();
        let event = AuditEvent::new(
            &p.org_id,
            now,
            AuditKind::SessionRevoked,
            p.session_id.as_str(),
        )
        .by(&p.user_id)
        .with(serde_json::json!({"reason": "logout"}));
        self.store
            .revoke_session(&p.org_id, &p.session_id, now, &[event])
            .await?;
        Ok(())
    }
}
