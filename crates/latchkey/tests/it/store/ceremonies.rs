//! Ceremonies: round trip, single use under concurrency, tenant isolation,
//! the pending cap, purging.

use std::sync::Arc;

use latchkey_core::clock::Timestamp;
use latchkey_core::ids::{CeremonyId, OrgId};
use latchkey_core::store::{SpentCeremony, Store};
use latchkey_core::ErrorCode;

use super::records::{ceremony, create_org, T0};
use super::support::{each_backend, wins_and_used};

const CAP: i64 = 1000;

#[tokio::test]
async fn ceremony_round_trips_through_insert_and_take() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (org, _, _) = create_org(s, "Acme").await;
        let c = ceremony(&org.id, T0.plus_secs(300));
        s.insert_ceremony(&c, CAP, T0).await.unwrap();
        let taken = s.take_ceremony(&org.id, &c.id, T0).await.unwrap();
        assert_eq!(taken, c, "{}", db.backend);
        let mut bare = ceremony(&org.id, T0.plus_secs(300));
        bare.user_id = None;
        bare.payload_hash = None;
        bare.state = serde_json::Value::Null;
        s.insert_ceremony(&bare, CAP, T0).await.unwrap();
        assert_eq!(
            s.take_ceremony(&org.id, &bare.id, T0).await.unwrap(),
            bare,
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn take_ceremony_fails_with_already_used_the_second_time() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (org, _, _) = create_org(s, "Acme").await;
        let c = ceremony(&org.id, T0.plus_secs(300));
        s.insert_ceremony(&c, CAP, T0).await.unwrap();
        s.take_ceremony(&org.id, &c.id, T0).await.unwrap();
        let err = s.take_ceremony(&org.id, &c.id, T0).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyAlreadyUsed, "{}", db.backend);
        let err = s
            .take_ceremony(&org.id, &CeremonyId::generate(), T0)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyNotFound, "{}", db.backend);
    }
}

#[tokio::test]
async fn take_ceremony_consumes_an_expired_ceremony_leaving_expiry_to_the_caller() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (org, _, _) = create_org(s, "Acme").await;
        let c = ceremony(&org.id, T0.plus_secs(1));
        s.insert_ceremony(&c, CAP, T0).await.unwrap();
        let later = T0.plus_secs(600);
        assert_eq!(
            s.take_ceremony(&org.id, &c.id, later).await.unwrap(),
            c,
            "{}",
            db.backend
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn take_ceremony_succeeds_exactly_once_under_concurrency() {
    for db in each_backend().await {
        let (org, _, _) = create_org(db.store.as_ref(), "Acme").await;
        for round in 0..5 {
            let c = ceremony(&org.id, T0.plus_secs(300));
            db.store.insert_ceremony(&c, CAP, T0).await.unwrap();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..20 {
                let store: Arc<dyn Store> = Arc::clone(&db.store);
                let (org_id, id) = (org.id.clone(), c.id.clone());
                tasks.spawn(async move { store.take_ceremony(&org_id, &id, T0).await });
            }
            let results = tasks.join_all().await;
            assert_eq!(
                wins_and_used(&results),
                (1, 19),
                "{} round {round}: {results:?}",
                db.backend
            );
        }
    }
}

#[tokio::test]
async fn take_ceremony_of_another_org_is_not_found_and_leaves_it_pending() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (acme, _, _) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        let c = ceremony(&acme.id, T0.plus_secs(300));
        s.insert_ceremony(&c, CAP, T0).await.unwrap();
        let err = s.take_ceremony(&other.id, &c.id, T0).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyNotFound, "{}", db.backend);
        assert_eq!(
            s.take_ceremony(&acme.id, &c.id, T0).await.unwrap(),
            c,
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn insert_ceremony_refuses_when_the_org_has_max_pending_live_ceremonies() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (acme, _, _) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        // Neither an expired nor a consumed ceremony counts as pending.
        s.insert_ceremony(&ceremony(&acme.id, T0), 3, T0)
            .await
            .unwrap();
        let consumed = ceremony(&acme.id, T0.plus_secs(300));
        s.insert_ceremony(&consumed, 3, T0).await.unwrap();
        s.take_ceremony(&acme.id, &consumed.id, T0).await.unwrap();
        for _ in 0..3 {
            s.insert_ceremony(&ceremony(&acme.id, T0.plus_secs(300)), 3, T0)
                .await
                .unwrap();
        }
        let refused = ceremony(&acme.id, T0.plus_secs(300));
        let err = s.insert_ceremony(&refused, 3, T0).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::TooManyPendingCeremonies, "{b}");
        let err = s
            .take_ceremony(&acme.id, &refused.id, T0)
            .await
            .unwrap_err();
        assert_eq!(
            err.code,
            ErrorCode::CeremonyNotFound,
            "{b}: the refused one was not stored"
        );
        // The cap is per org.
        s.insert_ceremony(&ceremony(&other.id, T0.plus_secs(300)), 3, T0)
            .await
            .unwrap();
        // Once the pending ones expire, there is room again.
        let later = T0.plus_secs(301);
        s.insert_ceremony(&ceremony(&acme.id, later.plus_secs(300)), 3, later)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn purge_ceremonies_deletes_expired_ones_consumed_or_not() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, _, _) = create_org(s, "Acme").await;
        let expired = ceremony(&org.id, T0.plus_secs(10));
        let consumed = ceremony(&org.id, T0.plus_secs(300));
        let pending = ceremony(&org.id, T0.plus_secs(300));
        for c in [&expired, &consumed, &pending] {
            s.insert_ceremony(c, CAP, T0).await.unwrap();
        }
        s.take_ceremony(&org.id, &consumed.id, T0).await.unwrap();
        assert_eq!(
            s.purge_ceremonies(T0.plus_secs(60)).await.unwrap(),
            1,
            "{b}"
        );
        let err = s.take_ceremony(&org.id, &expired.id, T0).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyNotFound, "{b}");
        // A consumed ceremony is kept until it expires, so a replay still reads "already used".
        let err = s
            .take_ceremony(&org.id, &consumed.id, T0)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyAlreadyUsed, "{b}");
        assert_eq!(
            s.take_ceremony(&org.id, &pending.id, T0).await.unwrap(),
            pending,
            "{b}"
        );
        assert_eq!(
            s.purge_ceremonies(T0.plus_secs(301)).await.unwrap(),
            2,
            "{b}"
        );
    }
}

