//! Authentication ceremony verification (WebAuthn L3 §7.2). Placeholder: the
//! full procedure is being written.

use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::json::AuthenticationResponseJson;

/// Everything the caller expects of this assertion.
#[derive(Debug, Clone)]
pub struct AssertionCheck<'a> {
    pub challenge: &'a [u8],
    pub origins: &'a [String],
    pub rp_id: &'a str,
    pub require_user_verification: bool,
    /// The stored credential's COSE_Key and its last sign count.
    pub public_key_cose: &'a [u8],
    pub stored_sign_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub sign_count: u32,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

/// A sign count that didn't increase (both non-zero) fails with `sign_count_regression`.
pub fn verify_authentication(
    _response: &AuthenticationResponseJson,
    _check: &AssertionCheck<'_>,
) -> Result<VerifiedAssertion> {
    fail(ErrorCode::Internal, "assertion verification not implemented yet")
}
