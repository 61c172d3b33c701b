//! WebAuthn conformance corpus: every vector in the shared `vectors.json` is
//! run through `verify_registration` / `verify_authentication` as the corpus
//! README prescribes, and our verdict (and reject code) must match the source
//! verdict, unless the vector is listed below with the reason we differ.
//! Those lists mirror `docs/conformance-policy.md`; keep the two in step.

use std::collections::HashMap;
use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use latchkey_core::clock::Timestamp;
use latchkey_core::webauthn::json::{AuthenticationResponseJson, RegistrationResponseJson};
use latchkey_core::webauthn::{
    pem_to_der, verify_authentication, verify_registration, AssertionCheck, AttestationPolicy,
    RegistrationCheck,
};
use latchkey_core::{Error, ErrorCode};
use serde_json::Value;

/// A verdict: accept, or reject with one of our codes.
type Verdict = Result<(), ErrorCode>;

/// Vectors whose verdict depends on policy, where ours differs from the
/// source's: (id, our verdict, why). Asserted exactly, so a change shows.
const POLICY_DIFFERS: &[(&str, Verdict, &str)] = &[
    ("swa-reg-validate-tpm-rsa-response-sha1", Err(ErrorCode::UnsupportedAlgorithm), "RS1 credential key refused as insecure"),
    ("swa-reg-verify-sha1-tpm-response", Err(ErrorCode::UnsupportedAlgorithm), "RS1 credential key refused as insecure"),
    ("go-reg-tpm-testtpmattestationverificationsuccess-testattestationtpmresp-2", Err(ErrorCode::UnsupportedAlgorithm), "RS1 credential key refused as insecure"),
    ("swa-reg-verify-packed-ec2-attestation", Err(ErrorCode::InvalidBase64), "placeholder id/rawId \"bbb\" is not the attested credential id (and not canonical base64url)"),
    ("swa-reg-verify-packed-x5c-attestation", Err(ErrorCode::InvalidBase64), "placeholder id/rawId \"aaa\" is not the attested credential id (and not canonical base64url)"),
    ("go-reg-apple-shouldsuccessfullyparseappleformat", Err(ErrorCode::RawIdMismatch), "rawId is not the attested credential id"),
    ("go-reg-spec-nonees256crossorigin", Err(ErrorCode::CrossOriginNotAllowed), "cross-origin ceremonies are always refused"),
    ("go-reg-spec-nonees256toporigin", Err(ErrorCode::CrossOriginNotAllowed), "cross-origin ceremonies are always refused"),
    ("go-aut-spec-nonees256crossorigin", Err(ErrorCode::CrossOriginNotAllowed), "cross-origin ceremonies are always refused"),
    ("go-aut-spec-nonees256toporigin", Err(ErrorCode::CrossOriginNotAllowed), "cross-origin ceremonies are always refused"),
    ("pyw-reg-verify-attestation-android-safetynet", Err(ErrorCode::InvalidAttestationStatement), "SafetyNet timestampMs must be within 60 s of now; it is 2.9 days after the pinned time"),
    ("swa-reg-verify-android-safetynet-attestation", Err(ErrorCode::InvalidAttestationStatement), "SafetyNet freshness is always checked (source set verifyTimestampMS: false)"),
    ("swa-reg-skip-cts-check-when-enforcement-option-is-false", Err(ErrorCode::InvalidAttestationStatement), "SafetyNet ctsProfileMatch is always enforced"),
    ("wrs-reg-win-hello-attest-tpm", Ok(()), "SHA-1 (RS1) is accepted for TPM attestation signatures, never for credential keys"),
];

/// Why a vector is not run at all, if it needs something we don't offer.
fn skip_reason(v: &Value) -> Option<&'static str> {
    let alg = v["alg"].as_str().unwrap_or("");
    let tags = tags(v);
    if v["verdict"] == "parse-only" {
        Some("parse-only: the source never verified it")
    } else if alg.starts_with("ML-DSA") {
        Some("ML-DSA credentials are not supported")
    } else if alg == "ES512" {
        Some("ES512 (P-521) is not supported by ring")
    } else if !v["expected"]["expected_type"].is_null() {
        Some("custom clientData.type expectations are not supported")
    } else if tags.contains(&"requires_crl_revocation_check") {
        Some("CRL revocation checking is not supported")
    } else {
        None
    }
}

