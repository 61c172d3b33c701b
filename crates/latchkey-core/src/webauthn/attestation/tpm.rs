//! The `tpm` format (§8.3): the TPM certifies the credential key with its
//! attestation identity key (AIK). We check that `pubArea` is the credential
//! key, that `certInfo` names that `pubArea` and carries the ceremony's hash
//! in `extraData`, that the AIK signed `certInfo`, and that the AIK
//! certificate meets §8.3.1. The TPM structures live in `tpm_structs`.

use ring::digest;

use super::tpm_structs::{CertInfo, PubArea, PubKey};
use super::{certs, invalid, Evidence, Statement};
use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::cose::{self, CoseKey, EcCurve};
use crate::webauthn::registration::AttestationType;
use crate::webauthn::signature::{self, Encoding};

/// tcg-kp-AIKCertificate: the AIK certificate's required extended key usage.
const OID_TCG_KP_AIK_CERTIFICATE: &str = "2.23.133.8.3";
/// DER of the OID tcg-at-tpmManufacturer (2.23.133.2.1), which the SAN must carry.
const DER_TPM_MANUFACTURER: [u8; 7] = [0x06, 0x05, 0x67, 0x81, 0x05, 0x02, 0x01];

pub(super) fn verify(stmt: &Statement<'_>) -> Result<Evidence> {
    if stmt.get("ver").and_then(crate::webauthn::cbor::as_text) != Some("2.0") {
        return invalid("tpm attestation version must be 2.0");
    }
    if stmt.get("ecdaaKeyId").is_some() {
        return fail(
            ErrorCode::UnsupportedAttestationFormat,
            "ECDAA attestation is not supported",
        );
    }
    let alg = stmt.int("alg")?;
    let sig = stmt.bytes("sig")?;
    let pub_area_bytes = stmt.bytes("pubArea")?;
    let cert_info_bytes = stmt.bytes("certInfo")?;
    let x5c = stmt.required_x5c()?;

    let pub_area = PubArea::parse(pub_area_bytes)?;
    check_same_key(&pub_area.key, stmt.credential_key)?;
    let cert_info = CertInfo::parse(cert_info_bytes)?;
    check_extra_data(cert_info.extra_data, alg, stmt.signed)?;
    check_name(cert_info.attested_name, pub_area.name_alg, pub_area_bytes)?;

    let aik = certs::parse(&x5c[0])?;
    signature::verify_spki(aik.public_key(), alg, Encoding::Der, cert_info_bytes, sig)?;
    check_aik_certificate(&aik, &stmt.credential.aaguid)?;
    drop(aik);
    Ok(Evidence {
        attestation_type: AttestationType::AttCa,
        x5c,
    })
}

fn check_same_key(tpm: &PubKey<'_>, key: &CoseKey) -> Result<()> {
    let same = match (tpm, key) {
        (PubKey::Rsa { n, exponent }, CoseKey::Rsa { n: kn, e, .. }) => {
            let exponent = if *exponent == 0 { 65537 } else { *exponent };
            let tpm_e = exponent.to_be_bytes();
            let tpm_e = &tpm_e[tpm_e.iter().take_while(|b| **b == 0).count()..];
            trim(n) == kn.as_slice() && tpm_e == e.as_slice()
        }
        (
            PubKey::Ecc { curve, x, y },
            CoseKey::Ec2 {
                curve: kc,
                x: kx,
                y: ky,
                ..
            },
        ) => {
            let tpm_curve = match curve {
                0x0003 => Some(EcCurve::P256),
                0x0004 => Some(EcCurve::P384),
                _ => None,
            };
            tpm_curve == Some(*kc) && *x == kx.as_slice() && *y == ky.as_slice()
        }
        _ => false,
    };
    if same {
        Ok(())
    } else {
        invalid("tpm pubArea is not the credential public key")
    }
}

/// extraData is the hash, under the statement's alg, of authData || clientDataHash.
fn check_extra_data(extra_data: &[u8], alg: i64, signed: &[u8]) -> Result<()> {
    let algorithm = match alg {
        cose::ALG_RS1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        cose::ALG_RS256 | cose::ALG_ES256 | cose::ALG_PS256 => &digest::SHA256,
        cose::ALG_RS384 | cose::ALG_ES384 | cose::ALG_PS384 => &digest::SHA384,
        cose::ALG_RS512 | cose::ALG_PS512 => &digest::SHA512,
        _ => {
            return fail(
                ErrorCode::UnsupportedAlgorithm,
                "unsupported tpm attestation alg",
            )
        }
    };
    if digest::digest(algorithm, signed).as_ref() != extra_data {
        return invalid("tpm certInfo extraData does not match the ceremony");
    }
    Ok(())
}

/// The attested name is nameAlg || H_nameAlg(pubArea).
fn check_name(name: &[u8], name_alg: u16, pub_area: &[u8]) -> Result<()> {
    let algorithm = match name_alg {
        0x0004 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        0x000B => &digest::SHA256,
        0x000C => &digest::SHA384,
        0x000D => &digest::SHA512,
        _ => return invalid("unsupported tpm nameAlg"),
    };
    let matches = name.len() > 2
        && name[..2] == name_alg.to_be_bytes()
        && name[2..] == *digest::digest(algorithm, pub_area).as_ref();
    if matches {
        Ok(())
    } else {
        invalid("tpm certInfo does not name the pubArea")
    }
}

/// §8.3.1: v3, empty subject, a TPM SAN, the AIK key usage, not a CA.
fn check_aik_certificate(
    aik: &x509_parser::certificate::X509Certificate<'_>,
    aaguid: &[u8; 16],
) -> Result<()> {
    if aik.version() != x509_parser::x509::X509Version::V3 {
        return invalid("AIK certificate is not X.509 v3");
    }
    if aik.subject().iter().next().is_some() {
        return invalid("AIK certificate subject must be empty");
    }
    let san = certs::extension(aik, "2.5.29.17");
    if !san.is_some_and(|ext| {
        ext.value
            .windows(DER_TPM_MANUFACTURER.len())
            .any(|w| w == DER_TPM_MANUFACTURER)
    }) {
        return invalid("AIK certificate lacks the TPM subject alternative name");
    }
    let has_aik_usage = aik.extended_key_usage().ok().flatten().is_some_and(|eku| {
        eku.value
            .other
            .iter()
            .any(|oid| oid.to_id_string() == OID_TCG_KP_AIK_CERTIFICATE)
    });
    if !has_aik_usage {
        return invalid("AIK certificate lacks the tcg-kp-AIKCertificate key usage");
    }
    certs::require_not_ca(aik)?;
    certs::check_aaguid_extension(aik, aaguid)
}

fn trim(bytes: &[u8]) -> &[u8] {
    &bytes[bytes.iter().take_while(|b| **b == 0).count()..]
}
