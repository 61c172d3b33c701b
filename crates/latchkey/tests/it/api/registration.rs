//! Registration ceremonies through the HTTP API.

use axum::http::Method;
use latchkey_core::model::RegistrationMode;
use latchkey_testkit::{Alg, Attestation, Config, Flags, SoftAuthenticator, Tamper};
use serde_json::{json, Value};

use super::support::{Org, Reply, TestApp, ORIGIN};

/// register/init without a session, whatever it answers.
async fn init_reply(app: &TestApp, org: &str, body: Value) -> Reply {
    app.post(&TestApp::url(org, "webauthn/register/init"), body)
        .await
}

async fn init(app: &TestApp, org: &str, body: Value) -> Value {
    init_reply(app, org, body).await.expect_ok().clone()
}

/// register/init by the org's signed-in admin, adding a passkey.
async fn admin_init(app: &TestApp, org: &Org) -> Value {
    let url = TestApp::url(&org.id, "webauthn/register/init");
    app.post_auth(&url, json!({}), &org.admin_token)
        .await
        .expect_ok()
        .clone()
}

async fn complete(app: &TestApp, org: &str, ceremony: &Value, credential: Value) -> Reply {
    let body = json!({"ceremonyId": ceremony["ceremonyId"], "credential": credential});
    app.post(&TestApp::url(org, "webauthn/register/complete"), body)
        .await
}

#[tokio::test]
async fn the_enrolment_link_registers_the_super_admin_and_activates_passkeys() {
    let app = TestApp::new().await;
    let (org, token) = app
        .create_org("Acme", "alice@acme.example", RegistrationMode::Invite)
        .await;
    let view = app
        .call(
            Method::GET,
            &format!("/api/v1/organizations/{org}"),
            None,
            None,
        )
        .await;
    assert_eq!(view.expect_ok()["passkeyStatus"], "inactive");

    let start = init(&app, &org, json!({"invitationToken": token})).await;
    let pk = &start["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["user"]["name"], "alice@acme.example");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    let algs: Vec<i64> = pk["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, vec![-7, -8, -257]);

    let authn = SoftAuthenticator::new();
    let credential = authn.register(pk, ORIGIN).unwrap();
    let id = credential["id"].clone();
    let stored = complete(&app, &org, &start, credential).await;
    assert_eq!(stored.status.as_u16(), 201, "{}", stored.body);
    assert_eq!(stored.body["credentialId"], id);
    assert_eq!(stored.body["deviceType"], "single_device");

    let view = app
        .call(
            Method::GET,
            &format!("/api/v1/organizations/{org}"),
            None,
            None,
        )
        .await;
    assert_eq!(view.expect_ok()["passkeyStatus"], "active");
    app.sign_in(&org, &authn, "alice@acme.example").await;
}

#[tokio::test]
async fn an_enrolment_link_works_only_once() {
    let app = TestApp::new().await;
    let (org, token) = app
        .create_org("Acme", "alice@acme.example", RegistrationMode::Invite)
        .await;
    app.register(
        &org,
        &SoftAuthenticator::new(),
        json!({"invitationToken": token}),
        None,
    )
    .await
    .expect_ok();
    let again = init_reply(&app, &org, json!({"invitationToken": token})).await;
    again.expect_error(409, "invitation_already_used");
}

#[tokio::test]
async fn two_ceremonies_racing_on_one_invitation_enrol_only_one_passkey() {
    let app = TestApp::new().await;
    let (org, token) = app
        .create_org("Acme", "alice@acme.example", RegistrationMode::Invite)
        .await;
    let a = init(&app, &org, json!({"invitationToken": token})).await;
    let b = init(&app, &org, json!({"invitationToken": token})).await;
    let authn = SoftAuthenticator::new();
    let ra = authn.register(&a["publicKey"], ORIGIN).unwrap();
    let rb = SoftAuthenticator::new()
        .register(&b["publicKey"], ORIGIN)
        .unwrap();
    let (x, y) = tokio::join!(complete(&app, &org, &a, ra), complete(&app, &org, &b, rb));
    let wins = [x.status.is_success(), y.status.is_success()];
    assert_eq!(
        wins.iter().filter(|w| **w).count(),
        1,
        "{} / {}",
        x.body,
        y.body
    );
    let loser = if wins[0] { y } else { x };
    loser.expect_error(409, "invitation_already_used");
}

