//! The `android-safetynet` format (§8.5): a Google-signed JWS whose nonce is
//! SHA-256(authData || clientDataHash). We verify the JWS signature with the
//! leaf of its x5c (issued to attest.android.com), the nonce, that the device
//! passed the CTS profile check, and that the statement is fresh at `now`.
//! SafetyNet is retired; this exists for devices that still send it.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{certs, invalid, Evidence, Statement};
use crate::error::Result;
use crate::webauthn::cose;
use crate::webauthn::registration::AttestationType;
use crate::webauthn::signature::{self, Encoding};

const ATTEST_HOSTNAME: &str = "attest.android.com";
/// How far timestampMs may be from `now`, either way (clock skew included).
const MAX_SKEW_MS: i64 = 60_000;

#[derive(Deserialize)]
struct Header {
    alg: String,
    x5c: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    nonce: String,
    timestamp_ms: i64,
    #[serde(default)]
    cts_profile_match: bool,
}

pub(super) fn verify(stmt: &Statement<'_>) -> Result<Evidence> {
    if stmt
        .get("ver")
        .and_then(crate::webauthn::cbor::as_text)
        .is_none_or(str::is_empty)
    {
        return invalid("android-safetynet statement lacks ver");
    }
    let jws =
        std::str::from_utf8(stmt.bytes("response")?).or_else(|_| invalid("JWS is not UTF-8"))?;
    let [header_b64, payload_b64, sig_b64] = jws.split('.').collect::<Vec<_>>()[..] else {
        return invalid("android-safetynet response is not a compact JWS");
    };
    let header: Header = json(header_b64)?;
    let payload: Payload = json(payload_b64)?;
    let x5c = header
        .x5c
        .iter()
        .map(|c| STANDARD.decode(c))
        .collect::<Result<Vec<_>, _>>()
        .or_else(|_| invalid("JWS x5c is not base64"))?;
    let Some(leaf_der) = x5c.first() else {
        return invalid("JWS x5c is empty");
    };
    let sig = URL_SAFE_NO_PAD
        .decode(sig_b64)
        .or_else(|_| invalid("JWS signature is not base64url"))?;
    let signed_part = &jws[..header_b64.len() + 1 + payload_b64.len()];
    verify_jws_signature(leaf_der, &header.alg, signed_part.as_bytes(), &sig)?;
    check_payload(&payload, stmt)?;
    Ok(Evidence {
        attestation_type: AttestationType::Basic,
        x5c,
    })
}

fn json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .or_else(|_| invalid("JWS part is not base64url"))?;
    serde_json::from_slice(&bytes).or_else(|_| invalid("JWS part is not the expected JSON"))
}

fn verify_jws_signature(leaf_der: &[u8], alg: &str, signed: &[u8], sig: &[u8]) -> Result<()> {
    let leaf = certs::parse(leaf_der)?;
    let (cose_alg, encoding) = match alg {
        "RS256" => (cose::ALG_RS256, Encoding::Der),
        "ES256" => (cose::ALG_ES256, Encoding::Fixed),
        _ => return invalid("unsupported JWS algorithm"),
    };
    signature::verify_spki(leaf.public_key(), cose_alg, encoding, signed, sig)?;
    let issued_to_google = leaf
        .subject()
        .iter_common_name()
        .any(|cn| cn.as_str().is_ok_and(|s| s == ATTEST_HOSTNAME));
    if !issued_to_google {
        return invalid("SafetyNet certificate is not issued to attest.android.com");
    }
    Ok(())
}

fn check_payload(payload: &Payload, stmt: &Statement<'_>) -> Result<()> {
    let nonce = STANDARD.encode(Sha256::digest(stmt.signed));
    if payload.nonce != nonce {
        return invalid("SafetyNet nonce does not match the ceremony");
    }
    if !payload.cts_profile_match {
        return invalid("SafetyNet says the device failed the CTS profile check");
    }
    if (stmt.now.millis() - payload.timestamp_ms).abs() > MAX_SKEW_MS {
        return invalid("SafetyNet statement is not fresh");
    }
    Ok(())
}
