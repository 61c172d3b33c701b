//! Migrations and opening: the two folders stay in step, and `open` picks
//! and prepares the backend.

use latchkey_store::{migration_versions, SQLITE_FILE_NAME};

use super::support::fresh_postgres_url;

#[test]
fn both_migration_folders_list_the_same_versions_and_names() {
    let versions = migration_versions();
    assert!(!versions.sqlite.is_empty());
    assert_eq!(versions.sqlite, versions.postgres);
    assert_eq!(versions.sqlite[0].version, 1);
    assert_eq!(versions.sqlite[0].description, "core");
}

#[tokio::test]
async fn open_without_a_url_creates_the_sqlite_file_in_the_data_dir_and_reopens_it() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let store = latchkey_store::open(None, &data_dir).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    store.ping().await.unwrap();
    assert!(data_dir.join(SQLITE_FILE_NAME).exists());
    drop(store);
    let again = latchkey_store::open(None, &data_dir).await.unwrap();
    again.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_nodes_may_open_the_same_postgres_database_at_once() {
    let url = fresh_postgres_url().await;
    let mut nodes = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let url = url.clone();
        nodes.spawn(async move {
            latchkey_store::open(Some(&url), std::path::Path::new("/nonexistent")).await
        });
    }
    for opened in nodes.join_all().await {
        let store = opened.unwrap();
        assert_eq!(store.backend(), "postgres");
        store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn an_in_memory_sqlite_store_is_migrated_and_usable() {
    let store = latchkey_store::open(
        Some("sqlite::memory:"),
        std::path::Path::new("/nonexistent"),
    )
    .await
    .unwrap();
    assert_eq!(store.backend(), "sqlite");
    store.ping().await.unwrap();
    assert!(store.list_orgs().await.unwrap().is_empty());
}

/// Writes a SQLite file at `dir` as the release with migrations up to
/// `version` left it, with `rows` in it.
async fn old_sqlite_file(dir: &std::path::Path, version: i64, rows: &str) {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join(SQLITE_FILE_NAME))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .foreign_keys(false)
        .connect()
        .await
        .unwrap();
    let migrator = sqlx::migrate!("../latchkey-store/migrations/sqlite");
    migrator.run_to(version, &mut conn).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(rows.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

const ORG_AND_USER: &str = "
    INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
        VALUES ('org_a', 'A', 'active', '{}', 1, 0, NULL);
    INSERT INTO users (id, org_id, username, display_name, role, kind, status, user_handle, created_at)
        VALUES ('usr_a', 'org_a', 'ann', 'Ann', 'admin', 'human', 'active', x'aa', 1);";
const PASSKEY_OF_USR_A: &str = "
    INSERT INTO credentials (id, org_id, user_id, name, public_key_cose, alg, sign_count, aaguid,
            transports, attestation_format, backup_eligible, backup_state, uv_initialized, created_at)
        VALUES (x'01', 'org_a', 'usr_a', 'key', x'a5', -7, 3, zeroblob(16), '[]', 'none', 0, 0, 1, 1);";

/// Opening a database of the release before 0009 rebuilds its users table
/// under the passkeys and invitations that reference it: all kept, and
/// read back through the store.
#[tokio::test]
async fn sqlite_0009_rebuilds_users_under_their_passkeys_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let rows = format!(
        "{ORG_AND_USER}{PASSKEY_OF_USR_A}
         INSERT INTO invitations (id, org_id, user_id, kind, token_hash, created_at, expires_at)
             VALUES ('inv_a', 'org_a', 'usr_a', 'invitation', x'0a', 1, 9);"
    );
    old_sqlite_file(dir.path(), 8, &rows).await;
    let store = latchkey_store::open(None, dir.path()).await.unwrap();
    let org = latchkey_core::ids::OrgId::parse("org_a").unwrap();
    let user = latchkey_core::ids::UserId::parse("usr_a").unwrap();
    let found = store.get_user(&org, &user).await.unwrap().unwrap();
    assert_eq!(
        (found.username.as_str(), found.user_handle.as_slice()),
        ("ann", &[0xaa][..])
    );
    let passkeys = store.user_credentials(&org, &user).await.unwrap();
    assert_eq!(passkeys.len(), 1);
    assert_eq!(passkeys[0].sign_count, 3);
    assert!(store
        .find_invitation(&org, &[0x0a])
        .await
        .unwrap()
        .is_some());
}

/// 0010 rewrites users' role and status checks as comparisons: the users
/// of 0009 stay, the same values are refused, and inserting a user no
/// longer builds a temporary index of each list (`OpenEphemeral`).
#[tokio::test]
async fn sqlite_0010_keeps_users_and_checks_their_role_and_status_in_place() {
    use sqlx::{ConnectOptions, Connection, Row};
    let dir = tempfile::tempdir().unwrap();
    old_sqlite_file(dir.path(), 9, &format!("{ORG_AND_USER}{PASSKEY_OF_USR_A}")).await;
    let store = latchkey_store::open(None, dir.path()).await.unwrap();
    let org = latchkey_core::ids::OrgId::parse("org_a").unwrap();
    let user = latchkey_core::ids::UserId::parse("usr_a").unwrap();
    let found = store.get_user(&org, &user).await.unwrap().unwrap();
    assert_eq!(found.role, latchkey_core::model::Role::Admin);
    assert_eq!(store.user_credentials(&org, &user).await.unwrap().len(), 1);

    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join(SQLITE_FILE_NAME))
        .connect()
        .await
        .unwrap();
    let insert = "INSERT INTO users (id, org_id, username, display_name, role, kind, status, \
                  user_handle, created_at) VALUES ('usr_b', 'org_a', 'bo', 'Bo', ?, 'human', ?, x'bb', 1)";
    let plan = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN {insert}")))
        .bind("member")
        .bind("active")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let ops: Vec<String> = plan.iter().map(|r| r.get::<String, _>(1)).collect();
    assert!(!ops.iter().any(|op| op == "OpenEphemeral"), "{ops:?}");
    for (role, status) in [("owner", "active"), ("member", "gone")] {
        let refused = sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(role)
            .bind(status)
            .execute(&mut conn)
            .await;
        assert!(refused.is_err(), "{role} / {status} was accepted");
    }
    for (role, status) in [("super_admin", "invited"), ("approver", "suspended")] {
        let b = format!("usr_{role}");
        let accepted = insert
            .replace("'usr_b'", &format!("'{b}'"))
            .replace("'bo'", &format!("'{b}'"));
        sqlx::query(sqlx::AssertSqlSafe(accepted))
            .bind(role)
            .bind(status)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{role} / {status}: {e}"));
    }
    conn.close().await.unwrap();
}

