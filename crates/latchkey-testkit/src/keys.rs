//! Credential key pairs: generation, WebAuthn-shaped signatures and the
//! public key in the encodings a relying party sees (COSE_Key in authData,
//! SubjectPublicKeyInfo in `response.publicKey`).
//!
//! Signatures are what a real authenticator emits: ES256 is ECDSA P-256 over
//! SHA-256, *ASN.1 DER* encoded (WebAuthn §6.5.5 — COSE's raw r||s form is
//! what RPs most often get wrong); EdDSA is pure Ed25519 over the message.

use std::sync::Arc;

use ciborium::value::{Integer, Value};
use rand::rngs::OsRng;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING};

/// COSE algorithm identifiers (kept local so the testkit never silently
/// agrees with a wrong constant in the code under test).
pub const COSE_ES256: i64 = -7;
pub const COSE_EDDSA: i64 = -8;

/// DER prefixes of SubjectPublicKeyInfo for the two key types; the raw key
/// follows. Fixed bytes, so building SPKI can't fail at run time.
const SPKI_P256_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// A signature algorithm the software authenticator can create credentials with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256 (COSE -7).
    Es256,
    /// Ed25519 (COSE -8).
    EdDsa,
}

impl Alg {
    pub fn cose_alg(self) -> i64 {
        match self {
            Alg::Es256 => COSE_ES256,
            Alg::EdDsa => COSE_EDDSA,
        }
    }

    pub fn from_cose(alg: i64) -> Option<Alg> {
        match alg {
            COSE_ES256 => Some(Alg::Es256),
            COSE_EDDSA => Some(Alg::EdDsa),
            _ => None,
        }
    }
}

/// A credential's private key.
#[derive(Clone)]
pub enum CredentialKey {
    Es256(EcKey),
    EdDsa(ed25519_dalek::SigningKey),
}

/// A P-256 key, generated and used for signing with ring. The load
/// generator makes one key per registration and signs one assertion per
/// sign-in on its one core: with RustCrypto's `p256` both cost several times
/// more (a point multiplication each), and the client came close to
/// saturating its core, so the latencies it measured included its own
/// queueing. The public point is kept as bytes for the encodings.
#[derive(Clone)]
pub struct EcKey {
    signer: EcSigner,
    /// SEC1 uncompressed: 0x04 || x(32) || y(32).
    public: Vec<u8>,
}

#[derive(Clone)]
enum EcSigner {
    Ring(Arc<EcdsaKeyPair>),
    /// Only if ring could not make a key (its RNG failed): RustCrypto's
    /// generation and signing, which draw from the OS RNG their own way.
    RustCrypto(p256::ecdsa::SigningKey),
}

impl EcKey {
    fn generate() -> EcKey {
        let rng = SystemRandom::new();
        let ring_key = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .and_then(|pkcs8| {
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                    .map_err(|_| ring::error::Unspecified)
            });
        match ring_key {
            Ok(pair) => EcKey {
                public: pair.public_key().as_ref().to_vec(),
                signer: EcSigner::Ring(Arc::new(pair)),
            },
            Err(_) => EcKey::rust_crypto(p256::ecdsa::SigningKey::random(&mut OsRng)),
        }
    }

    fn rust_crypto(key: p256::ecdsa::SigningKey) -> EcKey {
        EcKey {
            public: key
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
                .to_vec(),
            signer: EcSigner::RustCrypto(key),
        }
    }

    /// ECDSA over SHA-256, DER-encoded (both libraries produce DER). Empty
    /// if ring's RNG fails while signing: the relying party then refuses
    /// the assertion, which a test reports, rather than the testkit panicking.
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.signer {
            EcSigner::Ring(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .unwrap_or_default(),
            EcSigner::RustCrypto(key) => {
                let sig: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::sign(key, message);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
}

// Hand-written so a `{:?}` in a failing test never prints key material.
impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CredentialKey::{:?}(..)", self.alg())
    }
}

impl CredentialKey {
    /// A fresh key from the OS RNG.
    pub fn generate(alg: Alg) -> Self {
        match alg {
            Alg::Es256 => CredentialKey::Es256(EcKey::generate()),
            Alg::EdDsa => CredentialKey::EdDsa(ed25519_dalek::SigningKey::generate(&mut OsRng)),
        }
    }

    pub fn alg(&self) -> Alg {
        match self {
            CredentialKey::Es256(_) => Alg::Es256,
            CredentialKey::EdDsa(_) => Alg::EdDsa,
        }
    }

