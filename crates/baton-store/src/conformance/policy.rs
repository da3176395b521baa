//! Conformance cases for policy versions and trigger streaks.

use std::sync::Arc;

use super::fixtures::at;
use crate::{ActivatePolicy, Store, StreakStep};

/// Activates `version` with `text` at `secs`, as the API would.
async fn activate(store: &dyn Store, version: &str, text: &str, secs: i64) {
    store
        .activate_policy(ActivatePolicy {
            version: version.into(),
            text: text.into(),
            files: Default::default(),
            actor: "admin".into(),
            source: "api".into(),
            now: at(secs),
            only_if_none_active: false,
        })
        .await
        .unwrap();
}

/// Policy versions are kept once each, oldest first, with their text.
pub async fn policy_versions_are_kept_once(store: Arc<dyn Store>) {
    activate(store.as_ref(), "v1", "text one", 0).await;
    activate(store.as_ref(), "v2", "text two", 5).await;
    activate(store.as_ref(), "v1", "text one again", 9).await;
    let versions = store.policy_versions().await.unwrap();
    assert_eq!(
        versions,
        vec![
            ("v1".into(), "text one".into(), at(0)),
            ("v2".into(), "text two".into(), at(5))
        ]
    );
}

/// Stores `counts` as a conversation's streak counts.
async fn save(store: &dyn Store, conversation: &str, counts: &str, secs: i64) {
    let saved = store
        .evaluate_streaks(conversation, at(secs), &mut |_| {
            StreakStep::Save(counts.to_owned())
        })
        .await
        .unwrap();
    assert!(saved);
}

/// Streak counts round-trip per conversation and are replaced on save.
pub async fn streaks_round_trip(store: Arc<dyn Store>) {
    assert_eq!(store.load_streaks("c1").await.unwrap(), None);
    save(store.as_ref(), "c1", r#"{"unsure":1}"#, 1).await;
    save(store.as_ref(), "c2", r#"{"unsure":5}"#, 1).await;
    save(store.as_ref(), "c1", r#"{"unsure":2}"#, 2).await;
    assert_eq!(
        store.load_streaks("c1").await.unwrap().as_deref(),
        Some(r#"{"unsure":2}"#)
    );
    assert_eq!(
        store.load_streaks("c2").await.unwrap().as_deref(),
        Some(r#"{"unsure":5}"#)
    );
}
