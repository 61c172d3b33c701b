//! End-to-end checks of the software authenticator against an independent,
//! minimal relying-party parse written here with the `p256` and
//! `ed25519-dalek` *verifiers*: if these pass, a correct server verifier will
//! accept the untampered responses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ceremonies;
mod state;

use ciborium::value::Value as Cbor;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::*;
use latchkey_core::webauthn::json::b64url_decode;

const ORIGIN: &str = "https://login.example.com";
const RP: &str = "login.example.com";

fn b64(v: &Value) -> Vec<u8> {
    b64url_decode("test", v.as_str().expect("string")).unwrap()
}

fn creation(user: &[u8], algs: &[i64]) -> Value {
    let params: Vec<Value> = algs
        .iter()
        .map(|a| json!({"type": "public-key", "alg": a}))
        .collect();
    json!({
        "rp": {"id": RP, "name": "Example"},
        "user": {"id": latchkey_core::webauthn::json::b64url_encode(user), "name": "u", "displayName": "U"},
        "challenge": "cmVnLWNoYWxsZW5nZQ",
        "pubKeyCredParams": params,
        "excludeCredentials": [],
        "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
        "attestation": "none",
    })
}

fn request(allow: &[String]) -> Value {
    let allow: Vec<Value> = allow
        .iter()
        .map(|id| json!({"type": "public-key", "id": id}))
        .collect();
    json!({"challenge": "Z2V0LWNoYWxsZW5nZQ", "rpId": RP, "allowCredentials": allow, "userVerification": "preferred"})
}

struct AuthData {
    rp_id_hash: Vec<u8>,
    flags: u8,
    counter: u32,
    aaguid: Vec<u8>,
    cred_id: Vec<u8>,
    cose: Vec<u8>,
}

fn parse_auth_data(ad: &[u8]) -> AuthData {
    let mut out = AuthData {
        rp_id_hash: ad[..32].to_vec(),
        flags: ad[32],
        counter: u32::from_be_bytes(ad[33..37].try_into().unwrap()),
        aaguid: Vec::new(),
        cred_id: Vec::new(),
        cose: Vec::new(),
    };
    if out.flags & FLAG_AT != 0 {
        out.aaguid = ad[37..53].to_vec();
        let len = u16::from_be_bytes([ad[53], ad[54]]) as usize;
        out.cred_id = ad[55..55 + len].to_vec();
        let mut rest = &ad[55 + len..];
        let _: Cbor = ciborium::from_reader(&mut rest).unwrap();
        assert!(rest.is_empty(), "trailing bytes after the COSE key");
        out.cose = ad[55 + len..].to_vec();
    } else {
        assert_eq!(ad.len(), 37);
    }
    out
}

fn map_get<'a>(map: &'a Cbor, key: &Cbor) -> &'a Cbor {
    map.as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap()
}

fn int(i: i64) -> Cbor {
    Cbor::Integer(i.into())
}

/// Verifies `sig` over `msg` with the COSE public key, as an RP would.
fn cose_verify(cose: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let key: Cbor = ciborium::from_reader(cose).unwrap();
    let alg: i64 = map_get(&key, &int(3))
        .as_integer()
        .unwrap()
        .try_into()
        .unwrap();
    let x = map_get(&key, &int(-2)).as_bytes().unwrap().clone();
    match alg {
        -7 => {
            use p256::ecdsa::signature::Verifier;
            let y = map_get(&key, &int(-3)).as_bytes().unwrap();
            let point = [&[0x04u8][..], &x, y].concat();
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
            // WebAuthn ES256 signatures are DER; a raw r||s would fail here.
            let Ok(sig) = p256::ecdsa::Signature::from_der(sig) else {
                return false;
            };
            vk.verify(msg, &sig).is_ok()
        }
        -8 => {
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
            let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
                return false;
            };
            vk.verify_strict(msg, &sig).is_ok()
        }
        other => unreachable!("alg {other}"),
    }
}

fn signed_message(auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
    [auth_data, &Sha256::digest(client_data)[..]].concat()
}

fn assertion_verifies(cose: &[u8], resp: &Value) -> bool {
    let r = &resp["response"];
    let msg = signed_message(&b64(&r["authenticatorData"]), &b64(&r["clientDataJSON"]));
    cose_verify(cose, &msg, &b64(&r["signature"]))
}

/// Registers and returns (response, COSE key from authData).
fn register(authn: &SoftAuthenticator, user: &[u8]) -> (Value, Vec<u8>) {
    let resp = authn
        .register(&creation(user, &[-7, -8, -257]), ORIGIN)
        .unwrap();
    let att: Cbor =
        ciborium::from_reader(&b64(&resp["response"]["attestationObject"])[..]).unwrap();
    let ad = map_get(&att, &Cbor::Text("authData".into()))
        .as_bytes()
        .unwrap()
        .clone();
    (resp.clone(), parse_auth_data(&ad).cose)
}

fn counter_of(resp: &Value) -> u32 {
    parse_auth_data(&b64(&resp["response"]["authenticatorData"])).counter
}
