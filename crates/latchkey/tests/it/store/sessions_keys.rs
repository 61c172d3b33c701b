//! Sessions, signing keys, and the audit trail's numbering and hash chain.

use latchkey_core::audit::AuditKind;
use latchkey_core::ids::SessionId;
use latchkey_core::model::SigningKeyRecord;
use latchkey_core::store::AuthenticationCommit;
use latchkey_core::ErrorCode;

use super::records::{create_org, credential, event, registration, session, KEY, T0};
use super::support::each_backend;

#[tokio::test]
async fn revoke_session_reports_whether_a_live_session_was_revoked() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (org, admin, _) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        s.complete_registration(&registration(credential(&admin, b"k", T0)))
            .await
            .unwrap();
        let ses = session(&admin, b"k");
        let commit = AuthenticationCommit {
            org_id: org.id.clone(),
            ceremony: None,
            credential_id: b"k".to_vec(),
            user_id: admin.id.clone(),
            public_key_cose: KEY.to_vec(),
            sign_count: 1,
            backup_eligible: true,
            backup_state: false,
            now: T0,
            session: Some(ses.clone()),
            audit: vec![],
        };
        s.complete_authentication(&commit).await.unwrap();
        assert_eq!(
            s.get_session(&other.id, &ses.id).await.unwrap(),
            None,
            "{b}"
        );
        let audit = [event(&org.id, AuditKind::SessionRevoked, ses.id.as_str())];
        let at = T0.plus_secs(10);
        assert!(
            !s.revoke_session(&other.id, &ses.id, at, &audit)
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            s.revoke_session(&org.id, &ses.id, at, &audit)
                .await
                .unwrap(),
            "{b}"
        );
        assert!(
            !s.revoke_session(&org.id, &ses.id, at, &audit)
                .await
                .unwrap(),
            "{b}"
        );
        let unknown = SessionId::generate();
        assert!(
            !s.revoke_session(&org.id, &unknown, at, &audit)
                .await
                .unwrap(),
            "{b}"
        );
        let stored = s.get_session(&org.id, &ses.id).await.unwrap().unwrap();
        assert_eq!(stored.revoked_at, Some(at), "{b}");
        let kinds = db.audit_kinds(&org.id).await;
        assert_eq!(
            kinds.len(),
            3,
            "{b}: only the real revocation is audited: {kinds:?}"
        );
        assert!(db.audit_kinds(&other.id).await.len() == 1, "{b}");
    }
}

fn key(kid: &str, secret: u8) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        alg: "EdDSA".into(),
        private_key_encrypted: vec![secret; 48],
        public_jwk: serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": "abc"}),
        created_at: T0,
        retired_at: None,
    }
}

#[tokio::test]
async fn signing_keys_round_trip_and_a_second_insert_of_a_kid_is_ignored() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let first = key("k1", 1);
        let mut second = key("k2", 2);
        second.created_at = T0.plus_secs(1);
        second.retired_at = Some(T0.plus_secs(2));
        s.insert_signing_key(&first).await.unwrap();
        s.insert_signing_key(&second).await.unwrap();
        s.insert_signing_key(&key("k1", 9)).await.unwrap();
        let keys = s.list_signing_keys().await.unwrap();
        assert_eq!(keys, vec![first, second], "{}", db.backend);
    }
}

#[tokio::test]
async fn audit_events_are_numbered_and_hash_chained_per_org() {
    for db in each_backend().await {
        let s = db.store.as_ref();
        let b = db.backend;
        let (acme, admin, _) = create_org(s, "Acme").await;
        let (other, _, _) = create_org(s, "Other").await;
        for i in 0..3 {
            let mut commit = registration(credential(&admin, format!("k{i}").as_bytes(), T0));
            commit
                .audit
                .push(event(&other.id, AuditKind::UserEnrolled, "cross"));
            s.complete_registration(&commit).await.unwrap();
        }
        for org in [&acme.id, &other.id] {
            let trail = db.audit(org).await;
            let seqs: Vec<i64> = trail.iter().map(|r| r.seq).collect();
            assert_eq!(seqs, [1, 2, 3, 4], "{b}");
            assert_eq!(trail[0].prev_hash, None, "{b}");
            for pair in trail.windows(2) {
                assert_eq!(pair[1].prev_hash.as_ref(), Some(&pair[0].hash), "{b}");
            }
        }
        let err = s
            .rename_credential(&acme.id, b"nope", "x", &[])
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::CredentialNotFound, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_ceremony_salt_is_made_once_and_every_node_gets_the_same() {
    for db in each_backend().await {
        let b = db.backend;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8u8 {
            let store = std::sync::Arc::clone(&db.store);
            tasks.spawn(async move { store.ceremony_salt(&[i; 32]).await.unwrap() });
        }
        let salts = tasks.join_all().await;
        assert!(salts.iter().all(|s| s == &salts[0]), "{b}: {salts:?}");
        assert_eq!(
            db.store.ceremony_salt(&[99; 32]).await.unwrap(),
            salts[0],
            "{b}"
        );
    }
}
