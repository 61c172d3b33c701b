use super::*;
use crate::clock::Timestamp;
use crate::ids::{CeremonyId, OrgId};
use crate::keys::MasterKey;
use crate::model::{CeremonyPurpose, Role, UserKind};
use crate::sealed::CeremonySeal;

const AT: Timestamp = Timestamp(1_800_000_000_000);

fn user(org: &OrgId) -> User {
    User {
        id: UserId::generate(),
        org_id: org.clone(),
        username: "ada".into(),
        display_name: "Ada".into(),
        role: Role::Member,
        kind: UserKind::Human,
        status: UserStatus::Active,
        user_handle: vec![9; 16],
        created_at: AT,
    }
}

fn passkey(owner: &User, id: &[u8], key_len: usize) -> Credential {
    Credential {
        id: id.to_vec(),
        org_id: owner.org_id.clone(),
        user_id: owner.id.clone(),
        name: "Passkey".into(),
        public_key_cose: vec![id[0]; key_len],
        alg: -7,
        sign_count: 5,
        aaguid: [0; 16],
        transports: vec![],
        attestation_format: "none".into(),
        backup_eligible: false,
        backup_state: false,
        uv_initialized: true,
        possibly_cloned: false,
        created_at: AT,
        last_used_at: None,
    }
}

fn ceremony(owner: Option<&User>, pending: &PendingAssertion) -> Ceremony {
    Ceremony {
        id: CeremonyId::generate_at(AT),
        org_id: OrgId::generate(),
        purpose: CeremonyPurpose::Authentication,
        user_id: owner.map(|u| u.id.clone()),
        challenge: vec![1; 32],
        payload_hash: Some(format!("sha256:{}", b64url_encode(&[2; 32]))),
        state: serde_json::to_value(pending).unwrap(),
        created_at: AT,
        expires_at: AT.plus_secs(300),
    }
}

fn sealed_len(c: &Ceremony) -> usize {
    CeremonySeal::new(&MasterKey::generate(), b"db")
        .unwrap()
        .seal(c)
        .unwrap()
        .len()
}

fn commit_for(c: &Credential, sign_count: u32) -> AuthenticationCommit {
    AuthenticationCommit {
        org_id: c.org_id.clone(),
        ceremony: None,
        credential_id: c.id.clone(),
        user_id: c.user_id.clone(),
        public_key_cose: c.public_key_cose.clone(),
        sign_count,
        backup_eligible: false,
        backup_state: false,
        now: AT,
        session: None,
        audit: vec![],
    }
}

#[test]
fn a_ceremony_offering_a_hundred_of_the_longest_ids_stays_a_few_kib() {
    let org = OrgId::generate();
    let ada = user(&org);
    let many: Vec<Credential> = (0..100u8).map(|i| passkey(&ada, &[i; 1023], 77)).collect();
    let pending = PendingAssertion::new(Some(&ada), &many, false, Some(b64url_encode(&[7; 32])));
    assert!(pending.keys.is_empty(), "too many to seal");
    let len = sealed_len(&ceremony(Some(&ada), &pending));
    assert!(len < 4 * 1024, "{len} characters");
    assert_ne!(offered(&[1; 1023]), offered(&[1; 1022]));
}

#[test]
fn up_to_four_keys_are_sealed_and_found_again_by_credential_id() {
    let org = OrgId::generate();
    let ada = user(&org);
    let four: Vec<Credential> = (1..=4u8).map(|i| passkey(&ada, &[i; 64], 77)).collect();
    let pending = PendingAssertion::new(Some(&ada), &four, false, None);
    let c = ceremony(Some(&ada), &pending);
    assert!(sealed_len(&c) < 2 * 1024, "{} characters", sealed_len(&c));
    let opened: PendingAssertion = PendingAssertion::deserialize(&c.state).unwrap();
    let subject = opened.sealed_subject(&c, &[3; 64]).unwrap();
    assert_eq!(subject.public_key_cose, vec![3; 77]);
    assert_eq!(subject.sign_count, 5);
    assert_eq!(subject.user_id, ada.id);
    assert_eq!(subject.user_handle, ada.user_handle);
    assert!(opened.sealed_subject(&c, &[5; 64]).is_none(), "not offered");

    let five: Vec<Credential> = (1..=5u8).map(|i| passkey(&ada, &[i; 64], 77)).collect();
    assert!(PendingAssertion::new(Some(&ada), &five, false, None)
        .keys
        .is_empty());
    let rsa = [passkey(&ada, &[1; 64], 1100)];
    assert!(PendingAssertion::new(Some(&ada), &rsa, false, None)
        .keys
        .is_empty());
    let usernameless = PendingAssertion::new(None, &[], false, None);
    let c = ceremony(None, &usernameless);
    assert!(usernameless.sealed_subject(&c, &[1; 64]).is_none());
}

#[test]
fn a_ceremony_sealed_before_keys_were_sealed_still_opens_and_reads_instead() {
    let org = OrgId::generate();
    let ada = user(&org);
    let old = serde_json::json!({"allow": [offered(&[1; 64])], "nobody": false, "nonce": null});
    let mut c = ceremony(Some(&ada), &PendingAssertion::default());
    c.state = old;
    let opened: PendingAssertion = PendingAssertion::deserialize(&c.state).unwrap();
    assert_eq!(opened.allow.len(), 1);
    assert!(opened.sealed_subject(&c, &[1; 64]).is_none());
}

#[test]
fn the_commit_recheck_refuses_what_changed_since_the_start() {
    let org = OrgId::generate();
    let ada = user(&org);
    let key = passkey(&ada, &[1; 64], 77);
    let commit = commit_for(&key, 6);
    assert!(commit.recheck(Some((&key, &ada))).is_ok());
    let code = |fresh: Option<(&Credential, &User)>| commit.recheck(fresh).unwrap_err().code;

    assert_eq!(code(None), ErrorCode::CredentialNotFound);
    let mut rekeyed = key.clone();
    rekeyed.public_key_cose = vec![2; 77];
    assert_eq!(code(Some((&rekeyed, &ada))), ErrorCode::CredentialNotFound);
    let bob = user(&org);
    let mut moved = key.clone();
    moved.user_id = bob.id.clone();
    assert_eq!(
        code(Some((&moved, &bob))),
        ErrorCode::CredentialUserMismatch
    );
    let mut suspended = ada.clone();
    suspended.status = UserStatus::Suspended;
    assert_eq!(code(Some((&key, &suspended))), ErrorCode::UserSuspended);
    let mut flagged = key.clone();
    flagged.possibly_cloned = true;
    assert_eq!(
        code(Some((&flagged, &ada))),
        ErrorCode::CredentialPossiblyCloned
    );
    let mut counted = key.clone();
    counted.sign_count = 6;
    assert_eq!(code(Some((&counted, &ada))), ErrorCode::SignCountRegression);
}
