//! Conformance cases for lists, pagination, views, the event feed and tokens.

use std::collections::HashSet;
use std::sync::Arc;

use baton_core::{Action, LifecycleState, Role};

use super::fixtures::{at, new_handoff};
use crate::{ActOn, HandoffQuery, Sort, Store, StoreError, TokenRecord};

async fn walk(store: &dyn Store, mut query: HandoffQuery) -> Vec<uuid::Uuid> {
    let mut seen = Vec::new();
    loop {
        let page = store.list_handoffs(&query).await.unwrap();
        assert!(page.items.len() <= query.limit as usize);
        seen.extend(page.items.iter().map(|h| h.id));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return seen,
        }
    }
}

/// Keyset pagination visits every item exactly once, in order, both ways.
pub async fn pagination_walks_every_item_once(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for i in 0..25 {
        // Every third item shares its creation time with the previous one, so
        // the cursor must break ties on the id.
        let secs = i - (i % 3 == 2) as i64;
        ids.push(
            store
                .create_handoff(new_handoff("triage", "low", "missing_data", secs))
                .await
                .unwrap()
                .handoff
                .id,
        );
    }
    let oldest_first = walk(
        store.as_ref(),
        HandoffQuery {
            sort: Sort::Age,
            limit: 10,
            ..Default::default()
        },
    )
    .await;
    let newest_first = walk(
        store.as_ref(),
        HandoffQuery {
            sort: Sort::Created,
            limit: 7,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(oldest_first.len(), 25);
    assert_eq!(oldest_first.iter().collect::<HashSet<_>>().len(), 25);
    let mut reversed = newest_first.clone();
    reversed.reverse();
    assert_eq!(oldest_first, reversed);
    assert_eq!(oldest_first[0], ids[0]);
    assert_eq!(*newest_first.first().unwrap(), ids[24]);
}

/// Each filter and scope narrows the list to matching items.
pub async fn filters_narrow_the_list(store: Arc<dyn Store>) {
    let a = store
        .create_handoff(new_handoff("triage", "high", "low_confidence", 0))
        .await
        .unwrap()
        .handoff
        .id;
    let b = store
        .create_handoff(new_handoff("billing", "low", "missing_data", 1))
        .await
        .unwrap()
        .handoff
        .id;
    let c = store
        .create_handoff(new_handoff("billing", "high", "missing_data", 2))
        .await
        .unwrap()
        .handoff
        .id;
    store
        .act(ActOn {
            id: c,
            action: Action::Claim {
                assignee: "amy".into(),
            },
            actor: "amy".into(),
            now: at(3),
            claim_token: None,
            groups_in: None,
            policy: crate::conformance::default_policy(),
        })
        .await
        .unwrap();
    let ids = |q: HandoffQuery| {
        let store = store.clone();
        async move {
            let mut got: Vec<_> = store
                .list_handoffs(&HandoffQuery { limit: 100, ..q })
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|h| h.id)
                .collect();
            got.sort();
            got
        }
    };
    let sorted = |mut v: Vec<uuid::Uuid>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(HandoffQuery {
            owner_group: Some("billing".into()),
            ..Default::default()
        })
        .await,
        sorted(vec![b, c])
    );
    assert_eq!(
        ids(HandoffQuery {
            impact: Some("high".into()),
            ..Default::default()
        })
        .await,
        sorted(vec![a, c])
    );
    assert_eq!(
        ids(HandoffQuery {
            reason: Some("low_confidence".into()),
            ..Default::default()
        })
        .await,
        vec![a]
    );
    assert_eq!(
        ids(HandoffQuery {
            states: vec![LifecycleState::InProgress],
            ..Default::default()
        })
        .await,
        vec![c]
    );
    assert_eq!(
        ids(HandoffQuery {
            assignee: Some(Some("amy".into())),
            ..Default::default()
        })
        .await,
        vec![c]
    );
    assert_eq!(
        ids(HandoffQuery {
            assignee: Some(None),
            ..Default::default()
        })
        .await,
        sorted(vec![a, b])
    );
    assert_eq!(
        ids(HandoffQuery {
            workflow: Some("support-chat".into()),
            ..Default::default()
        })
        .await
        .len(),
        3
    );
    assert_eq!(
        ids(HandoffQuery {
            workflow: Some("other".into()),
            ..Default::default()
        })
        .await,
        Vec::<uuid::Uuid>::new()
    );
    assert_eq!(
        ids(HandoffQuery {
            groups_in: Some(vec!["triage".into()]),
            ..Default::default()
        })
        .await,
        vec![a]
    );
    assert_eq!(
        ids(HandoffQuery {
            workflows_in: Some(vec![]),
            ..Default::default()
        })
        .await,
        Vec::<uuid::Uuid>::new()
    );
}

