//! Malformed input: every bad request gets a JSON error with a stable code
//! and a 4xx status, and changes nothing.

use axum::body::Body;
use axum::http::Request;
use latchkey_core::webauthn::json::{b64url_decode, b64url_encode};
use latchkey_testkit::SoftAuthenticator;
use serde_json::{json, Value};

use super::support::{TestApp, ORIGIN};

/// Starts a registration as the org's admin, lets `damage` spoil the response, completes it.
async fn complete_damaged(
    app: &TestApp,
    org: &super::support::Org,
    damage: impl Fn(&mut Value),
) -> super::support::Reply {
    let url = TestApp::url(&org.id, "webauthn/register/init");
    let start = app
        .post_auth(&url, json!({}), &org.admin_token)
        .await
        .expect_ok()
        .clone();
    let mut credential = SoftAuthenticator::new()
        .register(&start["publicKey"], ORIGIN)
        .unwrap();
    damage(&mut credential);
    let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
    app.post(&TestApp::url(&org.id, "webauthn/register/complete"), body)
        .await
}

#[tokio::test]
async fn malformed_base64_cbor_and_client_data_are_refused_with_their_codes() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let set = |field: &'static str, value: &'static str| {
        move |c: &mut Value| c["response"][field] = json!(value)
    };
    complete_damaged(&app, &org, set("attestationObject", "***not base64***"))
        .await
        .expect_error(400, "invalid_base64");
    // A CBOR map header followed by junk.
    complete_damaged(&app, &org, set("attestationObject", "v2FhYmFi"))
        .await
        .expect_error(400, "malformed_attestation_object");
    // "not json"
    complete_damaged(&app, &org, set("clientDataJSON", "bm90IGpzb24"))
        .await
        .expect_error(400, "malformed_client_data");
    let trailing = |c: &mut Value| {
        let ao = c["response"]["attestationObject"].as_str().unwrap();
        let mut raw = b64url_decode("ao", ao).unwrap();
        raw.push(0);
        c["response"]["attestationObject"] = json!(b64url_encode(&raw));
    };
    complete_damaged(&app, &org, trailing)
        .await
        .expect_error(400, "malformed_attestation_object");
    let wrong_type = |c: &mut Value| c["type"] = json!("password");
    complete_damaged(&app, &org, wrong_type)
        .await
        .expect_error(400, "type_mismatch");
    // Nothing was stored by any of these.
    let list = app
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials"),
            &org.admin_token,
        )
        .await;
    assert_eq!(list.expect_ok()["total"], 1);
}

#[tokio::test]
async fn bodies_that_are_not_the_expected_json_are_refused() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let url = TestApp::url(&org.id, "webauthn/verify");
    let raw = |body: &str, ct: &str| {
        Request::post(&url)
            .header("content-type", ct)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    app.raw(raw("{not json", "application/json"))
        .await
        .expect_error(400, "invalid_json");
    app.raw(raw("{\"ceremonyId\": 5}", "application/json"))
        .await
        .expect_error(400, "invalid_json");
    app.raw(raw("{}", "text/plain"))
        .await
        .expect_error(400, "unsupported_media_type");
    let huge = format!("{{\"ceremonyId\": \"{}\"}}", "a".repeat(200_000));
    app.raw(raw(&huge, "application/json"))
        .await
        .expect_error(413, "payload_too_large");
    let bad_id = json!({"ceremonyId": "nope", "credential": {"id": "", "rawId": "", "type": "public-key",
        "response": {"clientDataJSON": "", "authenticatorData": "", "signature": ""}}});
    app.post(&url, bad_id)
        .await
        .expect_error(404, "ceremony_not_found");
}

#[tokio::test]
async fn unknown_orgs_and_bad_org_ids_are_not_found() {
    let app = TestApp::new().await;
    app.post(
        "/api/v1/organizations/org_doesnotexist/webauthn/challenge",
        json!({}),
    )
    .await
    .expect_error(404, "org_not_found");
    app.post(
        "/api/v1/organizations/usr_wrongprefix/webauthn/challenge",
        json!({}),
    )
    .await
    .expect_error(404, "org_not_found");
}