/// The rebuild runs with foreign keys off, so the store checks them all
/// once it has migrated: a passkey whose user is missing (written by a
/// tool with foreign keys off) stops the start instead of going unnoticed.
#[tokio::test]
async fn sqlite_migrations_refuse_a_database_whose_foreign_keys_are_broken() {
    let dir = tempfile::tempdir().unwrap();
    let orphan = PASSKEY_OF_USR_A.replace("'usr_a'", "'usr_gone'");
    old_sqlite_file(dir.path(), 8, &format!("{ORG_AND_USER}{orphan}")).await;
    assert!(latchkey_store::open(None, dir.path()).await.is_err());
}

/// A fresh PostgreSQL database as migrations 1 to `version` left it,
/// holding `rows`: the PostgreSQL twin of `old_sqlite_file`.
async fn postgres_at(version: i64, rows: &'static str) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&fresh_postgres_url().await)
        .await
        .unwrap();
    for v in 1..=version {
        postgres_apply(&mut conn, v).await;
    }
    sqlx::raw_sql(rows).execute(&mut conn).await.unwrap();
    conn
}

/// Applies PostgreSQL migration `version` as the store would.
async fn postgres_apply(conn: &mut sqlx::PgConnection, version: i64) {
    let migrator = sqlx::migrate!("../latchkey-store/migrations/postgres");
    let migration = migrator.iter().find(|m| m.version == version).unwrap();
    sqlx::raw_sql(migration.sql.clone())
        .execute(conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_0005_fills_the_ceremony_load_with_the_pending_ceremonies_already_there() {
    let mut conn = postgres_at(
        4,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 0, NULL);
         INSERT INTO ceremonies (id, org_id, purpose, challenge, state, created_at, expires_at, consumed_at)
             VALUES ('cer_1', 'org_a', 'authentication', '\\x00', '{}', 1, 20001, NULL),
                    ('cer_2', 'org_a', 'authentication', '\\x01', '{}', 1, 29999, NULL),
                    ('cer_3', 'org_a', 'authentication', '\\x02', '{}', 1, 30000, NULL),
                    ('cer_4', 'org_a', 'authentication', '\\x03', '{}', 1, 30001, 5);",
    )
    .await;
    postgres_apply(&mut conn, 5).await;
    let load: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT bucket, pending FROM ceremony_load WHERE org_id = 'org_a' ORDER BY bucket",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        load,
        vec![(2, 2), (3, 1)],
        "the consumed one is not counted"
    );
}

