//! Two nodes, one PostgreSQL database: two `Latchkey` cores, each with its
//! own connection pool and its own in-memory key ring, sharing only the
//! database and the master key, as two `latchkey serve` processes behind a
//! load balancer do. Whatever one node starts, the other can finish; what
//! one node revokes, the other refuses at once; and a single-use value
//! raced on both nodes is used exactly once.

use axum::body::Body;
use axum::http::{Method, Request};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http_body_util::BodyExt;
use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::keys::MasterKey;
use latchkey_testkit::SoftAuthenticator;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::api::support::{Org, Reply, TestApp, ORIGIN};
use crate::store::support::fresh_postgres_url;

/// How many times each race is run.
const ROUNDS: usize = 24;

/// Node `a` and node `b` over one fresh PostgreSQL database.
async fn two_nodes() -> (TestApp, TestApp) {
    let url = fresh_postgres_url().await;
    let key = MasterKey::generate();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store = latchkey_store::open_postgres(&url).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        nodes.push(TestApp::with_store_and_key(store, dir, key.clone()).await);
    }
    let b = nodes.pop().unwrap();
    (nodes.pop().unwrap(), b)
}

/// Starts a registration on `from` and completes it on `to`.
async fn register_across(
    from: &TestApp,
    to: &TestApp,
    org: &str,
    authn: &SoftAuthenticator,
    init: Value,
    token: Option<&str>,
) -> Reply {
    let url = TestApp::url(org, "webauthn/register/init");
    let start = from.call(Method::POST, &url, Some(init), token).await;
    let start = start.expect_ok().clone();
    let credential = authn.register(&start["publicKey"], ORIGIN).unwrap();
    let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
    to.post(&TestApp::url(org, "webauthn/register/complete"), body)
        .await
}

/// A sign-in ceremony's challenge from `from`, answered by `authn`: the verify body.
async fn assertion(from: &TestApp, org: &str, authn: &SoftAuthenticator, username: &str) -> Value {
    let start = from
        .post(
            &TestApp::url(org, "webauthn/challenge"),
            json!({"username": username}),
        )
        .await;
    let start = start.expect_ok().clone();
    let credential = authn.authenticate(&start["publicKey"], ORIGIN).unwrap();
    json!({"ceremonyId": start["ceremonyId"], "credential": credential})
}

/// Challenge on `from`, verify on `to`; returns the session token.
async fn sign_in_across(
    from: &TestApp,
    to: &TestApp,
    org: &str,
    authn: &SoftAuthenticator,
    username: &str,
) -> String {
    let body = assertion(from, org, authn, username).await;
    let reply = to.post(&TestApp::url(org, "webauthn/verify"), body).await;
    reply.expect_ok()["token"].as_str().unwrap().to_owned()
}

