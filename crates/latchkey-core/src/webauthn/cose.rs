//! COSE_Key parsing for credential public keys (RFC 9052/9053 as profiled by
//! WebAuthn §5.8.5). A key is accepted only when its kty, alg and crv agree,
//! its coordinates have the curve's exact length and, at registration, its
//! point lies on the curve. Verifying signatures is `signature`'s job.

use ciborium::value::Value;

use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::cbor;

pub const ALG_ES256: i64 = -7;
pub const ALG_EDDSA: i64 = -8;
pub const ALG_ES384: i64 = -35;
pub const ALG_ES512: i64 = -36;
pub const ALG_PS256: i64 = -37;
pub const ALG_PS384: i64 = -38;
pub const ALG_PS512: i64 = -39;
pub const ALG_RS256: i64 = -257;
pub const ALG_RS384: i64 = -258;
pub const ALG_RS512: i64 = -259;
pub const ALG_RS1: i64 = -65535;

const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const KTY_RSA: i64 = 3;
const CRV_P256: i64 = 1;
const CRV_P384: i64 = 2;
const CRV_P521: i64 = 3;
const CRV_ED25519: i64 = 6;
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// The NIST curves we verify with `ring`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcCurve {
    P256,
    P384,
}

impl EcCurve {
    pub(crate) fn coordinate_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
        }
    }
}

/// A credential public key whose parameters have been checked for consistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CoseKey {
    Ec2 {
        alg: i64,
        curve: EcCurve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// Ed25519 only; Ed448 is not offered.
    Okp { x: Vec<u8> },
    /// `n` without leading zero bytes, as `ring` expects.
    Rsa { alg: i64, n: Vec<u8>, e: Vec<u8> },
}

impl CoseKey {
    /// Parses an encoded COSE_Key that must be exactly one CBOR map.
    pub(crate) fn parse(bytes: &[u8]) -> Result<CoseKey> {
        let value =
            cbor::decode_exact(bytes, ErrorCode::InvalidPublicKey, "credential public key")?;
        CoseKey::from_value(value)
    }

    pub(crate) fn from_value(value: Value) -> Result<CoseKey> {
        let Value::Map(entries) = value else {
            return fail(
                ErrorCode::InvalidPublicKey,
                "credential public key is not a CBOR map",
            );
        };
        let fields = Fields::collect(entries)?;
        match fields.kty {
            KTY_EC2 => ec2_key(fields),
            KTY_OKP => okp_key(fields),
            KTY_RSA => rsa_key(fields),
            other => fail(
                ErrorCode::InvalidPublicKey,
                format!("unsupported COSE key type {other}"),
            ),
        }
    }

    pub(crate) fn alg(&self) -> i64 {
        match self {
            CoseKey::Ec2 { alg, .. } | CoseKey::Rsa { alg, .. } => *alg,
            CoseKey::Okp { .. } => ALG_EDDSA,
        }
    }

    /// Refuses points off their curve. Done once, at registration: `ring`
    /// re-validates on every verification, so the assertion path skips it.
    pub(crate) fn validate_point(&self) -> Result<()> {
        let valid = match self {
            CoseKey::Ec2 {
                curve: EcCurve::P256,
                ..
            } => p256::PublicKey::from_sec1_bytes(&self.sec1_point()).is_ok(),
            CoseKey::Ec2 {
                curve: EcCurve::P384,
                ..
            } => p384::PublicKey::from_sec1_bytes(&self.sec1_point()).is_ok(),
            CoseKey::Okp { x } => <[u8; 32]>::try_from(x.as_slice())
                .ok()
                .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
                .is_some(),
            CoseKey::Rsa { .. } => true,
        };
        if valid {
            Ok(())
        } else {
            fail(
                ErrorCode::InvalidPublicKey,
                "credential public key is not a valid curve point",
            )
        }
    }

    /// The uncompressed SEC1 encoding (0x04 || x || y); empty for non-EC keys.
    pub(crate) fn sec1_point(&self) -> Vec<u8> {
        match self {
            CoseKey::Ec2 { x, y, .. } => {
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                point
            }
            _ => Vec::new(),
        }
    }
}

/// The labels of a COSE_Key map that WebAuthn uses, taken by value so byte
/// strings move out of the CBOR tree without copying.
struct Fields {
    kty: i64,
    alg: i64,
    crv: Option<i64>,
    /// Label -1..-3: crv/x/y for EC2 and OKP, n/e for RSA.
    neg: [Option<Value>; 3],
}

