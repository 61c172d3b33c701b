//! Authentication ceremonies through the HTTP API.

use latchkey_testkit::{Config, CounterMode, Flags, SoftAuthenticator, Tamper};
use serde_json::{json, Value};

use super::support::{Reply, TestApp, ORIGIN};

pub(super) async fn challenge(app: &TestApp, org: &str, body: Value) -> Value {
    app.post(&TestApp::url(org, "webauthn/challenge"), body)
        .await
        .expect_ok()
        .clone()
}

pub(super) async fn verify(app: &TestApp, org: &str, start: &Value, credential: Value) -> Reply {
    let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
    app.post(&TestApp::url(org, "webauthn/verify"), body).await
}

fn jwt_part(token: &str, i: usize) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(i).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn sign_in_by_username_issues_a_session_token_that_opens_protected_routes() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
    assert_eq!(start["publicKey"]["rpId"], "localhost");
    assert_eq!(
        start["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    let grant = verify(&app, &org.id, &start, credential).await;
    let body = grant.expect_ok();
    assert_eq!(body["tokenType"], "session");
    assert_eq!(body["user"]["role"], "super_admin");
    let token = body["token"].as_str().unwrap();
    let claims = jwt_part(token, 1);
    assert_eq!(claims["org"], org.id.as_str());
    assert_eq!(claims["aud"], "latchkey:session");
    assert!(claims["sid"].as_str().unwrap().starts_with("ses_"));
    assert_eq!(claims["amr"], json!(["hwk", "user"]));
    let kid = jwt_part(token, 0)["kid"].clone();
    let jwks = app
        .call(
            axum::http::Method::GET,
            "/.well-known/jwks.json",
            None,
            None,
        )
        .await;
    assert!(jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == kid));
    app.get_auth(&TestApp::url(&org.id, "webauthn/credentials"), token)
        .await
        .expect_ok();
}

#[tokio::test]
async fn usernameless_and_credential_id_sign_ins_work() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let start = challenge(&app, &org.id, json!({})).await;
    assert_eq!(start["publicKey"]["allowCredentials"], json!([]));
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    assert!(credential["response"]["userHandle"].is_string());
    verify(&app, &org.id, &start, credential).await.expect_ok();

    let id = org.admin.last_credential_id().unwrap();
    let start = challenge(&app, &org.id, json!({"credentialId": id})).await;
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    verify(&app, &org.id, &start, credential).await.expect_ok();
}

#[tokio::test]
async fn usernameless_sign_in_without_a_user_handle_is_refused() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let start = challenge(&app, &org.id, json!({})).await;
    let tamper = Tamper {
        omit_user_handle: true,
        ..Tamper::default()
    };
    let credential = org
        .admin
        .authenticate_with(&start["publicKey"], ORIGIN, &tamper)
        .unwrap();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(400, "user_handle_mismatch");
}

#[tokio::test]
async fn verify_refuses_tampered_assertions() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let no_uv = Flags {
        user_verified: false,
        ..Flags::default()
    };
    let cases: Vec<(Tamper, &str, &str)> = vec![
        (Tamper::default(), "http://evil.example", "origin_mismatch"),
        (
            Tamper::default(),
            "http://localhost:9999",
            "origin_mismatch",
        ),
        (
            Tamper {
                rp_id_for_hash: Some("evil.example".into()),
                ..Tamper::default()
            },
            ORIGIN,
            "rp_id_mismatch",
        ),
        (
            Tamper {
                challenge: Some("AAAA".into()),
                ..Tamper::default()
            },
            ORIGIN,
            "challenge_mismatch",
        ),
        (
            Tamper {
                client_data_type: Some("webauthn.create".into()),
                ..Tamper::default()
            },
            ORIGIN,
            "type_mismatch",
        ),
        (
            Tamper {
                flags: Some(no_uv),
                ..Tamper::default()
            },
            ORIGIN,
            "user_verification_required",
        ),
        (
            Tamper {
                corrupt_signature: true,
                ..Tamper::default()
            },
            ORIGIN,
            "bad_signature",
        ),
        (
            Tamper {
                cross_origin: true,
                ..Tamper::default()
            },
            ORIGIN,
            "cross_origin_not_allowed",
        ),
        (
            Tamper {
                user_handle: Some(vec![1, 2, 3]),
                ..Tamper::default()
            },
            ORIGIN,
            "user_handle_mismatch",
        ),
    ];
    for (tamper, origin, code) in cases {
        let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
        let credential = org
            .admin
            .authenticate_with(&start["publicKey"], origin, &tamper)
            .unwrap();
        verify(&app, &org.id, &start, credential)
            .await
            .expect_error(400, code);
    }
    // None of that damaged the credential: a clean sign-in still works.
    app.sign_in(&org.id, &org.admin, &org.admin_username).await;
}

