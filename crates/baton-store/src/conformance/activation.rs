//! Conformance cases for the active policy (kept in the database, activated
//! through the writer with a chained event) and serialized streak steps.

use std::collections::BTreeMap;
use std::sync::Arc;

use baton_core::{EventKind, SYSTEM_STREAM};

use super::fixtures::{at, new_handoff};
use crate::{ActivatePolicy, Store, StreakStep, verify_audit};

fn activation(version: &str, actor: &str, secs: i64) -> ActivatePolicy {
    ActivatePolicy {
        version: version.into(),
        text: format!("text of {version}"),
        files: BTreeMap::from([("contract.json".to_owned(), "{}".to_owned())]),
        actor: actor.into(),
        source: "api".into(),
        now: at(secs),
        only_if_none_active: false,
    }
}

/// Activation keeps the version, makes it active, and appends one
/// `policy_activated` event per change to the system stream of the chain;
/// activating the active version again writes nothing.
pub async fn policy_activation_is_kept_and_chained(store: Arc<dyn Store>) {
    assert_eq!(store.active_policy().await.unwrap(), None);
    let first = store
        .activate_policy(activation("v1", "serve --policy", 1))
        .await
        .unwrap();
    assert_eq!(first.previous, None);
    let event = first.event.expect("a first activation is an event");
    assert_eq!(
        (event.handoff_id, event.seq, event.kind),
        (SYSTEM_STREAM, 1, EventKind::PolicyActivated)
    );
    assert_eq!(event.data["version"], "v1");
    assert!(event.data["previous"].is_null());
    let again = store
        .activate_policy(activation("v1", "cli", 2))
        .await
        .unwrap();
    assert!(again.event.is_none(), "an unchanged version adds no event");
    store
        .create_handoff(new_handoff("triage", "high", "low_confidence", 3))
        .await
        .unwrap();
    let second = store
        .activate_policy(activation("v2", "ops-admin", 4))
        .await
        .unwrap();
    assert_eq!(second.previous.as_deref(), Some("v1"));
    let event = second.event.expect("a change is an event");
    assert_eq!((event.seq, event.actor.as_str()), (2, "ops-admin"));
    assert_eq!(event.data["previous"], "v1");
    let active = store.active_policy().await.unwrap().expect("active");
    assert_eq!(
        (active.version.as_str(), active.text.as_str()),
        ("v2", "text of v2")
    );
    assert_eq!(active.activated_by, "ops-admin");
    assert_eq!(active.activated_at, at(4));
    assert_eq!(active.files["contract.json"], "{}");
    let kinds: Vec<_> = store
        .events_after(0, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EventKind::PolicyActivated,
            EventKind::Created,
            EventKind::PolicyActivated
        ]
    );
    assert!(matches!(
        verify_audit(store.as_ref()).await.unwrap(),
        baton_core::ChainVerdict::Intact { events: 3 }
    ));
    // Going back to an earlier version is a change too.
    let back = store
        .activate_policy(activation("v1", "ops-admin", 5))
        .await
        .unwrap();
    assert_eq!(back.event.map(|e| e.seq), Some(3));
    let versions = store.policy_versions().await.unwrap();
    assert_eq!(versions.len(), 2);
    // A start-up default never overrides an active version.
    let default = store
        .activate_policy(ActivatePolicy {
            only_if_none_active: true,
            ..activation("default", "serve", 6)
        })
        .await
        .unwrap();
    assert!(default.event.is_none());
    let active = store.active_policy().await.unwrap().expect("active");
    assert_eq!(active.version, "v1");
}

/// Concurrent read-modify-write steps on one conversation run one after the
/// other: 16 increments give 16; a step that leaves writes nothing.
pub async fn concurrent_streak_steps_run_one_after_another(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .evaluate_streaks("c1", at(1), &mut |kept| {
                    let n: u32 = kept.map_or(0, |k| k.parse().unwrap());
                    StreakStep::Save((n + 1).to_string())
                })
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap());
    }
    assert_eq!(
        store.load_streaks("c1").await.unwrap().as_deref(),
        Some("16")
    );
    let saved = store
        .evaluate_streaks("c2", at(2), &mut |kept| {
            assert_eq!(kept, None);
            StreakStep::Leave
        })
        .await
        .unwrap();
    assert!(!saved);
    assert_eq!(store.load_streaks("c2").await.unwrap(), None);
}
