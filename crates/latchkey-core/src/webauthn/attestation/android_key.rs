//! The `android-key` format (§8.4): Android Keystore attests a hardware key.
//! The leaf certificate's key is the credential key, it signed authData ||
//! clientDataHash, and its key-description extension binds the ceremony
//! (attestationChallenge) and says the key was generated in the keystore for
//! signing and is not usable by all applications.

use x509_parser::asn1_rs::Any;

use super::{certs, invalid, Evidence, Statement};
use crate::error::Result;
use crate::webauthn::registration::AttestationType;
use crate::webauthn::signature::{self, Encoding};

/// Android key attestation extension (KeyDescription).
const OID_KEY_DESCRIPTION: &str = "1.3.6.1.4.1.11129.2.1.17";
const TAG_PURPOSE: u32 = 1;
const TAG_ALL_APPLICATIONS: u32 = 600;
const TAG_ORIGIN: u32 = 702;
const KM_PURPOSE_SIGN: u64 = 2;
const KM_ORIGIN_GENERATED: u64 = 0;

pub(super) fn verify(stmt: &Statement<'_>) -> Result<Evidence> {
    let alg = stmt.int("alg")?;
    let sig = stmt.bytes("sig")?;
    let x5c = stmt.required_x5c()?;
    let leaf = certs::parse(&x5c[0])?;
    signature::verify_spki(leaf.public_key(), alg, Encoding::Der, stmt.signed, sig)?;
    if !signature::spki_matches(leaf.public_key(), stmt.credential_key) {
        return invalid("android-key certificate key is not the credential key");
    }
    let Some(ext) = certs::extension(&leaf, OID_KEY_DESCRIPTION) else {
        return invalid("android-key certificate lacks the key description");
    };
    check_key_description(ext.value, stmt.client_data_hash)?;
    drop(leaf);
    Ok(Evidence {
        attestation_type: AttestationType::Basic,
        x5c,
    })
}

/// KeyDescription ::= SEQUENCE { attestationVersion, attestationSecurityLevel,
/// keymasterVersion, keymasterSecurityLevel, attestationChallenge OCTET STRING,
/// uniqueId, softwareEnforced AuthorizationList, teeEnforced AuthorizationList }.
fn check_key_description(value: &[u8], client_data_hash: &[u8; 32]) -> Result<()> {
    let Some(fields) = certs::der_children(value).filter(|f| f.len() >= 8) else {
        return invalid("android-key key description is malformed");
    };
    if fields[4].data != client_data_hash {
        return invalid("android-key attestationChallenge is not the client data hash");
    }
    let (Some(software), Some(tee)) = (
        certs::der_items(fields[6].data),
        certs::der_items(fields[7].data),
    ) else {
        return invalid("android-key authorization list is malformed");
    };
    check_authorizations(&software, &tee)
}

/// The union of both lists is judged: we accept software-backed keystores,
/// as the spec allows when the RP doesn't insist on a TEE.
fn check_authorizations(software: &[Any<'_>], tee: &[Any<'_>]) -> Result<()> {
    let all = || software.iter().chain(tee.iter());
    if all().any(|item| certs::is_context(item, TAG_ALL_APPLICATIONS)) {
        return invalid("android-key credential is bound to all applications");
    }
    let origin_generated = all()
        .filter(|item| certs::is_context(item, TAG_ORIGIN))
        .any(|item| explicit_integers(item).contains(&KM_ORIGIN_GENERATED));
    if !origin_generated {
        return invalid("android-key credential was not generated in the keystore");
    }
    let can_sign = all()
        .filter(|item| certs::is_context(item, TAG_PURPOSE))
        .any(|item| explicit_integers(item).contains(&KM_PURPOSE_SIGN));
    if !can_sign {
        return invalid("android-key credential purpose does not include signing");
    }
    Ok(())
}

/// The integers inside `[n] EXPLICIT INTEGER` or `[n] EXPLICIT SET OF INTEGER`.
fn explicit_integers(item: &Any<'_>) -> Vec<u64> {
    let Some(inner) = certs::der_items(item.data) else {
        return Vec::new();
    };
    let flatten = |any: &Any<'_>| -> Vec<u64> {
        if any.header.is_constructed() {
            certs::der_items(any.data)
                .unwrap_or_default()
                .iter()
                .filter_map(small_uint)
                .collect()
        } else {
            small_uint(any).into_iter().collect()
        }
    };
    inner.iter().flat_map(flatten).collect()
}

fn small_uint(any: &Any<'_>) -> Option<u64> {
    if any.data.is_empty() || any.data.len() > 8 {
        return None;
    }
    Some(
        any.data
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
    )
}