/// `open_ages` lists open items only; `reason_counts` counts a half-open window.
pub async fn views_count_open_items_and_reasons(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for (i, reason) in ["low_confidence", "low_confidence", "missing_data", "fraud"]
        .iter()
        .enumerate()
    {
        ids.push(
            store
                .create_handoff(new_handoff(
                    "triage",
                    if i % 2 == 0 { "high" } else { "low" },
                    reason,
                    i as i64 * 100,
                ))
                .await
                .unwrap()
                .handoff
                .id,
        );
    }
    let act = |id, action, secs| ActOn {
        id,
        action,
        actor: "amy".into(),
        now: at(secs),
        claim_token: None,
        groups_in: None,
        policy: crate::conformance::default_policy(),
    };
    let token = store
        .act(act(
            ids[3],
            Action::Claim {
                assignee: "amy".into(),
            },
            500,
        ))
        .await
        .unwrap()
        .claim_token;
    store
        .act(ActOn {
            claim_token: token,
            ..act(
                ids[3],
                Action::Resolve(baton_core::ReceiptInput {
                    resolution: baton_core::Resolution::Rejected,
                    resolution_reason: "fraud_confirmed".into(),
                    changes: None,
                    customer_note: None,
                    internal_note: None,
                }),
                600,
            )
        })
        .await
        .unwrap();
    let mut ages = store.open_ages().await.unwrap();
    ages.sort_by_key(|(_, t)| *t);
    assert_eq!(
        ages,
        vec![
            ("high".into(), at(0)),
            ("low".into(), at(100)),
            ("high".into(), at(200))
        ]
    );
    let mut counts = store.reason_counts(at(0), at(300)).await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        vec![("low_confidence".into(), 2), ("missing_data".into(), 1)]
    );
    assert_eq!(
        store.reason_counts(at(300), at(301)).await.unwrap(),
        vec![("fraud".into(), 1)]
    );
}

/// `open_totals` counts pending, in-progress and waiting items per owner
/// group and impact with the oldest creation time; resolved and
/// needs-context items are not open.
pub async fn open_totals_count_open_items_per_group_and_impact(store: Arc<dyn Store>) {
    let create = |group: &'static str, impact: &'static str, secs, state| {
        let store = store.clone();
        async move {
            let mut cmd = new_handoff(group, impact, "missing_data", secs);
            cmd.handoff.state = state;
            store.create_handoff(cmd).await.unwrap().handoff.id
        }
    };
    let act = |id, action, secs, claim_token| ActOn {
        id,
        action,
        actor: "amy".into(),
        now: at(secs),
        claim_token,
        groups_in: None,
        policy: crate::conformance::default_policy(),
    };
    let claim = |id, secs| {
        let store = store.clone();
        async move {
            let claim = Action::Claim {
                assignee: "amy".into(),
            };
            store
                .act(act(id, claim, secs, None))
                .await
                .unwrap()
                .claim_token
        }
    };
    use LifecycleState::{NeedsContext, Pending};
    create("triage", "high", 0, Pending).await;
    let in_progress = create("triage", "high", 100, Pending).await;
    claim(in_progress, 500).await;
    create("triage", "low", 200, Pending).await;
    let resolved = create("billing", "high", 300, Pending).await;
    let token = claim(resolved, 500).await;
    let receipt = Action::Resolve(baton_core::ReceiptInput {
        resolution: baton_core::Resolution::Approved,
        resolution_reason: "ok".into(),
        changes: None,
        customer_note: None,
        internal_note: None,
    });
    store.act(act(resolved, receipt, 600, token)).await.unwrap();
    create("billing", "low", 50, NeedsContext).await;
    let waiting = create("billing", "low", 400, Pending).await;
    let token = claim(waiting, 500).await;
    let ask = Action::RequestInfo {
        question: "which order?".into(),
    };
    store.act(act(waiting, ask, 600, token)).await.unwrap();
    let mut totals = store.open_totals().await.unwrap();
    totals.sort_by(|a, b| (&a.owner_group, &a.impact).cmp(&(&b.owner_group, &b.impact)));
    let total = |group: &str, impact: &str, count, oldest| crate::OpenTotal {
        owner_group: group.into(),
        impact: impact.into(),
        count,
        oldest: at(oldest),
    };
    assert_eq!(
        totals,
        vec![
            total("billing", "low", 1, 400),
            total("triage", "high", 2, 0),
            total("triage", "low", 1, 200),
        ]
    );
}

/// The global feed returns events after a position, in order, up to a limit.
pub async fn event_feed_is_in_log_order(store: Arc<dyn Store>) {
    for i in 0..5 {
        store
            .create_handoff(new_handoff("triage", "low", "missing_data", i))
            .await
            .unwrap();
    }
    let all = store.events_after(0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    let tail = store.events_after(3, 1).await.unwrap();
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0], all[3]);
    assert!(store.events_after(5, 10).await.unwrap().is_empty());
}

/// Tokens are found by hash, names are unique, revocation is recorded.
pub async fn tokens_are_stored_by_hash_and_revocable(store: Arc<dyn Store>) {
    let token = TokenRecord {
        id: uuid::Uuid::now_v7(),
        name: "ci-bot".into(),
        role: Role::Reviewer,
        groups: vec!["triage".into(), "billing".into()],
        workflows: vec![],
        hash: "ab".repeat(32),
        created_at: at(0),
        revoked_at: None,
    };
    store.insert_token(&token).await.unwrap();
    assert_eq!(
        store.token_by_hash(&token.hash).await.unwrap(),
        Some(token.clone())
    );
    let dup = TokenRecord {
        id: uuid::Uuid::now_v7(),
        hash: "cd".repeat(32),
        ..token.clone()
    };
    assert!(matches!(
        store.insert_token(&dup).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(store.revoke_token("ci-bot", at(5)).await.unwrap());
    assert!(!store.revoke_token("nobody", at(5)).await.unwrap());
    let listed = store.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].revoked_at, Some(at(5)));
    assert_eq!(store.token_by_hash(&"ef".repeat(32)).await.unwrap(), None);
}