#[tokio::test]
async fn an_authentication_ceremony_is_single_use_expiring_and_bound_to_its_org() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let other = app.org("Other").await;
    let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    verify(&app, &other.id, &start, credential.clone())
        .await
        .expect_error(404, "ceremony_not_found");
    verify(&app, &org.id, &start, credential.clone())
        .await
        .expect_ok();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(409, "ceremony_already_used");

    let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
    app.clock.advance_secs(301);
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(410, "ceremony_expired");
}

#[tokio::test]
async fn an_altered_ceremony_id_is_not_found_and_a_failed_attempt_spends_the_ceremony() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    let id = start["ceremonyId"].as_str().unwrap();
    let (head, body) = id.split_once('.').unwrap();
    let other = challenge(&app, &org.id, json!({})).await;
    let other_head = other["ceremonyId"]
        .as_str()
        .unwrap()
        .split_once('.')
        .unwrap()
        .0;
    let mut flipped = body.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        format!("{other_head}.{body}"),
        format!("{head}.{flipped}"),
        head.to_owned(),
        format!("{id}A"),
    ] {
        verify(
            &app,
            &org.id,
            &json!({"ceremonyId": bad}),
            credential.clone(),
        )
        .await
        .expect_error(404, "ceremony_not_found");
    }
    // None of those touched the real ceremony; a failed attempt at it does.
    let wrong_origin = org
        .admin
        .authenticate(&start["publicKey"], "http://evil.example")
        .unwrap();
    verify(&app, &org.id, &start, wrong_origin)
        .await
        .expect_error(400, "origin_mismatch");
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(409, "ceremony_already_used");
}

#[tokio::test]
async fn the_same_ceremony_verified_concurrently_succeeds_exactly_once() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    for _ in 0..3 {
        let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
        let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
        let attempts = (0..8).map(|_| verify(&app, &org.id, &start, credential.clone()));
        let replies = futures::future::join_all(attempts).await;
        let ok = replies.iter().filter(|r| r.status.is_success()).count();
        assert_eq!(ok, 1);
        assert!(replies
            .iter()
            .filter(|r| !r.status.is_success())
            .all(|r| r.code() == "ceremony_already_used"));
    }
    // No twin read the winner's counter as a regression: the passkey is not flagged.
    let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    verify(&app, &org.id, &start, credential).await.expect_ok();
}

#[tokio::test]
async fn only_the_offered_passkey_completes_a_ceremony_begun_for_one() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let first = org.admin.last_credential_id().unwrap();
    // The admin's second passkey, on another device.
    let phone = SoftAuthenticator::new();
    app.register(&org.id, &phone, json!({}), Some(&org.admin_token))
        .await
        .expect_ok();
    let start = challenge(&app, &org.id, json!({"credentialId": first})).await;
    let not_offered = Tamper {
        credential: phone.last_credential_id(),
        ..Tamper::default()
    };
    let credential = phone
        .authenticate_with(&start["publicKey"], ORIGIN, &not_offered)
        .unwrap();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(400, "credential_not_allowed");
    let start = challenge(&app, &org.id, json!({"credentialId": first})).await;
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    verify(&app, &org.id, &start, credential).await.expect_ok();
}

#[tokio::test]
async fn a_credential_of_another_user_cannot_complete_a_ceremony_begun_for_a_user() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let bob = app
        .invite_and_enrol(&org, "bob@acme.example", "member")
        .await;
    let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
    let tamper = Tamper {
        credential: bob.last_credential_id(),
        ..Tamper::default()
    };
    let credential = bob
        .authenticate_with(&start["publicKey"], ORIGIN, &tamper)
        .unwrap();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(400, "credential_user_mismatch");
}

#[tokio::test]
async fn unknown_users_and_unknown_credentials_get_no_token_and_no_hint() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    // An unknown username gets a ceremony that looks like any other.
    let start = challenge(&app, &org.id, json!({"username": "nobody@acme.example"})).await;
    assert!(start["ceremonyId"].is_string());
    let stranger = SoftAuthenticator::new();
    let reg = json!({"rp": {"id": "localhost", "name": "x"}, "user": {"id": "AAAA", "name": "x", "displayName": "x"},
        "challenge": "AAAA", "pubKeyCredParams": [{"type": "public-key", "alg": -7}]});
    stranger.register(&reg, ORIGIN).unwrap();
    let credential = stranger.authenticate(&start["publicKey"], ORIGIN).unwrap();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(404, "credential_not_found");

    let start = challenge(&app, &org.id, json!({})).await;
    let credential = stranger.authenticate(&start["publicKey"], ORIGIN).unwrap();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(404, "credential_not_found");
}

#[tokio::test]
async fn a_credential_of_another_org_is_unknown_here() {
    let app = TestApp::new().await;
    let acme = app.org("Acme").await;
    let other = app.org("Other").await;
    let start = challenge(&app, &other.id, json!({})).await;
    let credential = acme.admin.authenticate(&start["publicKey"], ORIGIN);
    // The authenticator only holds an RP-ID-scoped credential; both orgs use localhost.
    let credential = credential.unwrap();
    verify(&app, &other.id, &start, credential)
        .await
        .expect_error(404, "credential_not_found");
}

