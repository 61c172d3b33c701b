//! Completing a ceremony: ceremonies are sealed, not stored; the
//! completion's commit spends its ceremony in the same transaction as its
//! writes, so exactly one completion commits and a loser writes nothing.
//! On SQLite the losers typically share a group commit with the winner,
//! which is what these races exercise there.

use std::sync::Arc;

use latchkey_core::audit::AuditKind;
use latchkey_core::ids::{OrgId, SessionId};
use latchkey_core::model::{Ceremony, User};
use latchkey_core::store::{AuthenticationCommit, SpentCeremony, Store};
use latchkey_core::ErrorCode;

use super::records::{
    ceremony, create_org, credential, event, org_with_passkey, registration, session, KEY, T0,
};
use super::support::{each_backend, postgres_db, wins_and_used};

/// How many of these sessions were stored.
async fn live_sessions(store: &dyn Store, org: &OrgId, sids: &[SessionId]) -> usize {
    let mut live = 0;
    for sid in sids {
        live += usize::from(store.get_session(org, sid).await.unwrap().is_some());
    }
    live
}

fn sign_in(user: &User, ceremony: &Ceremony, cred: &[u8]) -> AuthenticationCommit {
    let ses = session(user, cred);
    AuthenticationCommit {
        org_id: user.org_id.clone(),
        ceremony: Some(SpentCeremony::of(ceremony)),
        credential_id: cred.to_vec(),
        user_id: user.id.clone(),
        public_key_cose: KEY.to_vec(),
        sign_count: 0,
        backup_eligible: true,
        backup_state: true,
        now: T0.plus_secs(5),
        audit: vec![event(
            &user.org_id,
            AuditKind::SessionIssued,
            ses.id.as_str(),
        )],
        session: Some(ses),
    }
}

#[tokio::test]
async fn a_sign_in_spends_its_ceremony_and_a_replay_writes_nothing() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin) = org_with_passkey(s).await;
        let c = ceremony(&org.id, T0.plus_secs(300));
        let mut first = sign_in(&admin, &c, b"k");
        first.sign_count = 7;
        s.complete_authentication(&first).await.unwrap();
        let err = s.spend_ceremony(&SpentCeremony::of(&c)).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyAlreadyUsed, "{b}");
        let audit_after_first = db.audit_kinds(&org.id).await.len();

        let mut replay = sign_in(&admin, &c, b"k");
        replay.sign_count = 99;
        let err = s.complete_authentication(&replay).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyAlreadyUsed, "{b}");
        let replayed = replay.session.as_ref().unwrap();
        assert_eq!(
            s.get_session(&org.id, &replayed.id).await.unwrap(),
            None,
            "{b}"
        );
        let cred = s.get_credential(&org.id, b"k").await.unwrap().unwrap();
        assert_eq!(
            cred.sign_count, 7,
            "{b}: the replay's counter was rolled back"
        );
        assert_eq!(
            db.audit_kinds(&org.id).await.len(),
            audit_after_first,
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_registration_spends_its_ceremony_and_a_replay_registers_nothing() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, _) = create_org(s, "Acme").await;
        let c = SpentCeremony::of(&ceremony(&org.id, T0.plus_secs(300)));
        let mut first = registration(credential(&admin, b"one", T0));
        first.ceremony = Some(c.clone());
        s.complete_registration(&first).await.unwrap();
        let err = s.spend_ceremony(&c).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyAlreadyUsed, "{b}");
        let mut replay = registration(credential(&admin, b"two", T0));
        replay.ceremony = Some(c);
        let err = s.complete_registration(&replay).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CeremonyAlreadyUsed, "{b}");
        assert_eq!(
            s.get_credential(&org.id, b"two").await.unwrap(),
            None,
            "{b}"
        );
        assert_eq!(
            s.count_user_credentials(&org.id, &admin.id).await.unwrap(),
            1,
            "{b}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_sign_ins_on_one_ceremony_exactly_one_commits() {
    for db in each_backend().await {
        let b = db.backend;
        let (org, admin) = org_with_passkey(db.store.as_ref()).await;
        for round in 0..5 {
            let c = ceremony(&org.id, T0.plus_secs(300));
            let audit_before = db.audit_kinds(&org.id).await.len();
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..20 {
                let store: Arc<dyn Store> = Arc::clone(&db.store);
                let commit = sign_in(&admin, &c, b"k");
                tasks.spawn(async move {
                    let sid = commit.session.as_ref().unwrap().id.clone();
                    (store.complete_authentication(&commit).await, sid)
                });
            }
            let (results, sids): (Vec<_>, Vec<_>) = tasks.join_all().await.into_iter().unzip();
            assert_eq!(wins_and_used(&results), (1, 19), "{b} round {round}");
            assert_eq!(
                live_sessions(db.store.as_ref(), &org.id, &sids).await,
                1,
                "{b} round {round}: only the winner's session exists"
            );
            assert_eq!(
                db.audit_kinds(&org.id).await.len(),
                audit_before + 1,
                "{b} round {round}: only the winner's event"
            );
        }
    }
}

