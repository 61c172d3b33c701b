//! The bytes of each ceremony, checked against the RP-side parse in `super`:
//! signatures, authData layout, flags, algorithm choice and the tamper knobs.

use ciborium::value::Value as Cbor;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::*;

#[test]
fn registration_and_assertion_verify_for_both_algorithms() {
    for (alg, cose_alg) in [(Alg::Es256, -7), (Alg::EdDsa, -8)] {
        let authn = SoftAuthenticator::with_config(
            Config::default()
                .alg(alg)
                .attestation(Attestation::PackedSelf),
        );
        let resp = authn
            .register(&creation(b"user-1", &[-8, -7]), ORIGIN)
            .unwrap();
        assert_eq!(resp["type"], "public-key");
        assert_eq!(resp["id"], resp["rawId"]);
        assert_eq!(resp["clientExtensionResults"], json!({}));
        let r = &resp["response"];
        assert_eq!(r["publicKeyAlgorithm"], cose_alg);
        let client_data = b64(&r["clientDataJSON"]);
        assert_eq!(
            String::from_utf8(client_data.clone()).unwrap(),
            format!(
                r#"{{"type":"webauthn.create","challenge":"cmVnLWNoYWxsZW5nZQ","origin":"{ORIGIN}","crossOrigin":false}}"#
            )
        );

        let att: Cbor = ciborium::from_reader(&b64(&r["attestationObject"])[..]).unwrap();
        let keys: Vec<_> = att
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_text().unwrap().to_owned())
            .collect();
        assert_eq!(keys, ["fmt", "attStmt", "authData"]);
        assert_eq!(
            map_get(&att, &Cbor::Text("fmt".into())).as_text(),
            Some("packed")
        );
        let ad_bytes = map_get(&att, &Cbor::Text("authData".into()))
            .as_bytes()
            .unwrap()
            .clone();
        assert_eq!(ad_bytes, b64(&r["authenticatorData"]));
        let ad = parse_auth_data(&ad_bytes);
        assert_eq!(ad.rp_id_hash, Sha256::digest(RP.as_bytes()).to_vec());
        assert_eq!(ad.flags, FLAG_UP | FLAG_UV | FLAG_AT);
        assert_eq!(ad.counter, 1);
        assert_eq!(ad.aaguid, DEFAULT_AAGUID);
        assert!((16..=32).contains(&ad.cred_id.len()));
        assert_eq!(ad.cred_id, b64(&resp["rawId"]));

        // Packed self attestation: alg matches, sig by the credential key.
        let stmt = map_get(&att, &Cbor::Text("attStmt".into()));
        assert_eq!(map_get(stmt, &Cbor::Text("alg".into())), &int(cose_alg));
        let sig = map_get(stmt, &Cbor::Text("sig".into())).as_bytes().unwrap();
        assert!(cose_verify(
            &ad.cose,
            &signed_message(&ad_bytes, &client_data),
            sig
        ));

        // The SPKI publicKey is the same key as the COSE one.
        let cred = authn.credential(resp["id"].as_str().unwrap()).unwrap();
        assert_eq!(cred.public_key_cose(), ad.cose);
        assert_eq!(b64(&r["publicKey"]), cred.key.public_key_spki());

        let a = authn.authenticate(&request(&[]), ORIGIN).unwrap();
        assert!(assertion_verifies(&ad.cose, &a));
        assert_eq!(a["id"], resp["id"]);
        assert_eq!(b64(&a["response"]["userHandle"]), b"user-1");
        let aad = parse_auth_data(&b64(&a["response"]["authenticatorData"]));
        assert_eq!(aad.flags, FLAG_UP | FLAG_UV);
        assert_eq!(aad.counter, 2);
        let cd: Value = serde_json::from_slice(&b64(&a["response"]["clientDataJSON"])).unwrap();
        assert_eq!(cd["type"], "webauthn.get");
        assert_eq!(cd["challenge"], "Z2V0LWNoYWxsZW5nZQ");
    }
}

#[test]
fn algorithm_choice_follows_the_rp_order() {
    let authn = SoftAuthenticator::new();
    let r = authn
        .register(&creation(b"a", &[-257, -8, -7]), ORIGIN)
        .unwrap();
    assert_eq!(r["response"]["publicKeyAlgorithm"], -8);
    let mut empty = creation(b"b", &[]);
    empty["pubKeyCredParams"] = json!([]);
    assert_eq!(
        authn.register(&empty, ORIGIN).unwrap()["response"]["publicKeyAlgorithm"],
        -7
    );
    let es_only = SoftAuthenticator::with_config(Config::default().alg(Alg::Es256));
    let err = es_only
        .register(&creation(b"c", &[-8, -257]), ORIGIN)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotSupported);
}

