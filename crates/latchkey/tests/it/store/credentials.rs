//! Passkeys: the registration and authentication commits (one transaction
//! each, audit included), invitation single use, credential-id uniqueness,
//! listing, rename, clone flag, deletion revoking sessions.

use std::sync::Arc;

use latchkey_core::audit::AuditKind;
use latchkey_core::clock::Timestamp;
use latchkey_core::model::{Page, PasskeyStatus, UserStatus};
use latchkey_core::store::{AuthenticationCommit, Store};
use latchkey_core::ErrorCode;

use super::records::{
    self, add_user, create_org, credential, event, org_with_passkey, registration, session, KEY, T0,
};
use super::support::each_backend;

#[tokio::test]
async fn enrolment_writes_credential_consumes_the_link_and_activates_user_and_org() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, enrolment) = create_org(s, "Acme").await;
        let cred = credential(&admin, b"cred-1", T0);
        let mut commit = registration(cred.clone());
        commit.invitation = Some(enrolment.id.clone());
        commit.activate_user = Some(admin.id.clone());
        commit.activate_org = true;
        commit.now = T0.plus_secs(5);
        commit
            .audit
            .push(event(&org.id, AuditKind::OrgPasskeysActivated, "org"));
        s.complete_registration(&commit).await.unwrap();

        assert_eq!(
            s.get_credential(&org.id, b"cred-1").await.unwrap(),
            Some(cred),
            "{b}"
        );
        let admin_now = s.get_user(&org.id, &admin.id).await.unwrap().unwrap();
        assert_eq!(admin_now.status, UserStatus::Active, "{b}");
        let org_now = s.get_org(&org.id).await.unwrap().unwrap();
        assert_eq!(org_now.passkey_status, PasskeyStatus::Active, "{b}");
        let link = s
            .find_invitation(&org.id, &enrolment.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(link.used_at, Some(T0.plus_secs(5)), "{b}");
        assert_eq!(
            db.audit_kinds(&org.id).await,
            [
                "org.organization.created",
                "passkey.credential.registered",
                "org.passkeys.activated"
            ],
            "{b}"
        );
    }
}

#[tokio::test]
async fn open_sign_up_inserts_the_new_user_with_the_credential() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (org, _, _) = create_org(s, "Acme").await;
        let newcomer = records::user(&org.id, "newcomer", UserStatus::Active);
        let mut commit = registration(credential(&newcomer, b"cred-new", T0));
        commit.new_user = Some(newcomer.clone());
        s.complete_registration(&commit).await.unwrap();
        let found = s.find_user_by_username(&org.id, "newcomer").await.unwrap();
        assert_eq!(found, Some(newcomer.clone()), "{}", db.backend);
        assert_eq!(
            s.count_user_credentials(&org.id, &newcomer.id)
                .await
                .unwrap(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invitation_is_consumed_exactly_once_under_concurrency() {
    for db in each_backend().await {
        let (org, admin, enrolment) = create_org(db.store.as_ref(), "Acme").await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..12 {
            let store: Arc<dyn Store> = Arc::clone(&db.store);
            let mut commit = registration(credential(&admin, format!("c{i}").as_bytes(), T0));
            commit.invitation = Some(enrolment.id.clone());
            commit.activate_user = Some(admin.id.clone());
            tasks.spawn(async move { store.complete_registration(&commit).await });
        }
        let results = tasks.join_all().await;
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let used = results
            .iter()
            .filter(|r| matches!(r, Err(e) if e.code == ErrorCode::InvitationAlreadyUsed))
            .count();
        assert_eq!((wins, used), (1, 11), "{}: {results:?}", db.backend);
        let count = db
            .store
            .count_user_credentials(&org.id, &admin.id)
            .await
            .unwrap();
        assert_eq!(count, 1, "{}: losers wrote nothing", db.backend);
        assert_eq!(db.audit_kinds(&org.id).await.len(), 2, "{}", db.backend);
    }
}

#[tokio::test]
async fn an_expired_invitation_is_refused_and_nothing_is_written() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, enrolment) = create_org(s, "Acme").await;
        let mut commit = registration(credential(&admin, b"late", T0));
        commit.invitation = Some(enrolment.id.clone());
        commit.activate_user = Some(admin.id.clone());
        commit.now = enrolment.expires_at;
        let err = s.complete_registration(&commit).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvitationExpired, "{b}");
        assert_eq!(
            s.get_credential(&org.id, b"late").await.unwrap(),
            None,
            "{b}"
        );
        let link = s
            .find_invitation(&org.id, &enrolment.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(link.used_at, None, "{b}");
        let admin_now = s.get_user(&org.id, &admin.id).await.unwrap().unwrap();
        assert_eq!(admin_now.status, UserStatus::Invited, "{b}");
        assert_eq!(
            db.audit_kinds(&org.id).await.len(),
            1,
            "{b}: no audit on rollback"
        );
    }
}