fn tags(v: &Value) -> Vec<&str> {
    v["policy_tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The corpus's normalised reject reasons, as our codes.
fn reason_code(reason: &str) -> ErrorCode {
    match reason {
        "challenge_mismatch" => ErrorCode::ChallengeMismatch,
        "origin_mismatch" => ErrorCode::OriginMismatch,
        "rp_id_mismatch" => ErrorCode::RpIdMismatch,
        "type_mismatch" => ErrorCode::TypeMismatch,
        "bad_signature" => ErrorCode::BadSignature,
        "user_verification_required" => ErrorCode::UserVerificationRequired,
        "sign_count_not_increased" => ErrorCode::SignCountRegression,
        "untrusted_certificate_chain" => ErrorCode::UntrustedCertificateChain,
        "aaguid_extension_mismatch" => ErrorCode::AaguidMismatch,
        "cross_origin_not_allowed" => ErrorCode::CrossOriginNotAllowed,
        "raw_id_mismatch" => ErrorCode::RawIdMismatch,
        "unsupported_attestation_format" => ErrorCode::UnsupportedAttestationFormat,
        "malformed_attestation_object" => ErrorCode::MalformedAttestationObject,
        "token_binding_unsupported" => ErrorCode::TokenBindingUnsupported,
        "invalid_public_key" => ErrorCode::InvalidPublicKey,
        "insecure_algorithm_policy" => ErrorCode::UnsupportedAlgorithm,
        // Format-specific statement failures all surface as one code.
        "safetynet_cts_profile_mismatch"
        | "safetynet_timestamp_out_of_range"
        | "apple_nonce_mismatch"
        | "android_key_authorization_list" => ErrorCode::InvalidAttestationStatement,
        other => panic!("unmapped reject_reason {other}"),
    }
}

fn shared_dir() -> PathBuf {
    match std::env::var_os("LATCHKEY_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn load(name: &str) -> Value {
    let path = shared_dir().join("conformance").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "conformance corpus file {} is required: {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).unwrap()
}

/// A string or a list of strings.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_time(s: &str) -> Timestamp {
    Timestamp(
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis(),
    )
}

/// `fixed_time` when pinned; otherwise the middle of the x5c validity window
/// (the README's rule for expired fixtures, and deterministic for the rest);
/// otherwise a fixed date.
fn now_for(v: &Value) -> Timestamp {
    if let Some(t) = v["expected"]["fixed_time"].as_str() {
        return parse_time(t);
    }
    let window = &v["decoded"]["x5c_validity_window"];
    match (window["not_before"].as_str(), window["not_after"].as_str()) {
        (Some(a), Some(b)) => Timestamp((parse_time(a).0 + parse_time(b).0) / 2),
        _ => parse_time("2025-06-01T00:00:00Z"),
    }
}

/// The challenge bytes: canonical base64url decodes; the few that aren't are
/// compared as strings, which is what comparing their UTF-8 bytes amounts to.
fn challenge(v: &Value) -> Vec<u8> {
    let s = v["expected"]["challenge"].as_str().unwrap();
    if v["expected"]["challenge_is_canonical_base64url"] == true {
        b64(s)
    } else {
        s.as_bytes().to_vec()
    }
}

fn policy_for(v: &Value, anchors: &Value) -> AttestationPolicy {
    let e = &v["expected"];
    let kind = e["trust_anchor_policy"].as_str().unwrap_or("none");
    let mut trust_anchors = HashMap::new();
    if let Some(map) = e["trust_anchors"].as_object() {
        for (fmt, names) in map {
            let ders = strings(names)
                .iter()
                .map(|n| pem_to_der(anchors[n].as_str().unwrap()).unwrap())
                .collect();
            trust_anchors.insert(fmt.clone(), ders);
        }
    }
    AttestationPolicy {
        require_trusted: kind.starts_with("explicit") || kind.starts_with("library-defaults"),
        trust_anchors: std::sync::Arc::new(trust_anchors),
        allowed_aaguids: None,
    }
}

/// Runs the check once per acceptable RP ID: any acceptance wins; otherwise
/// the most specific failure (not rp_id_mismatch) is reported.
fn over_rp_ids(v: &Value, mut run: impl FnMut(&str) -> Result<(), Error>) -> Verdict {
    let mut errors = Vec::new();
    for rp_id in strings(&v["expected"]["rp_id"]) {
        match run(&rp_id) {
            Ok(()) => return Ok(()),
            Err(e) => errors.push(e.code),
        }
    }
    Err(errors
        .iter()
        .copied()
        .find(|c| *c != ErrorCode::RpIdMismatch)
        .unwrap_or(ErrorCode::RpIdMismatch))
}

/// Three py_webauthn TPM fixtures carry their attestationObject in standard
/// base64; the JSON API is base64url-only, so the test (not the verifier)
/// translates the alphabet to exercise the attestation itself.
fn to_base64url(credential: &Value) -> Value {
    let mut credential = credential.clone();
    if let Some(response) = credential["response"].as_object_mut() {
        for value in response.values_mut() {
            if let Some(s) = value.as_str() {
                *value = Value::String(
                    s.replace('+', "-")
                        .replace('/', "_")
                        .trim_end_matches('=')
                        .to_owned(),
                );
            }
        }
    }
    credential
}

fn run_registration(v: &Value, anchors: &Value) -> Verdict {
    let Ok(response) =
        serde_json::from_value::<RegistrationResponseJson>(to_base64url(&v["credential"]))
    else {
        return Err(ErrorCode::InvalidJson);
    };
    let e = &v["expected"];
    let (challenge, origins, policy) =
        (challenge(v), strings(&e["origin"]), policy_for(v, anchors));
    over_rp_ids(v, |rp_id| {
        let check = RegistrationCheck {
            challenge: &challenge,
            origins: &origins,
            rp_id,
            require_user_verification: e["require_user_verification"] == true,
            policy: &policy,
            now: now_for(v),
        };
        let out = verify_registration(&response, &check)?;
        compare_registration_outputs(v, &out);
        Ok(())
    })
}

fn compare_registration_outputs(v: &Value, out: &latchkey_core::webauthn::VerifiedRegistration) {
    let id = &v["id"];
    let o = &v["expected_outputs"];
    for key in ["credential_id", "credential.id"] {
        if let Some(cid) = o[key].as_str() {
            assert_eq!(b64(cid), out.credential_id, "{id}: credential id");
        }
    }
    for key in ["credential_public_key", "credential.publicKey"] {
        if let Some(pk) = o[key].as_str() {
            assert_eq!(b64(pk), out.public_key_cose, "{id}: public key");
        }
    }
    for key in ["sign_count", "credential.counter"] {
        if let Some(n) = o[key].as_u64() {
            assert_eq!(n, u64::from(out.sign_count), "{id}: sign count");
        }
    }
    if let Some(aaguid) = o["aaguid"].as_str() {
        let hex: String = out.aaguid.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(aaguid.replace('-', "").to_lowercase(), hex, "{id}: aaguid");
    }
    if let Some(fmt) = o["fmt"].as_str() {
        assert_eq!(fmt, out.fmt, "{id}: fmt");
    }
    if let Some(b) = o["backed_up"].as_bool() {
        assert_eq!(b, out.backup_state, "{id}: backed_up");
    }
    for key in ["user_verified", "userVerified"] {
        if let Some(b) = o[key].as_bool() {
            assert_eq!(b, out.user_verified, "{id}: user_verified");
        }
    }
}

fn run_authentication(v: &Value) -> Verdict {
    let Ok(response) =
        serde_json::from_value::<AuthenticationResponseJson>(v["credential"].clone())
    else {
        return Err(ErrorCode::InvalidJson);
    };
    let e = &v["expected"];
    let (challenge, origins) = (challenge(v), strings(&e["origin"]));
    let key = b64(e["credential_public_key"].as_str().unwrap_or(""));
    over_rp_ids(v, |rp_id| {
        let check = AssertionCheck {
            challenge: &challenge,
            origins: &origins,
            rp_id,
            require_user_verification: e["require_user_verification"] == true,
            public_key_cose: &key,
            stored_sign_count: e["stored_sign_count"].as_u64().unwrap_or(0) as u32,
        };
        let out = verify_authentication(&response, &check)?;
        let o = &v["expected_outputs"];
        if let Some(n) = o["new_sign_count"].as_u64() {
            assert_eq!(n, u64::from(out.sign_count), "{}: new sign count", v["id"]);
        }
        if let Some(b) = o["backed_up"].as_bool() {
            assert_eq!(b, out.backup_state, "{}: backed_up", v["id"]);
        }
        if let Some(b) = o["user_verified"].as_bool() {
            assert_eq!(b, out.user_verified, "{}: user_verified", v["id"]);
        }
        Ok(())
    })
}

fn source_verdict(v: &Value) -> Verdict {
    match v["reject_reason"].as_str() {
        _ if v["verdict"] == "accept" => Ok(()),
        Some(reason) => Err(reason_code(reason)),
        None => panic!("{}: reject without a reason", v["id"]),
    }
}

fn show(verdict: &Verdict) -> String {
    match verdict {
        Ok(()) => "accept".into(),
        Err(code) => format!("reject {code}"),
    }
}

#[test]
fn every_conformance_vector_matches_its_verdict_or_documented_policy() {
    let vectors = load("vectors.json");
    let anchors = load("trust_anchors.json");
    let vectors = vectors.as_array().unwrap();
    let (mut matched, mut differs, mut skipped, mut unexpected) = (0, 0, Vec::new(), Vec::new());
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        if let Some(reason) = skip_reason(v) {
            skipped.push(format!("{id}: {reason}"));
            continue;
        }
        let ours = match v["kind"].as_str() {
            Some("registration") => run_registration(v, &anchors),
            _ => run_authentication(v),
        };
        let documented = POLICY_DIFFERS.iter().find(|(pid, _, _)| *pid == id);
        let want = documented.map_or_else(|| source_verdict(v), |(_, verdict, _)| *verdict);
        match (ours == want, documented) {
            (true, Some(_)) => differs += 1,
            (true, None) => matched += 1,
            (false, _) => {
                unexpected.push(format!("{id}: want {} got {}", show(&want), show(&ours)))
            }
        }
    }
    println!("conformance: {} vectors, {matched} matched, {differs} policy-differs (documented), {} skipped", vectors.len(), skipped.len());
    for s in &skipped {
        println!("  skipped {s}");
    }
    for (id, verdict, why) in POLICY_DIFFERS {
        println!("  policy {id}: {} ({why})", show(verdict));
    }
    assert!(
        unexpected.is_empty(),
        "{} unexpected verdicts:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}
