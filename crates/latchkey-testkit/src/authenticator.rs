//! [`SoftAuthenticator`]: an in-memory passkey provider plus the browser's
//! client half, turning server-issued options JSON into the WebAuthn L3
//! response JSON a front end would POST back, with real signatures.
//!
//! It behaves like a platform authenticator holding discoverable credentials:
//! excluded credentials make registration fail, registering the same user for
//! the same RP replaces the old credential, and an empty `allowCredentials`
//! selects a credential by RP ID (usernameless sign-in). It does *not* do the
//! browser's origin/RP ID suffix check or react to `userVerification` /
//! `attestation` preferences: it says what it is configured to say, so tests
//! can present anything to the server and watch the server decide.
//!
//! All state sits behind one `std::sync::Mutex`, held only to pick a
//! credential and step its counter — never while signing — so one instance
//! can be shared across load-generator threads.

use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};

use crate::authdata::{
    attestation_object, authenticator_data, client_data_json, packed_self_statement, sha256,
    AttestedCredential, ClientData, Flags, Statement, FLAG_AT,
};
use crate::config::{Attestation, Config, CounterMode, Credential};
use crate::error::{AuthenticatorError, ErrorKind, Result};
use crate::keys::Alg;
use crate::options::{parse_creation, parse_request};
use crate::tamper::Tamper;
use latchkey_core::webauthn::json::{b64url_decode, b64url_encode};

struct Inner {
    config: Config,
    /// Oldest first; "most recent" is the last match.
    credentials: Vec<Credential>,
    preferred: Option<Vec<u8>>,
}

/// A software passkey authenticator. `Send + Sync`; cheap to create.
pub struct SoftAuthenticator {
    inner: Mutex<Inner>,
}

impl Default for SoftAuthenticator {
    fn default() -> Self {
        Self::with_config(Config::default())
    }
}

fn decode_id(id: &str) -> Result<Vec<u8>> {
    b64url_decode("credential id", id).map_err(|_| {
        AuthenticatorError::bad_options(format!("{id:?} is not a base64url credential id"))
    })
}