/// POSTs on a spawned task, so the two nodes' requests really run in parallel.
fn spawn_post(node: &TestApp, path: String, body: Value) -> tokio::task::JoinHandle<(u16, Value)> {
    let router = node.router.clone();
    tokio::spawn(async move {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = router.oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

/// Of two racing replies, exactly one succeeded and the other failed with `code`.
#[track_caller]
fn exactly_one_wins(round: usize, replies: [(u16, Value); 2], code: &str) {
    let wins = replies
        .iter()
        .filter(|(s, _)| *s == 200 || *s == 201)
        .count();
    assert_eq!(wins, 1, "round {round}: {replies:?}");
    let loser = replies.iter().find(|(s, _)| *s >= 400).unwrap();
    assert_eq!(loser.1["error"]["code"], code, "round {round}: {replies:?}");
}

/// The `kid` in a JWT's header.
fn kid(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// The kids in the node's JWKS, sorted.
fn published_kids(node: &TestApp) -> Vec<String> {
    let jwks = node.core.jwks();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn a_ceremony_begun_on_one_node_completes_on_the_other() {
    let (a, b) = two_nodes().await;
    let admin = "admin@acme.example";
    let (org, enrolment) = a
        .create_org(
            "Acme",
            admin,
            latchkey_core::model::RegistrationMode::Invite,
        )
        .await;
    let authn = SoftAuthenticator::new();
    let init = json!({"invitationToken": enrolment});
    register_across(&a, &b, &org, &authn, init, None)
        .await
        .expect_ok();
    let token = sign_in_across(&b, &a, &org, &authn, admin).await;
    a.get_auth(&TestApp::url(&org, "webauthn/credentials"), &token)
        .await
        .expect_ok();
}

#[tokio::test]
async fn a_token_issued_by_one_node_is_accepted_by_the_other() {
    let (a, b) = two_nodes().await;
    let org = a.org("Acme").await;
    let reply = b
        .get_auth(
            &TestApp::url(&org.id, "webauthn/credentials"),
            &org.admin_token,
        )
        .await;
    assert_eq!(reply.expect_ok()["total"], 1);
    assert_eq!(
        published_kids(&a),
        published_kids(&b),
        "one key set for the deployment"
    );
}

#[tokio::test]
async fn logout_on_one_node_revokes_the_session_on_the_other_at_once() {
    let (a, b) = two_nodes().await;
    let org = a.org("Acme").await;
    let mine = TestApp::url(&org.id, "webauthn/credentials");
    b.get_auth(&mine, &org.admin_token).await.expect_ok();
    let out = a
        .call(
            Method::POST,
            &TestApp::url(&org.id, "sessions/logout"),
            None,
            Some(&org.admin_token),
        )
        .await;
    assert_eq!(out.status.as_u16(), 204, "{}", out.body);
    b.get_auth(&mine, &org.admin_token)
        .await
        .expect_error(401, "session_revoked");
}

#[tokio::test]
async fn deleting_a_credential_on_one_node_revokes_its_sessions_on_the_other() {
    let (a, b) = two_nodes().await;
    let org = a.org("Acme").await;
    let bob = "bob@acme.example";
    let laptop = a.invite_and_enrol(&org, bob, "member").await;
    let laptop_id = laptop.last_credential_id().unwrap();
    let laptop_token = sign_in_across(&a, &b, &org.id, &laptop, bob).await;
    let phone = SoftAuthenticator::new();
    register_across(&b, &a, &org.id, &phone, json!({}), Some(&laptop_token))
        .await
        .expect_ok();
    let phone_token = sign_in_across(&b, &a, &org.id, &phone, bob).await;
    let mine = TestApp::url(&org.id, "webauthn/credentials");
    b.get_auth(&mine, &laptop_token).await.expect_ok();

    let delete = TestApp::url(&org.id, &format!("webauthn/credentials/{laptop_id}"));
    let out = a
        .call(Method::DELETE, &delete, None, Some(&phone_token))
        .await;
    assert!(out.status.is_success(), "{}: {}", out.status, out.body);
    b.get_auth(&mine, &laptop_token)
        .await
        .expect_error(401, "session_revoked");
    let left = b.get_auth(&mine, &phone_token).await;
    assert_eq!(
        left.expect_ok()["total"],
        1,
        "the other passkey's session lives on"
    );
}

#[tokio::test]
async fn a_key_rotated_on_one_node_is_picked_up_by_the_other() {
    let (a, b) = two_nodes().await;
    let org: Org = a.org("Acme").await;
    let mine = TestApp::url(&org.id, "webauthn/credentials");
    let old_kid = kid(&org.admin_token);

    let rotated = a.core.rotate_signing_key().await.unwrap();
    let new_token = a.sign_in(&org.id, &org.admin, &org.admin_username).await;
    assert_eq!(
        kid(&new_token),
        rotated.kid,
        "node A signs with its new key at once"
    );
    // B has never seen that key: the unknown kid makes it reload, and accept.
    b.get_auth(&mine, &new_token).await.expect_ok();
    b.get_auth(&mine, &org.admin_token).await.expect_ok();
    let b_token = sign_in_across(&a, &b, &org.id, &org.admin, &org.admin_username).await;
    assert_eq!(
        kid(&b_token),
        rotated.kid,
        "and B signs with it from then on"
    );

    // Without a token to prompt it, B switches at its periodic refresh.
    let again = a.core.rotate_signing_key().await.unwrap();
    b.core.refresh_keys().await.unwrap();
    let mut expected = vec![old_kid, rotated.kid, again.kid.clone()];
    expected.sort();
    assert_eq!(published_kids(&b), expected, "retired keys stay published");
    let b_token = sign_in_across(&a, &b, &org.id, &org.admin, &org.admin_username).await;
    assert_eq!(kid(&b_token), again.kid);
    a.get_auth(&mine, &b_token).await.expect_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_ceremony_completed_on_both_nodes_at_once_succeeds_exactly_once_every_time() {
    let (a, b) = two_nodes().await;
    let org = a.org("Acme").await;
    let verify = TestApp::url(&org.id, "webauthn/verify");
    for round in 0..ROUNDS {
        let begun_on = if round % 2 == 0 { &a } else { &b };
        let body = assertion(begun_on, &org.id, &org.admin, &org.admin_username).await;
        let on_a = spawn_post(&a, verify.clone(), body.clone());
        let on_b = spawn_post(&b, verify.clone(), body);
        let replies = [on_a.await.unwrap(), on_b.await.unwrap()];
        exactly_one_wins(round, replies, "ceremony_already_used");
    }
    // The losers never mistook the winner's new counter for a cloned passkey.
    a.sign_in(&org.id, &org.admin, &org.admin_username).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_invitation_raced_by_two_registrations_on_two_nodes_is_used_exactly_once_every_time() {
    let (a, b) = two_nodes().await;
    let org = a.org("Acme").await;
    let org_id = OrgId::parse(&org.id).unwrap();
    let complete = TestApp::url(&org.id, "webauthn/register/complete");
    for round in 0..ROUNDS {
        let body = json!({"username": format!("user{round}@acme.example")});
        let invited = a
            .post_auth(
                &TestApp::url(&org.id, "users/invitations"),
                body,
                &org.admin_token,
            )
            .await;
        let invited = invited.expect_ok().clone();
        let init = json!({"invitationToken": invited["token"]});
        let mut bodies = Vec::new();
        for node in [&a, &b] {
            let start = node
                .post(
                    &TestApp::url(&org.id, "webauthn/register/init"),
                    init.clone(),
                )
                .await;
            let start = start.expect_ok().clone();
            let credential = SoftAuthenticator::new()
                .register(&start["publicKey"], ORIGIN)
                .unwrap();
            bodies.push(json!({"ceremonyId": start["ceremonyId"], "credential": credential}));
        }
        let on_b = spawn_post(&b, complete.clone(), bodies.pop().unwrap());
        let on_a = spawn_post(&a, complete.clone(), bodies.pop().unwrap());
        let replies = [on_a.await.unwrap(), on_b.await.unwrap()];
        exactly_one_wins(round, replies, "invitation_already_used");
        let user = UserId::from_stored(invited["user"]["id"].as_str().unwrap().to_owned());
        let passkeys = a
            .core
            .store()
            .count_user_credentials(&org_id, &user)
            .await
            .unwrap();
        assert_eq!(
            passkeys, 1,
            "round {round}: the loser's passkey was not stored"
        );
    }
}

/// Two real `latchkey serve` processes on one PostgreSQL database, driven
/// over HTTP: the wiring (configuration, shared master key, shared public
/// URL) works end to end, not just the in-process cores.
mod processes {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use latchkey_core::keys::MasterKey;
    use latchkey_testkit::SoftAuthenticator;
    use serde_json::{json, Value};

    use crate::api::support::ORIGIN;
    use crate::store::support::fresh_postgres_url;

    const BIN: &str = env!("CARGO_BIN_EXE_latchkey");

    /// A `latchkey serve` child, killed when dropped.
    struct Node {
        child: Child,
        port: u16,
        _dir: tempfile::TempDir,
    }

    impl Drop for Node {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn command(db: &str, key: &MasterKey, dir: &std::path::Path) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir")
            .arg(dir)
            .args(["--database-url", db, "--public-url", ORIGIN])
            .env("LATCHKEY_MASTER_KEY", key.to_text())
            .env("LATCHKEY_LOG", "warn");
        cmd
    }

    fn start(db: &str, key: &MasterKey) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = command(db, key, dir.path())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let node = Node {
            child,
            port,
            _dir: dir,
        };
        // Waiting for a process to start listening, not for time to pass.
        let deadline = Instant::now() + Duration::from_secs(30);
        while http(node.port, "GET", "/readyz", None, None).map(|r| r.0) != Some(200) {
            assert!(Instant::now() < deadline, "node on {port} never got ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }

    /// A raw HTTP/1.1 request, so the test needs no HTTP client: (status, JSON body).
    fn http(
        port: u16,
        method: &str,
        path: &str,
        body: Option<&Value>,
        token: Option<&str>,
    ) -> Option<(u16, Value)> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        let body = body.map(Value::to_string).unwrap_or_default();
        let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(req.as_bytes()).ok()?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).ok()?;
        let status = reply.split(' ').nth(1)?.parse().ok()?;
        let (_, json) = reply.split_once("\r\n\r\n")?;
        Some((status, serde_json::from_str(json).unwrap_or(Value::Null)))
    }

    #[track_caller]
    fn ok(reply: Option<(u16, Value)>) -> Value {
        let (status, body) = reply.expect("no HTTP reply");
        assert!((200..300).contains(&status), "{status}: {body}");
        body
    }

    #[test]
    fn two_serve_processes_on_one_database_finish_each_others_ceremonies_over_http() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let db = rt.block_on(fresh_postgres_url());
        let key = MasterKey::generate();
        let (a, b) = (start(&db, &key), start(&db, &key));
        let cli = tempfile::tempdir().unwrap();
        let out = command(&db, &key, cli.path())
            .args([
                "org",
                "create",
                "--name",
                "Acme",
                "--admin",
                "admin@acme.example",
            ])
            .args(["--rp-id", "localhost", "--origin", ORIGIN, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let created: Value = serde_json::from_slice(&out.stdout).unwrap();
        let org = created["orgId"].as_str().unwrap();
        let url = |rest: &str| format!("/api/v1/organizations/{org}/{rest}");
        let authn = SoftAuthenticator::new();

        // Registration: begun on A, completed on B.
        let init = json!({"invitationToken": created["enrolmentToken"]});
        let start = ok(http(
            a.port,
            "POST",
            &url("webauthn/register/init"),
            Some(&init),
            None,
        ));
        let credential = authn.register(&start["publicKey"], ORIGIN).unwrap();
        let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
        ok(http(
            b.port,
            "POST",
            &url("webauthn/register/complete"),
            Some(&body),
            None,
        ));

        // Sign-in: begun on B, completed on A; the token works on both.
        let who = json!({"username": "admin@acme.example"});
        let start = ok(http(
            b.port,
            "POST",
            &url("webauthn/challenge"),
            Some(&who),
            None,
        ));
        let credential = authn.authenticate(&start["publicKey"], ORIGIN).unwrap();
        let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
        let token = ok(http(
            a.port,
            "POST",
            &url("webauthn/verify"),
            Some(&body),
            None,
        ));
        let token = token["token"].as_str().unwrap();
        for node in [&a, &b] {
            let mine = ok(http(
                node.port,
                "GET",
                &url("webauthn/credentials"),
                None,
                Some(token),
            ));
            assert_eq!(mine["total"], 1);
        }
        // Replaying the finished ceremony on the other node is refused.
        let replay = http(b.port, "POST", &url("webauthn/verify"), Some(&body), None).unwrap();
        assert_eq!(
            replay.1["error"]["code"], "ceremony_already_used",
            "{replay:?}"
        );
        // Logout on B ends the session on A.
        let logout = http(b.port, "POST", &url("sessions/logout"), None, Some(token)).unwrap();
        assert_eq!(logout.0, 204, "{logout:?}");
        let after = http(
            a.port,
            "GET",
            &url("webauthn/credentials"),
            None,
            Some(token),
        )
        .unwrap();
        assert_eq!(after.1["error"]["code"], "session_revoked", "{after:?}");
    }
}
