//! Reading `PublicKeyCredentialCreationOptionsJSON` and
//! `PublicKeyCredentialRequestOptionsJSON` the way a browser's
//! `PublicKeyCredential.parseCreationOptionsFromJSON()` would, keeping only
//! what the authenticator acts on. Bad input is an error, never a panic: the
//! load generator feeds server output straight in.

use serde_json::Value;

use crate::error::{AuthenticatorError, Result};
use crate::keys::COSE_ES256;

/// COSE RS256: the other default when `pubKeyCredParams` is empty (§5.1.3 step 10).
const COSE_RS256: i64 = -257;

#[derive(Debug, Clone)]
pub struct CreationOptions {
    pub rp_id: String,
    pub user_id: Vec<u8>,
    pub user_name: Option<String>,
    pub challenge: Vec<u8>,
    /// COSE algorithms of the `public-key` entries, in the RP's order of preference.
    pub algs: Vec<i64>,
    pub exclude: Vec<Vec<u8>>,
    pub cred_props: bool,
}

#[derive(Debug, Clone)]
pub struct RequestOptions {
    pub rp_id: String,
    pub challenge: Vec<u8>,
    pub allow: Vec<Vec<u8>>,
}

/// Accepts either the `publicKey` object itself or a wrapper holding it
/// (`{"publicKey": {...}}`, as `navigator.credentials.create()` takes).
fn unwrap_public_key(options: &Value) -> Result<&serde_json::Map<String, Value>> {
    let inner = match options.get("publicKey") {
        Some(pk) => pk,
        None => options,
    };
    inner
        .as_object()
        .ok_or_else(|| AuthenticatorError::bad_options("options must be a JSON object"))
}

fn b64(field: &str, value: Option<&Value>) -> Result<Vec<u8>> {
    let s = value.and_then(Value::as_str).ok_or_else(|| {
        AuthenticatorError::bad_options(format!("{field} is missing or not a string"))
    })?;
    latchkey_core::webauthn::json::b64url_decode(field, s)
        .map_err(|_| AuthenticatorError::bad_options(format!("{field} is not valid base64url")))
}

/// The ids of a list of `PublicKeyCredentialDescriptorJSON` (other types skipped).
fn descriptor_ids(field: &str, value: Option<&Value>) -> Result<Vec<Vec<u8>>> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let list = value
        .as_array()
        .ok_or_else(|| AuthenticatorError::bad_options(format!("{field} must be an array")))?;
    let mut ids = Vec::with_capacity(list.len());
    for d in list {
        if d.get("type")
            .and_then(Value::as_str)
            .unwrap_or("public-key")
            != "public-key"
        {
            continue;
        }
        ids.push(b64(&format!("{field}[].id"), d.get("id"))?);
    }
    Ok(ids)
}

/// The effective domain of an origin (`https://a.example:8443/x` → `a.example`),
/// the client's default RP ID when the options name none.
pub fn origin_host(origin: &str) -> Option<String> {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn rp_id_or_origin(explicit: Option<&str>, origin: &str) -> Result<String> {
    match explicit {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => origin_host(origin).ok_or_else(|| {
            AuthenticatorError::bad_options(format!(
                "no rp id given and none derivable from origin {origin:?}"
            ))
        }),
    }
}

pub fn parse_creation(options: &Value, origin: &str) -> Result<CreationOptions> {
    let o = unwrap_public_key(options)?;
    let challenge = b64("challenge", o.get("challenge"))?;
    let rp_id = rp_id_or_origin(
        o.get("rp")
            .and_then(|rp| rp.get("id"))
            .and_then(Value::as_str),
        origin,
    )?;
    let user = o
        .get("user")
        .ok_or_else(|| AuthenticatorError::bad_options("user is missing"))?;
    let user_id = b64("user.id", user.get("id"))?;
    if user_id.is_empty() || user_id.len() > 64 {
        // §5.4.3: a user handle is 1..=64 bytes; browsers reject others with a TypeError.
        return Err(AuthenticatorError::bad_options(
            "user.id must be 1 to 64 bytes",
        ));
    }
    let user_name = user.get("name").and_then(Value::as_str).map(str::to_owned);

    let mut algs = Vec::new();
    match o.get("pubKeyCredParams") {
        None | Some(Value::Null) => {}
        Some(Value::Array(params)) => {
            for p in params {
                if p.get("type").and_then(Value::as_str) != Some("public-key") {
                    continue;
                }
                let alg = p.get("alg").and_then(Value::as_i64).ok_or_else(|| {
                    AuthenticatorError::bad_options("pubKeyCredParams[].alg must be an integer")
                })?;
                algs.push(alg);
            }
        }
        Some(_) => {
            return Err(AuthenticatorError::bad_options(
                "pubKeyCredParams must be an array",
            ))
        }
    }
    if algs.is_empty() {
        algs = vec![COSE_ES256, COSE_RS256];
    }

    let cred_props = o
        .get("extensions")
        .and_then(|e| e.get("credProps"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(CreationOptions {
        rp_id,
        user_id,
        user_name,
        challenge,
        algs,
        exclude: descriptor_ids("excludeCredentials", o.get("excludeCredentials"))?,
        cred_props,
    })
}

pub fn parse_request(options: &Value, origin: &str) -> Result<RequestOptions> {
    let o = unwrap_public_key(options)?;
    Ok(RequestOptions {
        challenge: b64("challenge", o.get("challenge"))?,
        rp_id: rp_id_or_origin(o.get("rpId").and_then(Value::as_str), origin)?,
        allow: descriptor_ids("allowCredentials", o.get("allowCredentials"))?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn origin_hosts() {
        assert_eq!(
            origin_host("https://login.example.com").as_deref(),
            Some("login.example.com")
        );
        assert_eq!(
            origin_host("http://localhost:8080/x").as_deref(),
            Some("localhost")
        );
        assert_eq!(origin_host("https://[::1]:443").as_deref(), Some("::1"));
        assert_eq!(origin_host("https://"), None);
    }

    #[test]
    fn bad_options_are_errors_not_panics() {
        let origin = "https://example.com";
        for bad in [
            serde_json::json!(null),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!({"challenge": "!!", "user": {"id": "AQ"}}),
            serde_json::json!({"challenge": "AQ", "user": {"id": ""}}),
            serde_json::json!({"challenge": "AQ", "user": {"id": "AQ"}, "pubKeyCredParams": {}}),
            serde_json::json!({"challenge": "AQ", "user": {"id": "AQ"}, "excludeCredentials": [{"id": 5}]}),
        ] {
            assert!(parse_creation(&bad, origin).is_err(), "{bad}");
        }
        assert!(parse_request(&serde_json::json!({"challenge": 1}), origin).is_err());
        assert!(parse_request(&serde_json::json!({"challenge": "AQ"}), "").is_err());
    }

    #[test]
    fn defaults_follow_the_spec() {
        let o = serde_json::json!({"publicKey": {"challenge": "AQID", "user": {"id": "AQ"}}});
        let c = parse_creation(&o, "https://rp.example:8443").unwrap();
        assert_eq!(c.rp_id, "rp.example");
        assert_eq!(c.algs, vec![-7, -257]);
        assert_eq!(c.challenge, vec![1, 2, 3]);
    }
}