#[tokio::test]
async fn a_sign_count_regression_flags_the_credential_as_cloned_and_refuses_it() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let id = org.admin.last_credential_id().unwrap();
    app.sign_in(&org.id, &org.admin, &org.admin_username).await;
    let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
    let tamper = Tamper {
        counter: Some(1),
        ..Tamper::default()
    };
    let credential = org
        .admin
        .authenticate_with(&start["publicKey"], ORIGIN, &tamper)
        .unwrap();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(403, "sign_count_regression");

    // Even a well-behaved assertion is now refused until an admin acts.
    let again = app
        .authenticate(&org.id, &org.admin, json!({"username": org.admin_username}))
        .await;
    again.expect_error(403, "credential_possibly_cloned");
    let list = app
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials/all"),
            &org.admin_token,
        )
        .await;
    let cred = list.expect_ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["credentialId"] == id.as_str())
        .cloned();
    assert_eq!(cred.unwrap()["possiblyCloned"], true);
}

#[tokio::test]
async fn zero_counters_from_synced_passkeys_are_accepted() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let synced = SoftAuthenticator::with_config(
        Config::default()
            .flags(Flags::synced())
            .counter_mode(CounterMode::AlwaysZero),
    );
    let url = TestApp::url(&org.id, "webauthn/register/init");
    let start = app
        .post_auth(&url, json!({}), &org.admin_token)
        .await
        .expect_ok()
        .clone();
    let credential = synced.register(&start["publicKey"], ORIGIN).unwrap();
    let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
    app.post(&TestApp::url(&org.id, "webauthn/register/complete"), body)
        .await
        .expect_ok();
    for _ in 0..3 {
        app.sign_in(&org.id, &synced, &org.admin_username).await;
    }
}

#[tokio::test]
async fn a_verification_token_states_possession_for_a_payload_without_opening_a_session() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let payload = json!({"type": "payout.create", "amount": 1200, "currency": "EUR"});
    let start = challenge(
        &app,
        &org.id,
        json!({"username": org.admin_username, "payload": payload}),
    )
    .await;
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential, "tokenType": "verification"});
    let grant = app
        .post(&TestApp::url(&org.id, "webauthn/verify"), body)
        .await;
    let token = grant.expect_ok()["token"].as_str().unwrap().to_owned();
    assert_eq!(grant.body["tokenType"], "verification");
    assert_eq!(jwt_part(&token, 0)["typ"], "lk-verification+jwt");
    let claims = jwt_part(&token, 1);
    assert_eq!(claims["aud"], "latchkey:verification");
    assert_eq!(
        claims["req"],
        latchkey_core::challenge::payload_hash(&payload)
    );
    assert_eq!(claims["chal"], start["publicKey"]["challenge"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    // It is not a session.
    let reply = app
        .get_auth(&TestApp::url(&org.id, "webauthn/credentials"), &token)
        .await;
    reply.expect_error(401, "invalid_token");
}

#[tokio::test]
async fn sign_count_and_backup_state_are_updated_on_every_sign_in() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let eligible = Flags {
        backup_eligible: true,
        ..Flags::default()
    };
    let authn = SoftAuthenticator::with_config(Config::default().flags(eligible));
    app.register(&org.id, &authn, json!({}), Some(&org.admin_token))
        .await
        .expect_ok();
    authn.set_flags(Flags::synced());
    app.clock.advance_secs(60);
    app.sign_in(&org.id, &authn, &org.admin_username).await;
    let list = app
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials"),
            &org.admin_token,
        )
        .await;
    let id = authn.last_credential_id().unwrap();
    let items = list.expect_ok()["items"].as_array().unwrap().clone();
    let cred = items
        .iter()
        .find(|c| c["credentialId"] == id.as_str())
        .unwrap();
    assert_eq!(
        (
            cred["backupEligible"].as_bool(),
            cred["backupState"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(cred["signCount"], 2);
    assert_eq!(cred["lastUsedAt"], "2026-11-22T12:01:00.000Z");
}

#[tokio::test]
async fn challenges_are_refused_before_passkeys_are_active() {
    let app = TestApp::new().await;
    let (org, _) = app
        .create_org(
            "Acme",
            "alice@acme.example",
            latchkey_core::model::RegistrationMode::Invite,
        )
        .await;
    app.post(&TestApp::url(&org, "webauthn/challenge"), json!({}))
        .await
        .expect_error(403, "passkeys_inactive");
}

#[tokio::test]
async fn a_counting_credential_that_falls_back_to_zero_is_a_regression() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let start = challenge(&app, &org.id, json!({"username": org.admin_username})).await;
    let tamper = Tamper {
        counter: Some(0),
        ..Tamper::default()
    };
    let credential = org
        .admin
        .authenticate_with(&start["publicKey"], ORIGIN, &tamper)
        .unwrap();
    verify(&app, &org.id, &start, credential)
        .await
        .expect_error(403, "sign_count_regression");
}