    /// Signs `message` as WebAuthn expects for this algorithm (ES256: DER).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            CredentialKey::Es256(key) => key.sign(message),
            CredentialKey::EdDsa(key) => ed25519_dalek::Signer::sign(key, message)
                .to_bytes()
                .to_vec(),
        }
    }

    /// The raw public key: the SEC1 uncompressed point (65 bytes) or the
    /// 32-byte Ed25519 key.
    pub fn public_key_raw(&self) -> Vec<u8> {
        match self {
            CredentialKey::Es256(key) => key.public.clone(),
            CredentialKey::EdDsa(key) => key.verifying_key().to_bytes().to_vec(),
        }
    }

    /// The public key as a CTAP2-canonical COSE_Key (RFC 9053 / WebAuthn §5.8.5).
    pub fn public_key_cose(&self) -> Vec<u8> {
        let raw = self.public_key_raw();
        let entries = match self {
            // EC2: uncompressed point is 0x04 || x(32) || y(32).
            CredentialKey::Es256(_) => {
                let x = raw.get(1..33).unwrap_or_default();
                let y = raw.get(33..65).unwrap_or_default();
                vec![
                    (int(1), int(2)), // kty: EC2
                    (int(3), int(COSE_ES256)),
                    (int(-1), int(1)), // crv: P-256
                    (int(-2), Value::Bytes(x.to_vec())),
                    (int(-3), Value::Bytes(y.to_vec())),
                ]
            }
            CredentialKey::EdDsa(_) => vec![
                (int(1), int(1)), // kty: OKP
                (int(3), int(COSE_EDDSA)),
                (int(-1), int(6)), // crv: Ed25519
                (int(-2), Value::Bytes(raw)),
            ],
        };
        // Entries are listed in canonical order (1, 3, -1, -2, -3), which
        // ciborium preserves; integers are shortest-form.
        cbor_bytes(&Value::Map(entries))
    }

    /// The public key as DER SubjectPublicKeyInfo (`response.publicKey`).
    pub fn public_key_spki(&self) -> Vec<u8> {
        let prefix: &[u8] = match self {
            CredentialKey::Es256(_) => &SPKI_P256_PREFIX,
            CredentialKey::EdDsa(_) => &SPKI_ED25519_PREFIX,
        };
        [prefix, &self.public_key_raw()].concat()
    }
}

pub(crate) fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

/// Serialises a CBOR value. Writing into a `Vec` can't fail for the values
/// we build; an empty vector is returned rather than panicking if it ever does.
pub(crate) fn cbor_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    if ciborium::into_writer(value, &mut out).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn spki_matches_the_pkcs8_encoders() {
        use p256::pkcs8::EncodePublicKey as _;
        let ec = CredentialKey::generate(Alg::Es256);
        let der = p256::PublicKey::from_sec1_bytes(&ec.public_key_raw())
            .unwrap()
            .to_public_key_der()
            .unwrap();
        assert_eq!(ec.public_key_spki(), der.as_bytes());
        let ed = CredentialKey::generate(Alg::EdDsa);
        if let CredentialKey::EdDsa(k) = &ed {
            let der = ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_der(&k.verifying_key())
                .unwrap();
            assert_eq!(ed.public_key_spki(), der.as_bytes());
        }
    }

    #[test]
    fn es256_keys_come_from_ring_and_sign_der_that_the_public_key_verifies() {
        use p256::ecdsa::signature::Verifier as _;
        let key = CredentialKey::generate(Alg::Es256);
        let CredentialKey::Es256(ec) = &key else {
            unreachable!("an ES256 key")
        };
        assert!(matches!(ec.signer, EcSigner::Ring(_)), "ring made the key");
        let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key.public_key_raw()).unwrap();
        let sig = p256::ecdsa::Signature::from_der(&key.sign(b"message")).unwrap();
        public.verify(b"message", &sig).unwrap();
        // The fallback signs DER too.
        let fallback = p256::ecdsa::SigningKey::random(&mut OsRng);
        let rust = EcKey::rust_crypto(fallback.clone());
        let sig = p256::ecdsa::Signature::from_der(&rust.sign(b"message")).unwrap();
        fallback.verifying_key().verify(b"message", &sig).unwrap();
    }

    #[test]
    fn cose_keys_are_canonical() {
        let ec = CredentialKey::generate(Alg::Es256);
        let cose = ec.public_key_cose();
        // map(5), 1:2, 3:-7, -1:1, -2:bstr(32)
        assert_eq!(
            &cose[..9],
            &[0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58]
        );
        assert_eq!(cose.len(), 1 + 2 + 2 + 2 + (3 + 32) * 2);
        let ed = CredentialKey::generate(Alg::EdDsa);
        let cose = ed.public_key_cose();
        assert_eq!(
            &cose[..9],
            &[0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58]
        );
        assert_eq!(cose.len(), 1 + 2 + 2 + 2 + 3 + 32);
    }
}
