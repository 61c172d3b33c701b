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

#[tokio::test]
async fn postgres_0005_fills_the_ceremony_load_with_the_pending_ceremonies_already_there() {
    use sqlx::Connection;
    let migrator = sqlx::migrate!("../latchkey-store/migrations/postgres");
    let mut conn = sqlx::PgConnection::connect(&fresh_postgres_url().await)
        .await
        .unwrap();
    let apply = |versions: std::ops::RangeInclusive<i64>| {
        migrator
            .iter()
            .filter(move |m| versions.contains(&m.version))
            .map(|m| m.sql.clone())
            .collect::<Vec<_>>()
    };
    for sql in apply(1..=4) {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
    sqlx::raw_sql(
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at, audit_seq, audit_head)
             VALUES ('org_a', 'A', 'active', '{}', 1, 0, NULL);
         INSERT INTO ceremonies (id, org_id, purpose, challenge, state, created_at, expires_at, consumed_at)
             VALUES ('cer_1', 'org_a', 'authentication', '\\x00', '{}', 1, 20001, NULL),
                    ('cer_2', 'org_a', 'authentication', '\\x01', '{}', 1, 29999, NULL),
                    ('cer_3', 'org_a', 'authentication', '\\x02', '{}', 1, 30000, NULL),
                    ('cer_4', 'org_a', 'authentication', '\\x03', '{}', 1, 30001, 5);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for sql in apply(5..=5) {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }
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

/// Before the first ANALYZE (a new or restored database) PostgreSQL's
/// planner has no statistics; an index by org_id once won the tie for
/// lookups by id and read every pending ceremony of the org on each.
#[tokio::test]
async fn on_a_new_postgres_database_ceremony_lookups_by_id_use_the_primary_key() {
    use sqlx::Connection;
    let url = fresh_postgres_url().await;
    let store = latchkey_store::open(Some(&url), std::path::Path::new("/nonexistent"))
        .await
        .unwrap();
    store.ping().await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO orgs (id, name, passkey_status, settings, created_at)
             VALUES ('org_a', 'A', 'active', '{}', 1);
         INSERT INTO ceremonies (id, org_id, purpose, challenge, state, created_at, expires_at)
             SELECT 'cer_' || g, 'org_a', 'authentication', '\\x00', '{}', 1, 300000 + g
             FROM generate_series(1, 2000) g;",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for statement in [
        "SELECT id FROM ceremonies WHERE id = 'cer_7' AND org_id = 'org_a' AND consumed_at IS NULL",
        "UPDATE ceremonies SET consumed_at = 5 \
         WHERE id = 'cer_7' AND org_id = 'org_a' AND consumed_at IS NULL RETURNING expires_at",
    ] {
        let plan: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {statement}")))
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("ceremonies_pkey"), "{statement}:\n{plan}");
    }
}