#[test]
fn flags_per_authenticator_and_per_call() {
    let authn = SoftAuthenticator::with_config(Config::default().flags(Flags::synced()));
    let (resp, _) = register(&authn, b"u");
    let ad = parse_auth_data(&b64(&resp["response"]["authenticatorData"]));
    assert_eq!(ad.flags, FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS | FLAG_AT);

    let no_uv = Tamper {
        flags: Some(Flags {
            user_verified: false,
            ..Flags::default()
        }),
        ..Tamper::default()
    };
    let a = authn
        .authenticate_with(&request(&[]), ORIGIN, &no_uv)
        .unwrap();
    assert_eq!(
        parse_auth_data(&b64(&a["response"]["authenticatorData"])).flags,
        FLAG_UP
    );

    authn.set_flags(Flags {
        user_present: false,
        ..Flags::default()
    });
    let a = authn.authenticate(&request(&[]), ORIGIN).unwrap();
    assert_eq!(
        parse_auth_data(&b64(&a["response"]["authenticatorData"])).flags,
        FLAG_UV
    );

    let raw = Tamper {
        raw_flags: Some(FLAG_BS | FLAG_UP),
        ..Tamper::default()
    };
    let a = authn
        .authenticate_with(&request(&[]), ORIGIN, &raw)
        .unwrap();
    assert_eq!(
        parse_auth_data(&b64(&a["response"]["authenticatorData"])).flags,
        FLAG_BS | FLAG_UP
    );
}

#[test]
fn tamper_knobs_change_one_thing() {
    let authn = SoftAuthenticator::new();
    let (resp, cose) = register(&authn, b"u");
    let get = |t: Tamper| authn.authenticate_with(&request(&[]), ORIGIN, &t).unwrap();
    let client_data = |r: &Value| -> Value {
        serde_json::from_slice(&b64(&r["response"]["clientDataJSON"])).unwrap()
    };

    let r = get(Tamper {
        challenge: Some("b3RoZXI".into()),
        client_data_type: Some("webauthn.create".into()),
        cross_origin: true,
        ..Tamper::default()
    });
    let cd = client_data(&r);
    assert_eq!(
        (
            cd["challenge"].as_str(),
            cd["type"].as_str(),
            cd["crossOrigin"].as_bool()
        ),
        (Some("b3RoZXI"), Some("webauthn.create"), Some(true))
    );
    assert!(
        assertion_verifies(&cose, &r),
        "tampered content is still honestly signed"
    );

    let r = get(Tamper {
        rp_id_for_hash: Some("evil.example".into()),
        ..Tamper::default()
    });
    assert_eq!(
        parse_auth_data(&b64(&r["response"]["authenticatorData"])).rp_id_hash,
        Sha256::digest(b"evil.example").to_vec()
    );
    assert!(assertion_verifies(&cose, &r));

    assert!(!assertion_verifies(
        &cose,
        &get(Tamper {
            corrupt_signature: true,
            ..Tamper::default()
        })
    ));

    let stranger = Credential::generate(RP, b"x", Alg::Es256);
    let r = get(Tamper {
        sign_with: Some(stranger.clone()),
        ..Tamper::default()
    });
    assert!(!assertion_verifies(&cose, &r));
    assert!(assertion_verifies(&stranger.public_key_cose(), &r));

    let r = get(Tamper {
        omit_user_handle: true,
        raw_id: Some("AAAA".into()),
        ..Tamper::default()
    });
    assert!(r["response"]["userHandle"].is_null());
    assert_eq!((r["rawId"].as_str(), &r["id"]), (Some("AAAA"), &resp["id"]));

    // Registration: a corrupted packed self-attestation signature.
    let packed =
        SoftAuthenticator::with_config(Config::default().attestation(Attestation::PackedSelf));
    let t = Tamper {
        corrupt_signature: true,
        counter: Some(0),
        ..Tamper::default()
    };
    let reg = packed
        .register_with(&creation(b"u", &[-7]), ORIGIN, &t)
        .unwrap();
    let att: Cbor = ciborium::from_reader(&b64(&reg["response"]["attestationObject"])[..]).unwrap();
    let ad = map_get(&att, &Cbor::Text("authData".into()))
        .as_bytes()
        .unwrap()
        .clone();
    let sig = map_get(
        map_get(&att, &Cbor::Text("attStmt".into())),
        &Cbor::Text("sig".into()),
    )
    .as_bytes()
    .unwrap()
    .clone();
    let parsed = parse_auth_data(&ad);
    assert_eq!(parsed.counter, 0);
    assert!(!cose_verify(
        &parsed.cose,
        &signed_message(&ad, &b64(&reg["response"]["clientDataJSON"])),
        &sig
    ));
}
