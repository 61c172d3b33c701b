//! How records end: signing keys retired by rotation and purged after the
//! longest token lifetime, every session of a user revoked at once
//! (suspension), and the janitor's purge of expired sessions and invitations.

use std::sync::Arc;

use latchkey_core::audit::AuditKind;
use latchkey_core::clock::ManualClock;
use latchkey_core::keys::{MasterKey, RETIRED_KEY_RETENTION_SECS};
use latchkey_core::model::{Session, SigningKeyRecord, User};
use latchkey_core::store::{AuthenticationCommit, Purged, Store};
use latchkey_core::{CoreConfig, Latchkey};

use super::records::{
    add_user, create_org, credential, event, invitation, registration, session, KEY, T0,
};
use super::support::each_backend;

fn key(kid: &str) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        alg: "EdDSA".into(),
        private_key_encrypted: vec![1; 48],
        public_jwk: serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": "abc"}),
        created_at: T0,
        retired_at: None,
    }
}

#[tokio::test]
async fn retire_signing_key_retires_a_key_once_and_purge_deletes_only_keys_retired_before_the_cutoff(
) {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        for kid in ["k1", "k2", "k3"] {
            s.insert_signing_key(&key(kid)).await.unwrap();
        }
        assert!(
            s.retire_signing_key("k1", T0.plus_secs(10)).await.unwrap(),
            "{b}"
        );
        assert!(
            !s.retire_signing_key("k1", T0.plus_secs(20)).await.unwrap(),
            "{b}: once"
        );
        assert!(!s.retire_signing_key("nope", T0).await.unwrap(), "{b}");
        assert!(
            s.retire_signing_key("k2", T0.plus_secs(30)).await.unwrap(),
            "{b}"
        );
        let retired: Vec<_> = s
            .list_signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| (k.kid, k.retired_at))
            .collect();
        assert_eq!(
            retired,
            [
                ("k1".into(), Some(T0.plus_secs(10))),
                ("k2".into(), Some(T0.plus_secs(30))),
                ("k3".into(), None)
            ],
            "{b}: the first retirement's time is kept"
        );
        // Retired at +10 is before +30; retired exactly at the cutoff is kept.
        assert_eq!(
            s.purge_retired_signing_keys(T0.plus_secs(30))
                .await
                .unwrap(),
            1,
            "{b}"
        );
        let left: Vec<String> = s
            .list_signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(left, ["k2", "k3"], "{b}: an unretired key is never purged");
    }
}

#[tokio::test]
async fn rotating_the_signing_key_retires_the_old_one_keeps_it_published_and_purges_it_a_month_later(
) {
    for db in each_backend().await {
        let b = db.backend;
        let clock = ManualClock::at(T0);
        let core = Latchkey::new(
            db.store.clone(),
            Arc::new(clock.clone()),
            MasterKey::generate(),
            CoreConfig::default(),
        )
        .await
        .unwrap();
        let first = core.signing_keys().await.unwrap();
        assert_eq!(first.len(), 1, "{b}: the first start generates one key");
        assert!(first[0].active, "{b}");
        clock.advance_secs(60);
        let second = core.rotate_signing_key().await.unwrap();
        let keys = core.signing_keys().await.unwrap();
        let view: Vec<_> = keys
            .iter()
            .map(|k| (k.kid.clone(), k.active, k.retired_at.is_some()))
            .collect();
        assert_eq!(
            view,
            [
                (first[0].kid.clone(), false, true),
                (second.kid.clone(), true, false)
            ],
            "{b}"
        );
        let jwks = core.jwks();
        let published: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(
            published,
            [first[0].kid.as_str(), second.kid.as_str()],
            "{b}: the retired key stays in the JWKS"
        );
        clock.advance_secs(RETIRED_KEY_RETENTION_SECS + 1);
        let third = core.rotate_signing_key().await.unwrap();
        let kids: Vec<String> = core
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(
            kids,
            [second.kid, third.kid],
            "{b}: the key retired over a month ago is gone"
        );
    }
}

#[tokio::test]
async fn refresh_keys_generates_a_key_when_every_stored_key_is_retired() {
    for db in each_backend().await {
        let b = db.backend;
        let clock = ManualClock::at(T0);
        let core = Latchkey::new(
            db.store.clone(),
            Arc::new(clock),
            MasterKey::generate(),
            CoreConfig::default(),
        )
        .await
        .unwrap();
        let kid = core.signing_keys().await.unwrap()[0].kid.clone();
        db.store.retire_signing_key(&kid, T0).await.unwrap();
        core.refresh_keys().await.unwrap();
        let keys = core.signing_keys().await.unwrap();
        assert_eq!(keys.len(), 2, "{b}");
        assert!(
            keys.iter().any(|k| k.active && k.kid != kid),
            "{b}: a fresh key signs"
        );
    }
}

