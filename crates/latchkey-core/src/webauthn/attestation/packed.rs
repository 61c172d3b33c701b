//! The `packed` format (§8.2): either full attestation, signed by the leaf
//! of `x5c` whose certificate must meet §8.2.1, or self attestation, signed
//! by the credential key itself under the credential's own algorithm.
//! ECDAA was removed from the spec and is refused.

use super::{certs, invalid, Evidence, Statement};
use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::registration::AttestationType;
use crate::webauthn::signature::{self, Encoding};

pub(super) fn verify(stmt: &Statement<'_>) -> Result<Evidence> {
    if stmt.get("ecdaaKeyId").is_some() {
        return fail(
            ErrorCode::UnsupportedAttestationFormat,
            "ECDAA attestation is not supported",
        );
    }
    let alg = stmt.int("alg")?;
    let sig = stmt.bytes("sig")?;
    match stmt.x5c()? {
        Some(x5c) => full(stmt, alg, sig, x5c),
        None => self_attestation(stmt, alg, sig),
    }
}

fn full(stmt: &Statement<'_>, alg: i64, sig: &[u8], x5c: Vec<Vec<u8>>) -> Result<Evidence> {
    let leaf = certs::parse(&x5c[0])?;
    signature::verify_spki(leaf.public_key(), alg, Encoding::Der, stmt.signed, sig)?;
    check_leaf(&leaf, &stmt.credential.aaguid)?;
    drop(leaf);
    Ok(Evidence {
        attestation_type: AttestationType::Basic,
        x5c,
    })
}

/// §8.2.1 requirements we can check without metadata.
fn check_leaf(
    leaf: &x509_parser::certificate::X509Certificate<'_>,
    aaguid: &[u8; 16],
) -> Result<()> {
    if leaf.version() != x509_parser::x509::X509Version::V3 {
        return invalid("packed attestation certificate is not X.509 v3");
    }
    let ou_ok = leaf
        .subject()
        .iter_organizational_unit()
        .any(|ou| ou.as_str().is_ok_and(|s| s == "Authenticator Attestation"));
    if !ou_ok {
        return invalid("packed attestation certificate OU is not \"Authenticator Attestation\"");
    }
    certs::require_not_ca(leaf)?;
    certs::check_aaguid_extension(leaf, aaguid)
}

fn self_attestation(stmt: &Statement<'_>, alg: i64, sig: &[u8]) -> Result<Evidence> {
    if alg != stmt.credential_key.alg() {
        return invalid("self attestation alg differs from the credential's");
    }
    signature::verify_cose(stmt.credential_key, stmt.signed, sig)
        .or_else(|_| invalid("self attestation signature is invalid"))?;
    Ok(Evidence {
        attestation_type: AttestationType::SelfAttestation,
        x5c: Vec::new(),
    })
}
