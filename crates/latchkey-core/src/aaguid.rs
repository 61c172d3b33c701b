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

/// Keyed by the 16 bytes, so a lookup (one per registration) formats nothing.
static TABLE: OnceLock<HashMap<[u8; 16], AuthenticatorModel>> = OnceLock::new();

fn table() -> &'static HashMap<[u8; 16], AuthenticatorModel> {
    TABLE.get_or_init(|| {
        let by_text: HashMap<String, AuthenticatorModel> =
            serde_json::from_str(include_str!("../data/aaguid.json")).unwrap_or_default();
        by_text
            .into_iter()
            .filter_map(|(text, model)| Some((parse_aaguid(&text)?, model)))
            .collect()
    })
}

/// The canonical text form: lowercase, hyphenated.
pub fn format_aaguid(aaguid: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*aaguid).hyphenated().to_string()
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
    table().get(aaguid)
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
        // Every entry of the shipped table survives the load by bytes.
        let shipped: HashMap<String, AuthenticatorModel> =
            serde_json::from_str(include_str!("../data/aaguid.json")).unwrap();
        assert_eq!(table().len(), shipped.len());
        assert_eq!(
            format_aaguid(&[0xab; 16]),
            "abababab-abab-abab-abab-abababababab"
        );
        assert_eq!(
            format_aaguid(&icloud),
            "fbfc3007-154e-4ecc-8c0b-6e020557d7bd"
        );
    }
}
