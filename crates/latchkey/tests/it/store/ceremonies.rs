//! Spent ceremonies: single use under concurrency, kept until expiry, purged.

use std::sync::Arc;

use latchkey_core::store::{SpentCeremony, Store};
use latchkey_core::ErrorCode;

use super::records::{ceremony, create_org, T0};
use super::support::{each_backend, wins_and_used};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sealed_ceremony_is_spent_exactly_once_under_concurrency() {
    for db in each_backend().await {
        let (org, _, _) = create_org(db.store.as_ref(), "Acme").await;
        for round in 0..5 {
            let spent = SpentCeremony::of(&ceremony(&org.id, T0.plus_secs(300)));
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..20 {
                let store: Arc<dyn Store> = Arc::clone(&db.store);
                let spent = spent.clone();
                tasks.spawn(async move { store.spend_ceremony(&spent).await });
            }
            let results = tasks.join_all().await;
            assert_eq!(
                wins_and_used(&results),
                (1, 19),
                "{} round {round}",
                db.backend
            );
        }
    }
}

#[tokio::test]
async fn spent_ceremonies_are_kept_until_they_expire_then_purged() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, _, _) = create_org(s, "Acme").await;
        let early = SpentCeremony::of(&ceremony(&org.id, T0.plus_secs(10)));
        let late = SpentCeremony::of(&ceremony(&org.id, T0.plus_secs(300)));
        for spent in [&early, &late] {
            s.spend_ceremony(spent).await.unwrap();
        }
        assert_eq!(
            s.purge_ceremonies(T0.plus_secs(60)).await.unwrap(),
            1,
            "{b}"
        );
        // Until it expires, a spent ceremony still reads "already used".
        let err = s.spend_ceremony(&late).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyAlreadyUsed, "{b}");
        assert_eq!(
            s.purge_ceremonies(T0.plus_secs(301)).await.unwrap(),
            1,
            "{b}"
        );
        assert_eq!(
            s.purge_ceremonies(T0.plus_secs(301)).await.unwrap(),
            0,
            "{b}"
        );
    }
}
