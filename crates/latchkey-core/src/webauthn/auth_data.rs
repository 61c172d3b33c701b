//! Authenticator data (WebAuthn L3 §6.1): a zero-copy view over the bytes,
//! the flag checks shared by both ceremonies, and the attested credential data
//! whose public key must be exactly one CBOR item. Extension outputs, when
//! flagged, must be exactly one CBOR map and nothing may follow them.

use sha2::{Digest, Sha256};

use crate::error::{fail, ErrorCode, Result};
use crate::webauthn::cbor;

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;
/// rpIdHash, flags and signCount.
const HEADER_LEN: usize = 37;
/// The spec caps credential ids at 1023 bytes (§7.1 step 25).
const MAX_CREDENTIAL_ID_LEN: usize = 1023;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flags(u8);

impl Flags {
    pub(crate) fn user_present(self) -> bool {
        self.0 & FLAG_UP != 0
    }
    pub(crate) fn user_verified(self) -> bool {
        self.0 & FLAG_UV != 0
    }
    pub(crate) fn backup_eligible(self) -> bool {
        self.0 & FLAG_BE != 0
    }
    pub(crate) fn backup_state(self) -> bool {
        self.0 & FLAG_BS != 0
    }
    fn attested(self) -> bool {
        self.0 & FLAG_AT != 0
    }
    fn extensions(self) -> bool {
        self.0 & FLAG_ED != 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttestedCredential<'a> {
    pub aaguid: [u8; 16],
    pub credential_id: &'a [u8],
    /// The COSE_Key exactly as encoded, so it can be stored byte for byte.
    pub public_key: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthData<'a> {
    pub rp_id_hash: &'a [u8],
    pub flags: Flags,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential<'a>>,
}

impl<'a> AuthData<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<AuthData<'a>> {
        let (Some(header), Some(rest)) = (bytes.get(..HEADER_LEN), bytes.get(HEADER_LEN..)) else {
            return malformed("authenticator data is shorter than 37 bytes");
        };
        let flags = Flags(header[32]);
        let sign_count = u32::from_be_bytes([header[33], header[34], header[35], header[36]]);
        let (attested, rest) = if flags.attested() {
            let (cred, rest) = parse_attested(rest)?;
            (Some(cred), rest)
        } else {
            (None, rest)
        };
        check_extensions(flags, rest)?;
        Ok(AuthData {
            rp_id_hash: &header[..32],
            flags,
            sign_count,
            attested,
        })
    }

    /// The rpIdHash, UP, UV and BE/BS steps shared by §7.1 (14–17) and §7.2 (16–19).
    pub(crate) fn verify(&self, rp_id: &str, require_user_verification: bool) -> Result<()> {
        if *self.rp_id_hash != Sha256::digest(rp_id.as_bytes())[..] {
            return fail(ErrorCode::RpIdMismatch, "rpIdHash does not match the RP ID");
        }
        if !self.flags.user_present() {
            return fail(
                ErrorCode::UserPresenceRequired,
                "user presence flag is not set",
            );
        }
        if require_user_verification && !self.flags.user_verified() {
            return fail(
                ErrorCode::UserVerificationRequired,
                "user verification flag is not set",
            );
        }
        if self.flags.backup_state() && !self.flags.backup_eligible() {
            return fail(
                ErrorCode::InvalidBackupFlags,
                "backup state set without backup eligibility",
            );
        }
        Ok(())
    }
}

fn parse_attested(bytes: &[u8]) -> Result<(AttestedCredential<'_>, &[u8])> {
    let (Some(aaguid), Some(len)) = (bytes.get(..16), bytes.get(16..18)) else {
        return malformed("attested credential data is truncated");
    };
    let id_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    if id_len > MAX_CREDENTIAL_ID_LEN {
        return malformed("credential id is longer than 1023 bytes");
    }
    let Some(credential_id) = bytes.get(18..18 + id_len) else {
        return malformed("credential id is truncated");
    };
    let key_and_rest = &bytes[18 + id_len..];
    let (_, rest) = cbor::decode_prefix(
        key_and_rest,
        ErrorCode::InvalidPublicKey,
        "credential public key",
    )?;
    let public_key = &key_and_rest[..key_and_rest.len() - rest.len()];
    let mut guid = [0u8; 16];
    guid.copy_from_slice(aaguid);
    Ok((
        AttestedCredential {
            aaguid: guid,
            credential_id,
            public_key,
        },
        rest,
    ))
}

