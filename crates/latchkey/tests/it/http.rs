//! The HTTP layer itself, in process: JSON errors for everything that is not
//! a handler's answer (unknown route, wrong method, bad bodies, bad ids),
//! the operational routes, the OpenAPI document against the router, request
//! ids, the console's security headers and assets, inspecting a one-time
//! link, and pagination parameters.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use latchkey_core::clock::{ManualClock, Timestamp};
use latchkey_core::keys::MasterKey;
use latchkey_core::model::OrgSettings;
use latchkey_core::service::NewOrg;
use latchkey_core::{CoreConfig, Latchkey};
use latchkey_testkit::SoftAuthenticator;
use serde_json::{json, Value};
use tower::ServiceExt;

const ORIGIN: &str = "http://localhost:8080";

/// Every route the router serves, as `(method, OpenAPI path)`.
const ROUTES: &[(&str, &str)] = &[
    (
        "POST",
        "/api/v1/organizations/{orgId}/webauthn/register/init",
    ),
    (
        "POST",
        "/api/v1/organizations/{orgId}/webauthn/register/complete",
    ),
    ("POST", "/api/v1/organizations/{orgId}/webauthn/challenge"),
    ("POST", "/api/v1/organizations/{orgId}/webauthn/verify"),
    ("GET", "/api/v1/organizations/{orgId}/webauthn/credentials"),
    (
        "GET",
        "/api/v1/organizations/{orgId}/webauthn/credentials/all",
    ),
    (
        "PATCH",
        "/api/v1/organizations/{orgId}/webauthn/credentials/{credentialId}",
    ),
    (
        "DELETE",
        "/api/v1/organizations/{orgId}/webauthn/credentials/{credentialId}",
    ),
    ("POST", "/api/v1/organizations/{orgId}/sessions/logout"),
    ("GET", "/api/v1/organizations/{orgId}"),
    ("GET", "/api/v1/organizations/{orgId}/settings"),
    ("PUT", "/api/v1/organizations/{orgId}/settings"),
    ("GET", "/api/v1/organizations/{orgId}/users"),
    ("POST", "/api/v1/organizations/{orgId}/users/invitations"),
    (
        "POST",
        "/api/v1/organizations/{orgId}/users/invitations/inspect",
    ),
    ("PATCH", "/api/v1/organizations/{orgId}/users/{userId}"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/"),
    ("GET", "/enroll"),
    ("GET", "/o/{orgId}"),
    ("GET", "/o/{orgId}/{screen}"),
    ("GET", "/assets/{path}"),
];

struct App {
    router: Router,
    core: Arc<Latchkey>,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{}", self.text);
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
}

impl App {
    async fn new() -> App {
        let dir = tempfile::tempdir().unwrap();
        let store = latchkey_store::open_sqlite(&dir.path().join("latchkey.db"))
            .await
            .unwrap();
        let clock = ManualClock::at(Timestamp::from_secs(1_700_000_000));
        let config = CoreConfig {
            public_url: ORIGIN.to_owned(),
        };
        let core = Latchkey::new(store, Arc::new(clock), MasterKey::generate(), config)
            .await
            .unwrap();
        let core = Arc::new(core);
        App {
            router: latchkey_http::router(core.clone()),
            core,
            _dir: dir,
        }
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(request(Method::GET, path, Body::empty(), None, None))
            .await
    }

    async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Reply {
        let body = Body::from(body.to_string());
        let req = request(Method::POST, path, body, Some("application/json"), token);
        self.send(req).await
    }

    /// An org whose super admin has enrolled, and that admin's session token.
    async fn enrolled_org(&self) -> (String, String) {
        let input = NewOrg {
            name: "Acme".into(),
            admin_username: "alice@acme.example".into(),
            admin_display_name: None,
            settings: OrgSettings::new("localhost", "Acme", vec![ORIGIN.into()]),
        };
        let created = self.core.create_org(input).await.unwrap();
        let org = created.org.id.to_string();
        let authn = SoftAuthenticator::new();
        let init = json!({"invitationToken": created.enrolment_token});
        let start = self
            .post_json(&api(&org, "/webauthn/register/init"), &init, None)
            .await
            .json();
        let credential = authn.register(&start["publicKey"], ORIGIN).unwrap();
        let complete = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
        let reply = self
            .post_json(&api(&org, "/webauthn/register/complete"), &complete, None)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let start = self
            .post_json(&api(&org, "/webauthn/challenge"), &json!({}), None)
            .await
            .json();
        let assertion = authn.authenticate(&start["publicKey"], ORIGIN).unwrap();
        let verify = json!({"ceremonyId": start["ceremonyId"], "credential": assertion});
        let grant = self
            .post_json(&api(&org, "/webauthn/verify"), &verify, None)
            .await
            .json();
        (org, grant["token"].as_str().unwrap().to_owned())
    }
}

fn request(
    method: Method,
    path: &str,
    body: Body,
    content_type: Option<&str>,
    token: Option<&str>,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(body).unwrap()
}

fn api(org: &str, rest: &str) -> String {
    format!("/api/v1/organizations/{org}{rest}")
}

const SOME_ORG: &str = "org_doesnotexist";

#[tokio::test]
async fn an_unknown_route_is_a_json_not_found() {
    let app = App::new().await;
    app.get("/no/such/route")
        .await
        .assert_error(404, "not_found");
    app.get("/api/v1/organizations")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405() {
    let app = App::new().await;
    let req = request(Method::DELETE, "/healthz", Body::empty(), None, None);
    app.send(req).await.assert_error(405, "method_not_allowed");
    let challenge = api(SOME_ORG, "/webauthn/challenge");
    app.get(&challenge)
        .await
        .assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn malformed_json_is_invalid_json_with_serdes_message() {
    let app = App::new().await;
    let path = api(SOME_ORG, "/webauthn/verify");
    let syntax = request(
        Method::POST,
        &path,
        Body::from("{not json"),
        Some("application/json"),
        None,
    );
    let reply = app.send(syntax).await;
    reply.assert_error(400, "invalid_json");
    assert!(reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("line 1"));
    let shape = app.post_json(&path, &json!({"ceremonyId": 5}), None).await;
    shape.assert_error(400, "invalid_json");
    assert!(shape.text.contains("invalid type"), "{}", shape.text);
    let typo = json!({"usernme": "x"});
    let unknown = app
        .post_json(&api(SOME_ORG, "/webauthn/challenge"), &typo, None)
        .await;
    unknown.assert_error(400, "invalid_json");
}

#[tokio::test]
async fn a_body_that_is_not_declared_as_json_is_refused() {
    let app = App::new().await;
    let path = api(SOME_ORG, "/webauthn/verify");
    let plain = request(
        Method::POST,
        &path,
        Body::from("{}"),
        Some("text/plain"),
        None,
    );
    app.send(plain)
        .await
        .assert_error(400, "unsupported_media_type");
    let missing = request(Method::POST, &path, Body::from("{}"), None, None);
    app.send(missing)
        .await
        .assert_error(400, "unsupported_media_type");
    let suffixed = request(
        Method::POST,
        &path,
        Body::from("{}"),
        Some("application/vnd.x+json; charset=utf-8"),
        None,
    );
    app.send(suffixed).await.assert_error(400, "invalid_json");
}

#[tokio::test]
async fn a_body_over_64_kib_is_a_json_413() {
    let app = App::new().await;
    let (org, _) = app.enrolled_org().await;
    let huge = json!({"username": "x".repeat(70 * 1024)});
    let reply = app
        .post_json(&api(&org, "/webauthn/challenge"), &huge, None)
        .await;
    reply.assert_error(413, "payload_too_large");
    let just_under = json!({"username": "x".repeat(60 * 1024)});
    let reply = app
        .post_json(&api(&org, "/webauthn/challenge"), &just_under, None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn a_malformed_or_unknown_org_id_is_org_not_found() {
    let app = App::new().await;
    for org in ["usr_wrongprefix", "org_", "nonsense", SOME_ORG] {
        app.get(&api(org, ""))
            .await
            .assert_error(404, "org_not_found");
        let reply = app
            .post_json(&api(org, "/webauthn/challenge"), &json!({}), None)
            .await;
        reply.assert_error(404, "org_not_found");
    }
}

#[tokio::test]
async fn an_empty_challenge_body_counts_as_an_empty_object() {
    let app = App::new().await;
    let (org, _) = app.enrolled_org().await;
    let empty = request(
        Method::POST,
        &api(&org, "/webauthn/challenge"),
        Body::empty(),
        None,
        None,
    );
    let reply = app.send(empty).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.json()["ceremonyId"]
        .as_str()
        .unwrap()
        .starts_with("cer_"));
}

#[tokio::test]
async fn protected_routes_need_a_bearer_session_token() {
    let app = App::new().await;
    let (org, _) = app.enrolled_org().await;
    let path = api(&org, "/webauthn/credentials");
    app.get(&path).await.assert_error(401, "unauthenticated");
    let basic = Request::get(&path)
        .header("authorization", "Basic YTpi")
        .body(Body::empty())
        .unwrap();
    app.send(basic).await.assert_error(401, "invalid_token");
    let garbage = request(Method::GET, &path, Body::empty(), None, Some("not-a-jwt"));
    app.send(garbage).await.assert_error(401, "invalid_token");
}

#[tokio::test]
async fn healthz_answers_ok_and_is_never_cached() {
    let app = App::new().await;
    let reply = app.get("/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"status": "ok"}));
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(reply.headers["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn readyz_pings_the_database_and_names_the_backend() {
    let app = App::new().await;
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"status": "ready", "database": "sqlite"})
    );
}

#[tokio::test]
async fn jwks_publishes_an_ed25519_okp_key() {
    let app = App::new().await;
    let jwks = app.get("/.well-known/jwks.json").await.json();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    let key = &keys[0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert_eq!(key["alg"], "EdDSA");
    assert!(key["kid"].is_string() && key["x"].is_string());
    assert!(
        key.get("d").is_none(),
        "the private key must never be published"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let app = App::new().await;
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.headers["content-type"], "application/json");
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            let methods = ["get", "put", "post", "patch", "delete"];
            methods
                .into_iter()
                .filter(|m| item.get(*m).is_some())
                .map(|m| (m.to_ascii_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, expected);
}

#[tokio::test]
async fn every_listed_route_is_served_by_the_router() {
    let app = App::new().await;
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{orgId}", SOME_ORG)
            .replace("{credentialId}", "AAAA")
            .replace("{userId}", "usr_x")
            .replace("{screen}", "passkeys")
            .replace("{path}", "js/main.js");
        let req = request(
            method.parse().unwrap(),
            &concrete,
            Body::empty(),
            None,
            None,
        );
        let reply = app.send(req).await;
        let is_json = reply.headers["content-type"] == "application/json";
        let code = is_json.then(|| reply.json()["error"]["code"].clone());
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_ne!(
            code,
            Some(json!("not_found")),
            "{method} {path}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn the_openapi_error_schema_lists_every_error_code() {
    let app = App::new().await;
    let doc = app.get("/openapi.json").await.json();
    let codes =
        &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
    let listed: Vec<&str> = codes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let all: Vec<&str> = latchkey_core::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(listed, all);
}

#[tokio::test]
async fn a_request_id_is_echoed_or_generated() {
    let app = App::new().await;
    let given = Request::get("/healthz")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(given).await.headers["x-request-id"], "abc-123");
    let generated = app.get("/no/such/route").await;
    let id = generated.headers["x-request-id"].to_str().unwrap();
    assert!(id.len() >= 16, "{id}");
}

#[tokio::test]
async fn every_console_url_serves_the_shell_with_a_strict_csp_and_no_inline_code() {
    let app = App::new().await;
    for url in [
        "/",
        "/enroll?org=org_x&token=t",
        "/o/org_x",
        "/o/org_x/passkeys",
        "/o/org_x/users",
    ] {
        let page = app.get(url).await;
        assert_eq!(page.status, StatusCode::OK, "{url}");
        assert!(page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert_eq!(csp, latchkey_http::routes::console::CSP);
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
        assert_eq!(page.headers["cache-control"], "no-store");
        assert!(page
            .text
            .contains("<script type=\"module\" src=\"/assets/js/main.js\"></script>"));
        assert_eq!(page.text.matches("<script").count(), 1, "no inline scripts");
        assert!(
            !page.text.contains("<style") && !page.text.contains(" style="),
            "no inline styles"
        );
    }
}

#[tokio::test]
async fn console_assets_are_served_with_their_type_and_revalidated_by_etag() {
    let app = App::new().await;
    let js = app.get("/assets/js/main.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(js.headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(js.headers["cache-control"], "no-cache");
    let etag = js.headers["etag"].to_str().unwrap().to_owned();
    let again = Request::get("/assets/js/main.js")
        .header("if-none-match", &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.send(again).await.status, StatusCode::NOT_MODIFIED);
    let css = app.get("/assets/console.css").await;
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    app.get("/assets/nope.js")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn inspecting_a_link_tells_whether_it_activates_passkeys_and_redeems_nothing() {
    let app = App::new().await;
    let input = NewOrg {
        name: "Acme".into(),
        admin_username: "alice@acme.example".into(),
        admin_display_name: None,
        settings: OrgSettings::new("localhost", "Acme", vec![ORIGIN.into()]),
    };
    let created = app.core.create_org(input).await.unwrap();
    let org = created.org.id.to_string();
    let invite = latchkey_core::service::NewInvitation {
        username: "bob@acme.example".into(),
        display_name: None,
        role: latchkey_core::model::Role::Member,
    };
    let bob = app
        .core
        .invite_user(&created.org.id, None, invite)
        .await
        .unwrap();
    let path = api(&org, "/users/invitations/inspect");
    let inspect = |token: &str| {
        let body = json!({ "token": token });
        let path = path.clone();
        let app = &app;
        async move { app.post_json(&path, &body, None).await }
    };
    for _ in 0..2 {
        let view = inspect(&created.enrolment_token).await.json();
        assert_eq!(view["kind"], "enrolment");
        assert_eq!(view["username"], "alice@acme.example");
        assert_eq!(view["role"], "super_admin");
        assert_eq!(view["activatesOrg"], true);
        assert_eq!(view["activationPending"], false);
        assert_eq!(view["origins"], json!([ORIGIN]));
        assert_eq!(view["org"]["passkeyStatus"], "inactive");
    }
    let view = inspect(&bob.token).await.json();
    assert_eq!(view["kind"], "invitation");
    assert_eq!(view["activatesOrg"], false);
    assert_eq!(view["activationPending"], true);
    assert!(view.get("origins").is_none(), "{view}");
    inspect("nope")
        .await
        .assert_error(401, "invitation_invalid");
}

#[tokio::test]
async fn pagination_parameters_are_validated() {
    let app = App::new().await;
    let (org, token) = app.enrolled_org().await;
    let list = |query: &str| {
        let path = api(&org, &format!("/webauthn/credentials{query}"));
        app.send(request(
            Method::GET,
            &path,
            Body::empty(),
            None,
            Some(&token),
        ))
    };
    for bad in [
        "?page=0",
        "?page=-1",
        "?page=abc",
        "?per_page=0",
        "?per_page=101",
        "?per_page=x",
    ] {
        list(bad).await.assert_error(400, "invalid_request");
    }
    let page = list("").await.json();
    assert_eq!(
        (page["page"].as_u64(), page["perPage"].as_u64()),
        (Some(1), Some(20))
    );
    assert_eq!(page["total"], 1);
    let page = list("?page=2&per_page=100").await.json();
    assert_eq!(
        (page["page"].as_u64(), page["perPage"].as_u64()),
        (Some(2), Some(100))
    );
    assert_eq!(page["items"], json!([]));
    let users = app.send(request(
        Method::GET,
        &api(&org, "/users?per_page=1000"),
        Body::empty(),
        None,
        Some(&token),
    ));
    users.await.assert_error(400, "invalid_request");
}
