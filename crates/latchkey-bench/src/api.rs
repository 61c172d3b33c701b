//! The four ceremony routes, from the client side: each ceremony is two HTTP
//! round trips with the software authenticator's work in between, exactly
//! what a browser and its authenticator do. Failures are reduced to a short,
//! stable *kind* (`verify: HTTP 400 bad_signature`) so a run can count them
//! by kind without keeping every message.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use latchkey_testkit::{AuthenticatorError, SoftAuthenticator};
use reqwest::{Client, Url};
use serde_json::{json, Value};

/// Why a ceremony failed, as the key errors are counted under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl Failure {
    fn http(step: &str, status: u16, body: &Value) -> Self {
        let code = body["error"]["code"].as_str().unwrap_or("-");
        Failure(format!("{step}: HTTP {status} {code}"))
    }

    fn transport(step: &str, err: &reqwest::Error) -> Self {
        let what = if err.is_timeout() {
            "timeout"
        } else if err.is_connect() {
            "connect"
        } else if err.is_decode() {
            "bad JSON"
        } else {
            "io"
        };
        Failure(format!("{step}: transport {what}"))
    }

    fn authenticator(step: &str, err: AuthenticatorError) -> Self {
        // The DOMException name is what a browser would report: short and stable.
        Failure(format!("{step}: authenticator {}", err.kind.dom_name()))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One organisation on one server, seen through a shared connection pool.
#[derive(Clone)]
pub struct Api {
    client: Client,
    routes: Arc<Routes>,
    origin: String,
}

/// The four routes' URLs, parsed once: parsing one per request (with its
/// IDNA pass over the host) was ~4 % of the load generator's CPU.
struct Routes {
    register_init: Url,
    register_complete: Url,
    challenge: Url,
    verify: Url,
}

impl Api {
    /// Fails on a target or org that doesn't make a URL.
    pub fn new(
        target: &str,
        org: &str,
        origin: String,
        pool: usize,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let client = Client::builder()
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .timeout(timeout)
            .build()
            .unwrap_or_else(|_| Client::new());
        let base = format!(
            "{}/api/v1/organizations/{org}/webauthn",
            target.trim_end_matches('/')
        );
        let route = |path: &str| {
            let url = format!("{base}/{path}");
            Url::parse(&url).with_context(|| format!("--target and --org make {url}: not a URL"))
        };
        let routes = Routes {
            register_init: route("register/init")?,
            register_complete: route("register/complete")?,
            challenge: route("challenge")?,
            verify: route("verify")?,
        };
        Ok(Api {
            client,
            routes: Arc::new(routes),
            origin,
        })
    }

    async fn post(&self, step: &str, url: &Url, body: &Value) -> Result<Value, Failure> {
        let res = self
            .client
            .post(url.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| Failure::transport(step, &e))?;
        let status = res.status().as_u16();
        let reply: Value = res.json().await.map_err(|e| Failure::transport(step, &e))?;
        if (200..300).contains(&status) {
            Ok(reply)
        } else {
            Err(Failure::http(step, status, &reply))
        }
    }

    /// register/init with `init` (a username, or an invitation token), then
    /// register/complete with a new credential from `authn`.
    pub async fn register(&self, authn: &SoftAuthenticator, init: &Value) -> Result<(), Failure> {
        let start = self
            .post("register/init", &self.routes.register_init, init)
            .await?;
        let credential = authn
            .register(&start["publicKey"], &self.origin)
            .map_err(|e| Failure::authenticator("register", e))?;
        let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
        self.post("register/complete", &self.routes.register_complete, &body)
            .await?;
        Ok(())
    }

    /// Starts a usernameless challenge and walks away from it.
    pub async fn abandon_challenge(&self) -> Result<(), Failure> {
        self.post("challenge", &self.routes.challenge, &json!({}))
            .await
            .map(drop)
    }

    /// challenge (by `username`, or usernameless when `None`), then verify;
    /// a reply without a token counts as a failure.
    pub async fn authenticate(
        &self,
        authn: &SoftAuthenticator,
        username: Option<&str>,
    ) -> Result<(), Failure> {
        let challenge = match username {
            Some(name) => json!({ "username": name }),
            None => json!({}),
        };
        let start = self
            .post("challenge", &self.routes.challenge, &challenge)
            .await?;
        let credential = authn
            .authenticate(&start["publicKey"], &self.origin)
            .map_err(|e| Failure::authenticator("authenticate", e))?;
        let body = json!({"ceremonyId": start["ceremonyId"], "credential": credential});
        let grant = self.post("verify", &self.routes.verify, &body).await?;
        match grant["token"].as_str() {
            Some(t) if !t.is_empty() => Ok(()),
            _ => Err(Failure("verify: no token in reply".to_owned())),
        }
    }
}
