use serde_json::json;

use super::*;

const SALT: &[u8] = b"this database";

fn ceremony(org: &OrgId) -> Ceremony {
    let at = Timestamp(1_800_000_000_000);
    Ceremony {
        id: CeremonyId::generate_at(at),
        org_id: org.clone(),
        purpose: CeremonyPurpose::Authentication,
        user_id: Some(UserId::generate()),
        challenge: vec![7; 32],
        payload_hash: Some("sha256:abc".into()),
        state: json!({"allow": ["AQID"], "nobody": false}),
        created_at: at,
        expires_at: at.plus_secs(300),
    }
}

fn code(r: Result<Ceremony>) -> ErrorCode {
    r.unwrap_err().code
}

#[test]
fn a_sealed_ceremony_opens_to_itself_in_its_org_and_purpose() {
    let seal = CeremonySeal::new(&MasterKey::generate(), SALT).unwrap();
    let org = OrgId::generate();
    let c = ceremony(&org);
    let id = seal.seal(&c).unwrap();
    assert!(id.starts_with(&format!("{}.", c.id)), "{id}");
    assert_eq!(
        seal.open(&org, CeremonyPurpose::Authentication, &id)
            .unwrap(),
        c
    );
}

#[test]
fn another_org_purpose_or_key_cannot_open_it() {
    let master = MasterKey::generate();
    let seal = CeremonySeal::new(&master, SALT).unwrap();
    let org = OrgId::generate();
    let id = seal.seal(&ceremony(&org)).unwrap();
    let auth = CeremonyPurpose::Authentication;
    let not_found = ErrorCode::CeremonyNotFound;
    assert_eq!(code(seal.open(&OrgId::generate(), auth, &id)), not_found);
    assert_eq!(
        code(seal.open(&org, CeremonyPurpose::Registration, &id)),
        not_found
    );
    let other = CeremonySeal::new(&MasterKey::generate(), SALT).unwrap();
    assert_eq!(code(other.open(&org, auth, &id)), not_found);
    // The same master key on another node opens it, not on another database.
    assert!(CeremonySeal::new(&master, SALT)
        .unwrap()
        .open(&org, auth, &id)
        .is_ok());
    let moved = CeremonySeal::new(&master, b"another database").unwrap();
    assert_eq!(code(moved.open(&org, auth, &id)), not_found);
}

#[test]
fn a_tampered_or_malformed_id_is_not_found() {
    let seal = CeremonySeal::new(&MasterKey::generate(), SALT).unwrap();
    let org = OrgId::generate();
    let auth = CeremonyPurpose::Authentication;
    let id = seal.seal(&ceremony(&org)).unwrap();
    let (head, body) = id.split_once('.').unwrap();
    // Another id in clear: its key differs, so the body no longer opens.
    let moved = format!("{}.{body}", CeremonyId::generate());
    let mut flipped = body.as_bytes().to_vec();
    flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
    let flipped = format!("{head}.{}", String::from_utf8(flipped).unwrap());
    let huge = format!("{head}.{}", "A".repeat(MAX_ID_CHARS));
    for bad in [
        moved.as_str(),
        flipped.as_str(),
        head,
        &format!("{head}."),
        &format!("{head}.!!"),
        "nope",
        "",
        huge.as_str(),
    ] {
        assert_eq!(
            code(seal.open(&org, auth, bad)),
            ErrorCode::CeremonyNotFound
        );
    }
}

#[test]
fn the_sealed_id_hides_the_state() {
    let seal = CeremonySeal::new(&MasterKey::generate(), SALT).unwrap();
    let org = OrgId::generate();
    let c = ceremony(&org);
    let id = seal.seal(&c).unwrap();
    let body = b64url_decode("body", id.split_once('.').unwrap().1).unwrap();
    let user = c.user_id.unwrap();
    let holds = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    // Clients must not learn whether a username exists (`nobody`) or its user id.
    assert!(!holds(b"nobody") && !holds(user.as_str().as_bytes()));
    assert!(!holds(b"\"u\"") && !holds(b"allow"));
}