#[tokio::test]
async fn an_expired_invitation_is_refused() {
    let app = TestApp::new().await;
    let (org, token) = app
        .create_org("Acme", "alice@acme.example", RegistrationMode::Invite)
        .await;
    app.clock.advance_secs(7 * 24 * 3600 + 1);
    let reply = init_reply(&app, &org, json!({"invitationToken": token})).await;
    reply.expect_error(410, "invitation_expired");
    let bogus = init_reply(&app, &org, json!({"invitationToken": "nope"})).await;
    bogus.expect_error(401, "invitation_invalid");
}

#[tokio::test]
async fn invite_only_orgs_refuse_anonymous_registration_and_open_orgs_accept_it() {
    let app = TestApp::new().await;
    let org = app.org("Closed").await;
    let reply = init_reply(&app, &org.id, json!({"username": "eve"})).await;
    reply.expect_error(403, "registration_closed");

    let (open, token) = app
        .create_org("Open", "root@open.example", RegistrationMode::Open)
        .await;
    // Open sign-up waits for the super admin to activate passkeys.
    let early = init_reply(&app, &open, json!({"username": "bob"})).await;
    early.expect_error(403, "passkeys_inactive");
    app.register(
        &open,
        &SoftAuthenticator::new(),
        json!({"invitationToken": token}),
        None,
    )
    .await
    .expect_ok();
    let bob = SoftAuthenticator::new();
    app.register(
        &open,
        &bob,
        json!({"username": "bob", "displayName": "Bob"}),
        None,
    )
    .await
    .expect_ok();
    let grant = app
        .authenticate(&open, &bob, json!({"username": "bob"}))
        .await;
    assert_eq!(grant.expect_ok()["user"]["displayName"], "Bob");
    let taken = init_reply(&app, &open, json!({"username": "bob"})).await;
    taken.expect_error(409, "username_taken");
}

#[tokio::test]
async fn a_signed_in_user_adds_a_passkey_and_existing_ones_are_excluded() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let start = admin_init(&app, &org).await;
    let excluded = start["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(excluded, 1);
    // The same authenticator refuses, as a browser would (InvalidStateError).
    assert!(org.admin.register(&start["publicKey"], ORIGIN).is_err());
    let second = SoftAuthenticator::with_config(Config::default().alg(Alg::EdDsa));
    let credential = second.register(&start["publicKey"], ORIGIN).unwrap();
    let body =
        json!({"ceremonyId": start["ceremonyId"], "credential": credential, "name": "Backup key"});
    let stored = app
        .post(&TestApp::url(&org.id, "webauthn/register/complete"), body)
        .await;
    assert_eq!(stored.expect_ok()["name"], "Backup key");
    assert_eq!(stored.body["algorithm"], -8);
    app.sign_in(&org.id, &second, &org.admin_username).await;
}

#[tokio::test]
async fn packed_self_attestation_and_synced_flags_are_recorded() {
    let app = TestApp::new().await;
    let (org, token) = app
        .create_org("Acme", "alice@acme.example", RegistrationMode::Invite)
        .await;
    let icloud =
        latchkey_core::aaguid::parse_aaguid("fbfc3007-154e-4ecc-8c0b-6e020557d7bd").unwrap();
    let config = Config::default()
        .attestation(Attestation::PackedSelf)
        .aaguid(icloud)
        .flags(Flags::synced());
    let authn = SoftAuthenticator::with_config(config);
    let stored = app
        .register(&org, &authn, json!({"invitationToken": token}), None)
        .await;
    let view = stored.expect_ok();
    assert_eq!(view["attestationFormat"], "packed");
    assert_eq!(view["authenticator"]["name"], "Apple Passwords");
    assert_eq!(view["name"], "Apple Passwords");
    assert_eq!(
        (
            view["backupEligible"].as_bool(),
            view["backupState"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(view["deviceType"], "multi_device");
}

/// Each tampered response must be refused with its own code, and the org stays inactive.
#[tokio::test]
async fn register_complete_refuses_tampered_responses() {
    let app = TestApp::new().await;
    let (org, token) = app
        .create_org("Acme", "alice@acme.example", RegistrationMode::Invite)
        .await;
    let no_uv = Flags {
        user_verified: false,
        ..Flags::default()
    };
    let cases: Vec<(Tamper, &str, &str)> = vec![
        (
            Tamper {
                rp_id_for_hash: Some("evil.example".into()),
                ..Tamper::default()
            },
            ORIGIN,
            "rp_id_mismatch",
        ),
        (Tamper::default(), "http://evil.example", "origin_mismatch"),
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
                client_data_type: Some("webauthn.get".into()),
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
                raw_id: Some("AAAA".into()),
                ..Tamper::default()
            },
            ORIGIN,
            "raw_id_mismatch",
        ),
    ];
    for (tamper, origin, code) in cases {
        let start = init(&app, &org, json!({"invitationToken": token})).await;
        let credential = SoftAuthenticator::new()
            .register_with(&start["publicKey"], origin, &tamper)
            .unwrap();
        complete(&app, &org, &start, credential)
            .await
            .expect_error(400, code);
    }
    let bad_sig = Tamper {
        corrupt_signature: true,
        ..Tamper::default()
    };
    let packed =
        SoftAuthenticator::with_config(Config::default().attestation(Attestation::PackedSelf));
    let start = init(&app, &org, json!({"invitationToken": token})).await;
    let credential = packed
        .register_with(&start["publicKey"], ORIGIN, &bad_sig)
        .unwrap();
    let reply = complete(&app, &org, &start, credential).await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);
    let view = app
        .call(
            Method::GET,
            &format!("/api/v1/organizations/{org}"),
            None,
            None,
        )
        .await;
    assert_eq!(view.body["passkeyStatus"], "inactive");
}

