//! The `none` format (§8.7): no statement at all, so no claims to check
//! beyond the statement being empty.

use super::{invalid, Evidence, Statement};
use crate::error::Result;
use crate::webauthn::registration::AttestationType;

pub(super) fn verify(stmt: &Statement<'_>) -> Result<Evidence> {
    if !stmt.att_stmt.is_empty() {
        return invalid("a none attestation statement must be empty");
    }
    Ok(Evidence {
        attestation_type: AttestationType::None,
        x5c: Vec::new(),
    })
}
