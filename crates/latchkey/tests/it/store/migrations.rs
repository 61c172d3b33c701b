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
