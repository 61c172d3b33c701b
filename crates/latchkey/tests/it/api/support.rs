//! The in-process test app: the real router over a real store, a manual
//! clock, and helpers that run whole ceremonies with a software
//! authenticator. Requests go through `tower::ServiceExt::oneshot`, so no
//! port is opened.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use latchkey_core::clock::{ManualClock, Timestamp};
use latchkey_core::keys::MasterKey;
use latchkey_core::model::{OrgSettings, RegistrationMode};
use latchkey_core::service::NewOrg;
use latchkey_core::store::Store;
use latchkey_core::{CoreConfig, Latchkey};
use latchkey_testkit::SoftAuthenticator;
use serde_json::{json, Value};
use tower::ServiceExt;

pub const ORIGIN: &str = "http://localhost:8080";
/// 2026-11-22T12:00:00Z: tests run at a fixed time and move it explicitly.
pub const T0: i64 = 1_795_348_800_000;

pub struct TestApp {
    pub core: Arc<Latchkey>,
    pub router: axum::Router,
    pub clock: ManualClock,
    _dir: tempfile::TempDir,
}

/// An org bootstrapped through the CLI path, with its super admin enrolled.
pub struct Org {
    pub id: String,
    pub admin_token: String,
    pub admin: SoftAuthenticator,
    pub admin_username: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no error code>")
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "body: {}",
            self.body
        );
    }

    #[track_caller]
    pub fn expect_ok(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        &self.body
    }
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = latchkey_store::open_sqlite(&dir.path().join("latchkey.db"))
            .await
            .unwrap();
        Self::with_store(store, dir).await
    }

    pub async fn with_store(store: Arc<dyn Store>, dir: tempfile::TempDir) -> Self {
        let clock = ManualClock::at(Timestamp(T0));
        let core = Latchkey::new(
            store.clone(),
            Arc::new(clock.clone()),
            MasterKey::generate(),
            CoreConfig::default(),
        )
        .await
        .unwrap();
        let core = Arc::new(core);
        let router = latchkey_http::router(core.clone());
        TestApp {
            core,
            router,
            clock,
            _dir: dir,
        }
    }

    /// Like `with_store`, with the master key given: apps standing for several
    /// nodes over one database (or an installation moved to another database)
    /// must share it to use the stored signing keys.
    pub async fn with_store_and_key(
        store: Arc<dyn Store>,
        dir: tempfile::TempDir,
        key: MasterKey,
    ) -> Self {
        let clock = ManualClock::at(Timestamp(T0));
        let config = CoreConfig::default();
        let core = Latchkey::new(store.clone(), Arc::new(clock.clone()), key, config)
            .await
            .unwrap();
        let core = Arc::new(core);
        let router = latchkey_http::router(core.clone());
        TestApp {
            core,
            router,
            clock,
            _dir: dir,
        }
    }

    pub async fn raw(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply { status, body }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.raw(req.unwrap()).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body), None).await
    }

    pub async fn post_auth(&self, path: &str, body: Value, token: &str) -> Reply {
        self.call(Method::POST, path, Some(body), Some(token)).await
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, None, Some(token)).await
    }

    /// Creates an org the way `latchkey org create` does and returns its id and enrolment token.
    pub async fn create_org(
        &self,
        name: &str,
        admin: &str,
        mode: RegistrationMode,
    ) -> (String, String) {
        let mut settings = OrgSettings::new("localhost", name, vec![ORIGIN.to_owned()]);
        settings.registration_mode = mode;
        let created = self
            .core
            .create_org(NewOrg {
                name: name.into(),
                admin_username: admin.into(),
                admin_display_name: None,
                settings,
            })
            .await
            .unwrap();
        (created.org.id.to_string(), created.enrolment_token)
    }

    /// An org whose super admin has enrolled and signed in.
    pub async fn org(&self, name: &str) -> Org {
        let admin_username = format!("admin@{}.example", name.to_lowercase());
        let (id, enrolment) = self
            .create_org(name, &admin_username, RegistrationMode::Invite)
            .await;
        let admin = SoftAuthenticator::new();
        self.register(&id, &admin, json!({"invitationToken": enrolment}), None)
            .await
            .expect_ok();
        let admin_token = self.sign_in(&id, &admin, &admin_username).await;
        Org {
            id,
            admin_token,
            admin,
            admin_username,
        }
    }

    pub fn url(org: &str, rest: &str) -> String {
        format!("/api/v1/organizations/{org}/{rest}")
    }

    /// register/init then register/complete with the authenticator; returns the complete reply.
    pub async fn register(
        &self,
        org: &str,
        authn: &SoftAuthenticator,
        init: Value,
        token: Option<&str>,
    ) -> Reply {
        let started = self
            .call(
                Method::POST,
                &Self::url(org, "webauthn/register/init"),
                Some(init),
                token,
            )
            .await;
        let start = started.expect_ok().clone();
        let credential = authn.register(&start["publicKey"], ORIGIN).unwrap();
        let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
        self.post(&Self::url(org, "webauthn/register/complete"), body)
            .await
    }

    /// challenge by username then verify; returns the verify reply.
    pub async fn authenticate(
        &self,
        org: &str,
        authn: &SoftAuthenticator,
        challenge: Value,
    ) -> Reply {
        let start = self
            .post(&Self::url(org, "webauthn/challenge"), challenge)
            .await;
        let start = start.expect_ok().clone();
        let credential = authn.authenticate(&start["publicKey"], ORIGIN).unwrap();
        let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
        self.post(&Self::url(org, "webauthn/verify"), body).await
    }

    pub async fn sign_in(&self, org: &str, authn: &SoftAuthenticator, username: &str) -> String {
        let reply = self
            .authenticate(org, authn, json!({"username": username}))
            .await;
        reply.expect_ok()["token"].as_str().unwrap().to_owned()
    }

    /// Invites a user (as the org's admin) and enrols them with a fresh authenticator.
    pub async fn invite_and_enrol(
        &self,
        org: &Org,
        username: &str,
        role: &str,
    ) -> SoftAuthenticator {
        let body = json!({"username": username, "role": role});
        let inv = self
            .post_auth(
                &Self::url(&org.id, "users/invitations"),
                body,
                &org.admin_token,
            )
            .await;
        let token = inv.expect_ok()["token"].as_str().unwrap().to_owned();
        let authn = SoftAuthenticator::new();
        self.register(&org.id, &authn, json!({"invitationToken": token}), None)
            .await
            .expect_ok();
        authn
    }
}
