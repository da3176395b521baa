//! Conformance cases for policy versions and trigger streaks.

use std::sync::Arc;

use super::fixtures::at;
use crate::Store;

/// Policy versions are kept once each, oldest first, with their text.
pub async fn policy_versions_are_kept_once(store: Arc<dyn Store>) {
    store
        .save_policy_version("v1", "text one", at(0))
        .await
        .unwrap();
    store
        .save_policy_version("v2", "text two", at(5))
        .await
        .unwrap();
    store
        .save_policy_version("v1", "text one again", at(9))
        .await
        .unwrap();
    let versions = store.policy_versions().await.unwrap();
    assert_eq!(
        versions,
        vec![
            ("v1".into(), "text one".into(), at(0)),
            ("v2".into(), "text two".into(), at(5))
        ]
    );
}

/// Streak counts round-trip per conversation and are replaced on save.
pub async fn streaks_round_trip(store: Arc<dyn Store>) {
    assert_eq!(store.load_streaks("c1").await.unwrap(), None);
    store
        .save_streaks("c1", r#"{"unsure":1}"#, at(1))
        .await
        .unwrap();
    store
        .save_streaks("c2", r#"{"unsure":5}"#, at(1))
        .await
        .unwrap();
    store
        .save_streaks("c1", r#"{"unsure":2}"#, at(2))
        .await
        .unwrap();
    assert_eq!(
        store.load_streaks("c1").await.unwrap().as_deref(),
        Some(r#"{"unsure":2}"#)
    );
    assert_eq!(
        store.load_streaks("c2").await.unwrap().as_deref(),
        Some(r#"{"unsure":5}"#)
    );
}
