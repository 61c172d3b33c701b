//! Whole ceremonies in process, without HTTP: the core `Latchkey` over the
//! real SQLite store in a temporary directory. Only the two core calls of a
//! ceremony are timed (`challenge` + `verify`, `register_init` +
//! `register_complete`); the software authenticator's signing in between runs
//! outside the clock, as it is the client's work, not the server's. The gap
//! between these figures and `verify`'s is what storage and bookkeeping cost.
//!
//! `cargo bench -p latchkey-bench --bench ceremony`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use latchkey_core::clock::SystemClock;
use latchkey_core::ids::OrgId;
use latchkey_core::keys::MasterKey;
use latchkey_core::model::{OrgSettings, RegistrationMode};
use latchkey_core::service::{ChallengeInput, NewOrg, RegisterAuth, RegisterInit, TokenType};
use latchkey_core::webauthn::json::{AuthenticationResponseJson, RegistrationResponseJson};
use latchkey_core::{CoreConfig, Latchkey};
use latchkey_testkit::{Alg, Config, SoftAuthenticator};
use tokio::runtime::Runtime;

const ADMIN: &str = "admin@bench.example";

/// A core on a fresh SQLite file, one open-registration org whose admin has enrolled.
struct Fixture {
    core: Latchkey,
    org: OrgId,
    admin: SoftAuthenticator,
    _dir: tempfile::TempDir,
}

async fn fixture(alg: Alg) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = latchkey_store::open_sqlite(&dir.path().join("latchkey.db"))
        .await
        .expect("store");
    let core = Latchkey::new(
        store,
        Arc::new(SystemClock),
        MasterKey::generate(),
        CoreConfig::default(),
    )
    .await
    .expect("core");
    let mut settings = OrgSettings::new(common::RP_ID, "Bench", common::origins());
    settings.registration_mode = RegistrationMode::Open;
    let new = NewOrg {
        name: "Bench".into(),
        admin_username: ADMIN.into(),
        admin_display_name: None,
        settings,
    };
    let created = core.create_org(new).await.expect("org");
    let org = created.org.id.clone();
    let admin = SoftAuthenticator::with_config(Config::default().alg(alg));
    let invitation = RegisterAuth::Invitation(created.enrolment_token);
    register(
        &core,
        &org,
        &admin,
        invitation,
        RegisterInit {
            username: None,
            display_name: None,
        },
    )
    .await;
    Fixture {
        core,
        org,
        admin,
        _dir: dir,
    }
}

/// One registration ceremony; returns the time spent in the two core calls.
async fn register(
    core: &Latchkey,
    org: &OrgId,
    authn: &SoftAuthenticator,
    who: RegisterAuth,
    input: RegisterInit,
) -> Duration {
    let t = Instant::now();
    let start = core
        .register_init(org, who, input)
        .await
        .expect("register_init");
    let mut spent = t.elapsed();
    let response = authn
        .register(&start.public_key, common::ORIGIN)
        .expect("authenticator registers");
    let response: RegistrationResponseJson = serde_json::from_value(response).expect("JSON");
    let t = Instant::now();
    core.register_complete(org, &start.ceremony_id, &response, None)
        .await
        .expect("register_complete");
    spent += t.elapsed();
    spent
}

/// One authentication ceremony; returns the time spent in the two core calls.
async fn authenticate(f: &Fixture, username: Option<&str>) -> Duration {
    let input = ChallengeInput {
        username: username.map(str::to_owned),
        ..ChallengeInput::default()
    };
    let t = Instant::now();
    let start = f.core.challenge(&f.org, input).await.expect("challenge");
    let mut spent = t.elapsed();
    let response = f
        .admin
        .authenticate(&start.public_key, common::ORIGIN)
        .expect("authenticator signs");
    let response: AuthenticationResponseJson = serde_json::from_value(response).expect("JSON");
    let t = Instant::now();
    let grant = f
        .core
        .verify(
            &f.org,
            &start.ceremony_id,
            &response,
            TokenType::Session,
            None,
        )
        .await;
    spent += t.elapsed();
    assert!(!grant.expect("verify").token.is_empty());
    spent
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

fn authentication_ceremony(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("authentication_ceremony");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(6));
    for (name, alg) in [("es256", Alg::Es256), ("eddsa", Alg::EdDsa)] {
        let f = rt.block_on(fixture(alg));
        group.bench_function(format!("by_username/{name}"), |b| {
            b.iter_custom(|n| {
                rt.block_on(async { timed(n, || authenticate(&f, Some(ADMIN))).await })
            })
        });
        group.bench_function(format!("usernameless/{name}"), |b| {
            b.iter_custom(|n| rt.block_on(async { timed(n, || authenticate(&f, None)).await }))
        });
    }
    group.finish();
}

fn registration_ceremony(c: &mut Criterion) {
    let rt = runtime();
    let f = rt.block_on(fixture(Alg::Es256));
    let (core, org) = (&f.core, &f.org);
    let mut group = c.benchmark_group("registration_ceremony");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(6));
    let mut next = 0u64;
    group.bench_function("open/es256/none", |b| {
        b.iter_custom(|n| {
            rt.block_on(async {
                timed(n, || {
                    next += 1;
                    let input = RegisterInit {
                        username: Some(format!("user-{next}@bench.example")),
                        display_name: None,
                    };
                    let authn = SoftAuthenticator::new();
                    async move { register(core, org, &authn, RegisterAuth::Anonymous, input).await }
                })
                .await
            })
        })
    });
    group.finish();
}

/// Runs `n` ceremonies one after another and adds up their server-side time.
async fn timed<F, Fut>(n: u64, mut one: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Duration>,
{
    let mut total = Duration::ZERO;
    for _ in 0..n {
        total += one().await;
    }
    total
}

criterion_group!(benches, authentication_ceremony, registration_ceremony);
criterion_main!(benches);
