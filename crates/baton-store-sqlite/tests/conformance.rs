//! The shared conformance suite on SQLite, plus SQLite-only checks.

use std::sync::Arc;

use baton_core::ChainVerdict;
use baton_store::conformance::new_handoff;
use baton_store::{Store, verify_audit};
use baton_store_sqlite::SqliteStore;

async fn fresh() -> Option<Arc<dyn Store>> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("baton.db");
    let store = SqliteStore::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open");
    // Keep the directory for the life of the test process.
    std::mem::forget(dir);
    Some(Arc::new(store))
}

baton_store::conformance_suite!(fresh());

#[tokio::test]
async fn tampering_with_a_stored_event_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    for i in 0..3 {
        store
            .create_handoff(new_handoff("triage", "low", "missing_data", i))
            .await
            .unwrap();
    }
    sqlx::query("UPDATE events SET actor = 'mallory' WHERE position = 2")
        .execute(store.pool())
        .await
        .unwrap();
    match verify_audit(&store).await.unwrap() {
        ChainVerdict::Broken { position, .. } => assert_eq!(position, 2),
        other => panic!("tampering not found: {other:?}"),
    }
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let path = path.to_str().unwrap();
    let id = {
        let store = SqliteStore::open(path).await.unwrap();
        store
            .create_handoff(new_handoff("triage", "low", "missing_data", 0))
            .await
            .unwrap()
            .handoff
            .id
    };
    let store = SqliteStore::open(path).await.unwrap();
    assert!(store.get_handoff(id).await.unwrap().is_some());
    assert_eq!(
        verify_audit(&store).await.unwrap(),
        ChainVerdict::Intact { events: 1 }
    );
}

#[tokio::test]
async fn tampering_with_the_end_of_the_log_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let store = Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
    let pool = store.pool().clone();
    let sql = async |text: &str| {
        sqlx::query(sqlx::AssertSqlSafe(text.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    };
    baton_store::conformance::tampering_with_the_end_of_the_log_is_detected(store, sql).await;
}
