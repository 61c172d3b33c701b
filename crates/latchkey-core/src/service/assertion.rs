//! What verifying an assertion checks about its passkey and the passkey's
//! owner, and where that comes from. A ceremony for a known user seals the
//! offered passkeys' keys and counters into its id when they fit, so its
//! completion verifies without reading the store first; otherwise (and
//! usernameless) the completion reads the passkey with its owner. Either may
//! be out of date by the commit (a passkey deleted, a user suspended, a
//! counter moved by another sign-in), so the store applies
//! [`AuthenticationCommit::recheck`] inside the completing transaction.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{fail, Error, ErrorCode, Result};
use crate::ids::UserId;
use crate::model::{Ceremony, Credential, User, UserStatus};
use crate::store::AuthenticationCommit;
use crate::webauthn::json::{b64url_decode, b64url_encode, AuthenticationResponseJson};
use crate::webauthn::verify_sign_count;

/// Passkeys sealed into one ceremony at most, and their keys' bytes in all:
/// beyond that (a user with many passkeys, RSA keys) the completion reads
/// them instead, so a ceremony id stays well under a few KiB.
const MAX_SEALED_KEYS: usize = 4;
const MAX_SEALED_KEY_BYTES: usize = 1024;

/// An authentication ceremony's state, sealed with it.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PendingAssertion {
    /// The credentials the ceremony offered, by [`offered`]; empty means any
    /// of the user's (or any discoverable).
    pub allow: Vec<String>,
    /// The username was unknown: no credential may complete this ceremony.
    #[serde(default)]
    pub nobody: bool,
    #[serde(default)]
    pub nonce: Option<String>,
    /// The offered passkeys as they stood at the start, in `allow`'s order,
    /// when they fit; with their owner's handle (base64url) and status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    keys: Vec<SealedKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    handle: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    suspended: bool,
}

/// One offered passkey, in few bytes: its COSE_Key (base64url), its sign
/// count and whether it was flagged possibly cloned.
#[derive(Debug, Serialize, Deserialize)]
struct SealedKey {
    k: String,
    n: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    c: bool,
}

/// What verifying an assertion needs of its passkey and owner.
#[derive(Debug, Clone)]
pub(super) struct Subject {
    pub credential_id: Vec<u8>,
    pub user_id: UserId,
    pub user_handle: Vec<u8>,
    pub suspended: bool,
    pub public_key_cose: Vec<u8>,
    pub sign_count: u32,
    pub possibly_cloned: bool,
}

impl Subject {
    /// From the store's read of the passkey with its owner.
    pub fn read((credential, user): (Credential, User)) -> Subject {
        Subject {
            credential_id: credential.id,
            user_id: credential.user_id,
            user_handle: user.user_handle,
            suspended: user.status == UserStatus::Suspended,
            public_key_cose: credential.public_key_cose,
            sign_count: credential.sign_count,
            possibly_cloned: credential.possibly_cloned,
        }
    }
}

/// How a sealed ceremony remembers an offered credential: 128 bits of the
/// id's SHA-256, so the ceremony id of a user with a hundred passkeys of the
/// longest ids (1,023 bytes) stays a few KiB instead of ~180 KiB.
pub(super) fn offered(credential_id: &[u8]) -> String {
    b64url_encode(&Sha256::digest(credential_id)[..16])
}

impl PendingAssertion {
    pub fn new(
        user: Option<&User>,
        allow: &[Credential],
        nobody: bool,
        nonce: Option<String>,
    ) -> PendingAssertion {
        let key_bytes: usize = allow.iter().map(|c| c.public_key_cose.len()).sum();
        let fits = !allow.is_empty()
            && allow.len() <= MAX_SEALED_KEYS
            && key_bytes <= MAX_SEALED_KEY_BYTES;
        let mut pending = PendingAssertion {
            allow: allow.iter().map(|c| offered(&c.id)).collect(),
            nobody,
            nonce,
            ..PendingAssertion::default()
        };
        if let (Some(user), true) = (user, fits) {
            pending.keys = allow
                .iter()
                .map(|c| SealedKey {
                    k: b64url_encode(&c.public_key_cose),
                    n: c.sign_count,
                    c: c.possibly_cloned,
                })
                .collect();
            pending.handle = Some(b64url_encode(&user.user_handle));
            pending.suspended = user.status == UserStatus::Suspended;
        }
        pending
    }

