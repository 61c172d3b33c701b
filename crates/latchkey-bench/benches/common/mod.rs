//! Fixtures shared by the micro-benchmarks: real WebAuthn responses made
//! once, before timing starts, so each benchmark measures only the server's
//! side. ES256 and EdDSA come from the testkit's software authenticator; the
//! testkit has no RSA, so the RS256 assertion is assembled here from an RSA
//! key made with the `rsa` crate (the bytes are exactly what a Windows Hello
//! TPM key would send).

#![allow(dead_code)] // each bench binary uses a different subset

use ciborium::value::Value as Cbor;
use latchkey_core::clock::Timestamp;
use latchkey_core::webauthn::json::{
    b64url_encode, AuthenticationResponseJson, RegistrationResponseJson,
};
use latchkey_core::webauthn::{
    verify_registration, AttestationPolicy, RegistrationCheck, VerifiedRegistration,
};
use latchkey_testkit::{Alg, Attestation, Config, SoftAuthenticator};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const RP_ID: &str = "localhost";
pub const ORIGIN: &str = "http://localhost:8080";
/// 2026-11-22T12:00:00Z, the same fixed time the API tests use.
pub const NOW: Timestamp = Timestamp(1_795_348_800_000);
pub const REG_CHALLENGE: &[u8] = b"registration-challenge-32-bytes!";
pub const AUTH_CHALLENGE: &[u8] = b"authentication-challenge-32-byte";

pub fn origins() -> Vec<String> {
    vec![ORIGIN.to_owned()]
}

fn creation_options(alg: i64) -> Value {
    json!({
        "rp": {"id": RP_ID, "name": "Bench"},
        "user": {"id": b64url_encode(b"user-handle-0001"), "name": "ada", "displayName": "Ada"},
        "challenge": b64url_encode(REG_CHALLENGE),
        "pubKeyCredParams": [{"type": "public-key", "alg": alg}],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
    })
}

fn request_options() -> Value {
    json!({"challenge": b64url_encode(AUTH_CHALLENGE), "rpId": RP_ID, "userVerification": "required"})
}

/// A registration response from a fresh software authenticator.
pub fn registration(
    alg: Alg,
    attestation: Attestation,
) -> (SoftAuthenticator, RegistrationResponseJson) {
    let authn = SoftAuthenticator::with_config(Config::default().alg(alg).attestation(attestation));
    let response = authn
        .register(&creation_options(alg.cose_alg()), ORIGIN)
        .expect("the software authenticator registers");
    let parsed = serde_json::from_value(response).expect("registration JSON parses");
    (authn, parsed)
}

pub fn registration_check<'a>(
    origins: &'a [String],
    policy: &'a AttestationPolicy,
) -> RegistrationCheck<'a> {
    RegistrationCheck {
        challenge: REG_CHALLENGE,
        origins,
        rp_id: RP_ID,
        require_user_verification: true,
        policy,
        now: NOW,
    }
}

/// The stored COSE key (from a verified registration) and an assertion by it.
pub fn assertion(alg: Alg) -> (Vec<u8>, AuthenticationResponseJson) {
    let (authn, reg) = registration(alg, Attestation::None);
    let (origins, policy) = (origins(), AttestationPolicy::default());
    let verified: VerifiedRegistration =
        verify_registration(&reg, &registration_check(&origins, &policy))
            .expect("registration verifies");
    let response = authn
        .authenticate(&request_options(), ORIGIN)
        .expect("the software authenticator signs");
    let parsed = serde_json::from_value(response).expect("assertion JSON parses");
    (verified.public_key_cose, parsed)
}

/// An RS256 (RSASSA-PKCS1-v1_5, SHA-256, 2048-bit) credential key as COSE and an assertion by it.
pub fn rs256_assertion() -> (Vec<u8>, AuthenticationResponseJson) {
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::traits::PublicKeyParts;

    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation");
    let public = key.to_public_key();
    let cose = Cbor::Map(vec![
        (Cbor::from(1), Cbor::from(3)),    // kty: RSA
        (Cbor::from(3), Cbor::from(-257)), // alg: RS256
        (Cbor::from(-1), Cbor::Bytes(public.n().to_bytes_be())),
        (Cbor::from(-2), Cbor::Bytes(public.e().to_bytes_be())),
    ]);
    let mut cose_bytes = Vec::new();
    ciborium::into_writer(&cose, &mut cose_bytes).expect("CBOR encodes");

    let mut auth_data = Sha256::digest(RP_ID.as_bytes()).to_vec();
    auth_data.push(0x05); // UP | UV
    auth_data.extend_from_slice(&7u32.to_be_bytes());
    let client_data = json!({
        "type": "webauthn.get",
        "challenge": b64url_encode(AUTH_CHALLENGE),
        "origin": ORIGIN,
        "crossOrigin": false,
    })
    .to_string();
    let mut signed = auth_data.clone();
    signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
    let signature = SigningKey::<Sha256>::new(key).sign(&signed).to_vec();

    let id = b64url_encode(b"rsa-credential-id");
    let response = json!({
        "id": id, "rawId": id, "type": "public-key",
        "response": {
            "clientDataJSON": b64url_encode(client_data.as_bytes()),
            "authenticatorData": b64url_encode(&auth_data),
            "signature": b64url_encode(&signature),
            "userHandle": b64url_encode(b"user-handle-0001"),
        },
        "clientExtensionResults": {},
    });
    (
        cose_bytes,
        serde_json::from_value(response).expect("assertion JSON parses"),
    )
}
