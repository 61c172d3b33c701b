//! Registration ceremony verification (WebAuthn L3 §7.1). Checking that the
//! credential id is not already registered (step 26) and storing the
//! credential (step 27) are the caller's; everything the response itself can
//! prove is checked here.
//!
//! Steps implemented here, numbered as in §7.1:
//! 3. Verify the credential is a `public-key` credential whose `id`, `rawId`
//!    and attested credential id agree.
//! 5–6. Decode and parse clientDataJSON.
//! 7. Verify `C.type` is `webauthn.create`.
//! 8. Verify `C.challenge` is the challenge we issued.
//! 9. Verify `C.origin` is one of our origins.
//! 10–11. Refuse `C.crossOrigin` (and so any `topOrigin`); refuse token binding `present`.
//! 12. hash = SHA-256(clientDataJSON).
//! 13. CBOR-decode the attestation object (exactly, no trailing bytes) into fmt, authData, attStmt.
//! 14. Verify rpIdHash is SHA-256 of our RP ID.
//! 15. Verify UP is set.
//! 16. If user verification is required, verify UV is set.
//! 17. If BE is not set, verify BS is not set.
//! 19. Verify the credential public key is well formed (kty/alg/crv agree, point on
//!     its curve, RSA ≥ 2048 bits) and its alg one we support; the caller sees `alg`.
//! 20. Parse extension outputs (must be one CBOR map when ED is set).
//! 21–22. Verify the attestation statement for its format (see `attestation`).
//! 23–24. Assess trustworthiness against the policy's trust anchors.
//! 25. Verify the credential id is at most 1023 bytes (checked while parsing authData).

use std::collections::HashMap;
use std::sync::Arc;

use ciborium::value::Value;
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::attestation::{self, Statement};
use crate::webauthn::auth_data::AuthData;
use crate::webauthn::cbor;
use crate::webauthn::client_data::{self, Expected, TYPE_CREATE};
use crate::webauthn::cose::CoseKey;
use crate::webauthn::json::{b64url_decode, RegistrationResponseJson};