impl SoftAuthenticator {
    /// Default config: ES256 or EdDSA, attestation none, UP+UV, counter from 1.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_config(config: Config) -> Self {
        SoftAuthenticator {
            inner: Mutex::new(Inner {
                config,
                credentials: Vec::new(),
                preferred: None,
            }),
        }
    }

    // No code panics while holding the lock, but a test thread might; its
    // state is still consistent, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn config(&self) -> Config {
        self.lock().config.clone()
    }
    pub fn set_config(&self, config: Config) {
        self.lock().config = config;
    }
    /// Flags for all later calls (per call: [`Tamper::flags`]).
    pub fn set_flags(&self, flags: Flags) {
        self.lock().config.flags = flags;
    }
    pub fn set_counter_mode(&self, mode: CounterMode) {
        self.lock().config.counter_mode = mode;
    }

    /// The next assertion with this credential reports exactly `value` — e.g.
    /// lower than the last one, to make a counter regression.
    pub fn set_next_counter(&self, credential_id: &str, value: u32) -> Result<()> {
        let id = decode_id(credential_id)?;
        let mut inner = self.lock();
        let cred = inner
            .credentials
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| not_held(credential_id))?;
        cred.next_counter = Some(value);
        Ok(())
    }

    /// With an empty `allowCredentials`, pick this credential (if it matches
    /// the RP ID) instead of the most recent one — the account chooser.
    pub fn prefer(&self, credential_id: &str) -> Result<()> {
        let id = decode_id(credential_id)?;
        let mut inner = self.lock();
        if !inner.credentials.iter().any(|c| c.id == id) {
            return Err(not_held(credential_id));
        }
        inner.preferred = Some(id);
        Ok(())
    }
    pub fn clear_preference(&self) {
        self.lock().preferred = None;
    }

    /// All credentials, oldest first (private keys included).
    pub fn credentials(&self) -> Vec<Credential> {
        self.lock().credentials.clone()
    }
    pub fn credential(&self, credential_id: &str) -> Option<Credential> {
        let id = decode_id(credential_id).ok()?;
        self.lock().credentials.iter().find(|c| c.id == id).cloned()
    }
    /// The base64url id of the most recently created or imported credential.
    pub fn last_credential_id(&self) -> Option<String> {
        self.lock().credentials.last().map(Credential::id_b64)
    }
    /// Adds a credential (replacing one with the same id); it becomes the most recent.
    pub fn import_credential(&self, credential: Credential) {
        let mut inner = self.lock();
        inner.credentials.retain(|c| c.id != credential.id);
        inner.credentials.push(credential);
    }
    pub fn remove_credential(&self, credential_id: &str) -> bool {
        let Ok(id) = decode_id(credential_id) else {
            return false;
        };
        let mut inner = self.lock();
        let before = inner.credentials.len();
        inner.credentials.retain(|c| c.id != id);
        inner.credentials.len() != before
    }

    /// Copies a credential, key and counter state included, into `other`: the
    /// cloned-authenticator scenario. Both then count on independently.
    pub fn clone_credential_into(
        &self,
        credential_id: &str,
        other: &SoftAuthenticator,
    ) -> Result<()> {
        let cred = self
            .credential(credential_id)
            .ok_or_else(|| not_held(credential_id))?;
        other.import_credential(cred);
        Ok(())
    }

    /// A new authenticator with the same config and copies of every credential.
    pub fn fork(&self) -> SoftAuthenticator {
        let inner = self.lock();
        let copy = SoftAuthenticator::with_config(inner.config.clone());
        copy.lock().credentials = inner.credentials.clone();
        copy
    }

    /// `navigator.credentials.create()`: creation options JSON in,
    /// `RegistrationResponseJSON` out.
    pub fn register(&self, options: &Value, origin: &str) -> Result<Value> {
        self.register_with(options, origin, &Tamper::default())
    }

    pub fn register_with(&self, options: &Value, origin: &str, tamper: &Tamper) -> Result<Value> {
        let opts = parse_creation(options, origin)?;
        let (cred, config) = {
            let mut inner = self.lock();
            let config = inner.config.clone();
            // §5.1.3: the first of the RP's algorithms this authenticator supports.
            let alg = opts
                .algs
                .iter()
                .filter_map(|a| Alg::from_cose(*a))
                .find(|a| config.algorithms.contains(a))
                .ok_or_else(|| {
                    AuthenticatorError::new(
                        ErrorKind::NotSupported,
                        format!("none of the algorithms {:?} is supported", opts.algs),
                    )
                })?;
            // authenticatorMakeCredential step 3: refuse if an excluded credential is here.
            // A client replaying a held credential (`reuse_credential`) skips the check on purpose.
            if let Some(c) = inner.credentials.iter().find(|c| {
                tamper.reuse_credential.is_none()
                    && c.rp_id == opts.rp_id
                    && opts.exclude.contains(&c.id)
            }) {
                return Err(AuthenticatorError::new(
                    ErrorKind::InvalidState,
                    format!(
                        "excluded credential {} is present on this authenticator",
                        c.id_b64()
                    ),
                ));
            }
            let mut cred = match tamper.reuse_credential.as_deref() {
                Some(id) => {
                    let raw = decode_id(id)?;
                    let held = inner.credentials.iter().find(|c| c.id == raw);
                    held.cloned().ok_or_else(|| not_held(id))?
                }
                None => Credential::generate(&opts.rp_id, &opts.user_id, alg),
            };
            cred.user_name = opts.user_name.clone();
            cred.counter = match config.counter_mode {
                CounterMode::Incrementing { start } => start,
                CounterMode::AlwaysZero => 0,
            };
            // A discoverable credential overwrites one for the same RP and user.
            inner
                .credentials
                .retain(|c| !(c.rp_id == opts.rp_id && c.user_handle == opts.user_id));
            inner.credentials.push(cred.clone());
            (cred, config)
        };

        let client_data = tampered_client_data(tamper, "webauthn.create", &opts.challenge, origin);
        let cose = cred.public_key_cose();
        let flags = tamper
            .raw_flags
            .unwrap_or_else(|| tamper.flags.unwrap_or(config.flags).bits() | FLAG_AT);
        let auth_data = authenticator_data(
            &sha256(
                tamper
                    .rp_id_for_hash
                    .as_deref()
                    .unwrap_or(&opts.rp_id)
                    .as_bytes(),
            ),
            flags,
            tamper.counter.unwrap_or(cred.counter),
            Some(&AttestedCredential {
                aaguid: config.aaguid,
                credential_id: &cred.id,
                public_key_cose: &cose,
            }),
        );
        let statement = match config.attestation {
            Attestation::None => Statement::None,
            Attestation::PackedSelf => {
                let signer = tamper.sign_with.as_ref().map_or(&cred.key, |c| &c.key);
                let mut st = packed_self_statement(signer, &auth_data, &sha256(&client_data));
                if let Statement::PackedSelf { sig, .. } = &mut st {
                    corrupt_if(tamper, sig);
                }
                st
            }
        };
        let id = cred.id_b64();
        let mut extensions = json!({});
        if opts.cred_props {
            extensions = json!({ "credProps": { "rk": true } });
        }
        Ok(json!({
            "id": id,
            "rawId": tamper.raw_id.clone().unwrap_or_else(|| id.clone()),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url_encode(&client_data),
                "attestationObject": b64url_encode(&attestation_object(&statement, &auth_data)),
                "authenticatorData": b64url_encode(&auth_data),
                "transports": config.transports,
                "publicKeyAlgorithm": cred.alg().cose_alg(),
                "publicKey": b64url_encode(&cred.key.public_key_spki()),
            },
            "authenticatorAttachment": config.attachment,
            "clientExtensionResults": extensions,
        }))
    }

    /// `navigator.credentials.get()`: request options JSON in,
    /// `AuthenticationResponseJSON` out.
    pub fn authenticate(&self, options: &Value, origin: &str) -> Result<Value> {
        self.authenticate_with(options, origin, &Tamper::default())
    }

    pub fn authenticate_with(
        &self,
        options: &Value,
        origin: &str,
        tamper: &Tamper,
    ) -> Result<Value> {
        let opts = parse_request(options, origin)?;
        let forced = tamper.credential.as_deref().map(decode_id).transpose()?;
        let (cred, counter, config) = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            let for_rp = |c: &Credential| c.rp_id == opts.rp_id;
            let index = if let Some(id) = &forced {
                inner
                    .credentials
                    .iter()
                    .position(|c| for_rp(c) && &c.id == id)
            } else if !opts.allow.is_empty() {
                // The first allowed credential this authenticator holds.
                opts.allow.iter().find_map(|id| {
                    inner
                        .credentials
                        .iter()
                        .position(|c| for_rp(c) && &c.id == id)
                })
            } else {
                let preferred = inner.preferred.as_ref().and_then(|p| {
                    inner
                        .credentials
                        .iter()
                        .position(|c| for_rp(c) && &c.id == p)
                });
                preferred.or_else(|| inner.credentials.iter().rposition(for_rp))
            };
            let index = index.ok_or_else(|| {
                AuthenticatorError::new(
                    ErrorKind::NotAllowed,
                    format!("no matching credential for rp id {:?}", opts.rp_id),
                )
            })?;
            let mode = inner.config.counter_mode;
            let cred = inner
                .credentials
                .get_mut(index)
                .ok_or_else(|| not_held("(index)"))?;
            let counter = match tamper.counter {
                // A one-off: the stored counter is left as it was.
                Some(value) => value,
                None => {
                    let value = cred.next_counter.take().unwrap_or(match mode {
                        CounterMode::Incrementing { .. } => cred.counter.wrapping_add(1),
                        CounterMode::AlwaysZero => 0,
                    });
                    cred.counter = value;
                    value
                }
            };
            (cred.clone(), counter, inner.config.clone())
        };

        let client_data = tampered_client_data(tamper, "webauthn.get", &opts.challenge, origin);
        let flags = tamper
            .raw_flags
            .unwrap_or_else(|| tamper.flags.unwrap_or(config.flags).bits());
        let auth_data = authenticator_data(
            &sha256(
                tamper
                    .rp_id_for_hash
                    .as_deref()
                    .unwrap_or(&opts.rp_id)
                    .as_bytes(),
            ),
            flags,
            counter,
            None,
        );
        let signer = tamper.sign_with.as_ref().map_or(&cred.key, |c| &c.key);
        let mut signature = signer.sign(&[auth_data.as_slice(), &sha256(&client_data)].concat());
        corrupt_if(tamper, &mut signature);

        let user_handle = if tamper.omit_user_handle {
            Value::Null
        } else {
            Value::String(b64url_encode(
                tamper.user_handle.as_deref().unwrap_or(&cred.user_handle),
            ))
        };
        let id = cred.id_b64();
        Ok(json!({
            "id": id,
            "rawId": tamper.raw_id.clone().unwrap_or_else(|| id.clone()),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url_encode(&client_data),
                "authenticatorData": b64url_encode(&auth_data),
                "signature": b64url_encode(&signature),
                "userHandle": user_handle,
            },
            "authenticatorAttachment": config.attachment,
            "clientExtensionResults": {},
        }))
    }
}

/// clientDataJSON for a ceremony, with the tamper's substitutions.
fn tampered_client_data(tamper: &Tamper, type_: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    client_data_json(&ClientData {
        type_: tamper.client_data_type.as_deref().unwrap_or(type_),
        challenge: &tamper
            .challenge
            .clone()
            .unwrap_or_else(|| b64url_encode(challenge)),
        origin,
        cross_origin: tamper.cross_origin,
        top_origin: tamper.top_origin.as_deref(),
        token_binding_status: tamper.token_binding_status.as_deref(),
    })
}

fn not_held(credential_id: &str) -> AuthenticatorError {
    AuthenticatorError::new(
        ErrorKind::NotAllowed,
        format!("credential {credential_id} is not on this authenticator"),
    )
}

/// Flips the low bit of the last byte: still well-formed (DER stays DER), never valid.
fn corrupt_if(tamper: &Tamper, sig: &mut [u8]) {
    if tamper.corrupt_signature {
        if let Some(last) = sig.last_mut() {
            *last ^= 0x01;
        }
    }
}

/// The credential id (`id`) of a registration or authentication response JSON.
pub fn response_credential_id(response: &Value) -> Option<String> {
    response
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
