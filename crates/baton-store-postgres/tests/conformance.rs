//! The shared conformance suite on PostgreSQL, when `BATON_TEST_POSTGRES_URL`
//! is set (CI sets it; under `CI=true` its absence fails every test); each
//! case gets a database of its own.

use std::collections::HashSet;
use std::sync::Arc;

use baton_core::{Action, ChainVerdict};
use baton_store::ActOn;
use baton_store::conformance::at;
use baton_store::conformance::new_handoff;
use baton_store::{Store, verify_audit};
use baton_store_postgres::PgStore;
use futures::future::join_all;

/// The URL of a fresh database on the test server, or `None` when none is configured.
/// Under `CI=true` a missing `BATON_TEST_POSTGRES_URL` fails the test
/// instead of skipping it: a CI run without PostgreSQL is red.
async fn fresh_url() -> Option<String> {
    let Some(url) = std::env::var("BATON_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        let ci = std::env::var("CI").unwrap_or_default();
        assert!(
            !ci.eq_ignore_ascii_case("true"),
            "CI=true but BATON_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI"
        );
        return None;
    };
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
    Some(format!("{base}/{name}"))
}

/// A store on a fresh database, or `None` when none is configured.
async fn fresh_store() -> Option<PgStore> {
    let url = fresh_url().await?;
    Some(PgStore::open(&url).await.expect("open test database"))
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

/// Three instances on one database: claims racing across them have one
/// winner, and concurrent creates from all of them form one intact chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_share_one_chain_and_one_claim_winner() {
    let Some(url) = fresh_url().await else { return };
    let mut instances: Vec<Arc<PgStore>> = Vec::new();
    for _ in 0..3 {
        instances.push(Arc::new(PgStore::open(&url).await.unwrap()));
    }
    let id = instances[0]
        .create_handoff(new_handoff("triage", "high", "low_confidence", 0))
        .await
        .unwrap()
        .handoff
        .id;
    let claims = (0..30).map(|i| {
        let store = instances[i % 3].clone();
        tokio::spawn(async move {
            store
                .act(ActOn {
                    id,
                    action: Action::Claim {
                        assignee: format!("r{i}"),
                    },
                    actor: format!("r{i}"),
                    now: at(1),
                    claim_token: None,
                    groups_in: None,
                    policy: baton_store::conformance::default_policy(),
                })
                .await
        })
    });
    let wins = join_all(claims)
        .await
        .into_iter()
        .filter(|r| r.as_ref().unwrap().is_ok())
        .count();
    assert_eq!(wins, 1, "exactly one claim wins across instances");
    let creates = (0..90).map(|i| {
        let store = instances[i % 3].clone();
        tokio::spawn(async move {
            store
                .create_handoff(new_handoff("triage", "low", "missing_data", i as i64))
                .await
        })
    });
    let ids: HashSet<_> = join_all(creates)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap().handoff.id)
        .collect();
    assert_eq!(ids.len(), 90);
    assert_eq!(
        verify_audit(instances[1].as_ref()).await.unwrap(),
        ChainVerdict::Intact { events: 1 + 1 + 90 }
    );
}

#[tokio::test]
async fn tampering_with_the_end_of_the_log_is_detected() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let store = Arc::new(store);
    let pool = store.pool().clone();
    let sql = async |text: &str| {
        sqlx::query(sqlx::AssertSqlSafe(text.to_owned()))
            .execute(&pool)
            .await
            .unwrap();
    };
    baton_store::conformance::tampering_with_the_end_of_the_log_is_detected(store, sql).await;
}
