//! Ceremonies sealed into their own id, so starting one writes nothing. A
//! sign-in page (conditional UI above all) starts far more ceremonies than
//! are ever finished, and so does a sign-up page left half-way; each stored
//! start was a write transaction, a cap on pending ones to keep and a row
//! to purge. Instead the ceremony's state travels in its id, encrypted and
//! authenticated under a key derived from the master key (every node
//! sharing it can open any node's ceremonies): `cer_<sortable
//! tail>.<base64url ciphertext>`. The store keeps only the ids of spent
//! ceremonies, until they expire, which keeps a ceremony single-use (see
//! `CeremonyStore::spend_ceremony`).
//!
//! The ceremony key is HMAC-SHA256 of the database's salt under a key
//! HKDF-derived from the master key, so a ceremony only opens on the
//! database it was issued against: `spent_ceremonies` is not exported, and
//! after a move a spent ceremony must not open again. Each ceremony is
//! encrypted under its own key, HMAC-SHA256(ceremony key, id), with
//! AES-256-GCM and a fixed nonce: a key that seals one message never
//! reuses a nonce, whereas random 96-bit nonces under one long-lived key
//! are only safe for about 2^32 messages. The org and the purpose are bound
//! as associated data, so an id opens only where it was issued.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{CeremonyId, OrgId, UserId};
use crate::keys::MasterKey;
use crate::model::{Ceremony, CeremonyPurpose};
use crate::webauthn::json::{b64url_decode, b64url_encode};

const KEY_LABEL: &str = "latchkey.sealed-ceremony.v1";
/// Longer ids are refused before any work: a ceremony offering every
/// passkey of a user with a hundred of them stays well below it.
const MAX_ID_CHARS: usize = 16 * 1024;

/// The ceremony as sealed; its id, org and purpose are outside (the id in
/// clear, org and purpose as associated data).
#[derive(Serialize, Deserialize)]
struct Sealed {
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    #[serde(rename = "c")]
    challenge: String,
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    payload_hash: Option<String>,
    #[serde(rename = "s")]
    state: serde_json::Value,
    #[serde(rename = "t")]
    created_at: i64,
    #[serde(rename = "e")]
    expires_at: i64,
}

/// Seals and opens ceremonies. Built once, from the master key and the
/// database's salt.
pub struct CeremonySeal {
    key: hmac::Key,
}

impl CeremonySeal {
    /// `salt` is the database's ([`crate::store::KeyStore::ceremony_salt`]):
    /// the same master key on another database seals and opens differently.
    pub fn new(master: &MasterKey, salt: &[u8]) -> Result<Self> {
        let base = hmac::Key::new(hmac::HMAC_SHA256, &master.derive(KEY_LABEL)?);
        let key = hmac::sign(&base, salt);
        Ok(CeremonySeal {
            key: hmac::Key::new(hmac::HMAC_SHA256, key.as_ref()),
        })
    }

    /// The id that carries `ceremony`.
    pub fn seal(&self, ceremony: &Ceremony) -> Result<String> {
        let sealed = Sealed {
            user_id: ceremony.user_id.clone(),
            challenge: b64url_encode(&ceremony.challenge),
            payload_hash: ceremony.payload_hash.clone(),
            state: ceremony.state.clone(),
            created_at: ceremony.created_at.millis(),
            expires_at: ceremony.expires_at.millis(),
        };
        let mut bytes = serde_json::to_vec(&sealed).map_err(Error::internal)?;
        let aad = associated(&ceremony.org_id, ceremony.purpose);
        self.cipher(&ceremony.id)?
            .seal_in_place_append_tag(nonce(), Aad::from(aad.as_bytes()), &mut bytes)
            .map_err(|_| Error::internal("could not seal a ceremony"))?;
        Ok(format!("{}.{}", ceremony.id, b64url_encode(&bytes)))
    }

    /// The ceremony `text` carries, if it was sealed for `org` and
    /// `purpose` with this key; `ceremony_not_found` otherwise, whatever
    /// the reason (malformed, tampered, another org's, another key's).
    pub fn open(&self, org: &OrgId, purpose: CeremonyPurpose, text: &str) -> Result<Ceremony> {
        let not_found = || {
            Error::new(
                ErrorCode::CeremonyNotFound,
                "no such ceremony in this organisation",
            )
        };
        if text.len() > MAX_ID_CHARS {
            return Err(not_found());
        }
        let (id, body) = text.split_once('.').ok_or_else(not_found)?;
        let id = CeremonyId::parse(id)?;
        let mut bytes = b64url_decode("ceremonyId", body).map_err(|_| not_found())?;
        let aad = associated(org, purpose);
        let plain = self
            .cipher(&id)?
            .open_in_place(nonce(), Aad::from(aad.as_bytes()), &mut bytes)
            .map_err(|_| not_found())?;
        let sealed: Sealed = serde_json::from_slice(plain).map_err(|_| not_found())?;
        Ok(Ceremony {
            id,
            org_id: org.clone(),
            purpose,
            user_id: sealed.user_id,
            challenge: b64url_decode("challenge", &sealed.challenge).map_err(|_| not_found())?,
            payload_hash: sealed.payload_hash,
            state: sealed.state,
            created_at: Timestamp(sealed.created_at),
            expires_at: Timestamp(sealed.expires_at),
        })
    }

    /// The one-message key of ceremony `id`.
    fn cipher(&self, id: &CeremonyId) -> Result<LessSafeKey> {
        let tag = hmac::sign(&self.key, id.as_str().as_bytes());
        let key = UnboundKey::new(&AES_256_GCM, tag.as_ref())
            .map_err(|_| Error::internal("could not make a ceremony key"))?;
        Ok(LessSafeKey::new(key))
    }
}

fn associated(org: &OrgId, purpose: CeremonyPurpose) -> String {
    format!("{KEY_LABEL}\0{org}\0{}", purpose.as_str())
}

/// Each key seals one message, so one nonce is never used twice per key.
fn nonce() -> Nonce {
    Nonce::assume_unique_for_key([0u8; NONCE_LEN])
}

#[cfg(test)]
#[path = "sealed_tests.rs"]
mod tests;
