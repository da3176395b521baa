//! The writer fault cases on SQLite: a fault-injecting wrapper around the
//! real `SqliteWriteTx`, on a one-connection pool like the store's own writer.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use baton_store::Store;
use baton_store::conformance;
use baton_store_sqlite::{SqliteStore, SqliteWriteTx};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// A fresh store and a second writer transaction on the same file.
async fn fresh() -> (Arc<dyn Store>, SqliteWriteTx, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let path = path.to_str().unwrap();
    let store = SqliteStore::open(path).await.unwrap();
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
        .unwrap()
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .unwrap();
    (Arc::new(store), SqliteWriteTx::new(pool), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_survives_a_fault_at_every_step() {
    let (store, tx, _dir) = fresh().await;
    conformance::writer_survives_a_fault_at_every_step(store, tx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_insert_is_charged_to_its_own_request() {
    let (store, tx, _dir) = fresh().await;
    conformance::a_failing_insert_is_charged_to_its_own_request(store, tx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_health_follows_its_batches() {
    let (_store, tx, _dir) = fresh().await;
    conformance::writer_health_follows_its_batches(tx).await;
}