/// Registration ceremonies became sealed: the stored ones and their
/// counts go, while the spent ceremonies of sign-ins stay single-use.
#[tokio::test]
async fn postgres_0008_drops_the_pending_ceremonies_and_keeps_the_spent_ones() {
    let mut conn = postgres_at(
        7,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 0, NULL);
         INSERT INTO ceremonies (id, org_id, purpose, challenge, state, created_at, expires_at)
             VALUES ('cer_1', 'org_a', 'registration', '\\x00', '{}', 1, 20001);
         INSERT INTO ceremony_load (org_id, bucket, pending) VALUES ('org_a', 2, 1);
         INSERT INTO spent_ceremonies (expires_at, id, org_id) VALUES (9, 'cer_2', 'org_a');",
    )
    .await;
    postgres_apply(&mut conn, 8).await;
    let gone: (Option<String>, Option<String>) = sqlx::query_as(
        "SELECT to_regclass('ceremonies')::text, to_regclass('ceremony_load')::text",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(gone, (None, None));
    let spent: Vec<String> = sqlx::query_scalar("SELECT id FROM spent_ceremonies")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(spent, ["cer_2"]);
}

/// Audit events re-keyed by (org, seq): every row kept, the pair still
/// unique, and the id's index gone.
#[tokio::test]
async fn postgres_0011_keys_audit_events_by_org_and_seq_and_keeps_them() {
    let mut conn = postgres_at(
        10,
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 2, '\\x02');
         INSERT INTO audit_events (id, org_id, seq, at, kind, actor, subject, data, prev_hash, hash)
             VALUES ('aud_1', 'org_a', 1, 1, 'org.organization.created', NULL, 'org_a', '{}', NULL, '\\x01'),
                    ('aud_2', 'org_a', 2, 2, 'user.user.invited', 'usr_a', 'bob', '{\"x\": 1}', '\\x01', '\\x02');",
    )
    .await;
    postgres_apply(&mut conn, 11).await;

    // id, seq, data, actor, prev_hash, hash
    type EventRow = (
        String,
        i64,
        String,
        Option<String>,
        Option<Vec<u8>>,
        Vec<u8>,
    );
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT id, seq, data::text, actor, prev_hash, hash FROM audit_events ORDER BY seq",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        rows,
        [
            ("aud_1".into(), 1, "{}".into(), None, None, vec![1]),
            (
                "aud_2".into(),
                2,
                "{\"x\": 1}".into(),
                Some("usr_a".into()),
                Some(vec![1]),
                vec![2]
            ),
        ]
    );
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'audit_events' ORDER BY indexname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert!(
        indexes[0].contains("audit_events_pkey") && indexes[0].contains("(org_id, seq)"),
        "{indexes:?}"
    );
    let twice = sqlx::raw_sql(
        "INSERT INTO audit_events (id, org_id, seq, at, kind, subject, data, hash)
             VALUES ('aud_3', 'org_a', 2, 3, 'x', 'y', '{}', '\\x03')",
    )
    .execute(&mut conn)
    .await;
    assert!(twice.is_err(), "a sequence number twice in an org");
}
