//! Export and import (`latchkey_store::transfer`) and the SQLite online
//! backup: an installation moves between databases, in both directions,
//! without losing a record; a passkey registered before the move signs in
//! after it; a bad file or a non-empty target is refused and writes nothing.

use std::sync::Arc;

use axum::http::Method;
use latchkey_core::keys::MasterKey;
use latchkey_core::store::Store;
use latchkey_store::transfer::{self, Counts};
use latchkey_store::Database;
use latchkey_testkit::SoftAuthenticator;
use serde_json::{json, Value};

use super::records::create_org;
use super::support::{each_database, postgres_database, sqlite_database, OpsDb};
use crate::api::support::{Org, TestApp, ORIGIN};

/// An installation with a row in every table: two enrolled users, a live and
/// a revoked session, a pending invitation, a rotated (retired) signing key.
struct Installation {
    org: Org,
    bob: SoftAuthenticator,
    carol_invitation: String,
}

async fn populate(store: Arc<dyn Store>, key: MasterKey) -> Installation {
    let app = TestApp::with_store_and_key(store, tempfile::tempdir().unwrap(), key).await;
    let org = app.org("Acme").await;
    let bob = app
        .invite_and_enrol(&org, "bob@acme.example", "member")
        .await;
    let bob_token = app.sign_in(&org.id, &bob, "bob@acme.example").await;
    let logout = TestApp::url(&org.id, "sessions/logout");
    let out = app
        .call(Method::POST, &logout, None, Some(&bob_token))
        .await;
    assert_eq!(out.status.as_u16(), 204, "{}", out.body);
    let body = json!({"username": "carol@acme.example"});
    let url = TestApp::url(&org.id, "users/invitations");
    let carol = app.post_auth(&url, body, &org.admin_token).await;
    let carol_invitation = carol.expect_ok()["token"].as_str().unwrap().to_owned();
    app.core.rotate_signing_key().await.unwrap();
    Installation {
        org,
        bob,
        carol_invitation,
    }
}

async fn export(db: &dyn Database) -> (String, Counts) {
    let mut out = Vec::new();
    let counts = transfer::export(db, &mut out).await.unwrap();
    (String::from_utf8(out).unwrap(), counts)
}

async fn import(db: &dyn Database, file: &str) -> latchkey_core::Result<Counts> {
    transfer::import(db, &mut file.as_bytes()).await
}

/// A verify body for the org admin's sign-in, not yet sent.
async fn sign_in_body(app: &TestApp, org: &Org) -> Value {
    let body = json!({"username": org.admin_username});
    let start = app
        .post(&TestApp::url(&org.id, "webauthn/challenge"), body)
        .await;
    let start = start.expect_ok();
    let credential = org.admin.authenticate(&start["publicKey"], ORIGIN).unwrap();
    json!({"ceremonyId": start["ceremonyId"], "credential": credential})
}

/// Every line but the header (which names the source backend), sorted: row
/// order within a table follows each database's collation.
fn rows(file: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = file.lines().skip(1).collect();
    lines.sort_unstable();
    lines
}

#[tokio::test]
async fn export_then_import_moves_every_record_between_sqlite_and_postgres_both_ways() {
    let [sqlite, postgres]: [OpsDb; 2] = each_database().await.try_into().ok().unwrap();
    let [sqlite_2, postgres_2]: [OpsDb; 2] = each_database().await.try_into().ok().unwrap();
    for (from, to) in [(&sqlite, &postgres), (&postgres_2, &sqlite_2)] {
        let how = format!("{} to {}", from.backend, to.backend);
        populate(from.store(), MasterKey::generate()).await;
        let (file, exported) = export(from.db.as_ref()).await;
        let header: Value = serde_json::from_str(file.lines().next().unwrap()).unwrap();
        assert_eq!(header["data"]["format"], "latchkey-export", "{how}");
        assert_eq!(header["data"]["version"], 1, "{how}");
        assert_eq!(header["data"]["source"], from.backend, "{how}");
        let expected = Counts {
            signing_keys: 2,
            orgs: 1,
            users: 3,
            invitations: 3,
            credentials: 2,
            sessions: 2,
            audit_events: exported.audit_events,
        };
        assert_eq!(exported, expected, "{how}");
        assert!(exported.audit_events >= 8, "{how}: {exported:?}");

        let imported = import(to.db.as_ref(), &file).await.unwrap();
        assert_eq!(imported, exported, "{how}");
        let (again, _) = export(to.db.as_ref()).await;
        assert_eq!(
            rows(&again),
            rows(&file),
            "{how}: every column of every row survives"
        );
    }
}

