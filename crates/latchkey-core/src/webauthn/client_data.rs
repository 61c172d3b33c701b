//! `CollectedClientData` (WebAuthn L3 §5.8.1): parsed once, borrowed where
//! possible, and checked against what the relying party expects: the ceremony
//! type, the challenge it issued, an allowed origin, no cross-origin embedding
//! and no Token Binding (which we do not support and must not pretend to).

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use crate::error::{fail, ErrorCode, Result};

pub(crate) const TYPE_CREATE: &str = "webauthn.create";
pub(crate) const TYPE_GET: &str = "webauthn.get";

#[derive(Debug, Deserialize)]
struct ClientData<'a> {
    #[serde(rename = "type", borrow)]
    type_: Cow<'a, str>,
    #[serde(borrow)]
    challenge: Cow<'a, str>,
    #[serde(borrow)]
    origin: Cow<'a, str>,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    /// Kept loose: some old clients sent a bare string here, which carries no
    /// binding and is ignored.
    #[serde(rename = "tokenBinding", default)]
    token_binding: Option<serde_json::Value>,
}

/// What the relying party expects of the client data.
pub(crate) struct Expected<'a> {
    pub type_: &'static str,
    pub challenge: &'a [u8],
    pub origins: &'a [String],
}

/// Runs the client-data steps of §7.1 (7–11) or §7.2 (11–15) in spec order.
pub(crate) fn verify(json: &[u8], expected: &Expected<'_>) -> Result<()> {
    let data: ClientData<'_> = match serde_json::from_slice(json) {
        Ok(data) => data,
        Err(_) => {
            return fail(
                ErrorCode::MalformedClientData,
                "clientDataJSON is not valid client data",
            )
        }
    };
    if data.type_ != expected.type_ {
        return fail(
            ErrorCode::TypeMismatch,
            format!("client data type is not {}", expected.type_),
        );
    }
    verify_challenge(&data.challenge, expected.challenge)?;
    if !expected.origins.iter().any(|o| *o == data.origin) {
        return fail(
            ErrorCode::OriginMismatch,
            "client data origin is not allowed",
        );
    }
    // We never embed the ceremony in a foreign frame, so crossOrigin (and with
    // it any topOrigin, which is only meaningful when crossOrigin is true) is refused.
    if data.cross_origin == Some(true) {
        return fail(
            ErrorCode::CrossOriginNotAllowed,
            "cross-origin ceremonies are not allowed",
        );
    }
    verify_token_binding(data.token_binding.as_ref())
}

/// We never negotiate Token Binding, so the only acceptable object is one
/// saying the client merely supports it; "present" (or a status outside the
/// spec's enum) would mean a binding we cannot honour.
fn verify_token_binding(token_binding: Option<&serde_json::Value>) -> Result<()> {
    match token_binding.and_then(|tb| tb.as_object()) {
        Some(tb) if tb.get("status").and_then(|s| s.as_str()) != Some("supported") => fail(
            ErrorCode::TokenBindingUnsupported,
            "token binding is not supported",
        ),
        _ => Ok(()),
    }
}

/// Compares bytes, not strings, so padding or alphabet quirks can't matter;
/// a challenge that is not base64url at all simply doesn't match.
fn verify_challenge(received: &str, expected: &[u8]) -> Result<()> {
    // Challenges are at most a few dozen bytes; a stack buffer avoids allocation.
    let mut buf = [0u8; 512];
    let trimmed = received.trim_end_matches('=');
    match URL_SAFE_NO_PAD.decode_slice(trimmed, &mut buf) {
        Ok(len) if buf.get(..len) == Some(expected) => Ok(()),
        _ => fail(
            ErrorCode::ChallengeMismatch,
            "client data challenge does not match",
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn origins() -> Vec<String> {
        vec![
            "https://example.com".into(),
            "android:apk-key-hash:abc".into(),
        ]
    }

    fn check(json: &str) -> Result<()> {
        let origins = origins();
        let expected = Expected {
            type_: TYPE_GET,
            challenge: b"hello",
            origins: &origins,
        };
        verify(json.as_bytes(), &expected)
    }

    fn code(json: &str) -> ErrorCode {
        check(json).unwrap_err().code
    }

    #[test]
    fn matching_client_data_passes() {
        check(r#"{"type":"webauthn.get","challenge":"aGVsbG8","origin":"https://example.com"}"#)
            .unwrap();
        check(
            r#"{"type":"webauthn.get","challenge":"aGVsbG8","origin":"android:apk-key-hash:abc"}"#,
        )
        .unwrap();
    }

    #[test]
    fn each_mismatch_has_its_own_code() {
        let wrong_type =
            r#"{"type":"webauthn.create","challenge":"aGVsbG8","origin":"https://example.com"}"#;
        assert_eq!(code(wrong_type), ErrorCode::TypeMismatch);
        let wrong_challenge =
            r#"{"type":"webauthn.get","challenge":"aGVsbG9v","origin":"https://example.com"}"#;
        assert_eq!(code(wrong_challenge), ErrorCode::ChallengeMismatch);
        let not_b64 =
            r#"{"type":"webauthn.get","challenge":"he!!o","origin":"https://example.com"}"#;
        assert_eq!(code(not_b64), ErrorCode::ChallengeMismatch);
        let wrong_origin =
            r#"{"type":"webauthn.get","challenge":"aGVsbG8","origin":"https://example.co"}"#;
        assert_eq!(code(wrong_origin), ErrorCode::OriginMismatch);
    }

    #[test]
    fn cross_origin_and_token_binding_present_are_refused() {
        let cross = r#"{"type":"webauthn.get","challenge":"aGVsbG8","origin":"https://example.com","crossOrigin":true}"#;
        assert_eq!(code(cross), ErrorCode::CrossOriginNotAllowed);
        let tb = r#"{"type":"webauthn.get","challenge":"aGVsbG8","origin":"https://example.com","tokenBinding":{"status":"present","id":"x"}}"#;
        assert_eq!(code(tb), ErrorCode::TokenBindingUnsupported);
    }

    #[test]
    fn token_binding_supported_or_a_bare_string_is_ignored() {
        check(r#"{"type":"webauthn.get","challenge":"aGVsbG8","origin":"https://example.com","tokenBinding":{"status":"supported"}}"#).unwrap();
        check(r#"{"type":"webauthn.get","challenge":"aGVsbG8","origin":"https://example.com","tokenBinding":"unused"}"#).unwrap();
        let odd = r#"{"type":"webauthn.get","challenge":"aGVsbG8","origin":"https://example.com","tokenBinding":{"status":"not-supported"}}"#;
        assert_eq!(code(odd), ErrorCode::TokenBindingUnsupported);
    }

    #[test]
    fn non_json_is_malformed() {
        assert_eq!(code("not json"), ErrorCode::MalformedClientData);
    }
}