impl Fields {
    fn collect(entries: Vec<(Value, Value)>) -> Result<Fields> {
        let (mut kty, mut alg) = (None, None);
        let mut neg: [Option<Value>; 3] = [None, None, None];
        for (label, value) in entries {
            match cbor::as_i64(&label) {
                Some(1) => kty = cbor::as_i64(&value),
                Some(3) => alg = cbor::as_i64(&value),
                Some(l @ -3..=-1) => neg[(-l - 1) as usize] = Some(value),
                _ => {}
            }
        }
        let (Some(kty), Some(alg)) = (kty, alg) else {
            return fail(
                ErrorCode::InvalidPublicKey,
                "credential public key lacks kty or alg",
            );
        };
        let crv = neg[0].as_ref().and_then(cbor::as_i64);
        Ok(Fields { kty, alg, crv, neg })
    }

    fn take_bytes(&mut self, label: i64, name: &str) -> Result<Vec<u8>> {
        let slot = self
            .neg
            .get_mut((-label - 1) as usize)
            .and_then(Option::take);
        match slot {
            Some(Value::Bytes(b)) => Ok(b),
            _ => fail(
                ErrorCode::InvalidPublicKey,
                format!("credential public key lacks {name}"),
            ),
        }
    }
}

fn ec2_key(mut f: Fields) -> Result<CoseKey> {
    let curve = match (f.alg, f.crv) {
        (ALG_ES256, Some(CRV_P256)) => EcCurve::P256,
        (ALG_ES384, Some(CRV_P384)) => EcCurve::P384,
        (ALG_ES512, Some(CRV_P521)) => {
            return fail(
                ErrorCode::UnsupportedAlgorithm,
                "ES512 (P-521) is not supported",
            )
        }
        (ALG_ES256 | ALG_ES384 | ALG_ES512, _) => {
            return fail(
                ErrorCode::InvalidPublicKey,
                "EC2 key curve does not match its alg",
            )
        }
        (alg, _) => return unsupported_or_mismatched(alg),
    };
    let x = f.take_bytes(-2, "x")?;
    let y = f.take_bytes(-3, "y")?;
    let len = curve.coordinate_len();
    if x.len() != len || y.len() != len {
        return fail(
            ErrorCode::InvalidPublicKey,
            "EC2 key coordinates have the wrong length",
        );
    }
    Ok(CoseKey::Ec2 {
        alg: f.alg,
        curve,
        x,
        y,
    })
}

fn okp_key(mut f: Fields) -> Result<CoseKey> {
    match (f.alg, f.crv) {
        (ALG_EDDSA, Some(CRV_ED25519)) => {}
        (ALG_EDDSA, _) => {
            return fail(ErrorCode::UnsupportedAlgorithm, "only Ed25519 is supported")
        }
        (alg, _) => return unsupported_or_mismatched(alg),
    }
    let x = f.take_bytes(-2, "x")?;
    if x.len() != 32 {
        return fail(
            ErrorCode::InvalidPublicKey,
            "Ed25519 key has the wrong length",
        );
    }
    Ok(CoseKey::Okp { x })
}

fn rsa_key(mut f: Fields) -> Result<CoseKey> {
    match f.alg {
        ALG_RS256 | ALG_RS384 | ALG_RS512 | ALG_PS256 | ALG_PS384 | ALG_PS512 => {}
        // SHA-1 signatures are forgeable in practice; a new credential must not rely on one.
        ALG_RS1 => {
            return fail(
                ErrorCode::UnsupportedAlgorithm,
                "RS1 (SHA-1) credentials are refused",
            )
        }
        alg => return unsupported_or_mismatched(alg),
    }
    let n = strip_leading_zeros(f.take_bytes(-1, "n")?);
    let e = strip_leading_zeros(f.take_bytes(-2, "e")?);
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return fail(
            ErrorCode::InvalidPublicKey,
            "RSA modulus must be 2048 to 8192 bits",
        );
    }
    if e.is_empty() || e.len() > 4 || e.last().is_some_and(|b| b & 1 == 0) {
        return fail(
            ErrorCode::InvalidPublicKey,
            "RSA exponent is not a valid odd value",
        );
    }
    Ok(CoseKey::Rsa { alg: f.alg, n, e })
}

