//! The bytes a relying party parses: authenticator data (WebAuthn §6.1),
//! the attestation object (§6.5) and the collected client data (§5.8.1).
//!
//! Everything here is a pure function of its inputs so that the tamper knobs
//! in [`crate::Tamper`] can substitute any single ingredient.

use ciborium::value::Value;
use sha2::{Digest, Sha256};

use crate::keys::{cbor_bytes, int, CredentialKey};

/// A fixed, recognisable AAGUID (`b"latchkey-testkit"`), so tests can tell
/// testkit registrations apart and exercise AAGUID allow-lists.
pub const DEFAULT_AAGUID: [u8; 16] = *b"latchkey-testkit";

pub const FLAG_UP: u8 = 0x01;
pub const FLAG_UV: u8 = 0x04;
pub const FLAG_BE: u8 = 0x08;
pub const FLAG_BS: u8 = 0x10;
pub const FLAG_AT: u8 = 0x40;
pub const FLAG_ED: u8 = 0x80;

/// The user-facing authenticator data flags. AT and ED are not here: they
/// follow from what the authData actually contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    pub user_present: bool,
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

impl Default for Flags {
    /// A platform authenticator that did a biometric check: UP and UV set,
    /// device-bound (BE and BS clear).
    fn default() -> Self {
        Flags {
            user_present: true,
            user_verified: true,
            backup_eligible: false,
            backup_state: false,
        }
    }
}

impl Flags {
    /// A synced passkey: backup eligible and backed up.
    pub fn synced() -> Self {
        Flags {
            backup_eligible: true,
            backup_state: true,
            ..Flags::default()
        }
    }

    pub fn bits(self) -> u8 {
        let mut b = 0;
        if self.user_present {
            b |= FLAG_UP;
        }
        if self.user_verified {
            b |= FLAG_UV;
        }
        if self.backup_eligible {
            b |= FLAG_BE;
        }
        if self.backup_state {
            b |= FLAG_BS;
        }
        b
    }
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The attested credential data carried by a registration's authData.
pub struct AttestedCredential<'a> {
    pub aaguid: [u8; 16],
    pub credential_id: &'a [u8],
    pub public_key_cose: &'a [u8],
}

/// rpIdHash(32) || flags(1) || signCount(4, big-endian) || [attested credential data].
/// `flags` is written exactly as given: the caller adds AT, so a tamper can
/// leave it out.
pub fn authenticator_data(
    rp_id_hash: &[u8; 32],
    flags: u8,
    counter: u32,
    attested: Option<&AttestedCredential<'_>>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(37 + attested.map_or(0, |a| 18 + a.credential_id.len() + 77));
    out.extend_from_slice(rp_id_hash);
    out.push(flags);
    out.extend_from_slice(&counter.to_be_bytes());
    if let Some(a) = attested {
        out.extend_from_slice(&a.aaguid);
        // Credential ids are at most 1023 bytes by spec; saturate rather than panic.
        let len = u16::try_from(a.credential_id.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(a.credential_id);
        out.extend_from_slice(a.public_key_cose);
    }
    out
}

/// The `fmt`/`attStmt` pair of an attestation object.
pub enum Statement {
    None,
    /// Packed self attestation: signed with the credential key itself (§8.2).
    PackedSelf {
        alg: i64,
        sig: Vec<u8>,
    },
}

/// Packed self attestation signs authData || clientDataHash with `key`.
pub fn packed_self_statement(
    key: &CredentialKey,
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
) -> Statement {
    let sig = key.sign(&[auth_data, client_data_hash].concat());
    Statement::PackedSelf {
        alg: key.alg().cose_alg(),
        sig,
    }
}

/// CBOR {fmt, attStmt, authData} in CTAP2 canonical key order (by encoded
/// length, then bytewise: "fmt" < "attStmt" < "authData").
pub fn attestation_object(statement: &Statement, auth_data: &[u8]) -> Vec<u8> {
    let (fmt, att_stmt) = match statement {
        Statement::None => ("none", Value::Map(Vec::new())),
        Statement::PackedSelf { alg, sig } => (
            "packed",
            Value::Map(vec![
                (Value::Text("alg".into()), int(*alg)),
                (Value::Text("sig".into()), Value::Bytes(sig.clone())),
            ]),
        ),
    };
    cbor_bytes(&Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text(fmt.into())),
        (Value::Text("attStmt".into()), att_stmt),
        (
            Value::Text("authData".into()),
            Value::Bytes(auth_data.to_vec()),
        ),
    ]))
}

/// What goes into clientDataJSON.
pub struct ClientData<'a> {
    pub type_: &'a str,
    /// base64url, exactly as it will appear in the JSON.
    pub challenge: &'a str,
    pub origin: &'a str,
    pub cross_origin: bool,
    pub top_origin: Option<&'a str>,
    pub token_binding_status: Option<&'a str>,
}

/// Serialises client data with the key order browsers use (type, challenge,
/// origin, crossOrigin, then optional members), which is what the spec's
/// "limited verification algorithm" (§5.8.1.2) relies on.
pub fn client_data_json(cd: &ClientData<'_>) -> Vec<u8> {
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let mut out = format!(
        "{{\"type\":{},\"challenge\":{},\"origin\":{},\"crossOrigin\":{}",
        q(cd.type_),
        q(cd.challenge),
        q(cd.origin),
        cd.cross_origin
    );
    if let Some(top) = cd.top_origin {
        out.push_str(&format!(",\"topOrigin\":{}", q(top)));
    }
    if let Some(status) = cd.token_binding_status {
        out.push_str(&format!(",\"tokenBinding\":{{\"status\":{}}}", q(status)));
    }
    out.push('}');
    out.into_bytes()
}
