//! The `apple` anonymous format (§8.8): Apple's CA issues a fresh leaf per
//! credential whose nonce extension binds it to this ceremony, and whose key
//! is the credential key. There is no signature to check beyond the path.

use super::{certs, invalid, Evidence, Statement};
use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::registration::AttestationType;
use crate::webauthn::signature;
use sha2::{Digest, Sha256};

/// Apple's anonymous attestation nonce extension.
const OID_APPLE_NONCE: &str = "1.2.840.113635.100.8.2";

pub(super) fn verify(stmt: &Statement<'_>) -> Result<Evidence> {
    let x5c = stmt.required_x5c()?;
    let leaf = certs::parse(&x5c[0])?;
    let nonce = Sha256::digest(stmt.signed);
    let Some(ext) = certs::extension(&leaf, OID_APPLE_NONCE) else {
        return invalid("apple attestation certificate lacks the nonce extension");
    };
    if certified_nonce(ext.value) != Some(&nonce[..]) {
        return fail(
            ErrorCode::InvalidAttestationStatement,
            "apple attestation nonce does not match",
        );
    }
    if !signature::spki_matches(leaf.public_key(), stmt.credential_key) {
        return invalid("apple attestation certificate key is not the credential key");
    }
    drop(leaf);
    Ok(Evidence {
        attestation_type: AttestationType::AnonCa,
        x5c,
    })
}

/// SEQUENCE { [1] EXPLICIT OCTET STRING nonce }.
fn certified_nonce(value: &[u8]) -> Option<&[u8]> {
    let children = certs::der_children(value)?;
    let tagged = children.iter().find(|item| certs::is_context(item, 1))?;
    let inner = certs::der_items(tagged.data)?;
    match inner.as_slice() {
        [octets] => Some(octets.data),
        _ => None,
    }
}
