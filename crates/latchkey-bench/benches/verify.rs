//! The cryptographic hot paths, one at a time: assertion verification per
//! algorithm, registration verification per attestation format, and session
//! token signing and verification. These are the floor under a ceremony's
//! server cost; compare `ceremony` (the whole thing, with storage) to them.
//!
//! `cargo bench -p latchkey-bench --bench verify`

#[path = "common/mod.rs"]
mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use latchkey_core::keys::{KeyRing, MasterKey};
use latchkey_core::tokens::{self, SessionClaims};
use latchkey_core::webauthn::{
    verify_authentication, verify_registration, AssertionCheck, AttestationPolicy,
};
use latchkey_testkit::{Alg, Attestation};

fn assertion_verification(c: &mut Criterion) {
    let origins = common::origins();
    let mut group = c.benchmark_group("verify_authentication");
    let fixtures = [
        ("es256", common::assertion(Alg::Es256)),
        ("eddsa", common::assertion(Alg::EdDsa)),
        ("rs256", common::rs256_assertion()),
    ];
    for (name, (cose, response)) in &fixtures {
        // Stored count 0: the same assertion can be verified again and again.
        let check = AssertionCheck {
            challenge: common::AUTH_CHALLENGE,
            origins: &origins,
            rp_id: common::RP_ID,
            require_user_verification: true,
            public_key_cose: cose,
            stored_sign_count: 0,
        };
        verify_authentication(response, &check).expect("the fixture verifies");
        group.bench_function(*name, |b| {
            b.iter(|| verify_authentication(black_box(response), black_box(&check)))
        });
    }
    group.finish();
}

fn registration_verification(c: &mut Criterion) {
    let (origins, policy) = (common::origins(), AttestationPolicy::default());
    let check = common::registration_check(&origins, &policy);
    let mut group = c.benchmark_group("verify_registration");
    let cases = [
        ("none/es256", Alg::Es256, Attestation::None),
        ("packed-self/es256", Alg::Es256, Attestation::PackedSelf),
        ("none/eddsa", Alg::EdDsa, Attestation::None),
        ("packed-self/eddsa", Alg::EdDsa, Attestation::PackedSelf),
    ];
    for (name, alg, attestation) in cases {
        let (_, response) = common::registration(alg, attestation);
        verify_registration(&response, &check).expect("the fixture verifies");
        group.bench_function(name, |b| {
            b.iter(|| verify_registration(black_box(&response), black_box(&check)))
        });
    }
    group.finish();
}

fn session_tokens(c: &mut Criterion) {
    // The key ring loads its keys from a store; an in-memory one will do.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let keys = rt.block_on(async {
        let store = latchkey_store::open_sqlite_memory().await.expect("store");
        KeyRing::load(store.as_ref(), MasterKey::generate(), common::NOW)
            .await
            .expect("key ring")
    });
    let claims = SessionClaims {
        iss: common::ORIGIN.to_owned(),
        aud: tokens::SESSION_AUD.to_owned(),
        sub: "usr_benchbenchbenchbenchbenchbe".to_owned(),
        org: "org_benchbenchbenchbenchbenchbe".to_owned(),
        sid: "ses_benchbenchbenchbenchbenchbe".to_owned(),
        iat: common::NOW.secs(),
        exp: common::NOW.secs() + 86_400,
        amr: vec!["hwk".to_owned(), "user".to_owned()],
    };
    let token = tokens::sign(&keys, tokens::SESSION_TYP, &claims).expect("signs");
    let decoded = tokens::decode_session(&keys, &token, common::ORIGIN, common::NOW);
    assert_eq!(decoded.expect("decodes"), Some(claims.clone()));

    let mut group = c.benchmark_group("session_token");
    group.bench_function("sign", |b| {
        b.iter(|| tokens::sign(&keys, tokens::SESSION_TYP, black_box(&claims)))
    });
    group.bench_function("decode", |b| {
        b.iter(|| tokens::decode_session(&keys, black_box(&token), common::ORIGIN, common::NOW))
    });
    group.finish();
}

criterion_group!(
    benches,
    assertion_verification,
    registration_verification,
    session_tokens
);
criterion_main!(benches);
