//! Session tokens on protected routes: logout, expiry, revocation by
//! credential deletion, foreign orgs, forged tokens.

use axum::http::Method;
use latchkey_testkit::SoftAuthenticator;
use serde_json::json;

use super::support::TestApp;

#[tokio::test]
async fn logout_ends_the_session_server_side() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let url = TestApp::url(&org.id, "webauthn/credentials");
    app.get_auth(&url, &org.admin_token).await.expect_ok();
    let out = app
        .call(
            Method::POST,
            &TestApp::url(&org.id, "sessions/logout"),
            None,
            Some(&org.admin_token),
        )
        .await;
    assert_eq!(out.status.as_u16(), 204, "{}", out.body);
    app.get_auth(&url, &org.admin_token)
        .await
        .expect_error(401, "session_revoked");
}

#[tokio::test]
async fn an_expired_session_token_is_refused() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    app.clock.advance_secs(12 * 3600 + 1);
    let reply = app
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials"),
            &org.admin_token,
        )
        .await;
    reply.expect_error(401, "token_expired");
}

#[tokio::test]
async fn a_token_of_another_org_is_refused_everywhere_else() {
    let app = TestApp::new().await;
    let acme = app.org("Acme").await;
    let other = app.org("Other").await;
    for path in [
        "webauthn/credentials",
        "webauthn/credentials/all",
        "users",
        "settings",
    ] {
        let reply = app
            .get_auth(&TestApp::url(&other.id, path), &acme.admin_token)
            .await;
        reply.expect_error(403, "wrong_organization");
    }
    let out = app
        .call(
            Method::POST,
            &TestApp::url(&other.id, "sessions/logout"),
            None,
            Some(&acme.admin_token),
        )
        .await;
    out.expect_error(403, "wrong_organization");
    // And it still works at home.
    app.get_auth(
        &TestApp::url(&acme.id, "webauthn/credentials"),
        &acme.admin_token,
    )
    .await
    .expect_ok();
}

#[tokio::test]
async fn missing_malformed_and_forged_tokens_are_refused() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let url = TestApp::url(&org.id, "webauthn/credentials");
    app.call(Method::GET, &url, None, None)
        .await
        .expect_error(401, "unauthenticated");
    app.get_auth(&url, "not-a-jwt")
        .await
        .expect_error(401, "invalid_token");
    // Same header and claims, someone else's signature.
    let mut parts: Vec<String> = org.admin_token.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    app.get_auth(&url, &parts.join("."))
        .await
        .expect_error(401, "invalid_token");
    // A token for another admin can't be made by editing the payload.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("usr_someoneelse");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        org.admin_token.split('.').nth(2).unwrap()
    );
    app.get_auth(&url, &forged)
        .await
        .expect_error(401, "invalid_token");
}

#[tokio::test]
async fn deleting_a_credential_revokes_the_sessions_it_created() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let second = SoftAuthenticator::new();
    app.register(&org.id, &second, json!({}), Some(&org.admin_token))
        .await
        .expect_ok();
    let second_token = app.sign_in(&org.id, &second, &org.admin_username).await;
    let id = second.last_credential_id().unwrap();
    let del = app
        .call(
            Method::DELETE,
            &TestApp::url(&org.id, &format!("webauthn/credentials/{id}")),
            None,
            Some(&org.admin_token),
        )
        .await;
    assert_eq!(del.status.as_u16(), 204, "{}", del.body);
    let url = TestApp::url(&org.id, "webauthn/credentials");
    app.get_auth(&url, &second_token)
        .await
        .expect_error(401, "session_revoked");
    app.get_auth(&url, &org.admin_token).await.expect_ok();
}

#[tokio::test]
async fn a_suspended_user_can_neither_use_a_session_nor_sign_in() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let bob = app
        .invite_and_enrol(&org, "bob@acme.example", "member")
        .await;
    let bob_token = app.sign_in(&org.id, &bob, "bob@acme.example").await;
    let bob_id = app
        .get_auth(&TestApp::url(&org.id, "webauthn/credentials"), &bob_token)
        .await
        .body["items"][0]["userId"]
        .clone();
    let path = TestApp::url(&org.id, &format!("users/{}", bob_id.as_str().unwrap()));
    app.call(
        Method::PATCH,
        &path,
        Some(json!({"status": "suspended"})),
        Some(&org.admin_token),
    )
    .await
    .expect_ok();
    // Suspension revokes the sessions outright.
    app.get_auth(&TestApp::url(&org.id, "webauthn/credentials"), &bob_token)
        .await
        .expect_error(401, "session_revoked");
    let reply = app
        .authenticate(&org.id, &bob, json!({"username": "bob@acme.example"}))
        .await;
    reply.expect_error(403, "user_suspended");
}