fn check_extensions(flags: Flags, rest: &[u8]) -> Result<()> {
    if !flags.extensions() {
        if rest.is_empty() {
            return Ok(());
        }
        return malformed("authenticator data has trailing bytes");
    }
    let value = cbor::decode_exact(
        rest,
        ErrorCode::MalformedAuthenticatorData,
        "extension outputs",
    )?;
    cbor::as_map(
        &value,
        ErrorCode::MalformedAuthenticatorData,
        "extension outputs",
    )?;
    Ok(())
}

fn malformed<T>(message: &str) -> Result<T> {
    fail(ErrorCode::MalformedAuthenticatorData, message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::webauthn::cose::tests::{ec2, P256_GX, P256_GY};

    fn header(rp_id: &str, flags: u8, count: u32) -> Vec<u8> {
        let mut out = Sha256::digest(rp_id.as_bytes()).to_vec();
        out.push(flags);
        out.extend_from_slice(&count.to_be_bytes());
        out
    }

    fn with_credential(flags: u8) -> Vec<u8> {
        let mut out = header("example.com", flags | FLAG_AT, 0);
        out.extend_from_slice(&[7u8; 16]);
        out.extend_from_slice(&[0, 2, 0xAB, 0xCD]);
        out.extend_from_slice(&ec2(2, -7, 1, &P256_GX, &P256_GY));
        out
    }

    #[test]
    fn attested_credential_data_is_parsed() {
        let bytes = with_credential(FLAG_UP);
        let parsed = AuthData::parse(&bytes).unwrap();
        let cred = parsed.attested.unwrap();
        assert_eq!(cred.aaguid, [7u8; 16]);
        assert_eq!(cred.credential_id, &[0xAB, 0xCD]);
        assert_eq!(cred.public_key, &bytes[37 + 20..]);
    }

    #[test]
    fn trailing_bytes_after_the_public_key_are_refused() {
        let mut bytes = with_credential(FLAG_UP);
        bytes.push(0x00);
        let err = AuthData::parse(&bytes).unwrap_err();
        assert_eq!(err.code, ErrorCode::MalformedAuthenticatorData);
    }

    #[test]
    fn flagged_extensions_must_be_one_map() {
        let mut bytes = with_credential(FLAG_UP | FLAG_ED);
        bytes.extend_from_slice(&[0xA1, 0x61, b'x', 0x01]);
        AuthData::parse(&bytes).unwrap();
        bytes.push(0x01);
        assert!(AuthData::parse(&bytes).is_err());
    }

    #[test]
    fn backup_state_without_backup_eligibility_is_refused() {
        let bytes = header("example.com", FLAG_UP | FLAG_BS, 1);
        let err = AuthData::parse(&bytes)
            .unwrap()
            .verify("example.com", false)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidBackupFlags);
        let ok = header("example.com", FLAG_UP | FLAG_BS | FLAG_BE, 1);
        AuthData::parse(&ok)
            .unwrap()
            .verify("example.com", false)
            .unwrap();
    }

    #[test]
    fn presence_verification_and_rp_id_are_checked() {
        let bytes = header("example.com", FLAG_UP, 1);
        let parsed = AuthData::parse(&bytes).unwrap();
        assert_eq!(
            parsed.verify("other.com", false).unwrap_err().code,
            ErrorCode::RpIdMismatch
        );
        assert_eq!(
            parsed.verify("example.com", true).unwrap_err().code,
            ErrorCode::UserVerificationRequired
        );
        let absent = header("example.com", 0, 1);
        let err = AuthData::parse(&absent)
            .unwrap()
            .verify("example.com", false)
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::UserPresenceRequired);
    }

    #[test]
    fn short_authenticator_data_is_malformed() {
        assert_eq!(
            AuthData::parse(&[0u8; 36]).unwrap_err().code,
            ErrorCode::MalformedAuthenticatorData
        );
    }
}
