//! Passkey management: list (paginated), list all (admins), rename, delete
//! with the last-passkey guard; role checks.

use axum::http::Method;
use latchkey_testkit::SoftAuthenticator;
use serde_json::json;

use super::support::TestApp;

#[tokio::test]
async fn my_passkeys_are_paginated_with_a_total() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    for _ in 0..4 {
        app.register(
            &org.id,
            &SoftAuthenticator::new(),
            json!({}),
            Some(&org.admin_token),
        )
        .await
        .expect_ok();
    }
    let url = TestApp::url(&org.id, "webauthn/credentials?page=2&per_page=2");
    let page = app.get_auth(&url, &org.admin_token).await;
    let body = page.expect_ok();
    assert_eq!(body["total"], 5);
    assert_eq!(body["page"], 2);
    assert_eq!(body["perPage"], 2);
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let last = app
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials?page=3&per_page=2"),
            &org.admin_token,
        )
        .await;
    assert_eq!(last.body["items"].as_array().unwrap().len(), 1);
    let bad = app
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials?per_page=1000"),
            &org.admin_token,
        )
        .await;
    bad.expect_error(400, "invalid_request");
}

#[tokio::test]
async fn only_admins_list_every_passkey_of_the_org() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let bob = app
        .invite_and_enrol(&org, "bob@acme.example", "member")
        .await;
    let bob_token = app.sign_in(&org.id, &bob, "bob@acme.example").await;
    let all = TestApp::url(&org.id, "webauthn/credentials/all");
    app.get_auth(&all, &bob_token)
        .await
        .expect_error(403, "forbidden");
    let list = app.get_auth(&all, &org.admin_token).await;
    assert_eq!(list.expect_ok()["total"], 2);
    let mine = app
        .get_auth(&TestApp::url(&org.id, "webauthn/credentials"), &bob_token)
        .await;
    assert_eq!(mine.expect_ok()["total"], 1);
}

#[tokio::test]
async fn a_passkey_can_be_renamed_by_its_owner_only() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let id = org.admin.last_credential_id().unwrap();
    let path = TestApp::url(&org.id, &format!("webauthn/credentials/{id}"));
    let renamed = app
        .call(
            Method::PATCH,
            &path,
            Some(json!({"name": "Work laptop"})),
            Some(&org.admin_token),
        )
        .await;
    assert_eq!(renamed.expect_ok()["name"], "Work laptop");
    let list = app
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials"),
            &org.admin_token,
        )
        .await;
    assert_eq!(list.body["items"][0]["name"], "Work laptop");
    let empty = app
        .call(
            Method::PATCH,
            &path,
            Some(json!({"name": "  "})),
            Some(&org.admin_token),
        )
        .await;
    empty.expect_error(400, "invalid_request");

    let bob = app
        .invite_and_enrol(&org, "bob@acme.example", "member")
        .await;
    let bob_token = app.sign_in(&org.id, &bob, "bob@acme.example").await;
    let theirs = app
        .call(
            Method::PATCH,
            &path,
            Some(json!({"name": "mine now"})),
            Some(&bob_token),
        )
        .await;
    theirs.expect_error(404, "credential_not_found");
    let del = app
        .call(Method::DELETE, &path, None, Some(&bob_token))
        .await;
    del.expect_error(404, "credential_not_found");
}

#[tokio::test]
async fn the_last_passkey_is_deleted_only_by_an_admin_override() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let bob = app
        .invite_and_enrol(&org, "bob@acme.example", "member")
        .await;
    let bob_token = app.sign_in(&org.id, &bob, "bob@acme.example").await;
    let id = bob.last_credential_id().unwrap();
    let path = TestApp::url(&org.id, &format!("webauthn/credentials/{id}"));
    app.call(Method::DELETE, &path, None, Some(&bob_token))
        .await
        .expect_error(409, "last_credential");
    let with_override = format!("{path}?override=true");
    // A member's override means nothing.
    app.call(Method::DELETE, &with_override, None, Some(&bob_token))
        .await
        .expect_error(409, "last_credential");
    app.call(Method::DELETE, &path, None, Some(&org.admin_token))
        .await
        .expect_error(409, "last_credential");
    let done = app
        .call(Method::DELETE, &with_override, None, Some(&org.admin_token))
        .await;
    assert_eq!(done.status.as_u16(), 204, "{}", done.body);
    app.call(Method::DELETE, &with_override, None, Some(&org.admin_token))
        .await
        .expect_error(404, "credential_not_found");
    // Bob's session came from that passkey, so it is gone too.
    app.get_auth(&TestApp::url(&org.id, "webauthn/credentials"), &bob_token)
        .await
        .expect_error(401, "session_revoked");
}

#[tokio::test]
async fn a_user_with_two_passkeys_deletes_one_and_signs_in_with_the_other() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let second = SoftAuthenticator::new();
    app.register(&org.id, &second, json!({}), Some(&org.admin_token))
        .await
        .expect_ok();
    let id = org.admin.last_credential_id().unwrap();
    let token = app.sign_in(&org.id, &second, &org.admin_username).await;
    let del = app
        .call(
            Method::DELETE,
            &TestApp::url(&org.id, &format!("webauthn/credentials/{id}")),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(del.status.as_u16(), 204, "{}", del.body);
    let gone = app
        .authenticate(&org.id, &org.admin, json!({"credentialId": id}))
        .await;
    gone.expect_error(404, "credential_not_found");
    app.sign_in(&org.id, &second, &org.admin_username).await;
}

#[tokio::test]
async fn admins_invite_users_and_members_cannot() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let bob = app
        .invite_and_enrol(&org, "bob@acme.example", "member")
        .await;
    let bob_token = app.sign_in(&org.id, &bob, "bob@acme.example").await;
    let url = TestApp::url(&org.id, "users/invitations");
    app.post_auth(&url, json!({"username": "carol@acme.example"}), &bob_token)
        .await
        .expect_error(403, "forbidden");
    let dup = app
        .post_auth(
            &url,
            json!({"username": "bob@acme.example"}),
            &org.admin_token,
        )
        .await;
    dup.expect_error(409, "username_taken");
    let users = app
        .get_auth(&TestApp::url(&org.id, "users"), &org.admin_token)
        .await;
    assert_eq!(users.expect_ok()["total"], 2);
    app.get_auth(&TestApp::url(&org.id, "users"), &bob_token)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn admins_change_settings_and_bad_settings_are_refused_whole() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let url = TestApp::url(&org.id, "settings");
    let mut settings = app
        .get_auth(&url, &org.admin_token)
        .await
        .expect_ok()
        .clone();
    settings["ceremonyTtlSecs"] = json!(120);
    settings["registrationMode"] = json!("open");
    let saved = app
        .call(
            Method::PUT,
            &url,
            Some(settings.clone()),
            Some(&org.admin_token),
        )
        .await;
    saved.expect_ok();
    let start = app
        .post(&TestApp::url(&org.id, "webauthn/challenge"), json!({}))
        .await;
    assert_eq!(start.body["publicKey"]["timeout"], 120_000);
    settings["origins"] = json!([]);
    settings["ceremonyTtlSecs"] = json!(1);
    let bad = app
        .call(Method::PUT, &url, Some(settings), Some(&org.admin_token))
        .await;
    bad.expect_error(400, "invalid_request");
    assert!(bad.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("origin"));
    let now = app.get_auth(&url, &org.admin_token).await;
    assert_eq!(now.body["ceremonyTtlSecs"], 120);
}
