//! Ceremony challenges. A challenge is either 32 random bytes or commits to a
//! payload: SHA-256 over a domain tag, a fresh random nonce and the payload's
//! hash. A commitment lets a later step prove that an assertion approved
//! exactly that payload (an action, an approval decision, a transaction),
//! while the nonce keeps every challenge unique.

use sha2::{Digest, Sha256};

use crate::random;
use crate::webauthn::json::b64url_encode;

const DOMAIN: &[u8] = b"latchkey.challenge.v1\0";

pub fn random_challenge() -> Vec<u8> {
    random::unique_bytes::<32>().to_vec()
}

/// `sha256:<b64url>` of a payload's canonical JSON form (object keys sorted,
/// no insignificant whitespace; serde_json's map is ordered).
pub fn payload_hash(payload: &serde_json::Value) -> String {
    let canonical = serde_json::to_vec(payload).unwrap_or_default();
    format!("sha256:{}", b64url_encode(&Sha256::digest(&canonical)))
}

pub fn committing_challenge(nonce: &[u8], payload_hash: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(nonce);
    h.update(payload_hash.as_bytes());
    h.finalize().to_vec()
}

/// A fresh commitment: the nonce to keep and the challenge to send.
pub fn commit(payload_hash: &str) -> (Vec<u8>, Vec<u8>) {
    let nonce = random::bytes::<32>().to_vec();
    let challenge = committing_challenge(&nonce, payload_hash);
    (nonce, challenge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payload_hash_ignores_key_order() {
        let a = json!({"amount": 10, "currency": "EUR"});
        let b: serde_json::Value =
            serde_json::from_str(r#"{"currency":"EUR","amount":10}"#).unwrap();
        assert_eq!(payload_hash(&a), payload_hash(&b));
    }

    #[test]
    fn commitments_differ_per_nonce_but_are_reproducible() {
        let h = payload_hash(&json!({"x": 1}));
        let (n1, c1) = commit(&h);
        let (_, c2) = commit(&h);
        assert_ne!(c1, c2);
        assert_eq!(committing_challenge(&n1, &h), c1);
    }
}