    /// The offered passkey of that id as sealed at the start, if it was.
    /// (A digest collision can't pass: the signature must verify under the
    /// sealed key, and the commit checks the stored passkey has that key.)
    pub fn sealed_subject(&self, ceremony: &Ceremony, credential_id: &[u8]) -> Option<Subject> {
        let user_id = ceremony.user_id.clone()?;
        let handle = self.handle.as_deref()?;
        if self.keys.len() != self.allow.len() {
            return None;
        }
        let digest = offered(credential_id);
        let key = &self.keys[self.allow.iter().position(|a| *a == digest)?];
        Some(Subject {
            credential_id: credential_id.to_vec(),
            user_id,
            user_handle: b64url_decode("userHandle", handle).ok()?,
            suspended: self.suspended,
            public_key_cose: b64url_decode("publicKey", &key.k).ok()?,
            sign_count: key.n,
            possibly_cloned: key.c,
        })
    }

    /// Checks the passkey the response names may complete this ceremony.
    pub fn check(
        &self,
        ceremony: &Ceremony,
        subject: Option<Subject>,
        response: &AuthenticationResponseJson,
    ) -> Result<Subject> {
        if self.nobody {
            return Err(not_here());
        }
        let subject = subject.ok_or_else(not_here)?;
        if let Some(expected) = &ceremony.user_id {
            if &subject.user_id != expected {
                return Err(user_mismatch());
            }
        }
        if !self.allow.is_empty() && !self.allow.contains(&offered(&subject.credential_id)) {
            return fail(
                ErrorCode::CredentialNotAllowed,
                "this passkey was not offered for this ceremony",
            );
        }
        check_user_handle(ceremony, response, &subject.user_handle)?;
        check_state(subject.suspended, subject.possibly_cloned)?;
        Ok(subject)
    }
}

impl AuthenticationCommit {
    /// The checks the assertion passed, made again on the passkey and its
    /// owner as they stand in the completing transaction (`None`: the passkey
    /// is gone): it must still have the key and owner it was verified for,
    /// the owner must not be suspended nor the passkey flagged, and its
    /// counter must not have reached this assertion's since it was read.
    pub fn recheck(&self, fresh: Option<(&Credential, &User)>) -> Result<()> {
        let Some((credential, user)) =
            fresh.filter(|(c, _)| c.public_key_cose == self.public_key_cose)
        else {
            return Err(not_here());
        };
        if credential.user_id != self.user_id || user.id != self.user_id {
            return Err(user_mismatch());
        }
        check_state(
            user.status == UserStatus::Suspended,
            credential.possibly_cloned,
        )?;
        verify_sign_count(credential.sign_count, self.sign_count)
    }
}

fn not_here() -> Error {
    Error::new(
        ErrorCode::CredentialNotFound,
        "this passkey is not registered here",
    )
}

fn user_mismatch() -> Error {
    Error::new(
        ErrorCode::CredentialUserMismatch,
        "this passkey belongs to another user",
    )
}

fn check_state(suspended: bool, possibly_cloned: bool) -> Result<()> {
    if suspended {
        return fail(ErrorCode::UserSuspended, "this user is suspended");
    }
    if possibly_cloned {
        return fail(
            ErrorCode::CredentialPossiblyCloned,
            "this passkey is flagged as possibly cloned; use another one",
        );
    }
    Ok(())
}

/// §7.2 step 6: a usernameless ceremony must carry the user handle, and any
/// user handle given must be the credential owner's.
fn check_user_handle(
    ceremony: &Ceremony,
    response: &AuthenticationResponseJson,
    owner_handle: &[u8],
) -> Result<()> {
    match response
        .response
        .user_handle
        .as_deref()
        .filter(|h| !h.is_empty())
    {
        Some(h) if b64url_decode("userHandle", h)? != owner_handle => fail(
            ErrorCode::UserHandleMismatch,
            "the user handle does not match the passkey's owner",
        ),
        None if ceremony.user_id.is_none() => fail(
            ErrorCode::UserHandleMismatch,
            "a usernameless sign-in needs the user handle",
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "assertion_tests.rs"]
mod tests;
