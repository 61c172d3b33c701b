//! A ceremony by username seals the offered passkeys' keys and counters at
//! its start and verifies against them without reading the store; whatever
//! changed before its completion (the owner suspended, the passkey deleted,
//! its counter moved by another sign-in) is caught by the commit's recheck.
//! On both databases, since each store runs that recheck in its own way.

use axum::http::Method;
use latchkey_testkit::SoftAuthenticator;
use serde_json::{json, Value};

use super::authentication::{challenge, verify};
use super::support::{Org, Reply, TestApp, ORIGIN};
use crate::store::support::fresh_postgres_url;

/// The same app over SQLite and over PostgreSQL.
async fn apps() -> Vec<(&'static str, TestApp)> {
    let store = latchkey_store::open_postgres(&fresh_postgres_url().await)
        .await
        .unwrap();
    let postgres = TestApp::with_store(store, tempfile::tempdir().unwrap()).await;
    vec![("sqlite", TestApp::new().await), ("postgres", postgres)]
}

/// A challenge for Bob by username.
async fn start(app: &TestApp, org: &str) -> Value {
    challenge(app, org, json!({"username": "bob@acme.example"})).await
}

async fn finish(app: &TestApp, org: &str, start: &Value, authn: &SoftAuthenticator) -> Reply {
    let credential = authn.authenticate(&start["publicKey"], ORIGIN).unwrap();
    verify(app, org, start, credential).await
}

/// A member with one passkey, and their user id.
async fn member(app: &TestApp, org: &Org) -> (SoftAuthenticator, String) {
    let bob = app
        .invite_and_enrol(org, "bob@acme.example", "member")
        .await;
    let token = app.sign_in(&org.id, &bob, "bob@acme.example").await;
    let mine = app
        .get_auth(&TestApp::url(&org.id, "webauthn/credentials"), &token)
        .await;
    let id = mine.expect_ok()["items"][0]["userId"].as_str().unwrap();
    (bob, id.to_owned())
}

/// What an admin does to Bob or his passkey (method, path under the org,
/// body), given his user id and passkey id.
type AdminAct = fn(&str, &str) -> (Method, String, Option<Value>);

/// Bob starts a sign-in by username, the admin acts, then Bob completes it.
async fn interrupted(app: &TestApp, db: &str, act: AdminAct) -> Reply {
    let org = app.org("Acme").await;
    let (bob, bob_id) = member(app, &org).await;
    let started = start(app, &org.id).await;
    let (method, path, body) = act(&bob_id, &bob.last_credential_id().unwrap());
    let url = TestApp::url(&org.id, &path);
    let done = app.call(method, &url, body, Some(&org.admin_token)).await;
    assert!(done.status.is_success(), "{db}: {:?}", done.body);
    finish(app, &org.id, &started, &bob).await
}

#[tokio::test]
async fn a_user_suspended_after_the_challenge_cannot_complete_it() {
    for (db, app) in apps().await {
        let suspend: AdminAct = |user, _| {
            let body = json!({"status": "suspended"});
            (Method::PATCH, format!("users/{user}"), Some(body))
        };
        let reply = interrupted(&app, db, suspend).await;
        assert_eq!(reply.code(), "user_suspended", "{db}");
        reply.expect_error(403, "user_suspended");
    }
}

#[tokio::test]
async fn a_passkey_deleted_after_the_challenge_cannot_complete_it() {
    for (db, app) in apps().await {
        let delete: AdminAct = |_, passkey| {
            let path = format!("webauthn/credentials/{passkey}?override=true");
            (Method::DELETE, path, None)
        };
        let reply = interrupted(&app, db, delete).await;
        assert_eq!(reply.code(), "credential_not_found", "{db}");
        reply.expect_error(404, "credential_not_found");
    }
}

#[tokio::test]
async fn a_counter_another_sign_in_moved_past_this_assertion_flags_the_passkey() {
    for (db, app) in apps().await {
        let org = app.org("Acme").await;
        let (bob, _) = member(&app, &org).await;
        // Both start on the same counter; the first is signed first (a lower
        // count) but completed last, after the second moved the counter on.
        let first = start(&app, &org.id).await;
        let second = start(&app, &org.id).await;
        let earlier = bob.authenticate(&first["publicKey"], ORIGIN).unwrap();
        finish(&app, &org.id, &second, &bob).await.expect_ok();
        let reply = verify(&app, &org.id, &first, earlier).await;
        assert_eq!(reply.code(), "sign_count_regression", "{db}");
        let again = start(&app, &org.id).await;
        let reply = finish(&app, &org.id, &again, &bob).await;
        assert_eq!(reply.code(), "credential_possibly_cloned", "{db}");
    }
}

#[tokio::test]
async fn a_replayed_assertion_is_a_used_ceremony_not_a_clone() {
    for (db, app) in apps().await {
        let org = app.org("Acme").await;
        let (bob, _) = member(&app, &org).await;
        let started = start(&app, &org.id).await;
        let credential = bob.authenticate(&started["publicKey"], ORIGIN).unwrap();
        verify(&app, &org.id, &started, credential.clone())
            .await
            .expect_ok();
        let replay = verify(&app, &org.id, &started, credential).await;
        assert_eq!(replay.code(), "ceremony_already_used", "{db}");
        let next = start(&app, &org.id).await;
        finish(&app, &org.id, &next, &bob).await.expect_ok();
    }
}
