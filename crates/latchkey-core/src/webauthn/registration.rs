//! Registration ceremony verification (WebAuthn L3 §7.1). Placeholder: the
//! full procedure is being written.

use crate::clock::Timestamp;
use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::json::RegistrationResponseJson;

/// How attestation statements are judged.
#[derive(Debug, Clone, Default)]
pub struct AttestationPolicy {
    /// Verify the attestation trust path to an anchor (conveyance other than `none`).
    pub require_trusted: bool,
    /// Root certificates (DER) per attestation format, e.g. "apple" → [root].
    pub trust_anchors: std::collections::HashMap<String, Vec<Vec<u8>>>,
    /// When set, only these AAGUIDs may register.
    pub allowed_aaguids: Option<Vec<[u8; 16]>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationType {
    None,
    SelfAttestation,
    Basic,
    AttCa,
    AnonCa,
}

/// Everything the caller expects of this registration.
#[derive(Debug, Clone)]
pub struct RegistrationCheck<'a> {
    pub challenge: &'a [u8],
    pub origins: &'a [String],
    pub rp_id: &'a str,
    pub require_user_verification: bool,
    pub policy: &'a AttestationPolicy,
    /// For certificate validity and SafetyNet timestamps.
    pub now: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRegistration {
    pub credential_id: Vec<u8>,
    pub public_key_cose: Vec<u8>,
    pub alg: i64,
    pub sign_count: u32,
    pub aaguid: [u8; 16],
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub fmt: String,
    pub attestation_type: AttestationType,
    /// Whether the attestation chained to one of the policy's trust anchors.
    pub trusted: bool,
    pub transports: Vec<String>,
}

pub fn verify_registration(
    _response: &RegistrationResponseJson,
    _check: &RegistrationCheck<'_>,
) -> Result<VerifiedRegistration> {
    fail(ErrorCode::Internal, "registration verification not implemented yet")
}
