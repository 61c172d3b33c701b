//! Orgs, users and invitations: round trips, tenant isolation, uniqueness.

use latchkey_core::audit::AuditKind;
use latchkey_core::ids::{OrgId, UserId};
use latchkey_core::model::{Page, PasskeyStatus, RegistrationMode, UserStatus};
use latchkey_core::ErrorCode;

use super::records::{self, add_user, create_org, event, T0};
use super::support::each_backend;

#[tokio::test]
async fn create_org_round_trips_the_org_its_admin_and_the_enrolment_link() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (org, admin, enrolment) = create_org(s, "Acme").await;
        let b = db.backend;
        assert_eq!(s.get_org(&org.id).await.unwrap(), Some(org.clone()), "{b}");
        assert_eq!(s.list_orgs().await.unwrap(), vec![org.clone()], "{b}");
        assert_eq!(
            s.get_user(&org.id, &admin.id).await.unwrap(),
            Some(admin.clone()),
            "{b}"
        );
        let by_name = s.find_user_by_username(&org.id, "admin").await.unwrap();
        assert_eq!(by_name, Some(admin.clone()), "{b}");
        let found = s
            .find_invitation(&org.id, &enrolment.token_hash)
            .await
            .unwrap();
        assert_eq!(found, Some(enrolment), "{b}");
        assert_eq!(
            db.audit_kinds(&org.id).await,
            ["org.organization.created"],
            "{b}"
        );
        assert_eq!(s.backend(), b);
        s.ping().await.unwrap();
    }
}

#[tokio::test]
async fn updating_org_settings_round_trips_and_is_audited() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (org, _, _) = create_org(s, "Acme").await;
        let mut settings = org.settings.clone();
        settings.registration_mode = RegistrationMode::Open;
        settings.origins.push("https://other.example.test".into());
        let audit = [event(&org.id, AuditKind::OrgSettingsUpdated, "settings")];
        s.update_org_settings(&org.id, &settings, &audit)
            .await
            .unwrap();
        let stored = s.get_org(&org.id).await.unwrap().unwrap();
        assert_eq!(stored.settings, settings, "{}", db.backend);
        let kinds = db.audit_kinds(&org.id).await;
        assert_eq!(
            kinds,
            ["org.organization.created", "org.settings.updated"],
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn updating_settings_of_an_unknown_org_fails_with_org_not_found() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let (org, _, _) = create_org(s, "Acme").await;
        let err = s
            .update_org_settings(&OrgId::generate(), &org.settings, &[])
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::OrgNotFound, "{}", db.backend);
        assert_eq!(
            s.get_org(&OrgId::generate()).await.unwrap(),
            None,
            "{}",
            db.backend
        );
    }
}

#[tokio::test]
async fn users_and_invitations_are_invisible_to_other_orgs() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (acme, admin, enrolment) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        assert_eq!(s.get_user(&other.id, &admin.id).await.unwrap(), None, "{b}");
        assert_eq!(
            s.find_user_by_username(&other.id, "nobody").await.unwrap(),
            None,
            "{b}"
        );
        let inv = s
            .find_invitation(&other.id, &enrolment.token_hash)
            .await
            .unwrap();
        assert_eq!(inv, None, "{b}");
        let page = Page {
            page: 1,
            per_page: 10,
        };
        let others = s.list_users(&other.id, page).await.unwrap();
        assert_eq!(others.total, 1, "{b}: only the other org's own admin");
        assert!(others.items.iter().all(|u| u.org_id == other.id), "{b}");
        let err = s
            .set_user_status(&other.id, &admin.id, UserStatus::Suspended, &[])
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::UserNotFound, "{b}");
        let still = s.get_user(&acme.id, &admin.id).await.unwrap().unwrap();
        assert_eq!(still.status, UserStatus::Invited, "{b}");
    }
}

#[tokio::test]
async fn usernames_are_unique_within_an_org_but_not_across_orgs() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (acme, _, _) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        add_user(s, &acme.id, "alice").await;
        let twin = records::user(&acme.id, "alice", UserStatus::Invited);
        let inv = records::invitation(&twin, T0.plus_secs(60));
        let audit = [event(&acme.id, AuditKind::UserInvited, "alice")];
        let err = s
            .create_invitation(Some(&twin), &inv, &audit)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::UsernameTaken, "{b}");
        assert_eq!(
            s.find_invitation(&acme.id, &inv.token_hash).await.unwrap(),
            None,
            "{b}"
        );
        assert_eq!(
            db.audit_kinds(&acme.id).await.len(),
            1,
            "{b}: nothing audited"
        );
        add_user(s, &other.id, "alice").await;
    }
}

#[tokio::test]
async fn set_user_status_changes_the_status_and_refuses_unknown_users() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, _) = create_org(s, "Acme").await;
        let audit = [event(
            &org.id,
            AuditKind::UserStatusChanged,
            admin.id.as_str(),
        )];
        s.set_user_status(&org.id, &admin.id, UserStatus::Suspended, &audit)
            .await
            .unwrap();
        let stored = s.get_user(&org.id, &admin.id).await.unwrap().unwrap();
        assert_eq!(stored.status, UserStatus::Suspended, "{b}");
        let err = s
            .set_user_status(&org.id, &UserId::generate(), UserStatus::Active, &audit)
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::UserNotFound, "{b}");
        assert_eq!(db.audit_kinds(&org.id).await.len(), 2, "{b}");
        assert_eq!(org.passkey_status, PasskeyStatus::Inactive);
    }
}

#[tokio::test]
async fn list_users_returns_the_requested_page_and_the_total() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, _, _) = create_org(s, "Acme").await;
        for i in 0..6 {
            add_user(s, &org.id, &format!("user{i}")).await;
        }
        let first = s
            .list_users(
                &org.id,
                Page {
                    page: 1,
                    per_page: 4,
                },
            )
            .await
            .unwrap();
        let second = s
            .list_users(
                &org.id,
                Page {
                    page: 2,
                    per_page: 4,
                },
            )
            .await
            .unwrap();
        let beyond = s
            .list_users(
                &org.id,
                Page {
                    page: 9,
                    per_page: 4,
                },
            )
            .await
            .unwrap();
        assert_eq!((first.items.len(), first.total), (4, 7), "{b}");
        assert_eq!((second.items.len(), second.total), (3, 7), "{b}");
        assert_eq!((beyond.items.len(), beyond.total), (0, 7), "{b}");
        let mut ids: Vec<_> = first
            .items
            .iter()
            .chain(&second.items)
            .map(|u| &u.id)
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 7, "{b}: pages don't overlap");
    }
}