/// An alg we know but that belongs to another key type is a malformed key;
/// one we don't know at all is an unsupported algorithm.
fn unsupported_or_mismatched(alg: i64) -> Result<CoseKey> {
    let known = [
        ALG_ES256, ALG_EDDSA, ALG_ES384, ALG_ES512, ALG_PS256, ALG_PS384, ALG_PS512, ALG_RS256,
        ALG_RS384, ALG_RS512, ALG_RS1,
    ];
    if known.contains(&alg) {
        fail(
            ErrorCode::InvalidPublicKey,
            "COSE key type does not match its alg",
        )
    } else {
        fail(
            ErrorCode::UnsupportedAlgorithm,
            format!("unsupported COSE algorithm {alg}"),
        )
    }
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use crate::webauthn::cbor::int;

    pub(crate) fn encode(pairs: Vec<(Value, Value)>) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::ser::into_writer(&Value::Map(pairs), &mut out).unwrap();
        out
    }

    /// The P-256 generator point: a valid public key.
    pub(crate) const P256_GX: [u8; 32] = [
        0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
        0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98,
        0xc2, 0x96,
    ];
    pub(crate) const P256_GY: [u8; 32] = [
        0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e,
        0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf,
        0x51, 0xf5,
    ];

    pub(crate) fn ec2(kty: i64, alg: i64, crv: i64, x: &[u8], y: &[u8]) -> Vec<u8> {
        encode(vec![
            (int(1), int(kty)),
            (int(3), int(alg)),
            (int(-1), int(crv)),
            (int(-2), Value::Bytes(x.to_vec())),
            (int(-3), Value::Bytes(y.to_vec())),
        ])
    }

    #[test]
    fn a_valid_p256_key_parses_and_validates() {
        let key = CoseKey::parse(&ec2(2, ALG_ES256, 1, &P256_GX, &P256_GY)).unwrap();
        assert_eq!(key.alg(), ALG_ES256);
        key.validate_point().unwrap();
    }

    #[test]
    fn an_off_curve_point_is_refused() {
        let mut y = P256_GY;
        y[31] ^= 1;
        let key = CoseKey::parse(&ec2(2, ALG_ES256, 1, &P256_GX, &y)).unwrap();
        assert_eq!(
            key.validate_point().unwrap_err().code,
            ErrorCode::InvalidPublicKey
        );
    }

    #[test]
    fn a_kty_that_disagrees_with_alg_is_refused() {
        let err = CoseKey::parse(&ec2(3, ALG_ES256, 1, &P256_GX, &P256_GY)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidPublicKey);
        let err = CoseKey::parse(&ec2(2, ALG_RS256, 1, &P256_GX, &P256_GY)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidPublicKey);
    }

    #[test]
    fn a_curve_that_disagrees_with_alg_is_refused() {
        let err = CoseKey::parse(&ec2(2, ALG_ES256, 2, &P256_GX, &P256_GY)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidPublicKey);
    }

    #[test]
    fn short_coordinates_are_refused() {
        let err = CoseKey::parse(&ec2(2, ALG_ES256, 1, &P256_GX[1..], &P256_GY)).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidPublicKey);
    }

    #[test]
    fn a_key_with_trailing_cbor_is_refused() {
        let mut bytes = ec2(2, ALG_ES256, 1, &P256_GX, &P256_GY);
        bytes.push(0x01);
        assert_eq!(
            CoseKey::parse(&bytes).unwrap_err().code,
            ErrorCode::InvalidPublicKey
        );
    }

    #[test]
    fn a_small_rsa_modulus_is_refused() {
        let key = encode(vec![
            (int(1), int(3)),
            (int(3), int(ALG_RS256)),
            (int(-1), Value::Bytes(vec![0xC1; 128])),
            (int(-2), Value::Bytes(vec![1, 0, 1])),
        ]);
        assert_eq!(
            CoseKey::parse(&key).unwrap_err().code,
            ErrorCode::InvalidPublicKey
        );
    }

    #[test]
    fn rs1_credentials_are_refused() {
        let key = encode(vec![
            (int(1), int(3)),
            (int(3), int(ALG_RS1)),
            (int(-1), Value::Bytes(vec![0xC1; 256])),
            (int(-2), Value::Bytes(vec![1, 0, 1])),
        ]);
        assert_eq!(
            CoseKey::parse(&key).unwrap_err().code,
            ErrorCode::UnsupportedAlgorithm
        );
    }
}