#[tokio::test]
async fn purge_ceremonies_goes_on_past_one_chunk_and_spares_the_live() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, _, _) = create_org(s, "Acme").await;
        // More than two of the SQLite purge's 1,000-row chunks.
        let expired: Vec<_> = (0..2345)
            .map(|_| ceremony(&org.id, T0.plus_secs(10)))
            .collect();
        for chunk in expired.chunks(100) {
            // Inserted after they expired, so the pending cap doesn't count them.
            futures::future::try_join_all(
                chunk
                    .iter()
                    .map(|c| s.insert_ceremony(c, CAP, T0.plus_secs(20))),
            )
            .await
            .unwrap();
        }
        let live = ceremony(&org.id, T0.plus_secs(300));
        s.insert_ceremony(&live, CAP, T0.plus_secs(20))
            .await
            .unwrap();
        assert_eq!(
            s.purge_ceremonies(T0.plus_secs(60)).await.unwrap(),
            2345,
            "{b}"
        );
        assert_eq!(
            s.purge_ceremonies(T0.plus_secs(60)).await.unwrap(),
            0,
            "{b}"
        );
        assert_eq!(
            s.take_ceremony(&org.id, &live.id, T0).await.unwrap(),
            live,
            "{b}"
        );
    }
}

#[tokio::test]
async fn the_pending_cap_counts_each_ceremony_until_its_own_expiry_or_consumption() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, _, _) = create_org(s, "Acme").await;
        // Expiring 5 s and 15 s from T0 (seconds apart, inside and beyond a
        // few seconds' window) and a full lifetime away.
        let soon = ceremony(&org.id, T0.plus_secs(5));
        let next = ceremony(&org.id, T0.plus_secs(15));
        for c in [&soon, &next, &ceremony(&org.id, T0.plus_secs(305))] {
            s.insert_ceremony(c, 3, T0).await.unwrap();
        }
        assert_full(s, &org.id, T0.plus_secs(4), 3, b).await;
        // One millisecond after `soon` expired, its place is free.
        let just_after = Timestamp(T0.plus_secs(5).millis() + 1);
        s.insert_ceremony(&ceremony(&org.id, T0.plus_secs(305)), 3, just_after)
            .await
            .unwrap();
        assert_full(s, &org.id, just_after, 3, b).await;
        // Consuming one frees its place.
        s.take_ceremony(&org.id, &next.id, just_after)
            .await
            .unwrap();
        s.insert_ceremony(&ceremony(&org.id, T0.plus_secs(305)), 3, just_after)
            .await
            .unwrap();
        assert_full(s, &org.id, just_after, 3, b).await;
        // A purge leaves the count of what it keeps as it was.
        s.purge_ceremonies(T0.plus_secs(6)).await.unwrap();
        assert_full(s, &org.id, just_after, 3, b).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pending_count_stays_exact_through_concurrent_starts_and_takes() {
    for db in each_backend().await {
        let b = db.backend;
        let (org, _, _) = create_org(db.store.as_ref(), "Acme").await;
        // Expiries spread over several buckets, so batches share some.
        let expiring = |i: i64| ceremony(&org.id, T0.plus_secs(300 + (i % 7) * 4));
        let first: Vec<_> = (0..40).map(expiring).collect();
        for c in &first {
            db.store.insert_ceremony(c, CAP, T0).await.unwrap();
        }
        // 60 more starts race the takes of 20 of the first.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..60 {
            let (store, c) = (Arc::clone(&db.store), expiring(i));
            tasks.spawn(async move { store.insert_ceremony(&c, CAP, T0).await.map(|_| ()) });
        }
        for c in &first[..20] {
            let (store, org_id, id) = (Arc::clone(&db.store), org.id.clone(), c.id.clone());
            tasks.spawn(async move { store.take_ceremony(&org_id, &id, T0).await.map(|_| ()) });
        }
        for result in tasks.join_all().await {
            result.unwrap();
        }
        // 80 pending: a cap of 81 lets exactly one more in.
        db.store
            .insert_ceremony(&expiring(0), 81, T0)
            .await
            .unwrap();
        assert_full(db.store.as_ref(), &org.id, T0, 81, b).await;
    }
}

/// One more ceremony of `org`, started at `at`, is refused under `cap`.
async fn assert_full(s: &dyn Store, org: &OrgId, at: Timestamp, cap: i64, backend: &str) {
    let err = s
        .insert_ceremony(&ceremony(org, T0.plus_secs(305)), cap, at)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::TooManyPendingCeremonies, "{backend}");
}

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
