//! What an authenticator is configured to do ([`Config`]) and what it holds
//! ([`Credential`]). Plain data with public fields, so tests can build,
//! inspect and transplant them freely.

use crate::authdata::{Flags, DEFAULT_AAGUID};
use crate::keys::{Alg, CredentialKey};
use latchkey_core::webauthn::json::b64url_encode;

/// Which attestation statement registration produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Attestation {
    /// `fmt: "none"`, empty `attStmt` (what most passkey providers send).
    #[default]
    None,
    /// `fmt: "packed"` self attestation: `{alg, sig}` by the credential key.
    PackedSelf,
}

/// How signature counters evolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterMode {
    /// Registration reports `start`; each assertion reports the previous value + 1.
    Incrementing { start: u32 },
    /// Always 0, as synced passkeys report (the RP must then skip clone detection).
    AlwaysZero,
}

impl Default for CounterMode {
    fn default() -> Self {
        CounterMode::Incrementing { start: 1 }
    }
}

/// Authenticator behaviour. Fields are public; the same-named methods are
/// chaining setters: `Config::default().alg(Alg::EdDsa).attestation(Attestation::PackedSelf)`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Algorithms it can create keys for; the RP's `pubKeyCredParams` order picks among them.
    pub algorithms: Vec<Alg>,
    pub attestation: Attestation,
    pub aaguid: [u8; 16],
    pub flags: Flags,
    pub counter_mode: CounterMode,
    /// `response.transports` of registrations.
    pub transports: Vec<String>,
    /// `authenticatorAttachment` of responses (`None` → JSON null).
    pub attachment: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            algorithms: vec![Alg::Es256, Alg::EdDsa],
            attestation: Attestation::None,
            aaguid: DEFAULT_AAGUID,
            flags: Flags::default(),
            counter_mode: CounterMode::default(),
            transports: vec!["internal".to_owned(), "hybrid".to_owned()],
            attachment: Some("platform".to_owned()),
        }
    }
}

impl Config {
    /// Support only `alg`.
    pub fn alg(mut self, alg: Alg) -> Self {
        self.algorithms = vec![alg];
        self
    }
    pub fn attestation(mut self, attestation: Attestation) -> Self {
        self.attestation = attestation;
        self
    }
    pub fn aaguid(mut self, aaguid: [u8; 16]) -> Self {
        self.aaguid = aaguid;
        self
    }
    pub fn flags(mut self, flags: Flags) -> Self {
        self.flags = flags;
        self
    }
    pub fn counter_mode(mut self, mode: CounterMode) -> Self {
        self.counter_mode = mode;
        self
    }
}

/// A discoverable credential. `Clone` copies the private key: that is the
/// point (cloned-authenticator tests, `Tamper::sign_with`).
#[derive(Debug, Clone)]
pub struct Credential {
    pub rp_id: String,
    pub id: Vec<u8>,
    pub user_handle: Vec<u8>,
    pub user_name: Option<String>,
    pub key: CredentialKey,
    /// The last counter value reported.
    pub counter: u32,
    /// When set, the next assertion reports exactly this (then counting resumes from it).
    pub next_counter: Option<u32>,
}

impl Credential {
    /// A fresh credential with a random 16–32 byte id and a new key.
    pub fn generate(rp_id: &str, user_handle: &[u8], alg: Alg) -> Self {
        use rand::{Rng, RngCore};
        let mut rng = rand::thread_rng();
        let mut id = vec![0u8; rng.gen_range(16..=32)];
        rng.fill_bytes(&mut id);
        Credential {
            rp_id: rp_id.to_owned(),
            id,
            user_handle: user_handle.to_vec(),
            user_name: None,
            key: CredentialKey::generate(alg),
            counter: 0,
            next_counter: None,
        }
    }

    /// The credential id as base64url — the `id` the server stores and lists.
    pub fn id_b64(&self) -> String {
        b64url_encode(&self.id)
    }
    pub fn user_handle_b64(&self) -> String {
        b64url_encode(&self.user_handle)
    }
    pub fn alg(&self) -> Alg {
        self.key.alg()
    }
    pub fn public_key_cose(&self) -> Vec<u8> {
        self.key.public_key_cose()
    }
}
