//! Key material: the master key that encrypts secrets at rest, and the
//! token-signing keys. Signing keys are Ed25519, stored in the database
//! encrypted under the master key (so every node sharing the master key can
//! use them) and published as a JWKS. The newest unretired key signs;
//! rotation adds a key and retires the previous ones, which stay published
//! until every token they signed has expired. A node learns of another
//! node's rotation when it meets an unknown `kid` (immediate reload) or at
//! its next periodic refresh, whichever comes first.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use aws_lc_rs::signature::{Ed25519KeyPair, Signature};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use jsonwebtoken::DecodingKey;
use ring::hkdf;
use serde_json::json;

use crate::clock::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::model::SigningKeyRecord;
use crate::random;
use crate::store::Store;
use crate::webauthn::json::{b64url_decode, b64url_encode};

const NONCE_LEN: usize = 12;

/// How long a retired key stays published: the longest token lifetime
/// (`sessionTtlSecs` is at most 30 days) plus a day, because a node that has
/// not refreshed yet may still sign with a key another node just retired.
pub const RETIRED_KEY_RETENTION_SECS: i64 = 31 * 86_400;

/// The 256-bit key that encrypts secrets at rest. Never printed.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        MasterKey(random::bytes::<32>())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(bytes)
    }

    /// Parses the base64url (or standard base64) text form used in key files and config.
    pub fn from_text(text: &str) -> Result<Self> {
        let raw = b64url_decode(
            "master key",
            &text.trim().replace('+', "-").replace('/', "_"),
        )?;
        let bytes: [u8; 32] = raw.try_into().map_err(|_| {
            Error::new(
                ErrorCode::InvalidRequest,
                "master key must be 32 bytes, base64url",
            )
        })?;
        Ok(MasterKey(bytes))
    }

    pub fn to_text(&self) -> String {
        b64url_encode(&self.0)
    }

    /// AES-256-GCM; `context` is bound as associated data so a ciphertext
    /// can't be moved to another record.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let cipher = Aes256Gcm::new_from_slice(&self.0).map_err(Error::internal)?;
        let nonce = random::bytes::<NONCE_LEN>();
        let payload = Payload {
            msg: plaintext,
            aad: context.as_bytes(),
        };
        let mut out = nonce.to_vec();
        out.extend(
            cipher
                .encrypt(&Nonce::from(nonce), payload)
                .map_err(Error::internal)?,
        );
        Ok(out)
    }

    /// A 256-bit key for one purpose, named by `label` (HKDF-SHA256), so
    /// no two uses of the master key share key material.
    /// An error, never a default key, should HKDF refuse (it can't for 32
    /// bytes from SHA-256: the limit is 255 × 32).
    pub fn derive(&self, label: &str) -> Result<[u8; 32]> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"latchkey").extract(&self.0);
        let mut out = [0u8; 32];
        prk.expand(&[label.as_bytes()], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out))
            .map_err(|_| Error::internal("could not derive a key from the master key"))?;
        Ok(out)
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return Err(Error::internal("sealed value too short"));
        }
        let cipher = Aes256Gcm::new_from_slice(&self.0).map_err(Error::internal)?;
        let (nonce, msg) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(Error::internal)?;
        let payload = Payload {
            msg,
            aad: context.as_bytes(),
        };
        cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| Error::internal("cannot decrypt a stored key: wrong master key?"))
    }
}

/// A usable signing key, parsed once: `jsonwebtoken`'s `EncodingKey` would
/// re-parse the PKCS#8 document on every signature, which cost as much as
/// the signature itself on the sign-in path. Keys are generated and stored
/// with ed25519-dalek, but sign with aws-lc-rs: one signature per sign-in,
/// measured at ~10 µs against ~20 µs for ed25519-dalek and ~26 µs for ring
/// (bench/RESULTS.md, fourteenth session). Ed25519 is deterministic, so the
/// signatures are the same bytes whichever library makes them.
pub struct ActiveKey {
    pub kid: String,
    key: Ed25519KeyPair,
}

impl ActiveKey {
    fn new(kid: String, key: &SigningKey) -> Result<Self> {
        let key = Ed25519KeyPair::from_seed_and_public_key(
            key.as_bytes(),
            key.verifying_key().as_bytes(),
        )
        .map_err(|_| Error::internal("a stored signing key was refused by aws-lc"))?;
        Ok(ActiveKey { kid, key })
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        self.key.sign(message)
    }
}

#[derive(Default)]
struct Ring {
    active: Option<Arc<ActiveKey>>,
    decoding: HashMap<String, Arc<DecodingKey>>,
    jwks: Vec<serde_json::Value>,
}

/// The set of token keys this node knows, refreshed from the store on demand.
pub struct KeyRing {
    master: MasterKey,
    ring: RwLock<Ring>,
}

impl KeyRing {
    /// Loads the stored keys, generating and storing the first one if there is none.
    pub async fn load(store: &dyn Store, master: MasterKey, now: Timestamp) -> Result<Self> {
        let ring = KeyRing {
            master,
            ring: RwLock::new(Ring::default()),
        };
        ring.refresh(store, now).await?;
        Ok(ring)
    }

    /// Re-reads the keys, first storing a new one if none is unretired (first
    /// start, or every key retired by hand). Nodes starting together may each
    /// add one; the newest signs everywhere.
    pub async fn refresh(&self, store: &dyn Store, now: Timestamp) -> Result<()> {
        let records = store.list_signing_keys().await?;
        if signer(&records).is_none() {
            store.insert_signing_key(&self.generate(now)?).await?;
        }
        self.reload(store).await
    }

