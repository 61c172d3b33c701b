//! Token formats. Session tokens and verification tokens are JWTs signed
//! with the active Ed25519 key (see `keys`), so any party can check them
//! against the JWKS. Expiry is checked against our clock, not the system
//! clock, so it stays testable; a session token is only as good as its
//! server-side session row, which `service::tokens` checks on every use.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::KeyRing;
use crate::webauthn::json::b64url_encode;

pub const SESSION_TYP: &str = "lk-session+jwt";
pub const VERIFICATION_TYP: &str = "lk-verification+jwt";
pub const SESSION_AUD: &str = "latchkey:session";
pub const VERIFICATION_AUD: &str = "latchkey:verification";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub org: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    /// RFC 8176 methods: `hwk` (proof of a hardware-bound or synced key), plus `user` when UV was asserted.
    pub amr: Vec<String>,
}

/// "User `sub` proved possession of passkey `cred`", optionally for the payload `req`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub org: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub cred: String,
    pub amr: Vec<String>,
    /// The challenge the assertion signed, base64url.
    pub chal: String,
    /// `sha256:<b64url>` of the payload the challenge committed to.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub req: Option<String>,
}

/// A compact JWS (RFC 7515) signed with the active Ed25519 key. Assembled
/// here rather than by `jsonwebtoken::encode` so the parsed key pair is
/// reused (see `keys::ActiveKey`); decoding still goes through `jsonwebtoken`.
pub fn sign<T: Serialize>(keys: &KeyRing, typ: &str, claims: &T) -> Result<String> {
    let key = keys.active()?;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    header.typ = Some(typ.to_owned());
    let header = serde_json::to_vec(&header).map_err(Error::internal)?;
    let claims = serde_json::to_vec(claims).map_err(Error::internal)?;
    let mut jws = format!("{}.{}", b64url_encode(&header), b64url_encode(&claims));
    let signature = key.sign(jws.as_bytes());
    jws.push('.');
    jws.push_str(&b64url_encode(signature.as_ref()));
    Ok(jws)
}

/// Checks signature, `typ`, issuer and audience; expiry against `now`.
/// Returns `None` when the key id is unknown, so the caller can reload keys and retry.
pub fn decode_session(
    keys: &KeyRing,
    token: &str,
    issuer: &str,
    now: Timestamp,
) -> Result<Option<SessionClaims>> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
    if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(SESSION_TYP) {
        return Err(invalid());
    }
    let Some(key) = header.kid.as_deref().and_then(|kid| keys.decoding_key(kid)) else {
        return Ok(None);
    };
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.set_audience(&[SESSION_AUD]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let data =
        jsonwebtoken::decode::<SessionClaims>(token, &key, &validation).map_err(|_| invalid())?;
    if data.claims.exp <= now.secs() {
        return Err(Error::new(
            ErrorCode::TokenExpired,
            "the session token has expired",
        ));
    }
    Ok(Some(data.claims))
}

fn invalid() -> Error {
    Error::new(
        ErrorCode::InvalidToken,
        "the token is malformed or its signature is invalid",
    )
}
