//! One truth across instances: the database holds the active policy. A
//! `PUT /v1/policy` on one instance reaches the others within a second
//! (PostgreSQL `LISTEN/NOTIFY`, polling as fallback) and survives restarts.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use baton_core::{EventKind, SYSTEM_STREAM};
use baton_server::{POLL_EVERY, PolicyWatcher, spawn_policy_watcher};
use baton_store::PolicyStore;
use baton_store_postgres::PgStore;
use baton_store_sqlite::SqliteStore;
use serde_json::Value;

use baton_server::ServerConfig;

use crate::evaluate_order::{evaluate, load_chat, unsure};
use crate::helpers::{ADMIN, AGENT, TestApp, app_over, new_handoff, pg_database, spawn_app};

/// The app's policy with a first route sending `high` impact to `billing`.
fn rerouted(app: &TestApp) -> String {
    let text = app.state.policy.current().text.clone();
    assert!(text.contains("[[route]]\nid = \"default\""), "{text}");
    text.replacen(
        "[[route]]\nid = \"default\"",
        "[[route]]\nid = \"high-to-billing\"\nwhen = \"impact == 'high'\"\ngroup = \"billing\"\n\n[[route]]\nid = \"default\"",
        1,
    )
}

async fn put_policy(app: &TestApp, text: &str) -> Value {
    app.put_policy(text).await
}

async fn version(app: &TestApp) -> String {
    let (status, json) = app
        .request(Method::GET, "/v1/policy", Some(ADMIN), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    json["version"].as_str().expect("a version").to_owned()
}

async fn owner_group_of_create(app: &TestApp) -> (String, String) {
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/handoffs",
            Some(AGENT),
            Some(new_handoff("high", "low_confidence")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    (
        json["owner_group"].as_str().unwrap().to_owned(),
        json["policy_version"].as_str().unwrap().to_owned(),
    )
}

async fn pg_instance(url: &str) -> (TestApp, PolicyWatcher) {
    let store = PgStore::open(url).await.expect("open the shared database");
    let app = app_over(Arc::new(store), None).await;
    let watcher = spawn_policy_watcher(&app.state, POLL_EVERY);
    (app, watcher)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_put_on_one_instance_is_active_on_every_instance_and_after_restarts() {
    let Some(url) = pg_database().await else {
        eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set");
        return;
    };
    let (a, watch_a) = pg_instance(&url).await;
    let (b, watch_b) = pg_instance(&url).await;
    let before = version(&b).await;
    assert_eq!(owner_group_of_create(&b).await.0, "triage");

    let put = put_policy(&a, &rerouted(&a)).await;
    let new = put["version"].as_str().unwrap().to_owned();
    assert_ne!(new, before);
    assert_eq!(put["changed"], true);
    let started = tokio::time::Instant::now();
    let mut every = tokio::time::interval(Duration::from_millis(20));
    let switched = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            every.tick().await;
            if version(&b).await == new {
                return started.elapsed();
            }
        }
    })
    .await
    .expect("instance B answers the new version within 1 s");
    eprintln!("instance B switched after {switched:?}");

    let on_a = owner_group_of_create(&a).await;
    let on_b = owner_group_of_create(&b).await;
    assert_eq!(on_a, ("billing".to_owned(), new.clone()));
    assert_eq!(
        on_b, on_a,
        "both instances route the same create the same way"
    );

    // The activation is in the hash chain, on the system stream, naming who.
    let events = a.state.store.events_after(0, 100).await.unwrap();
    let activations: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::PolicyActivated)
        .collect();
    assert_eq!(activations.len(), 1);
    assert_eq!(activations[0].handoff_id, SYSTEM_STREAM);
    assert_eq!(activations[0].actor, "admin");
    assert_eq!(activations[0].data["version"], new.as_str());
    assert!(matches!(
        baton_store::verify_audit(a.state.store.as_ref())
            .await
            .unwrap(),
        baton_core::ChainVerdict::Intact { .. }
    ));

    drop((a, b, watch_a, watch_b));
    let (a, _watch_a) = pg_instance(&url).await;
    let (b, _watch_b) = pg_instance(&url).await;
    for app in [&a, &b] {
        // What `baton serve` without --policy does at start-up.
        app.state
            .policy
            .sync(app.state.store.as_ref())
            .await
            .expect("the active version builds");
        assert_eq!(version(app).await, new, "still active after a restart");
        let (_, policy) = app
            .request(Method::GET, "/v1/policy", Some(ADMIN), None)
            .await;
        assert_eq!(policy["activated"]["by"], "admin", "{policy}");
        assert_eq!(owner_group_of_create(app).await.0, "billing");
    }
}

#[tokio::test]
async fn a_policy_put_on_sqlite_is_active_after_reopening_the_store() {
    let app = spawn_app().await;
    let text = rerouted(&app);
    let new = put_policy(&app, &text).await["version"]
        .as_str()
        .unwrap()
        .to_owned();
    // The same text again changes nothing and writes no event.
    let again = put_policy(&app, &text).await;
    assert_eq!(again["changed"], false);
    let dir = app.into_dir().expect("a SQLite app");
    let path = dir.path().join("baton.db");
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    let active = store
        .active_policy()
        .await
        .unwrap()
        .expect("an active version");
    assert_eq!(
        (active.version.as_str(), active.activated_by.as_str()),
        (new.as_str(), "admin")
    );
    let app = app_over(Arc::new(store), Some(dir)).await;
    assert_ne!(
        version(&app).await,
        new,
        "the test app starts on its own policy"
    );
    let _watcher = spawn_policy_watcher(&app.state, Duration::from_millis(10));
    let mut every = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(Duration::from_secs(1), async {
        while version(&app).await != new {
            every.tick().await;
        }
    })
    .await
    .expect("the watcher adopts the database's active version");
    assert_eq!(owner_group_of_create(&app).await.0, "billing");
    let activations = app
        .state
        .store
        .events_after(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::PolicyActivated)
        .count();
    assert_eq!(activations, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_of_one_conversation_sent_to_two_instances_are_evaluated_in_order() {
    let Some(url) = pg_database().await else {
        eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set");
        return;
    };
    let (a, _watch_a) = pg_instance(&url).await;
    let (b, _watch_b) = pg_instance(&url).await;
    let version = load_chat(&a).await;
    let mut every = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(Duration::from_secs(1), async {
        while self::version(&b).await != version {
            every.tick().await;
        }
    })
    .await
    .expect("B adopts the chat policy");
    let wide = ServerConfig {
        evaluate_order_wait: Duration::from_secs(10),
        ..ServerConfig::default()
    };
    let (a, b) = (
        Arc::new(a.with_config(wide.clone())),
        Arc::new(b.with_config(wide)),
    );
    let mut pairs = Vec::new();
    for i in 0..50 {
        let conversation = format!("split-{i}");
        let (to_a, to_b) = (a.clone(), b.clone());
        let (one, two) = (unsure(&conversation, 1), unsure(&conversation, 2));
        // Turn 1 to A, turn 2 to B, both at once.
        let one = tokio::spawn(async move { evaluate(&to_a, one).await });
        let two = tokio::spawn(async move { evaluate(&to_b, two).await });
        pairs.push((conversation, one, two));
    }
    for (conversation, one, two) in pairs {
        let (one, two) = (one.await.unwrap(), two.await.unwrap());
        assert_eq!(one["action"], "proceed", "{conversation}: {one}");
        assert_eq!(two["action"], "handoff", "{conversation}: {two}");
    }
}
