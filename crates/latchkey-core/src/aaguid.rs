//! Authenticator model names by AAGUID, from the community table shipped in
//! the binary (`data/aaguid.json`). For display only, never for security
//! decisions; an unknown AAGUID is normal.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatorModel {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_dark: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_light: Option<String>,
}

static TABLE: OnceLock<HashMap<String, AuthenticatorModel>> = OnceLock::new();

fn table() -> &'static HashMap<String, AuthenticatorModel> {
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!("../data/aaguid.json")).unwrap_or_default()
    })
}

/// The canonical text form: lowercase, hyphenated.
pub fn format_aaguid(aaguid: &[u8; 16]) -> String {
    let h: String = aaguid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn parse_aaguid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

pub fn lookup(aaguid: &[u8; 16]) -> Option<&'static AuthenticatorModel> {
    table().get(&format_aaguid(aaguid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_names_known_providers_and_ignores_unknown_ones() {
        let icloud = parse_aaguid("fbfc3007-154e-4ecc-8c0b-6e020557d7bd").unwrap();
        assert_eq!(
            lookup(&icloud).map(|m| m.name.as_str()),
            Some("Apple Passwords")
        );
        assert!(lookup(&[0u8; 16]).is_none());
        assert_eq!(
            format_aaguid(&icloud),
            "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"
        );
    }
}
