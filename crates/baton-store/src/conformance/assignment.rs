//! Automatic assignment in the store: availability, loads, the queue of
//! unassigned items, and an assignment written once or refused whole.

use std::sync::Arc;

use baton_core::timers::TimerKind;
use baton_core::{Action, EventKind};
use futures::future::join_all;

use super::fixtures::{at, new_handoff};
use crate::{ActOn, AssignHandoff, Store, StoreError};

fn offer(id: uuid::Uuid, to: &str, secs: i64) -> AssignHandoff {
    AssignHandoff {
        id,
        assignee: to.to_owned(),
        strategy: "round_robin".into(),
        policy: crate::conformance::default_policy(),
        now: at(secs),
    }
}

/// Availability round-trips; an assignment is written once (racing offers
/// have one winner), arms its expiry, records the reviewer's turn and
/// counts in the loads; the queue holds only unassigned pending items.
pub async fn assignments_are_offered_once_and_counted(store: Arc<dyn Store>) {
    assert!(store.available_reviewers().await.unwrap().is_empty());
    assert!(!store.is_available("ana").await.unwrap());
    store.set_availability("ana", true, at(0)).await.unwrap();
    store.set_availability("bo", true, at(0)).await.unwrap();
    store.set_availability("bo", false, at(1)).await.unwrap();
    assert!(store.is_available("ana").await.unwrap());
    assert_eq!(
        store.available_reviewers().await.unwrap(),
        vec![("ana".to_owned(), None)]
    );
    let mut ids = Vec::new();
    for secs in [10, 11, 12] {
        let created = store
            .create_handoff(new_handoff("billing", "high", "low_confidence", secs))
            .await
            .unwrap();
        ids.push(created.handoff.id);
    }
    store
        .create_handoff(new_handoff("triage", "high", "low_confidence", 13))
        .await
        .unwrap();
    assert_eq!(
        store.unassigned_pending("billing", 10).await.unwrap(),
        ids,
        "oldest first, only the group's"
    );
    assert_eq!(
        store.unassigned_pending("billing", 2).await.unwrap(),
        ids[..2]
    );

    let racing = (0..8).map(|i| {
        let store = store.clone();
        let id = ids[0];
        tokio::spawn(async move { store.assign(offer(id, &format!("r{i}"), 20)).await })
    });
    let results: Vec<_> = join_all(racing)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "one offer wins");
    for loser in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(loser, StoreError::Domain(_)), "{loser:?}");
    }
    let winner = winners[0].handoff.assignee.clone().unwrap();
    assert_eq!(winners[0].event.kind, EventKind::Assigned);
    let events = store.handoff_events(ids[0]).await.unwrap();
    assert_eq!(events.len(), 2, "created, assigned; refusals wrote nothing");
    let timers = store.handoff_timers(ids[0]).await.unwrap();
    assert!(timers.iter().any(|t| t.kind == TimerKind::AssignmentExpiry));

    store.assign(offer(ids[1], "ana", 21)).await.unwrap();
    assert_eq!(
        store.available_reviewers().await.unwrap(),
        vec![("ana".to_owned(), Some(at(21)))],
        "the turn is recorded"
    );
    store
        .act(ActOn {
            id: ids[1],
            action: Action::Claim {
                assignee: "ana".into(),
            },
            actor: "ana".into(),
            now: at(22),
            claim_token: None,
            groups_in: None,
            policy: crate::conformance::default_policy(),
        })
        .await
        .unwrap();
    let mut loads = store.reviewer_loads().await.unwrap();
    loads.sort();
    let mut expect = vec![("ana".to_owned(), 1), (winner, 1)];
    expect.sort();
    assert_eq!(loads, expect, "offered and claimed items count");
    assert_eq!(
        store.unassigned_pending("billing", 10).await.unwrap(),
        ids[2..]
    );
    // A claimed item cannot be offered.
    assert!(matches!(
        store.assign(offer(ids[1], "bo", 23)).await,
        Err(StoreError::Domain(_))
    ));
}