#[tokio::test]
async fn a_passkey_registered_before_moving_from_sqlite_to_postgres_still_signs_in_after_it() {
    let sqlite = sqlite_database().await;
    let postgres = postgres_database().await;
    let key = MasterKey::generate();
    let before = populate(sqlite.store(), key.clone()).await;
    let org = &before.org;
    // A sign-in completed just before the move, and one begun before it.
    let source =
        TestApp::with_store_and_key(sqlite.store(), tempfile::tempdir().unwrap(), key.clone())
            .await;
    let verify = TestApp::url(&org.id, "webauthn/verify");
    let completed = sign_in_body(&source, org).await;
    source.post(&verify, completed.clone()).await.expect_ok();
    let begun = sign_in_body(&source, org).await;
    let (file, _) = export(sqlite.db.as_ref()).await;
    import(postgres.db.as_ref(), &file).await.unwrap();

    let after =
        TestApp::with_store_and_key(postgres.store(), tempfile::tempdir().unwrap(), key).await;
    // Spent ceremonies don't move, and no ceremony sealed before the move
    // opens after it, so neither can be completed (again) here.
    for body in [completed, begun] {
        after
            .post(&verify, body)
            .await
            .expect_error(404, "ceremony_not_found");
    }
    let mine = TestApp::url(&org.id, "webauthn/credentials");
    // A session token issued before the move, by the key retired since, still works.
    after.get_auth(&mine, &org.admin_token).await.expect_ok();
    // Passkeys registered before the move sign in after it.
    let token = after
        .sign_in(&org.id, &org.admin, &org.admin_username)
        .await;
    let listed = after.get_auth(&mine, &token).await;
    assert_eq!(listed.expect_ok()["total"], 1);
    after
        .sign_in(&org.id, &before.bob, "bob@acme.example")
        .await;
    // A pending invitation moved too, and is still single-use.
    let carol = SoftAuthenticator::new();
    let init = json!({"invitationToken": before.carol_invitation});
    after
        .register(&org.id, &carol, init.clone(), None)
        .await
        .expect_ok();
    let again = after
        .post(&TestApp::url(&org.id, "webauthn/register/init"), init)
        .await;
    again.expect_error(409, "invitation_already_used");
}

#[tokio::test]
async fn import_refuses_a_database_that_is_not_empty() {
    for target in each_database().await {
        let b = target.backend;
        create_org(target.db.as_ref(), "Acme").await;
        let (file, _) = export(target.db.as_ref()).await;
        let err = import(target.db.as_ref(), &file).await.unwrap_err();
        assert!(err.message.contains("not empty"), "{b}: {}", err.message);
        let orgs = target.db.list_orgs().await.unwrap();
        assert_eq!(orgs.len(), 1, "{b}");
    }
}

#[tokio::test]
async fn import_refuses_a_truncated_reordered_tampered_shared_handle_or_unknown_version_file_and_writes_nothing(
) {
    let source = sqlite_database().await;
    populate(source.store(), MasterKey::generate()).await;
    let (file, _) = export(source.db.as_ref()).await;
    let lines: Vec<&str> = file.lines().collect();
    let truncated = lines[..lines.len() - 1].join("\n");
    let newer = file.replacen("\"version\":1", "\"version\":2", 1);
    let audit_at = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"audit_event\""))
        .unwrap();
    let mut tampered = lines.clone();
    let altered = lines[audit_at].replacen("\"subject\":\"", "\"subject\":\"x", 1);
    tampered[audit_at] = &altered;
    let tampered = tampered.join("\n");
    let mut reordered = lines.clone();
    let first = |kind: &str| lines.iter().position(|l| l.contains(kind)).unwrap();
    reordered.swap(first("\"kind\":\"org\""), first("\"kind\":\"user\""));
    let reordered = reordered.join("\n");
    // The second user of the org takes the first one's handle.
    let users: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("\"kind\":\"user\""))
        .collect();
    let user = |i: usize| serde_json::from_str::<Value>(lines[users[i]]).unwrap();
    let mut twin = user(1);
    twin["data"]["user_handle"] = user(0)["data"]["user_handle"].clone();
    let twin = twin.to_string();
    let mut shared = lines.clone();
    shared[users[1]] = &twin;
    let shared = shared.join("\n");
    let cases = [
        (truncated.as_str(), "truncated"),
        (newer.as_str(), "format version 2"),
        (tampered.as_str(), "altered"),
        (reordered.as_str(), "must come before"),
        (shared.as_str(), "has the user handle of another user"),
        ("{\"kind\":\"org\"}", "not a Latchkey export"),
    ];
    for target in each_database().await {
        let b = target.backend;
        for (bad, why) in cases {
            let err = import(target.db.as_ref(), bad).await.unwrap_err();
            assert!(
                err.message.contains(why),
                "{b}: expected {why:?}, got {}",
                err.message
            );
        }
        // Nothing was written: the good file still imports.
        import(target.db.as_ref(), &file).await.unwrap();
    }
}

#[tokio::test]
async fn backup_copies_a_live_sqlite_database_and_postgres_is_pointed_to_pg_dump() {
    for target in each_database().await {
        let b = target.backend;
        let (org, _, _) = create_org(target.db.as_ref(), "Acme").await;
        let out_dir = tempfile::tempdir().unwrap();
        let out = out_dir.path().join("backup.db");
        if b == "postgres" {
            let err = target.db.backup_to(&out).await.unwrap_err();
            assert!(err.message.contains("pg_dump"), "{b}: {}", err.message);
            continue;
        }
        target.db.backup_to(&out).await.unwrap();
        let err = target.db.backup_to(&out).await.unwrap_err();
        assert!(
            err.message.contains("exists"),
            "{b}: never overwrites: {}",
            err.message
        );
        let copy = latchkey_store::open_sqlite(&out).await.unwrap();
        let orgs = copy.list_orgs().await.unwrap();
        assert_eq!(
            orgs.iter().map(|o| &o.id).collect::<Vec<_>>(),
            [&org.id],
            "{b}"
        );
    }
}
