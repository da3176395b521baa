//! `/readyz` follows the writer: 503 while it cannot commit, ready again
//! once a batch commits.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use baton_store_sqlite::SqliteStore;

use crate::helpers::{AGENT, assert_error, build, new_handoff};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_the_writer_cannot_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let path = path.to_str().unwrap().to_owned();
    let store = SqliteStore::open(&path).await.unwrap();
    let raw = store.pool().clone();
    let app = build(Arc::new(store), Some(dir)).await;
    let (status, _) = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);

    // Every commit now fails when it stores the chain head.
    sqlx::query(
        "CREATE TRIGGER refuse_commits BEFORE UPDATE ON chain_head \
         BEGIN SELECT RAISE(ABORT, 'injected: commits refused'); END",
    )
    .execute(&raw)
    .await
    .unwrap();
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/handoffs",
            Some(AGENT),
            Some(new_handoff("high", "low_confidence")),
        )
        .await;
    assert_error(
        status,
        &json,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    );
    let (status, json) = app.request(Method::GET, "/readyz", None, None).await;
    let error = assert_error(
        status,
        &json,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    );
    assert!(
        error["message"].as_str().unwrap().contains("backing off"),
        "{json}"
    );

    sqlx::query("DROP TRIGGER refuse_commits")
        .execute(&raw)
        .await
        .unwrap();
    app.create(AGENT, new_handoff("high", "low_confidence"))
        .await;
    let (status, json) = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["status"], "ready");
}
