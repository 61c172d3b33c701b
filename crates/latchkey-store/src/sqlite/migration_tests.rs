//! Migrations that rebuild tables must keep every row: applied here to a
//! database holding rows written under the schema before them.

use rusqlite::Connection;

use super::MIGRATOR;

fn apply(conn: &Connection, versions: std::ops::RangeInclusive<i64>) {
    for m in MIGRATOR.iter().filter(|m| versions.contains(&m.version)) {
        conn.execute_batch(m.sql.as_ref()).unwrap();
    }
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A database as migrations 1 to `version` left it, holding `rows`.
fn database_at(version: i64, rows: &str) -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    apply(&conn, 1..=version);
    conn.execute_batch(rows).unwrap();
    conn
}

#[test]
fn rebuilding_tables_keeps_their_rows_and_indexes() {
    let conn = database_at(
        2,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 1, x'01');
         INSERT INTO users (id, org_id, username, display_name, role, kind, status, user_handle, created_at)
             VALUES ('usr_a', 'org_a', 'ann', 'Ann', 'member', 'human', 'active', x'aa', 1);
         INSERT INTO ceremonies (id, org_id, purpose, user_id, challenge, state, created_at, expires_at, consumed_at)
             VALUES ('cer_1', 'org_a', 'authentication', 'usr_a', x'00', '{}', 1, 9, NULL),
                    ('cer_2', 'org_a', 'registration', NULL, x'01', '{}', 1, 9, 5);
         INSERT INTO sessions (id, org_id, user_id, credential_id, created_at, expires_at, last_seen_at, user_agent)
             VALUES ('ses_1', 'org_a', 'usr_a', x'0102', 1, 9, 1, 'ua');
         INSERT INTO audit_events (id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash)
             VALUES ('aud_1', 'org_a', 1, 1, 'org.organization.created', NULL, 'org_a', '{}', NULL, x'01');",
    );
    apply(&conn, 3..=3);

    assert_eq!(count(&conn, "SELECT COUNT(*) FROM ceremonies"), 2);
    assert_eq!(
        count(
            &conn,
            "SELECT consumed_at FROM ceremonies WHERE id = 'cer_2'"
        ),
        5
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sessions WHERE user_agent = 'ua' AND credential_id = x'0102'"
        ),
        1
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM audit_events WHERE seq = 1 AND hash = x'01'"
        ),
        1
    );
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for wanted in [
        "ceremonies_expires_idx",
        "ceremonies_pending_idx",
        "sessions_expires_idx",
        "sessions_user_idx",
    ] {
        assert!(
            indexes.iter().any(|i| i == wanted),
            "{wanted} missing: {indexes:?}"
        );
    }
    assert!(!indexes.iter().any(|i| i == "sessions_credential_idx"));
    assert!(indexes.iter().any(|i| i == "sessions_revoked_idx"));
    // Still enforced after the rebuild: a session of an unknown user, and a
    // second event with the same sequence number, are refused.
    assert!(conn
        .execute(
            "INSERT INTO sessions (id, org_id, user_id, credential_id, created_at, expires_at, last_seen_at)
             VALUES ('ses_2', 'org_a', 'usr_nobody', x'01', 1, 9, 1)",
            [],
        )
        .is_err());
    assert!(conn
        .execute(
            "INSERT INTO audit_events (id, org_id, seq, at, kind, subject, data, hash)
             VALUES ('aud_2', 'org_a', 1, 1, 'x', 'y', '{}', x'02')",
            [],
        )
        .is_err());
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM pragma_foreign_key_check"),
        0
    );
}

#[test]
fn the_ceremony_load_starts_with_the_pending_ceremonies_already_there() {
    let conn = database_at(
        3,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 0, NULL);
         INSERT INTO ceremonies (id, org_id, purpose, challenge, state, created_at, expires_at, consumed_at)
             VALUES ('cer_1', 'org_a', 'authentication', x'00', '{}', 1, 20001, NULL),
                    ('cer_2', 'org_a', 'authentication', x'01', '{}', 1, 29999, NULL),
                    ('cer_3', 'org_a', 'authentication', x'02', '{}', 1, 30000, NULL),
                    ('cer_4', 'org_a', 'authentication', x'03', '{}', 1, 30001, 5);",
    );
    apply(&conn, 4..=4);
    let load: Vec<(i64, i64)> = conn
        .prepare("SELECT bucket, pending FROM ceremony_load WHERE org_id = 'org_a' ORDER BY bucket")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        load,
        vec![(2, 2), (3, 1)],
        "the consumed one is not counted"
    );
}

#[test]
fn sealed_registrations_drop_the_pending_ceremonies_and_keep_the_spent_ones() {
    let conn = database_at(
        7,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 0, NULL);
         INSERT INTO ceremonies (id, org_id, purpose, challenge, state, created_at, expires_at)
             VALUES ('cer_1', 'org_a', 'registration', x'00', '{}', 1, 20001);
         INSERT INTO ceremony_load (org_id, bucket, pending) VALUES ('org_a', 2, 1);
         INSERT INTO spent_ceremonies (expires_at, id, org_id) VALUES (9, 'cer_2', 'org_a');",
    );
    apply(&conn, 8..=8);
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('ceremonies', 'ceremony_load')"
        ),
        0
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM spent_ceremonies WHERE id = 'cer_2'"
        ),
        1
    );
}