/// How attestation statements are judged.
#[derive(Debug, Clone, Default)]
pub struct AttestationPolicy {
    /// Verify the attestation trust path to an anchor (conveyance other than `none`).
    pub require_trusted: bool,
    /// Root certificates (DER) per attestation format, e.g. "apple" → \[root\];
    /// shared, since each registration takes a copy of the policy.
    pub trust_anchors: Arc<HashMap<String, Vec<Vec<u8>>>>,
    /// When set, only these AAGUIDs may register.
    pub allowed_aaguids: Option<Vec<[u8; 16]>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationType {
    None,
    SelfAttestation,
    Basic,
    AttCa,
    AnonCa,
}

/// Everything the caller expects of this registration.
#[derive(Debug, Clone)]
pub struct RegistrationCheck<'a> {
    pub challenge: &'a [u8],
    pub origins: &'a [String],
    pub rp_id: &'a str,
    pub require_user_verification: bool,
    pub policy: &'a AttestationPolicy,
    /// For certificate validity and SafetyNet timestamps.
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRegistration {
    pub credential_id: Vec<u8>,
    pub public_key_cose: Vec<u8>,
    pub alg: i64,
    pub sign_count: u32,
    pub aaguid: [u8; 16],
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub fmt: String,
    pub attestation_type: AttestationType,
    /// Whether the attestation chained to one of the policy's trust anchors.
    pub trusted: bool,
    pub transports: Vec<String>,
}

/// The three members of an attestation object (§6.5).
struct AttestationObject {
    fmt: String,
    auth_data: Vec<u8>,
    att_stmt: Vec<(Value, Value)>,
}

pub fn verify_registration(
    response: &RegistrationResponseJson,
    check: &RegistrationCheck<'_>,
) -> Result<VerifiedRegistration> {
    let raw_id = verify_credential_ids(response)?;
    let client_data_json = b64url_decode("clientDataJSON", &response.response.client_data_json)?;
    let expected = Expected {
        type_: TYPE_CREATE,
        challenge: check.challenge,
        origins: check.origins,
    };
    client_data::verify(&client_data_json, &expected)?;
    let client_data_hash: [u8; 32] = Sha256::digest(&client_data_json).into();

    let object = decode_attestation_object(&response.response.attestation_object)?;
    let auth_data = AuthData::parse(&object.auth_data)?;
    auth_data.verify(check.rp_id, check.require_user_verification)?;
    let Some(credential) = auth_data.attested.as_ref() else {
        return fail(
            ErrorCode::MalformedAuthenticatorData,
            "attested credential data is missing",
        );
    };
    if credential.credential_id != raw_id.as_slice() {
        return fail(
            ErrorCode::RawIdMismatch,
            "rawId is not the attested credential id",
        );
    }
    let key = CoseKey::parse(credential.public_key)?;
    key.validate_point()?;

    let signed = [object.auth_data.as_slice(), client_data_hash.as_slice()].concat();
    let statement = Statement {
        fmt: &object.fmt,
        att_stmt: &object.att_stmt,
        auth_data: &auth_data,
        credential,
        credential_key: &key,
        client_data_hash: &client_data_hash,
        signed: &signed,
        now: check.now,
    };
    let outcome = attestation::verify(&statement, check.policy)?;
    // After the statement, so a forged AAGUID is reported as such first.
    verify_aaguid_allowed(check.policy, &credential.aaguid)?;

    Ok(VerifiedRegistration {
        credential_id: raw_id,
        public_key_cose: credential.public_key.to_vec(),
        alg: key.alg(),
        sign_count: auth_data.sign_count,
        aaguid: credential.aaguid,
        user_verified: auth_data.flags.user_verified(),
        backup_eligible: auth_data.flags.backup_eligible(),
        backup_state: auth_data.flags.backup_state(),
        fmt: object.fmt.clone(),
        attestation_type: outcome.attestation_type,
        trusted: outcome.trusted,
        transports: response.response.transports.clone().unwrap_or_default(),
    })
}

/// Step 3: `id` must be `rawId` (both base64url of the same bytes).
fn verify_credential_ids(response: &RegistrationResponseJson) -> Result<Vec<u8>> {
    if response.type_ != "public-key" {
        return fail(ErrorCode::TypeMismatch, "credential type is not public-key");
    }
    let raw_id = b64url_decode("rawId", &response.raw_id)?;
    if b64url_decode("id", &response.id)? != raw_id {
        return fail(ErrorCode::RawIdMismatch, "id and rawId differ");
    }
    Ok(raw_id)
}

/// Step 13: exactly one CBOR map with text `fmt`, byte-string `authData` and map `attStmt`.
fn decode_attestation_object(encoded: &str) -> Result<AttestationObject> {
    let bytes = b64url_decode("attestationObject", encoded)?;
    let code = ErrorCode::MalformedAttestationObject;
    let Value::Map(entries) = cbor::decode_exact(&bytes, code, "attestationObject")? else {
        return fail(code, "attestationObject is not a CBOR map");
    };
    let (mut fmt, mut auth_data, mut att_stmt) = (None, None, None);
    for (key, value) in entries {
        match (cbor::as_text(&key), value) {
            (Some("fmt"), Value::Text(t)) => fmt = Some(t),
            (Some("authData"), Value::Bytes(b)) => auth_data = Some(b),
            (Some("attStmt"), Value::Map(m)) => att_stmt = Some(m),
            (Some("fmt" | "authData" | "attStmt"), _) => {
                return fail(code, "attestationObject member has the wrong type")
            }
            _ => {}
        }
    }
    match (fmt, auth_data, att_stmt) {
        (Some(fmt), Some(auth_data), Some(att_stmt)) => Ok(AttestationObject {
            fmt,
            auth_data,
            att_stmt,
        }),
        _ => fail(code, "attestationObject lacks fmt, authData or attStmt"),
    }
}

fn verify_aaguid_allowed(policy: &AttestationPolicy, aaguid: &[u8; 16]) -> Result<()> {
    match &policy.allowed_aaguids {
        Some(allowed) if !allowed.contains(aaguid) => fail(
            ErrorCode::AuthenticatorNotAllowed,
            "this authenticator model is not allowed",
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::webauthn::json::b64url_encode;

    fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(value, &mut out).unwrap();
        out
    }

    fn object() -> Value {
        Value::Map(vec![
            (Value::Text("fmt".into()), Value::Text("none".into())),
            (Value::Text("attStmt".into()), Value::Map(vec![])),
            (Value::Text("authData".into()), Value::Bytes(vec![0; 37])),
        ])
    }

    #[test]
    fn an_attestation_object_is_decoded() {
        let decoded = decode_attestation_object(&b64url_encode(&encode(&object()))).unwrap();
        assert_eq!(decoded.fmt, "none");
        assert_eq!(decoded.auth_data.len(), 37);
    }

    #[test]
    fn an_attestation_object_with_trailing_bytes_is_refused() {
        let mut bytes = encode(&object());
        bytes.push(0xF6);
        let err = decode_attestation_object(&b64url_encode(&bytes))
            .err()
            .unwrap();
        assert_eq!(err.code, ErrorCode::MalformedAttestationObject);
    }

    #[test]
    fn an_aaguid_outside_the_allow_list_is_refused() {
        let mut policy = AttestationPolicy::default();
        verify_aaguid_allowed(&policy, &[1; 16]).unwrap();
        policy.allowed_aaguids = Some(vec![[2; 16]]);
        verify_aaguid_allowed(&policy, &[2; 16]).unwrap();
        let err = verify_aaguid_allowed(&policy, &[1; 16]).unwrap_err();
        assert_eq!(err.code, ErrorCode::AuthenticatorNotAllowed);
    }
}