#[tokio::test]
async fn the_one_call_reads_stay_inside_the_org() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (acme, admin, _) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        for (at, id) in [(0, b"a".as_slice()), (1, b"b".as_slice())] {
            let cred = credential(&admin, id, T0.plus_secs(at));
            s.complete_registration(&registration(cred)).await.unwrap();
        }
        let (user, creds) = s
            .user_with_credentials(&acme.id, "admin")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(user, admin, "{b}");
        // Every column as the one-table reads give it, newest first.
        let mut stored = Vec::new();
        for id in [b"b".as_slice(), b"a".as_slice()] {
            stored.push(s.get_credential(&acme.id, id).await.unwrap().unwrap());
        }
        assert_eq!(creds, stored, "{b}");
        let (theirs, none) = s
            .user_with_credentials(&other.id, "admin")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (theirs.org_id, none.len()),
            (other.id.clone(), 0),
            "{b}: their admin"
        );
        assert!(
            s.user_with_credentials(&acme.id, "nobody")
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );

        let (cred, owner) = s.assertion_subject(&acme.id, b"a").await.unwrap().unwrap();
        assert_eq!((&cred, &owner), (&stored[1], &admin), "{b}");
        let none = s.assertion_subject(&acme.id, b"zz").await.unwrap();
        assert!(none.is_none(), "{b}: unknown credential");
        let foreign = s.assertion_subject(&other.id, b"a").await.unwrap();
        assert!(
            foreign.is_none(),
            "{b}: another org's credential is not found"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completion_failing_half_way_leaves_nothing_and_its_neighbours_commit() {
    for db in each_backend().await {
        let b = db.backend;
        let (org, admin) = org_with_passkey(db.store.as_ref()).await;
        for round in 0..5 {
            // It spends its ceremony, then fails on the duplicate credential id.
            let doomed = SpentCeremony::of(&ceremony(&org.id, T0.plus_secs(300)));
            let mut failing = registration(credential(&admin, b"k", T0));
            failing.ceremony = Some(doomed.clone());
            let mut tasks = tokio::task::JoinSet::new();
            let mut sessions = Vec::new();
            for i in 0..12 {
                let store: Arc<dyn Store> = Arc::clone(&db.store);
                if i == 6 {
                    let failing = failing.clone();
                    tasks.spawn(async move { store.complete_registration(&failing).await });
                    continue;
                }
                let commit = sign_in(&admin, &ceremony(&org.id, T0.plus_secs(300)), b"k");
                sessions.push(commit.session.clone().unwrap().id);
                tasks
                    .spawn(async move { store.complete_authentication(&commit).await.map(|_| ()) });
            }
            let results = tasks.join_all().await;
            let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
            assert_eq!(failed.len(), 1, "{b} round {round}: {failed:?}");
            assert_eq!(
                failed[0].code,
                ErrorCode::CredentialAlreadyRegistered,
                "{b}"
            );
            assert!(
                db.store.spend_ceremony(&doomed).await.is_ok(),
                "{b} round {round}: the failed commit's spend was undone"
            );
            for sid in &sessions {
                assert!(
                    db.store.get_session(&org.id, sid).await.unwrap().is_some(),
                    "{b} round {round}: every neighbour committed"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sign_in_whose_passkey_is_gone_writes_no_session_and_its_neighbours_commit() {
    for db in each_backend().await {
        let b = db.backend;
        let (org, admin) = org_with_passkey(db.store.as_ref()).await;
        for round in 0..5 {
            let audit_before = db.audit_kinds(&org.id).await.len();
            let mut tasks = tokio::task::JoinSet::new();
            let mut commits = Vec::new();
            for i in 0..12 {
                let cred: &[u8] = if i == 6 { b"gone" } else { b"k" };
                let commit = sign_in(&admin, &ceremony(&org.id, T0.plus_secs(300)), cred);
                commits.push(commit.clone());
                let store: Arc<dyn Store> = Arc::clone(&db.store);
                tasks.spawn(async move { store.complete_authentication(&commit).await });
            }
            let results = tasks.join_all().await;
            let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
            assert_eq!(failed.len(), 1, "{b} round {round}: {failed:?}");
            assert_eq!(failed[0].code, ErrorCode::CredentialNotFound, "{b}");
            for (i, commit) in commits.iter().enumerate() {
                let sid = &commit.session.as_ref().unwrap().id;
                let stored = db.store.get_session(&org.id, sid).await.unwrap();
                assert_eq!(stored.is_some(), i != 6, "{b} round {round}: session {i}");
            }
            assert_eq!(
                db.audit_kinds(&org.id).await.len(),
                audit_before + 11,
                "{b} round {round}: the neighbours' events only"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sign_ins_of_one_passkey_leave_its_highest_counter() {
    for db in each_backend().await {
        let b = db.backend;
        let (org, admin) = org_with_passkey(db.store.as_ref()).await;
        for round in 0..5u32 {
            let mut tasks = tokio::task::JoinSet::new();
            // The highest counter goes second of 30, so it shares a batch
            // with lower ones sent after it: a batch that kept the last
            // counter it saw would move the stored one back.
            for i in 0..30 {
                let mut commit = sign_in(&admin, &ceremony(&org.id, T0.plus_secs(300)), b"k");
                commit.sign_count = 100 * round + if i == 1 { 40 } else { 10 + i };
                commit.backup_state = round % 2 == 0;
                let store: Arc<dyn Store> = Arc::clone(&db.store);
                tasks.spawn(async move { store.complete_authentication(&commit).await });
            }
            // A counter that an earlier commit already reached is refused
            // (the highest never is), whatever order the commits ran in.
            let mut committed = 0;
            for result in tasks.join_all().await {
                match result {
                    Ok(owner) => committed += usize::from(owner.id == admin.id),
                    Err(e) if e.code == ErrorCode::SignCountRegression => {}
                    Err(e) => panic!("{b} round {round}: {e}"),
                }
            }
            assert!(committed >= 1, "{b} round {round}");
            let cred = db
                .store
                .get_credential(&org.id, b"k")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(cred.sign_count, 100 * round + 40, "{b} round {round}");
            assert_eq!(cred.backup_state, round % 2 == 0, "{b} round {round}");
            assert_eq!(
                cred.last_used_at,
                Some(T0.plus_secs(5)),
                "{b} round {round}"
            );
        }
    }
}

/// How many of this database's backends wait for a lock.
async fn waiting_for_locks(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn until_waiting(pool: &sqlx::PgPool, n: i64) {
    for _ in 0..1000 {
        if waiting_for_locks(pool).await >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{n} backends never waited for a lock");
}

/// PostgreSQL writes a batch's sign-ins together, so several naming one
/// ceremony in ONE batch must still leave one winner. To put them in one
/// batch, every completion worker is first held up (the org's chain head
/// locked under a sign-in of its own) while they queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_sharing_a_batch_spend_their_one_ceremony_once() {
    let db = postgres_db().await;
    let pool = db.pg_pool().unwrap().clone();
    let (org, admin) = org_with_passkey(db.store.as_ref()).await;
    let mut head = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM orgs WHERE id = $1 FOR UPDATE")
        .bind(org.id.as_str())
        .execute(&mut *head)
        .await
        .unwrap();
    let mut blockers = tokio::task::JoinSet::new();
    for n in 1..=4 {
        let commit = sign_in(&admin, &ceremony(&org.id, T0.plus_secs(300)), b"k");
        let store: Arc<dyn Store> = Arc::clone(&db.store);
        blockers.spawn(async move { store.complete_authentication(&commit).await });
        until_waiting(&pool, n).await;
    }
    let c = ceremony(&org.id, T0.plus_secs(300));
    let mut twins = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let commit = sign_in(&admin, &c, b"k");
        let store: Arc<dyn Store> = Arc::clone(&db.store);
        twins.spawn(async move {
            let sid = commit.session.as_ref().unwrap().id.clone();
            (store.complete_authentication(&commit).await, sid)
        });
    }
    // Every worker is busy: the twins queue, and the first worker free
    // takes them all at once.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    head.rollback().await.unwrap();
    for result in blockers.join_all().await {
        result.unwrap();
    }
    let (results, sids): (Vec<_>, Vec<_>) = twins.join_all().await.into_iter().unzip();
    assert_eq!(wins_and_used(&results), (1, 19));
    assert_eq!(
        live_sessions(db.store.as_ref(), &org.id, &sids).await,
        1,
        "only the winner's session exists"
    );
}
