//! Authenticator state: counters, exclusion, credential selection,
//! cloning, sharing across threads, and refusing bad options.

use serde_json::{json, Value};

use super::*;

#[test]
fn counter_modes() {
    let authn = SoftAuthenticator::new();
    let (resp, _) = register(&authn, b"u");
    let id = resp["id"].as_str().unwrap().to_owned();
    assert_eq!(counter_of(&resp), 1);
    assert_eq!(
        counter_of(&authn.authenticate(&request(&[]), ORIGIN).unwrap()),
        2
    );
    assert_eq!(
        counter_of(&authn.authenticate(&request(&[]), ORIGIN).unwrap()),
        3
    );

    // A one-off tampered value leaves the stored counter alone.
    let t = Tamper {
        counter: Some(100),
        ..Tamper::default()
    };
    assert_eq!(
        counter_of(&authn.authenticate_with(&request(&[]), ORIGIN, &t).unwrap()),
        100
    );
    assert_eq!(
        counter_of(&authn.authenticate(&request(&[]), ORIGIN).unwrap()),
        4
    );

    // An explicit next value (a regression), then counting resumes from it.
    authn.set_next_counter(&id, 2).unwrap();
    assert_eq!(
        counter_of(&authn.authenticate(&request(&[]), ORIGIN).unwrap()),
        2
    );
    assert_eq!(
        counter_of(&authn.authenticate(&request(&[]), ORIGIN).unwrap()),
        3
    );

    authn.set_counter_mode(CounterMode::AlwaysZero);
    assert_eq!(
        counter_of(&authn.authenticate(&request(&[]), ORIGIN).unwrap()),
        0
    );
    assert_eq!(
        counter_of(&authn.authenticate(&request(&[]), ORIGIN).unwrap()),
        0
    );

    let synced =
        SoftAuthenticator::with_config(Config::default().counter_mode(CounterMode::AlwaysZero));
    assert_eq!(counter_of(&register(&synced, b"u").0), 0);
    let from_ten = SoftAuthenticator::with_config(
        Config::default().counter_mode(CounterMode::Incrementing { start: 10 }),
    );
    assert_eq!(counter_of(&register(&from_ten, b"u").0), 10);
    assert_eq!(
        counter_of(&from_ten.authenticate(&request(&[]), ORIGIN).unwrap()),
        11
    );
}

#[test]
fn excluded_credentials_are_refused() {
    let authn = SoftAuthenticator::new();
    let (resp, _) = register(&authn, b"u");
    let mut again = creation(b"u2", &[-7]);
    again["excludeCredentials"] =
        json!([{"type": "public-key", "id": "AAAA"}, {"type": "public-key", "id": resp["id"]}]);
    let err = authn.register(&again, ORIGIN).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidState);
    assert_eq!(authn.credentials().len(), 1);

    // Another authenticator doesn't hold it, so it registers.
    assert!(SoftAuthenticator::new().register(&again, ORIGIN).is_ok());
    // Credentials are scoped to their RP ID.
    again["rp"]["id"] = json!("other.example");
    assert!(authn.register(&again, "https://other.example").is_ok());
}

#[test]
fn usernameless_selection() {
    let authn = SoftAuthenticator::new();
    let (a, _) = register(&authn, b"alice");
    let (b, _) = register(&authn, b"bob");
    let mut other = creation(b"carol", &[-7]);
    other["rp"]["id"] = json!("other.example");
    let c = authn.register(&other, "https://other.example").unwrap();
    let id = |r: &Value| r["id"].as_str().unwrap().to_owned();

    // Most recent for the RP ID.
    assert_eq!(
        authn.authenticate(&request(&[]), ORIGIN).unwrap()["id"],
        b["id"]
    );
    // The account chooser.
    authn.prefer(&id(&a)).unwrap();
    assert_eq!(
        authn.authenticate(&request(&[]), ORIGIN).unwrap()["id"],
        a["id"]
    );
    authn.clear_preference();
    // allowCredentials: first one held; unknown ones skipped.
    assert_eq!(
        authn
            .authenticate(&request(&["AAAA".into(), id(&a), id(&b)]), ORIGIN)
            .unwrap()["id"],
        a["id"]
    );
    assert_eq!(
        authn
            .authenticate(&request(&["AAAA".into()]), ORIGIN)
            .unwrap_err()
            .kind,
        ErrorKind::NotAllowed
    );
    // Other RP IDs, and an allow list naming another RP's credential.
    let req = json!({"challenge": "AQ", "rpId": "other.example"});
    assert_eq!(
        authn.authenticate(&req, "https://other.example").unwrap()["id"],
        c["id"]
    );
    assert!(authn.authenticate(&request(&[id(&c)]), ORIGIN).is_err());
    assert!(authn
        .authenticate(&json!({"challenge": "AQ", "rpId": "nope.example"}), ORIGIN)
        .is_err());

    // Re-registering a user for the same RP replaces their credential.
    let (a2, _) = register(&authn, b"alice");
    assert_eq!(authn.credentials().len(), 3);
    assert!(authn.credential(&id(&a)).is_none());
    assert_eq!(
        b64(&authn.authenticate(&request(&[id(&a2)]), ORIGIN).unwrap()["response"]["userHandle"]),
        b"alice"
    );
}

#[test]
fn cloned_credentials_sign_independently() {
    let original = SoftAuthenticator::new();
    let (resp, cose) = register(&original, b"u");
    let id = response_credential_id(&resp).unwrap();
    let clone = SoftAuthenticator::new();
    original.clone_credential_into(&id, &clone).unwrap();
    let fork = original.fork();
    let allow = [id.clone()];

    let a = original.authenticate(&request(&allow), ORIGIN).unwrap();
    let b = clone.authenticate(&request(&allow), ORIGIN).unwrap();
    let c = fork.authenticate(&request(&allow), ORIGIN).unwrap();
    for r in [&a, &b, &c] {
        assert!(assertion_verifies(&cose, r));
        assert_eq!(
            counter_of(r),
            2,
            "each copy continues from the shared state"
        );
    }
    assert!(clone.clone_credential_into("AAAA", &original).is_err());
    assert_eq!(original.last_credential_id().as_deref(), Some(id.as_str()));
    assert!(original.remove_credential(&id));
    assert!(original.authenticate(&request(&[]), ORIGIN).is_err());
}

#[test]
fn shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SoftAuthenticator>();
    let authn = std::sync::Arc::new(SoftAuthenticator::new());
    let (_, cose) = register(&authn, b"u");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let authn = authn.clone();
            let cose = cose.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| authn.authenticate(&request(&[]), ORIGIN).unwrap())
                    .all(|r| assertion_verifies(&cose, &r))
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
    assert_eq!(authn.credentials()[0].counter, 101);
}

#[test]
fn malformed_options_are_errors() {
    let authn = SoftAuthenticator::new();
    for bad in [
        json!(null),
        json!("x"),
        json!({"challenge": "AQ"}),
        json!({"challenge": "@@", "user": {"id": "AQ"}}),
    ] {
        assert_eq!(
            authn.register(&bad, ORIGIN).unwrap_err().kind,
            ErrorKind::BadOptions
        );
        assert!(authn.authenticate(&bad, ORIGIN).is_err());
    }
    let bad_allow = json!({"challenge": "AQ", "allowCredentials": [{"type": "public-key"}]});
    assert_eq!(
        authn.authenticate(&bad_allow, ORIGIN).unwrap_err().kind,
        ErrorKind::BadOptions
    );
    assert!(authn.set_next_counter("AAAA", 1).is_err());
    assert!(authn.prefer("!").is_err());
}