#[test]
fn users_rebuilt_around_org_and_id_keep_their_rows_and_every_reference() {
    let conn = database_at(
        8,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 0, NULL),
                    ('org_b', 'B', 'active', '{}', 1, 0, NULL);
         INSERT INTO users (id, org_id, username, display_name, role, kind, status, user_handle, created_at)
             VALUES ('usr_a', 'org_a', 'ann', 'Ann', 'admin', 'human', 'active', x'aa', 1),
                    ('usr_b', 'org_b', 'ann', 'Ann B', 'member', 'api', 'invited', x'bb', 2);
         INSERT INTO credentials (id, org_id, user_id, name, public_key_cose, alg, sign_count, aaguid,
                 transports, attestation_format, backup_eligible, backup_state, uv_initialized, created_at)
             VALUES (x'01', 'org_a', 'usr_a', 'key', x'a5', -7, 3, zeroblob(16), '[]', 'none', 0, 0, 1, 1);
         INSERT INTO invitations (id, org_id, user_id, kind, token_hash, created_at, expires_at)
             VALUES ('inv_b', 'org_b', 'usr_b', 'invitation', x'0b', 1, 9);
         INSERT INTO sessions (id, org_id, user_id, credential_id, created_at, expires_at, last_seen_at)
             VALUES ('ses_a', 'org_a', 'usr_a', x'01', 1, 9, 1);",
    );
    // As the store migrates: foreign keys off, or dropping the old table
    // would cascade to every passkey, invitation and session.
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    apply(&conn, 9..=9);
    conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();

    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM pragma_foreign_key_check"),
        0
    );
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM users WHERE (org_id, id, username, role, kind, status, user_handle, created_at)
                IN (VALUES ('org_a', 'usr_a', 'ann', 'admin', 'human', 'active', x'aa', 1),
                           ('org_b', 'usr_b', 'ann', 'member', 'api', 'invited', x'bb', 2))"
        ),
        2
    );
    for table in ["credentials", "invitations", "sessions"] {
        assert_eq!(
            count(&conn, &format!("SELECT COUNT(*) FROM {table}")),
            1,
            "{table}"
        );
    }
    // One b-tree for the rows, one for (org, username): nothing else.
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'users'"
        ),
        1
    );
    // Still enforced: a username twice in an org, a passkey of a user of
    // another org; and deleting an org still takes its users' rows along.
    let refused = |sql: &str| conn.execute(sql, []).is_err();
    assert!(refused(
        "INSERT INTO users (id, org_id, username, display_name, role, kind, status, user_handle, created_at)
         VALUES ('usr_c', 'org_a', 'ann', 'Ann 2', 'member', 'human', 'active', x'cc', 3)"
    ));
    assert!(refused(
        "INSERT INTO credentials (id, org_id, user_id, name, public_key_cose, alg, sign_count, aaguid,
             transports, attestation_format, backup_eligible, backup_state, uv_initialized, created_at)
         VALUES (x'02', 'org_a', 'usr_b', 'key', x'a5', -7, 0, zeroblob(16), '[]', 'none', 0, 0, 1, 1)"
    ));
    conn.execute("DELETE FROM orgs WHERE id = 'org_a'", [])
        .unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM users"), 1);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM credentials"), 0);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM sessions"), 0);
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM invitations"), 1);
}

#[test]
fn audit_events_rekeyed_by_org_and_seq_keep_their_rows_and_chain_rules() {
    let conn = database_at(
        10,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 2, x'02'),
                    ('org_b', 'B', 'active', '{}', 1, 1, x'0b');
         INSERT INTO audit_events (id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash)
             VALUES ('aud_1', 'org_a', 1, 1, 'org.organization.created', NULL, 'org_a', '{}', NULL, x'01'),
                    ('aud_2', 'org_a', 2, 2, 'user.user.invited', 'usr_a', 'bob', '{\"x\":1}', x'01', x'02'),
                    ('aud_3', 'org_b', 1, 3, 'org.organization.created', NULL, 'org_b', '{}', NULL, x'0b');",
    );
    apply(&conn, 11..=11);

    let rows: String = conn
        .query_row(
            "SELECT group_concat(row, ';') FROM (
                 SELECT org_id || '|' || seq || '|' || id || '|' || at || '|' || kind || '|'
                        || ifnull(actor, '-') || '|' || subject || '|' || data || '|'
                        || hex(ifnull(prev_hash, x'')) || '|' || hex(hash) AS row
                 FROM audit_events ORDER BY org_id, seq)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        rows,
        "org_a|1|aud_1|1|org.organization.created|-|org_a|{}||01;\
         org_a|2|aud_2|2|user.user.invited|usr_a|bob|{\"x\":1}|01|02;\
         org_b|1|aud_3|3|org.organization.created|-|org_b|{}||0B"
    );
    // One b-tree: the rows, in (org, seq) order; no index beside it.
    assert_eq!(
        count(
            &conn,
            "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit_events'"
        ),
        0
    );
    // Still enforced: a sequence number twice in an org, an unknown org;
    // and deleting an org still takes its events along.
    let refused = |sql: &str| conn.execute(sql, []).is_err();
    assert!(refused(
        "INSERT INTO audit_events (id, org_id, seq, at, kind, subject, data, hash)
         VALUES ('aud_4', 'org_a', 2, 4, 'x', 'y', '{}', x'04')"
    ));
    assert!(refused(
        "INSERT INTO audit_events (id, org_id, seq, at, kind, subject, data, hash)
         VALUES ('aud_5', 'org_nobody', 1, 4, 'x', 'y', '{}', x'05')"
    ));
    conn.execute("DELETE FROM orgs WHERE id = 'org_b'", [])
        .unwrap();
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM audit_events"), 2);
}
