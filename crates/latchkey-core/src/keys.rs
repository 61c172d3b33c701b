//! Key material: the master key that encrypts secrets at rest, and the
//! token-signing keys. Signing keys are Ed25519, generated once, stored in the
//! database encrypted under the master key (so every node sharing the master
//! key can use them) and published as a JWKS. Unknown `kid`s trigger a reload
//! from the store, which is how a key added by another node is picked up.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::SigningKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::json;

use crate::clock::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::model::SigningKeyRecord;
use crate::random;
use crate::store::Store;
use crate::webauthn::json::{b64url_decode, b64url_encode};

const NONCE_LEN: usize = 12;

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

/// A usable signing key.
pub struct ActiveKey {
    pub kid: String,
    pub encoding: EncodingKey,
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
        if store
            .list_signing_keys()
            .await?
            .iter()
            .all(|k| k.retired_at.is_some())
        {
            store.insert_signing_key(&ring.generate(now)?).await?;
        }
        ring.reload(store).await?;
        Ok(ring)
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
        let mut records = store.list_signing_keys().await?;
        records.sort_by_key(|r| r.created_at);
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
            if rec.retired_at.is_none() {
                let der = self.master.open(&rec.kid, &rec.private_key_encrypted)?;
                let encoding = EncodingKey::from_ed_der(&der);
                next.active = Some(Arc::new(ActiveKey {
                    kid: rec.kid.clone(),
                    encoding,
                }));
            }
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

    #[test]
    fn master_key_text_round_trips() {
        let key = MasterKey::generate();
        let back = MasterKey::from_text(&key.to_text()).unwrap();
        assert_eq!(back.0, key.0);
        assert!(MasterKey::from_text("c2hvcnQ").is_err());
    }
}
