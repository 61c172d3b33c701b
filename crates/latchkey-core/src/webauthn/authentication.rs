//! Authentication ceremony verification (WebAuthn L3 §7.2). This is the hot
//! path of every login: one base64 pass per field, one JSON parse, one COSE
//! parse and one signature check, with the signed message built in the buffer
//! the authenticator data was decoded into. Looking up the credential (steps
//! 5–7) and storing the new sign count (step 26) are the caller's.
//!
//! Steps implemented here, numbered as in §7.2:
//! 8. Decode clientDataJSON, authenticatorData and signature.
//! 9–10. Parse the client data.
//! 11. Verify `C.type` is `webauthn.get`.
//! 12. Verify `C.challenge` is the challenge we issued.
//! 13. Verify `C.origin` is one of our origins.
//! 14–15. Refuse `C.crossOrigin` (and so any `topOrigin`); refuse token binding `present`.
//! 16. Verify rpIdHash is SHA-256 of our RP ID.
//! 17. Verify UP is set.
//! 18. If user verification is required, verify UV is set.
//! 19. If BE is not set, verify BS is not set.
//! 21. Parse extension outputs (must be one CBOR map when ED is set).
//! 22. hash = SHA-256(clientDataJSON).
//! 23. Verify the signature over authData || hash with the stored key.
//! 24. Refuse a sign count that did not increase when either count is non-zero.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{fail, Error, ErrorCode, Result};
use crate::webauthn::auth_data::AuthData;
use crate::webauthn::client_data::{self, Expected, TYPE_GET};
use crate::webauthn::cose::CoseKey;
use crate::webauthn::json::{b64url_decode, AuthenticationResponseJson};
use crate::webauthn::signature;

/// Everything the caller expects of this assertion.
#[derive(Debug, Clone)]
pub struct AssertionCheck<'a> {
    pub challenge: &'a [u8],
    pub origins: &'a [String],
    pub rp_id: &'a str,
    pub require_user_verification: bool,
    /// The stored credential's COSE_Key and its last sign count.
    pub public_key_cose: &'a [u8],
    pub stored_sign_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub sign_count: u32,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

/// A sign count that didn't increase (both non-zero) fails with `sign_count_regression`.
pub fn verify_authentication(
    response: &AuthenticationResponseJson,
    check: &AssertionCheck<'_>,
) -> Result<VerifiedAssertion> {
    if response.type_ != "public-key" {
        return fail(ErrorCode::TypeMismatch, "credential type is not public-key");
    }
    if response.id.trim_end_matches('=') != response.raw_id.trim_end_matches('=') {
        return fail(ErrorCode::RawIdMismatch, "id and rawId differ");
    }
    let client_data_json = b64url_decode("clientDataJSON", &response.response.client_data_json)?;
    let expected = Expected {
        type_: TYPE_GET,
        challenge: check.challenge,
        origins: check.origins,
    };
    client_data::verify(&client_data_json, &expected)?;

    let mut signed = decode_with_room("authenticatorData", &response.response.authenticator_data)?;
    let auth_data = AuthData::parse(&signed)?;
    auth_data.verify(check.rp_id, check.require_user_verification)?;
    let (flags, sign_count) = (auth_data.flags, auth_data.sign_count);

    let sig = b64url_decode("signature", &response.response.signature)?;
    let key = CoseKey::parse(check.public_key_cose)?;
    signed.extend_from_slice(&Sha256::digest(&client_data_json));
    signature::verify_cose(&key, &signed, &sig)?;

    verify_sign_count(check.stored_sign_count, sign_count)?;
    Ok(VerifiedAssertion {
        sign_count,
        user_verified: flags.user_verified(),
        backup_eligible: flags.backup_eligible(),
        backup_state: flags.backup_state(),
    })
}

/// Decodes into a buffer with 32 spare bytes so the client-data hash can be
/// appended for signing without a second allocation.
fn decode_with_room(field: &str, value: &str) -> Result<Vec<u8>> {
    let trimmed = value.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4 + 3 + 32);
    URL_SAFE_NO_PAD.decode_vec(trimmed, &mut out).map_err(|_| {
        Error::new(
            ErrorCode::InvalidBase64,
            format!("{field} is not valid base64url"),
        )
    })?;
    Ok(out)
}

/// Synced passkeys report zero forever, so zero on either side is accepted.
pub fn verify_sign_count(stored: u32, received: u32) -> Result<()> {
    // §7.2 step 22: once either side is non-zero the count must grow; a
    // credential that counted before and now reports 0 is a regression too.
    // Only 0 → 0 (synced passkeys that never count) is accepted.
    if (stored != 0 || received != 0) && received <= stored {
        return fail(
            ErrorCode::SignCountRegression,
            "sign count did not increase",
        );
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn sign_count_must_increase_unless_both_sides_are_zero() {
        assert!(verify_sign_count(0, 0).is_ok());
        assert_eq!(
            verify_sign_count(5, 0).unwrap_err().code,
            ErrorCode::SignCountRegression
        );
        assert!(verify_sign_count(0, 5).is_ok());
        assert!(verify_sign_count(5, 6).is_ok());
        assert_eq!(
            verify_sign_count(5, 5).unwrap_err().code,
            ErrorCode::SignCountRegression
        );
        assert_eq!(
            verify_sign_count(6, 5).unwrap_err().code,
            ErrorCode::SignCountRegression
        );
    }
}
