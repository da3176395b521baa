//! The shared conformance suite on PostgreSQL, when `BATON_TEST_POSTGRES_URL`
//! is set (CI sets it); each case gets a database of its own.

use std::sync::Arc;

use baton_core::ChainVerdict;
use baton_store::conformance::new_handoff;
use baton_store::{Store, verify_audit};
use baton_store_postgres::PgStore;

/// A fresh database on the test server, or `None` when none is configured.
async fn fresh_store() -> Option<PgStore> {
    let url = std::env::var("BATON_TEST_POSTGRES_URL").ok()?;
    let name = format!("baton_test_{}", uuid::Uuid::new_v4().simple());
    let admin = PgStore::admin_pool(&url)
        .await
        .expect("connect to BATON_TEST_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let (base, _) = url.rsplit_once('/').expect("url with a database name");
    Some(
        PgStore::open(&format!("{base}/{name}"))
            .await
            .expect("open test database"),
    )
}

async fn fresh() -> Option<Arc<dyn Store>> {
    Some(Arc::new(fresh_store().await?))
}

baton_store::conformance_suite!(fresh());

#[tokio::test]
async fn tampering_with_a_stored_event_is_detected() {
    let Some(store) = fresh_store().await else {
        return;
    };
    for i in 0..3 {
        store
            .create_handoff(new_handoff("triage", "low", "missing_data", i))
            .await
            .unwrap();
    }
    sqlx::query("UPDATE events SET data = '{}' WHERE position = 3")
        .execute(store.pool())
        .await
        .unwrap();
    match verify_audit(&store).await.unwrap() {
        ChainVerdict::Broken { position, .. } => assert_eq!(position, 3),
        other => panic!("tampering not found: {other:?}"),
    }
}