#[tokio::test]
async fn another_orgs_invitation_cannot_be_consumed() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (_, _, enrolment) = create_org(s, "Acme").await;
        let (_, other_admin, _) = create_org(s, "Other").await;
        let mut commit = registration(credential(&other_admin, b"x", T0));
        commit.invitation = Some(enrolment.id.clone());
        let err = s.complete_registration(&commit).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvitationInvalid, "{}", db.backend);
    }
}

#[tokio::test]
async fn a_credential_id_is_unique_across_orgs_and_a_clash_rolls_everything_back() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (acme, acme_admin, _) = create_org(s, "Acme").await;
        let (other, _, other_link) = create_org(s, "Other").await;
        s.complete_registration(&registration(credential(&acme_admin, b"same-id", T0)))
            .await
            .unwrap();
        let newcomer = records::user(&other.id, "newcomer", UserStatus::Active);
        let mut commit = registration(credential(&newcomer, b"same-id", T0));
        commit.new_user = Some(newcomer.clone());
        commit.invitation = Some(other_link.id.clone());
        commit.activate_org = true;
        let err = s.complete_registration(&commit).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CredentialAlreadyRegistered, "{b}");
        assert_eq!(
            s.find_user_by_username(&other.id, "newcomer")
                .await
                .unwrap(),
            None,
            "{b}"
        );
        let link = s
            .find_invitation(&other.id, &other_link.token_hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(link.used_at, None, "{b}: invitation consume rolled back");
        let org_now = s.get_org(&other.id).await.unwrap().unwrap();
        assert_eq!(org_now.passkey_status, PasskeyStatus::Inactive, "{b}");
        assert_eq!(
            db.audit_kinds(&other.id).await.len(),
            1,
            "{b}: no audit on rollback"
        );
        assert_eq!(
            s.get_credential(&other.id, b"same-id").await.unwrap(),
            None,
            "{b}"
        );
        assert!(
            s.get_credential(&acme.id, b"same-id")
                .await
                .unwrap()
                .is_some(),
            "{b}"
        );
    }
}

#[tokio::test]
async fn registration_with_a_taken_username_fails_with_username_taken() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (org, _, _) = create_org(s, "Acme").await;
        let twin = records::user(&org.id, "admin", UserStatus::Active);
        let mut commit = registration(credential(&twin, b"twin", T0));
        commit.new_user = Some(twin);
        let err = s.complete_registration(&commit).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::UsernameTaken, "{}", db.backend);
    }
}

#[tokio::test]
async fn complete_authentication_updates_the_credential_and_creates_a_session() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin) = org_with_passkey(s).await;
        let ses = session(&admin, b"k");
        let at = T0.plus_secs(60);
        let commit = AuthenticationCommit {
            org_id: org.id.clone(),
            ceremony: None,
            credential_id: b"k".to_vec(),
            user_id: admin.id.clone(),
            public_key_cose: KEY.to_vec(),
            sign_count: 4_000_000_000,
            backup_eligible: true,
            backup_state: true,
            now: at,
            session: Some(ses.clone()),
            audit: vec![
                event(&org.id, AuditKind::AssertionVerified, "credential"),
                event(&org.id, AuditKind::SessionIssued, ses.id.as_str()),
            ],
        };
        s.complete_authentication(&commit).await.unwrap();
        let cred = s.get_credential(&org.id, b"k").await.unwrap().unwrap();
        assert_eq!(
            cred.sign_count, 4_000_000_000,
            "{b}: a u32 beyond i32 survives"
        );
        assert!(cred.backup_state, "{b}");
        assert_eq!(cred.last_used_at, Some(at), "{b}");
        assert_eq!(
            s.get_session(&org.id, &ses.id).await.unwrap(),
            Some(ses),
            "{b}"
        );
        assert_eq!(db.audit_kinds(&org.id).await.len(), 4, "{b}");

        let mut foreign = commit.clone();
        let (other, _, _) = create_org(s, "Other").await;
        foreign.org_id = other.id.clone();
        foreign.session = None;
        let err = s.complete_authentication(&foreign).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::CredentialNotFound, "{b}");
    }
}

