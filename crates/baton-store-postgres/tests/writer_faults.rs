//! The writer fault cases on PostgreSQL (when `BATON_TEST_POSTGRES_URL` is
//! set): a fault-injecting wrapper around the real `PgWriteTx`.

use std::sync::Arc;

use baton_store::Store;
use baton_store::conformance;
use baton_store_postgres::{PgStore, PgWriteTx};

/// A store on a fresh database and a second writer transaction on it.
async fn fresh() -> Option<(Arc<dyn Store>, PgWriteTx)> {
    let url = std::env::var("BATON_TEST_POSTGRES_URL").ok()?;
    let name = format!("baton_test_{}", uuid::Uuid::new_v4().simple());
    let admin = PgStore::admin_pool(&url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = url.rsplit_once('/').unwrap();
    let store = PgStore::open(&format!("{base}/{name}")).await.unwrap();
    let tx = PgWriteTx::new(store.pool().clone());
    Some((Arc::new(store), tx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_survives_a_fault_at_every_step() {
    let Some((store, tx)) = fresh().await else {
        return;
    };
    conformance::writer_survives_a_fault_at_every_step(store, tx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_insert_is_charged_to_its_own_request() {
    let Some((store, tx)) = fresh().await else {
        return;
    };
    conformance::a_failing_insert_is_charged_to_its_own_request(store, tx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_health_follows_its_batches() {
    let Some((_store, tx)) = fresh().await else {
        return;
    };
    conformance::writer_health_follows_its_batches(tx).await;
}