#[tokio::test]
async fn a_registration_ceremony_is_single_use_expiring_and_bound_to_its_org() {
    let app = TestApp::new().await;
    let (org, token) = app
        .create_org("Acme", "alice@acme.example", RegistrationMode::Invite)
        .await;
    let (other, _) = app
        .create_org("Other", "bob@other.example", RegistrationMode::Invite)
        .await;
    let authn = SoftAuthenticator::new();

    let start = init(&app, &org, json!({"invitationToken": token})).await;
    let credential = authn.register(&start["publicKey"], ORIGIN).unwrap();
    complete(&app, &other, &start, credential.clone())
        .await
        .expect_error(404, "ceremony_not_found");
    complete(&app, &org, &start, credential.clone())
        .await
        .expect_ok();
    complete(&app, &org, &start, credential)
        .await
        .expect_error(409, "ceremony_already_used");

    let org2 = app.org("Later").await;
    let start = admin_init(&app, &org2).await;
    app.clock.advance_secs(301);
    let credential = SoftAuthenticator::new()
        .register(&start["publicKey"], ORIGIN)
        .unwrap();
    complete(&app, &org2.id, &start, credential)
        .await
        .expect_error(410, "ceremony_expired");
}

#[tokio::test]
async fn a_credential_id_that_is_already_registered_is_refused() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let first = admin_init(&app, &org).await;
    let second = admin_init(&app, &org).await;
    let authn = SoftAuthenticator::new();
    let a = authn.register(&first["publicKey"], ORIGIN).unwrap();
    complete(&app, &org.id, &first, a.clone()).await.expect_ok();
    // The client attests the already registered key again in a fresh, valid
    // ceremony: only the duplicate id is wrong.
    let replay = Tamper {
        reuse_credential: a["id"].as_str().map(str::to_owned),
        ..Tamper::default()
    };
    let b = authn
        .register_with(&second["publicKey"], ORIGIN, &replay)
        .unwrap();
    complete(&app, &org.id, &second, b)
        .await
        .expect_error(409, "credential_already_registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_completions_of_one_registration_ceremony_exactly_one_registers() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let start = admin_init(&app, &org).await;
    // Eight different passkeys answering the one ceremony: sealed, nothing
    // of it is stored but its spending, which must let one through.
    let replies = futures::future::join_all((0..8).map(|_| {
        let credential = SoftAuthenticator::new()
            .register(&start["publicKey"], ORIGIN)
            .unwrap();
        complete(&app, &org.id, &start, credential)
    }))
    .await;
    let (wins, losers): (Vec<&Reply>, Vec<&Reply>) =
        replies.iter().partition(|r| r.status.is_success());
    assert_eq!(
        wins.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for loser in losers {
        loser.expect_error(409, "ceremony_already_used");
    }
    let listed = app
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials"),
            &org.admin_token,
        )
        .await;
    assert_eq!(listed.expect_ok()["total"], 2, "{}", listed.body);
}

#[tokio::test]
async fn a_sign_in_ceremony_does_not_complete_a_registration() {
    let app = TestApp::new().await;
    let org = app.org("Acme").await;
    let challenge = app
        .post(&TestApp::url(&org.id, "webauthn/challenge"), json!({}))
        .await;
    let sign_in = challenge.expect_ok().clone();
    let start = admin_init(&app, &org).await;
    let credential = SoftAuthenticator::new()
        .register(&start["publicKey"], ORIGIN)
        .unwrap();
    complete(&app, &org.id, &sign_in, credential.clone())
        .await
        .expect_error(404, "ceremony_not_found");
    // The refused attempt opened nothing, so it burnt nothing.
    complete(&app, &org.id, &start, credential)
        .await
        .expect_ok();
}
