//! Attestation statement verification (WebAuthn L3 §8) and trust assessment
//! (§7.1 steps 21–24). Each format module checks its own statement and hands
//! back the certificate path it used; this module then decides, once for all
//! formats, whether that path reaches one of the policy's anchors.

mod android_key;
mod android_safetynet;
mod apple;
pub(crate) mod certs;
mod fido_u2f;
mod none;
mod packed;
mod roots;
mod tpm;
mod tpm_structs;

use ciborium::value::Value;

use crate::clock::Timestamp;
use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::auth_data::{AttestedCredential, AuthData};
use crate::webauthn::cbor;
use crate::webauthn::cose::CoseKey;
use crate::webauthn::registration::{AttestationPolicy, AttestationType};

/// What a format verifier receives.
pub(crate) struct Statement<'a> {
    pub fmt: &'a str,
    pub att_stmt: &'a [(Value, Value)],
    pub auth_data: &'a AuthData<'a>,
    pub credential: &'a AttestedCredential<'a>,
    pub credential_key: &'a CoseKey,
    pub client_data_hash: &'a [u8; 32],
    /// authenticatorData || clientDataHash: what most formats sign.
    pub signed: &'a [u8],
    pub now: Timestamp,
}

/// What a format verifier proves: the attestation type and the certificate
/// path (leaf first, DER) that the trust assessment must anchor.
pub(crate) struct Evidence {
    pub attestation_type: AttestationType,
    pub x5c: Vec<Vec<u8>>,
}

pub(crate) struct Outcome {
    pub attestation_type: AttestationType,
    pub trusted: bool,
}

/// Steps 21–24: dispatch on `fmt`, verify the statement, assess trust.
pub(crate) fn verify(stmt: &Statement<'_>, policy: &AttestationPolicy) -> Result<Outcome> {
    let evidence = match stmt.fmt {
        "none" => none::verify(stmt)?,
        "packed" => packed::verify(stmt)?,
        "fido-u2f" => fido_u2f::verify(stmt)?,
        "tpm" => tpm::verify(stmt)?,
        "android-key" => android_key::verify(stmt)?,
        "android-safetynet" => android_safetynet::verify(stmt)?,
        "apple" => apple::verify(stmt)?,
        _ => {
            return fail(
                ErrorCode::UnsupportedAttestationFormat,
                "unsupported attestation format",
            )
        }
    };
    let trusted = assess_trust(stmt, &evidence, policy)?;
    Ok(Outcome {
        attestation_type: evidence.attestation_type,
        trusted,
    })
}

/// None and self attestation carry no path, so there is nothing to anchor:
/// they pass as untrusted and the caller decides from `attestation_type`.
fn assess_trust(
    stmt: &Statement<'_>,
    evidence: &Evidence,
    policy: &AttestationPolicy,
) -> Result<bool> {
    if evidence.x5c.is_empty() {
        return Ok(false);
    }
    let roots = policy
        .trust_anchors
        .get(stmt.fmt)
        .map_or(&[][..], Vec::as_slice);
    match certs::verify_path(&evidence.x5c, roots, stmt.now) {
        Ok(()) => Ok(true),
        Err(err) if policy.require_trusted => Err(err),
        Err(_) => Ok(false),
    }
}

impl Statement<'_> {
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        cbor::get_text_key(self.att_stmt, key)
    }

    pub(crate) fn int(&self, key: &str) -> Result<i64> {
        self.get(key)
            .and_then(cbor::as_i64)
            .map_or_else(|| missing(key), Ok)
    }

    pub(crate) fn bytes(&self, key: &str) -> Result<&[u8]> {
        self.get(key)
            .and_then(cbor::as_bytes)
            .map_or_else(|| missing(key), Ok)
    }

    /// `x5c` as DER certificates, leaf first; `None` when absent.
    pub(crate) fn x5c(&self) -> Result<Option<Vec<Vec<u8>>>> {
        let Some(value) = self.get("x5c") else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return invalid("x5c is not an array");
        };
        let certs: Option<Vec<Vec<u8>>> = items
            .iter()
            .map(|v| cbor::as_bytes(v).map(<[u8]>::to_vec))
            .collect();
        match certs {
            Some(certs) if !certs.is_empty() => Ok(Some(certs)),
            _ => invalid("x5c must be a non-empty array of certificates"),
        }
    }

    pub(crate) fn required_x5c(&self) -> Result<Vec<Vec<u8>>> {
        self.x5c()?.map_or_else(|| missing("x5c"), Ok)
    }
}

fn missing<T>(key: &str) -> Result<T> {
    invalid(&format!("attestation statement lacks a valid {key}"))
}

pub(crate) fn invalid<T>(message: &str) -> Result<T> {
    fail(ErrorCode::InvalidAttestationStatement, message)
}

pub use roots::{pem_to_der, vendor_roots};