#[tokio::test]
async fn credentials_list_newest_first_with_the_total() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, _) = create_org(s, "Acme").await;
        let bob = add_user(s, &org.id, "bob").await;
        for i in 0..5_i64 {
            let c = credential(&admin, format!("a{i}").as_bytes(), Timestamp(T0.0 + i));
            s.complete_registration(&registration(c)).await.unwrap();
        }
        s.complete_registration(&registration(credential(&bob, b"b0", T0)))
            .await
            .unwrap();
        let page = s
            .list_user_credentials(
                &org.id,
                &admin.id,
                Page {
                    page: 1,
                    per_page: 2,
                },
            )
            .await
            .unwrap();
        let ids: Vec<_> = page.items.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids, [b"a4".to_vec(), b"a3".to_vec()], "{b}");
        assert_eq!(page.total, 5, "{b}");
        let last = s
            .list_user_credentials(
                &org.id,
                &admin.id,
                Page {
                    page: 3,
                    per_page: 2,
                },
            )
            .await
            .unwrap();
        assert_eq!((last.items.len(), last.total), (1, 5), "{b}");
        let all = s
            .list_org_credentials(
                &org.id,
                Page {
                    page: 1,
                    per_page: 100,
                },
            )
            .await
            .unwrap();
        assert_eq!((all.items.len(), all.total), (6, 6), "{b}");
        assert_eq!(all.items[0].id, b"a4".to_vec(), "{b}");
        let (other, _, _) = create_org(s, "Other").await;
        let none = s
            .list_org_credentials(
                &other.id,
                Page {
                    page: 1,
                    per_page: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!((none.items.len(), none.total), (0, 0), "{b}");
        assert_eq!(
            s.count_user_credentials(&other.id, &admin.id)
                .await
                .unwrap(),
            0,
            "{b}"
        );
        assert_eq!(
            s.get_credential(&other.id, b"a0").await.unwrap(),
            None,
            "{b}"
        );
    }
}

#[tokio::test]
async fn rename_and_clone_flag_change_the_credential_and_refuse_other_orgs() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, _) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        s.complete_registration(&registration(credential(&admin, b"k", T0)))
            .await
            .unwrap();
        let renamed = [event(&org.id, AuditKind::CredentialRenamed, "k")];
        s.rename_credential(&org.id, b"k", "Laptop", &renamed)
            .await
            .unwrap();
        let flagged = [event(&org.id, AuditKind::CredentialFlaggedCloned, "k")];
        s.flag_credential_cloned(&org.id, b"k", &flagged)
            .await
            .unwrap();
        let cred = s.get_credential(&org.id, b"k").await.unwrap().unwrap();
        assert_eq!(
            (cred.name.as_str(), cred.possibly_cloned),
            ("Laptop", true),
            "{b}"
        );
        let err = s
            .rename_credential(&other.id, b"k", "Mine", &[])
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CredentialNotFound, "{b}");
        let err = s
            .flag_credential_cloned(&other.id, b"k", &[])
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CredentialNotFound, "{b}");
        let err = s
            .delete_credential(&other.id, b"k", T0, &[])
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CredentialNotFound, "{b}");
        assert_eq!(db.audit_kinds(&org.id).await.len(), 4, "{b}");
    }
}

#[tokio::test]
async fn delete_credential_revokes_the_sessions_it_created_and_no_others() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, _) = create_org(s, "Acme").await;
        for id in [b"doomed".as_slice(), b"kept".as_slice()] {
            s.complete_registration(&registration(credential(&admin, id, T0)))
                .await
                .unwrap();
        }
        let mut sessions = Vec::new();
        for id in [
            b"doomed".as_slice(),
            b"doomed".as_slice(),
            b"kept".as_slice(),
        ] {
            let ses = session(&admin, id);
            let commit = AuthenticationCommit {
                org_id: org.id.clone(),
                ceremony: None,
                credential_id: id.to_vec(),
                user_id: admin.id.clone(),
                public_key_cose: KEY.to_vec(),
                sign_count: 0,
                backup_eligible: true,
                backup_state: false,
                now: T0,
                session: Some(ses.clone()),
                audit: vec![],
            };
            s.complete_authentication(&commit).await.unwrap();
            sessions.push(ses);
        }
        let at = T0.plus_secs(30);
        let audit = [event(&org.id, AuditKind::CredentialDeleted, "doomed")];
        s.delete_credential(&org.id, b"doomed", at, &audit)
            .await
            .unwrap();
        assert_eq!(
            s.get_credential(&org.id, b"doomed").await.unwrap(),
            None,
            "{b}"
        );
        let revoked: Vec<_> = [&sessions[0], &sessions[1], &sessions[2]]
            .iter()
            .map(|ses| async {
                s.get_session(&org.id, &ses.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .revoked_at
            })
            .collect();
        let mut states = Vec::new();
        for f in revoked {
            states.push(f.await);
        }
        assert_eq!(states, [Some(at), Some(at), None], "{b}");
        let err = s
            .delete_credential(&org.id, b"doomed", at, &audit)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CredentialNotFound, "{b}");
        let kinds = db.audit_kinds(&org.id).await;
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("passkey.credential.deleted"),
            "{b}"
        );
        assert_eq!(
            kinds.len(),
            4,
            "{b}: the failed second delete wrote nothing"
        );
    }
}
