//! The `fido-u2f` format (§8.6): a CTAP1 authenticator signs a fixed
//! structure with its batch certificate. Both the certificate key and the
//! credential key must be P-256, the only curve U2F knows.

use super::{certs, invalid, Evidence, Statement};
use crate::error::Result;
use crate::webauthn::cose::{CoseKey, EcCurve};
use crate::webauthn::registration::AttestationType;
use crate::webauthn::signature::{self, Encoding};

pub(super) fn verify(stmt: &Statement<'_>) -> Result<Evidence> {
    let sig = stmt.bytes("sig")?;
    let x5c = stmt.required_x5c()?;
    if x5c.len() != 1 {
        return invalid("fido-u2f x5c must hold exactly one certificate");
    }
    let CoseKey::Ec2 {
        curve: EcCurve::P256,
        ..
    } = stmt.credential_key
    else {
        return invalid("fido-u2f credentials must be P-256 keys");
    };
    let cert = certs::parse(&x5c[0])?;
    if !signature::spki_is_p256(cert.public_key()) {
        return invalid("fido-u2f attestation certificate key must be P-256");
    }
    let data = verification_data(stmt);
    signature::verify_spki(
        cert.public_key(),
        crate::webauthn::cose::ALG_ES256,
        Encoding::Der,
        &data,
        sig,
    )?;
    drop(cert);
    Ok(Evidence {
        attestation_type: AttestationType::Basic,
        x5c,
    })
}

/// 0x00 || rpIdHash || clientDataHash || credentialId || publicKeyU2F.
fn verification_data(stmt: &Statement<'_>) -> Vec<u8> {
    let id = stmt.credential.credential_id;
    let point = stmt.credential_key.sec1_point();
    let mut data = Vec::with_capacity(1 + 32 + 32 + id.len() + point.len());
    data.push(0x00);
    data.extend_from_slice(stmt.auth_data.rp_id_hash);
    data.extend_from_slice(stmt.client_data_hash);
    data.extend_from_slice(id);
    data.extend_from_slice(&point);
    data
}