/// Inserts a credential for `user` and a session it created.
async fn signed_in(s: &dyn Store, user: &User, credential_id: &[u8]) -> Session {
    if s.get_credential(&user.org_id, credential_id)
        .await
        .unwrap()
        .is_none()
    {
        s.complete_registration(&registration(credential(user, credential_id, T0)))
            .await
            .unwrap();
    }
    let ses = session(user, credential_id);
    let commit = AuthenticationCommit {
        org_id: user.org_id.clone(),
        ceremony: None,
        credential_id: credential_id.to_vec(),
        user_id: user.id.clone(),
        public_key_cose: KEY.to_vec(),
        sign_count: 0,
        backup_eligible: true,
        backup_state: false,
        now: T0,
        session: Some(ses.clone()),
        audit: vec![],
    };
    s.complete_authentication(&commit).await.unwrap();
    ses
}

#[tokio::test]
async fn revoke_user_sessions_revokes_every_live_session_of_that_user_only() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, _) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        let bob = add_user(s, &org.id, "bob").await;
        let bob_1 = signed_in(s, &bob, b"bob-key").await;
        let bob_2 = signed_in(s, &bob, b"bob-key").await;
        let admins = signed_in(s, &admin, b"admin-key").await;
        let at = T0.plus_secs(10);
        let audit = [event(&org.id, AuditKind::SessionRevoked, bob.id.as_str())];
        let before = db.audit_kinds(&org.id).await.len();
        assert_eq!(
            s.revoke_user_sessions(&other.id, &bob.id, at, &audit)
                .await
                .unwrap(),
            0,
            "{b}: another org's user"
        );
        assert_eq!(
            s.revoke_user_sessions(&org.id, &bob.id, at, &audit)
                .await
                .unwrap(),
            2,
            "{b}"
        );
        assert_eq!(
            s.revoke_user_sessions(&org.id, &bob.id, at, &audit)
                .await
                .unwrap(),
            0,
            "{b}: already revoked"
        );
        for ses in [&bob_1, &bob_2] {
            assert_eq!(
                s.get_session(&org.id, &ses.id)
                    .await
                    .unwrap()
                    .unwrap()
                    .revoked_at,
                Some(at),
                "{b}"
            );
        }
        assert_eq!(
            s.get_session(&org.id, &admins.id)
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            None,
            "{b}"
        );
        assert_eq!(
            db.audit_kinds(&org.id).await.len(),
            before + 1,
            "{b}: audited once, when something changed"
        );
    }
}

#[tokio::test]
async fn purge_expired_deletes_sessions_and_invitations_that_ended_before_the_cutoff() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, enrolment) = create_org(s, "Acme").await;
        let live = signed_in(s, &admin, b"k").await; // expires at T0 + 1h
        let revoked = signed_in(s, &admin, b"k").await;
        s.revoke_session(&org.id, &revoked.id, T0.plus_secs(10), &[])
            .await
            .unwrap();
        let late = invitation(&admin, T0.plus_secs(7200));
        s.create_invitation(None, &late, &[]).await.unwrap();

        let purged = s.purge_expired(T0.plus_secs(60)).await.unwrap();
        assert_eq!(
            purged,
            Purged {
                sessions: 1,
                invitations: 0
            },
            "{b}: only the revoked session"
        );
        assert!(
            s.get_session(&org.id, &revoked.id).await.unwrap().is_none(),
            "{b}"
        );
        assert!(
            s.get_session(&org.id, &live.id).await.unwrap().is_some(),
            "{b}"
        );

        // Expiring exactly at the cutoff is not "before" it.
        let purged = s.purge_expired(T0.plus_secs(3600)).await.unwrap();
        assert_eq!(purged, Purged::default(), "{b}");
        let purged = s.purge_expired(T0.plus_secs(3601)).await.unwrap();
        assert_eq!(
            purged,
            Purged {
                sessions: 1,
                invitations: 1
            },
            "{b}"
        );
        assert!(
            s.find_invitation(&org.id, &enrolment.token_hash)
                .await
                .unwrap()
                .is_none(),
            "{b}"
        );
        assert!(
            s.find_invitation(&org.id, &late.token_hash)
                .await
                .unwrap()
                .is_some(),
            "{b}"
        );
        assert!(
            s.get_user(&org.id, &admin.id).await.unwrap().is_some(),
            "{b}: users are kept"
        );
    }
}
