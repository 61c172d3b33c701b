//! Signature verification with `ring`, for credential keys (COSE) and for
//! attestation certificates (X.509 SubjectPublicKeyInfo). ECDSA signatures from
//! authenticators are ASN.1 DER; JWS (SafetyNet) uses the fixed r||s form and
//! is handled by its caller choosing `Encoding::Fixed`. No primitive lives here.

use ring::signature::{
    self as sig, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION,
    OID_SIG_ED25519,
};
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::cose::{self, CoseKey, EcCurve};

/// How an ECDSA signature is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Der,
    Fixed,
}

/// Verifies `signature` over `message` with a credential's COSE key.
pub(crate) fn verify_cose(key: &CoseKey, message: &[u8], signature: &[u8]) -> Result<()> {
    let ok = match key {
        CoseKey::Ec2 {
            curve: EcCurve::P256,
            x,
            y,
            ..
        } => {
            // A stack buffer keeps the hot path free of allocation.
            let mut point = [0u8; 65];
            point[0] = 0x04;
            point[1..33].copy_from_slice(x);
            point[33..].copy_from_slice(y);
            UnparsedPublicKey::new(&sig::ECDSA_P256_SHA256_ASN1, &point[..])
                .verify(message, signature)
        }
        CoseKey::Ec2 {
            curve: EcCurve::P384,
            x,
            y,
            ..
        } => {
            let mut point = [0u8; 97];
            point[0] = 0x04;
            point[1..49].copy_from_slice(x);
            point[49..].copy_from_slice(y);
            UnparsedPublicKey::new(&sig::ECDSA_P384_SHA384_ASN1, &point[..])
                .verify(message, signature)
        }
        CoseKey::Okp { x } => UnparsedPublicKey::new(&sig::ED25519, x).verify(message, signature),
        CoseKey::Rsa { alg, n, e } => {
            let params = rsa_params(*alg)?;
            RsaPublicKeyComponents { n, e }.verify(params, message, signature)
        }
    };
    ok.or_else(|_| fail(ErrorCode::BadSignature, "signature verification failed"))
}

fn rsa_params(alg: i64) -> Result<&'static sig::RsaParameters> {
    Ok(match alg {
        cose::ALG_RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        cose::ALG_RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        cose::ALG_RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        cose::ALG_PS256 => &sig::RSA_PSS_2048_8192_SHA256,
        cose::ALG_PS384 => &sig::RSA_PSS_2048_8192_SHA384,
        cose::ALG_PS512 => &sig::RSA_PSS_2048_8192_SHA512,
        // Attestation keys only (TPMs still sign certInfo with SHA-1); the
        // COSE parser never lets an RS1 credential key get this far.
        cose::ALG_RS1 => &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        other => {
            return fail(
                ErrorCode::UnsupportedAlgorithm,
                format!("unsupported algorithm {other}"),
            )
        }
    })
}

/// Verifies an attestation signature made with a certificate's key under the
/// COSE algorithm `alg` the attestation statement names.
pub(crate) fn verify_spki(
    spki: &SubjectPublicKeyInfo<'_>,
    alg: i64,
    encoding: Encoding,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let algorithm = spki_algorithm(spki, alg, encoding)?;
    let key = &spki.subject_public_key.data;
    UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature)
        .or_else(|_| {
            fail(
                ErrorCode::InvalidAttestationStatement,
                "attestation signature is invalid",
            )
        })
}

fn spki_algorithm(
    spki: &SubjectPublicKeyInfo<'_>,
    alg: i64,
    encoding: Encoding,
) -> Result<&'static dyn VerificationAlgorithm> {
    let key_oid = &spki.algorithm.algorithm;
    if *key_oid == OID_PKCS1_RSAENCRYPTION {
        return Ok(rsa_params(alg)?);
    }
    if *key_oid == OID_SIG_ED25519 && alg == cose::ALG_EDDSA {
        return Ok(&sig::ED25519);
    }
    if *key_oid != OID_KEY_TYPE_EC_PUBLIC_KEY {
        return fail(
            ErrorCode::InvalidAttestationStatement,
            "attestation key type is unsupported",
        );
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok());
    let p256 = curve.as_ref() == Some(&OID_EC_P256);
    let p384 = curve.as_ref() == Some(&OID_NIST_EC_P384);
    let der = encoding == Encoding::Der;
    Ok(match (alg, p256, p384, der) {
        (cose::ALG_ES256, true, _, true) => &sig::ECDSA_P256_SHA256_ASN1,
        (cose::ALG_ES256, true, _, false) => &sig::ECDSA_P256_SHA256_FIXED,
        (cose::ALG_ES384, true, _, true) => &sig::ECDSA_P256_SHA384_ASN1,
        (cose::ALG_ES256, _, true, true) => &sig::ECDSA_P384_SHA256_ASN1,
        (cose::ALG_ES384, _, true, true) => &sig::ECDSA_P384_SHA384_ASN1,
        (cose::ALG_ES384, _, true, false) => &sig::ECDSA_P384_SHA384_FIXED,
        _ => {
            return fail(
                ErrorCode::UnsupportedAlgorithm,
                "attestation algorithm is unsupported",
            )
        }
    })
}

/// Whether a certificate's key is on P-256 (fido-u2f allows nothing else).
pub(crate) fn spki_is_p256(spki: &SubjectPublicKeyInfo<'_>) -> bool {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok());
    spki.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY && curve.as_ref() == Some(&OID_EC_P256)
}

/// Whether a certificate's key is the credential's key (android-key, apple).
pub(crate) fn spki_matches(spki: &SubjectPublicKeyInfo<'_>, key: &CoseKey) -> bool {
    use x509_parser::public_key::PublicKey;
    match (spki.parsed(), key) {
        (Ok(PublicKey::EC(point)), CoseKey::Ec2 { .. }) => point.data() == key.sec1_point(),
        (Ok(PublicKey::RSA(rsa)), CoseKey::Rsa { n, e, .. }) => {
            trim(rsa.modulus) == n.as_slice() && trim(rsa.exponent) == e.as_slice()
        }
        (_, CoseKey::Okp { x }) => {
            spki.algorithm.algorithm == OID_SIG_ED25519 && *spki.subject_public_key.data == **x
        }
        _ => false,
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    &bytes[zeros..]
}
