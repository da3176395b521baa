//! Conformance cases for concurrency: duplicate creates, racing claims, bursts.

use std::collections::HashSet;
use std::sync::Arc;

use baton_core::{Action, ChainVerdict, EventKind};
use futures::future::join_all;

use super::fixtures::{at, new_handoff};
use crate::{ActOn, Idempotency, Store, StoreError, verify_audit};

/// 32 concurrent creates with one idempotency key and body make exactly one handoff.
pub async fn concurrent_duplicates_create_one_item(store: Arc<dyn Store>) {
    let template = new_handoff("triage", "high", "low_confidence", 0);
    let tasks = (0..32).map(|i| {
        let store = store.clone();
        let mut cmd = template.clone();
        cmd.handoff.id = uuid::Uuid::now_v7();
        cmd.handoff.created_at = at(i);
        cmd.idempotency = Some(Idempotency {
            key: "dup".into(),
            body_hash: "same".into(),
        });
        tokio::spawn(async move { store.create_handoff(cmd).await })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let ids: HashSet<_> = results.iter().map(|c| c.handoff.id).collect();
    assert_eq!(ids.len(), 1, "one handoff for one key");
    assert_eq!(results.iter().filter(|c| !c.replayed).count(), 1);
    let created = store.events_after(0, 1000).await.unwrap();
    assert_eq!(
        created
            .iter()
            .filter(|e| e.kind == EventKind::Created)
            .count(),
        1
    );
}

/// 32 tasks race to claim one item: exactly one wins, the others are refused.
pub async fn racing_claims_have_one_winner(store: Arc<dyn Store>) {
    let id = store
        .create_handoff(new_handoff("triage", "high", "low_confidence", 0))
        .await
        .unwrap()
        .handoff
        .id;
    let tasks = (0..32).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .act(ActOn {
                    id,
                    action: Action::Claim {
                        assignee: format!("reviewer-{i}"),
                    },
                    actor: format!("reviewer-{i}"),
                    now: at(1),
                    claim_token: None,
                    groups_in: None,
                    policy: crate::conformance::default_policy(),
                })
                .await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one claim wins");
    for loser in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(loser, StoreError::Domain(_) | StoreError::Conflict),
            "{loser:?}"
        );
    }
    let stored = store.get_handoff(id).await.unwrap().unwrap();
    assert_eq!(stored.assignee, winners[0].handoff.assignee);
    assert_eq!(store.handoff_events(id).await.unwrap().len(), 2);
}

/// 200 concurrent creates are all stored and the chain stays intact.
pub async fn concurrent_creates_keep_the_chain_intact(store: Arc<dyn Store>) {
    let tasks = (0..200).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .create_handoff(new_handoff("triage", "low", "missing_data", i))
                .await
        })
    });
    for r in join_all(tasks).await {
        r.unwrap().unwrap();
    }
    let events = store.events_after(0, 1000).await.unwrap();
    assert_eq!(events.len(), 200);
    let ids: HashSet<_> = events.iter().map(|e| e.handoff_id).collect();
    assert_eq!(ids.len(), 200);
    assert_eq!(
        verify_audit(store.as_ref()).await.unwrap(),
        ChainVerdict::Intact { events: 200 }
    );
}