    /// Stores a fresh key, retires the keys that were unretired before it and
    /// purges keys retired longer ago than [`RETIRED_KEY_RETENTION_SECS`].
    /// Returns the new key. Only keys listed before the insert are retired,
    /// so of two rotations racing on two nodes at least one new key survives.
    pub async fn rotate(&self, store: &dyn Store, now: Timestamp) -> Result<SigningKeyRecord> {
        let previous = store.list_signing_keys().await?;
        let fresh = self.generate(now)?;
        store.insert_signing_key(&fresh).await?;
        for old in previous.iter().filter(|k| k.retired_at.is_none()) {
            store.retire_signing_key(&old.kid, now).await?;
        }
        store
            .purge_retired_signing_keys(now.plus_secs(-RETIRED_KEY_RETENTION_SECS))
            .await?;
        self.reload(store).await?;
        Ok(fresh)
    }

    fn generate(&self, now: Timestamp) -> Result<SigningKeyRecord> {
        let key = SigningKey::from_bytes(&random::bytes::<32>());
        let kid = format!("key_{}", random::id_tail());
        let pkcs8 = key.to_pkcs8_der().map_err(Error::internal)?;
        let x = b64url_encode(key.verifying_key().as_bytes());
        Ok(SigningKeyRecord {
            private_key_encrypted: self.master.seal(&kid, pkcs8.as_bytes())?,
            public_jwk: json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": kid, "x": x}),
            kid,
            alg: "EdDSA".to_owned(),
            created_at: now,
            retired_at: None,
        })
    }

    /// Re-reads every key from the store: the newest unretired key signs.
    pub async fn reload(&self, store: &dyn Store) -> Result<()> {
        let records = store.list_signing_keys().await?;
        let mut next = Ring::default();
        for rec in &records {
            let x = rec
                .public_jwk
                .get("x")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let decoding = DecodingKey::from_ed_components(x).map_err(Error::internal)?;
            next.decoding.insert(rec.kid.clone(), Arc::new(decoding));
            next.jwks.push(rec.public_jwk.clone());
        }
        if let Some(rec) = signer(&records) {
            let der = self.master.open(&rec.kid, &rec.private_key_encrypted)?;
            let key = SigningKey::from_pkcs8_der(&der)
                .map_err(|_| Error::internal("a stored signing key is not valid PKCS#8"))?;
            next.active = Some(Arc::new(ActiveKey::new(rec.kid.clone(), &key)?));
        }
        *self.ring.write().map_err(Error::internal)? = next;
        Ok(())
    }

    pub fn active(&self) -> Result<Arc<ActiveKey>> {
        let ring = self.ring.read().map_err(Error::internal)?;
        ring.active
            .clone()
            .ok_or_else(|| Error::internal("no active signing key"))
    }

    pub fn decoding_key(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        self.ring.read().ok()?.decoding.get(kid).cloned()
    }

    pub fn jwks(&self) -> serde_json::Value {
        let keys = self.ring.read().map(|r| r.jwks.clone()).unwrap_or_default();
        json!({ "keys": keys })
    }
}

/// The key that signs: the newest unretired one (ties broken by kid, so
/// every node picks the same).
pub fn signer(records: &[SigningKeyRecord]) -> Option<&SigningKeyRecord> {
    records
        .iter()
        .filter(|r| r.retired_at.is_none())
        .max_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = MasterKey::generate();
        let sealed = key.seal("kid-1", b"secret").unwrap();
        assert_eq!(key.open("kid-1", &sealed).unwrap(), b"secret");
        assert!(key.open("kid-2", &sealed).is_err());
        assert!(MasterKey::generate().open("kid-1", &sealed).is_err());
    }

    fn record(kid: &str, created_at: i64, retired: bool) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: kid.to_owned(),
            alg: "EdDSA".into(),
            private_key_encrypted: vec![],
            public_jwk: json!({}),
            created_at: Timestamp(created_at),
            retired_at: retired.then_some(Timestamp(created_at)),
        }
    }

    #[test]
    fn the_signer_is_the_newest_unretired_key_with_ties_broken_by_kid() {
        let keys = [
            record("a", 1, false),
            record("c", 2, true),
            record("b", 2, false),
            record("a2", 2, false),
        ];
        assert_eq!(signer(&keys).map(|k| k.kid.as_str()), Some("b"));
        assert!(signer(&[record("a", 1, true)]).is_none());
    }

    #[test]
    fn the_active_key_signs_the_same_bytes_as_ed25519_dalek() {
        use ed25519_dalek::{Signer, Verifier};
        let key = SigningKey::from_bytes(&random::bytes::<32>());
        let active = ActiveKey::new("kid".into(), &key).unwrap();
        for message in [&b""[..], b"header.claims", &[7u8; 1000]] {
            let ours = active.sign(message);
            assert_eq!(ours.as_ref(), key.sign(message).to_bytes());
            let sig = ed25519_dalek::Signature::from_slice(ours.as_ref()).unwrap();
            assert!(key.verifying_key().verify(message, &sig).is_ok());
        }
    }

    #[test]
    fn master_key_text_round_trips() {
        let key = MasterKey::generate();
        let back = MasterKey::from_text(&key.to_text()).unwrap();
        assert_eq!(back.0, key.0);
        assert!(MasterKey::from_text("c2hvcnQ").is_err());
    }
}
