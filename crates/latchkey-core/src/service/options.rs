//! The options handed to `navigator.credentials.create()/get()`, in WebAuthn
//! L3's JSON form (`PublicKeyCredentialCreationOptionsJSON`,
//! `PublicKeyCredentialRequestOptionsJSON`).

use serde_json::{json, Value};

use crate::model::{Credential, OrgSettings, User};
use crate::webauthn::json::b64url_encode;
use crate::webauthn::OFFERED_ALGS;

fn descriptor(c: &Credential) -> Value {
    let mut d = json!({"type": "public-key", "id": b64url_encode(&c.id)});
    if !c.transports.is_empty() {
        d["transports"] = json!(c.transports);
    }
    d
}

/// Asks for a discoverable credential, offers ES256 first, then EdDSA and
/// RS256, and excludes the user's existing credentials.
pub fn creation(
    settings: &OrgSettings,
    user_handle: &[u8],
    username: &str,
    display_name: &str,
    challenge: &[u8],
    exclude: &[Credential],
) -> Value {
    let params: Vec<Value> = OFFERED_ALGS
        .iter()
        .map(|alg| json!({"type": "public-key", "alg": alg}))
        .collect();
    json!({
        "rp": {"id": settings.rp_id, "name": settings.rp_name},
        "user": {"id": b64url_encode(user_handle), "name": username, "displayName": display_name},
        "challenge": b64url_encode(challenge),
        "pubKeyCredParams": params,
        "timeout": settings.ceremony_ttl_secs.saturating_mul(1000),
        "excludeCredentials": exclude.iter().map(descriptor).collect::<Vec<_>>(),
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": true,
            "userVerification": settings.user_verification.as_webauthn(),
        },
        "attestation": settings.attestation.as_webauthn(),
        "extensions": {"credProps": true},
    })
}

/// Empty `allow` means usernameless (discoverable credentials, conditional UI).
pub fn request(settings: &OrgSettings, challenge: &[u8], allow: &[Credential]) -> Value {
    json!({
        "challenge": b64url_encode(challenge),
        "timeout": settings.ceremony_ttl_secs.saturating_mul(1000),
        "rpId": settings.rp_id,
        "allowCredentials": allow.iter().map(descriptor).collect::<Vec<_>>(),
        "userVerification": settings.user_verification.as_webauthn(),
    })
}

/// A user's own display name, or the username when none was given.
pub fn display_name_or(user: &User) -> &str {
    if user.display_name.is_empty() {
        &user.username
    } else {
        &user.display_name
    }
}
