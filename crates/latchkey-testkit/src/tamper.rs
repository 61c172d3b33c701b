//! Per-call overrides for negative tests: each knob changes exactly one
//! ingredient of the response while everything else stays honest (signed
//! correctly over whatever was produced), so a test proves that the server
//! rejects *that* defect and not some incidental one.
//!
//! `Tamper::default()` changes nothing; `register`/`authenticate` are
//! `register_with`/`authenticate_with` with the default.

use crate::authdata::Flags;
use crate::config::Credential;

#[derive(Debug, Clone, Default)]
pub struct Tamper {
    /// clientData `type` instead of `webauthn.create` / `webauthn.get`.
    pub client_data_type: Option<String>,
    /// clientData `challenge` (a base64url string, put in verbatim).
    pub challenge: Option<String>,
    /// Hash this RP ID into authData instead of the one the options name.
    /// The credential is still stored under (and looked up by) the real RP ID.
    pub rp_id_for_hash: Option<String>,
    /// clientData `crossOrigin: true`.
    pub cross_origin: bool,
    /// Adds clientData `topOrigin`.
    pub top_origin: Option<String>,
    /// Adds clientData `tokenBinding: {"status": ...}` (e.g. "present").
    pub token_binding_status: Option<String>,
    /// Flags for this call instead of the authenticator's.
    pub flags: Option<Flags>,
    /// The exact authData flags byte (AT and ED included or not, as given).
    /// Wins over `flags`.
    pub raw_flags: Option<u8>,
    /// Report this signature counter. Unlike
    /// [`SoftAuthenticator::set_next_counter`](crate::SoftAuthenticator::set_next_counter)
    /// it leaves the credential's stored counter alone.
    pub counter: Option<u32>,
    /// Flip a bit in the signature (assertion signature or packed attStmt sig)
    /// after signing.
    pub corrupt_signature: bool,
    /// Sign with this credential's private key instead of the right one
    /// (assertion signature, or the packed self-attestation signature). The
    /// public key in a registration's authData stays the genuine one.
    pub sign_with: Option<Credential>,
    /// Authentication only: use this credential (base64url id), ignoring
    /// `allowCredentials` and any preference. It must be held by this
    /// authenticator for the request's RP ID.
    pub credential: Option<String>,
    /// `rawId` instead of the credential id (`id` stays genuine).
    pub raw_id: Option<String>,
    /// Authentication only: `userHandle` bytes instead of the credential's.
    pub user_handle: Option<Vec<u8>>,
    /// Authentication only: send `userHandle: null`.
    pub omit_user_handle: bool,
    /// Registration only: attest this held credential (base64url id) again
    /// instead of creating a new one, ignoring `excludeCredentials`, as a
    /// malicious client replaying a key would.
    pub reuse_credential: Option<String>,
}

impl Tamper {
    pub fn new() -> Self {
        Tamper::default()
    }
}
