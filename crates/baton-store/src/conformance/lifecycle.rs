//! Conformance cases for transitions, claim tokens and idempotency.

use std::sync::Arc;

use baton_core::{
    Action, AiOutputState, ChainVerdict, DomainError, EventKind, ExecutionOutcome, LifecycleState,
    NoteVisibility, ReceiptInput, Resolution,
};
use serde_json::json;

use super::fixtures::{at, new_handoff};
use crate::{ActOn, Idempotency, Store, StoreError, verify_audit};

fn act(id: uuid::Uuid, action: Action, secs: i64, token: Option<&str>) -> ActOn {
    ActOn {
        id,
        action,
        actor: "amy".into(),
        now: at(secs),
        claim_token: token.map(str::to_owned),
        groups_in: None,
        policy: crate::conformance::default_policy(),
    }
}

fn approve() -> Action {
    Action::Resolve(ReceiptInput {
        resolution: Resolution::Corrected,
        resolution_reason: "amount_capped".into(),
        changes: Some(json!({"amount": {"from": 900, "to": 500}})),
        customer_note: Some("we refunded 500 EUR".into()),
        internal_note: Some("cap per policy 7".into()),
    })
}

/// Walks one handoff through every lifecycle transition and checks the
/// stored state, the events (kinds, per-handoff seq, actor, time) and the chain.
pub async fn every_lifecycle_transition_is_recorded(store: Arc<dyn Store>) {
    let created = store
        .create_handoff(new_handoff("triage", "high", "low_confidence", 0))
        .await
        .unwrap();
    let id = created.handoff.id;
    let claim = store
        .act(act(
            id,
            Action::Claim {
                assignee: "amy".into(),
            },
            10,
            None,
        ))
        .await
        .unwrap();
    let token = claim.claim_token.clone().expect("claim returns a token");
    let steps: Vec<(Action, LifecycleState)> = vec![
        (
            Action::RequestInfo {
                question: "which order?".into(),
            },
            LifecycleState::Waiting,
        ),
        (
            Action::ProvideInfo {
                info: "order 7".into(),
            },
            LifecycleState::InProgress,
        ),
        (
            Action::AddNote {
                text: "next update by 15:00".into(),
                visibility: NoteVisibility::Customer,
                next_update_at: None,
            },
            LifecycleState::InProgress,
        ),
        (Action::Release, LifecycleState::Pending),
    ];
    for (i, (action, want)) in steps.into_iter().enumerate() {
        let acted = store
            .act(act(id, action, 20 + i as i64, Some(&token)))
            .await
            .unwrap();
        assert_eq!(acted.handoff.state, want);
    }
    let moved = store
        .act(act(
            id,
            Action::Reassign {
                owner_group: "billing".into(),
                reason: Some("wrong team".into()),
            },
            30,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(moved.handoff.owner_group.as_str(), "billing");
    let up = store
        .act(act(
            id,
            Action::Escalate {
                owner_group: Some("line-2".into()),
                reason: "needs an expert".into(),
            },
            31,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(up.handoff.ai_state, AiOutputState::Escalated);
    let token = store
        .act(act(
            id,
            Action::Claim {
                assignee: "bo".into(),
            },
            40,
            None,
        ))
        .await
        .unwrap()
        .claim_token
        .unwrap();
    let resolved = store
        .act(act(id, approve(), 50, Some(&token)))
        .await
        .unwrap();
    assert_eq!(resolved.handoff.state, LifecycleState::Resolved);
    assert_eq!(resolved.handoff.ai_state, AiOutputState::Corrected);
    let exec = Action::ReportExecution {
        outcome: ExecutionOutcome::Executed,
        detail: None,
    };
    store.act(act(id, exec, 55, None)).await.unwrap();
    store.act(act(id, Action::Close, 60, None)).await.unwrap();
    let reopened = store
        .act(act(
            id,
            Action::Reopen {
                reason: "refund bounced".into(),
            },
            70,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(reopened.handoff.state, LifecycleState::Pending);
    assert_eq!(reopened.handoff.reopen_count, 1);

    let stored = store.get_handoff(id).await.unwrap().expect("stored");
    assert_eq!(
        stored, reopened.handoff,
        "the stored handoff is the one returned"
    );
    let events = store.handoff_events(id).await.unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    use EventKind::*;
    assert_eq!(
        kinds,
        vec![
            Created,
            Claimed,
            InfoRequested,
            InfoReceived,
            NoteAdded,
            Released,
            Reassigned,
            Escalated,
            Claimed,
            Resolved,
            ExecutionReported,
            Closed,
            Reopened
        ]
    );
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=13).collect::<Vec<_>>()
    );
    assert_eq!(events[1].actor, "amy");
    assert_eq!(events[9].at, at(50));
    assert_eq!(events[9].data["resolution"], "corrected");
    assert_eq!(events[0].data["context"]["payload"]["amount"], 900);
    assert_eq!(
        verify_audit(store.as_ref()).await.unwrap(),
        ChainVerdict::Intact { events: 13 }
    );
}

/// An illegal action is refused with the state and action named, and writes nothing.
pub async fn illegal_transitions_change_nothing(store: Arc<dyn Store>) {
    let id = store
        .create_handoff(new_handoff("triage", "low", "missing_data", 0))
        .await
        .unwrap()
        .handoff
        .id;
    let err = store
        .act(act(id, Action::Close, 5, None))
        .await
        .unwrap_err();
    match err {
        StoreError::Domain(DomainError::IllegalTransition { state, action }) => {
            assert_eq!((state, action), (LifecycleState::Pending, "close"))
        }
        other => panic!("expected an illegal transition, got {other:?}"),
    }
    let bad = store
        .act(act(
            id,
            Action::Reassign {
                owner_group: "Not A Label".into(),
                reason: None,
            },
            6,
            None,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(bad, StoreError::Domain(DomainError::Invalid { ref field, .. }) if field == "owner_group"),
        "{bad:?}"
    );
    assert_eq!(store.handoff_events(id).await.unwrap().len(), 1);
    assert_eq!(
        store.get_handoff(id).await.unwrap().unwrap().state,
        LifecycleState::Pending
    );
}

/// Release and resolve need the current claim token: a stale one or none is
/// refused. Only the first claim is reported as one.
pub async fn claim_tokens_guard_release_and_resolve(store: Arc<dyn Store>) {
    let id = store
        .create_handoff(new_handoff("triage", "high", "policy_exception", 0))
        .await
        .unwrap()
        .handoff
        .id;
    let first = store
        .act(act(
            id,
            Action::Claim {
                assignee: "amy".into(),
            },
            1,
            None,
        ))
        .await
        .unwrap();
    assert!(first.first_claim);
    let first = first.claim_token.unwrap();
    let released = store
        .act(act(id, Action::Release, 2, Some(&first)))
        .await
        .unwrap();
    assert!(!released.first_claim);
    let second = store
        .act(act(
            id,
            Action::Claim {
                assignee: "bo".into(),
            },
            3,
            None,
        ))
        .await
        .unwrap();
    assert!(!second.first_claim);
    let second = second.claim_token.unwrap();
    assert_ne!(first, second);
    for token in [Some(first.as_str()), None, Some("forged")] {
        let err = store.act(act(id, approve(), 4, token)).await.unwrap_err();
        assert!(
            matches!(err, StoreError::ClaimMismatch),
            "{token:?}: {err:?}"
        );
        let err = store
            .act(act(id, Action::Release, 4, token))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::ClaimMismatch),
            "{token:?}: {err:?}"
        );
    }
    let done = store
        .act(act(id, approve(), 5, Some(&second)))
        .await
        .unwrap();
    assert_eq!(done.handoff.receipt.unwrap().decided_by, "amy");
}

/// A reviewer scope set on the action is checked against the stored owner group.
pub async fn reviewer_scope_is_enforced_in_the_write(store: Arc<dyn Store>) {
    let id = store
        .create_handoff(new_handoff("billing", "high", "policy_exception", 0))
        .await
        .unwrap()
        .handoff
        .id;
    let mut cmd = act(
        id,
        Action::Claim {
            assignee: "amy".into(),
        },
        1,
        None,
    );
    cmd.groups_in = Some(vec!["triage".into()]);
    assert!(matches!(
        store.act(cmd.clone()).await,
        Err(StoreError::NotFound)
    ));
    cmd.groups_in = Some(vec!["triage".into(), "billing".into()]);
    assert!(store.act(cmd).await.is_ok());
}

/// The same key and body give the same handoff, marked replayed, with one event.
pub async fn idempotent_create_returns_the_same_item(store: Arc<dyn Store>) {
    let idem = Idempotency {
        key: "k-1".into(),
        body_hash: "aa".into(),
    };
    let mut first = new_handoff("triage", "high", "low_confidence", 0);
    first.idempotency = Some(idem.clone());
    let mut retry = new_handoff("triage", "high", "low_confidence", 9);
    retry.idempotency = Some(idem);
    let a = store.create_handoff(first).await.unwrap();
    let b = store.create_handoff(retry).await.unwrap();
    assert!(!a.replayed && b.replayed);
    assert_eq!(a.handoff, b.handoff);
    assert_eq!(store.events_after(0, 100).await.unwrap().len(), 1);
}

/// The same key with another body is refused and creates nothing.
pub async fn idempotency_key_with_other_body_is_refused(store: Arc<dyn Store>) {
    let mut first = new_handoff("triage", "high", "low_confidence", 0);
    first.idempotency = Some(Idempotency {
        key: "k-2".into(),
        body_hash: "aa".into(),
    });
    let mut other = new_handoff("triage", "low", "low_confidence", 1);
    other.idempotency = Some(Idempotency {
        key: "k-2".into(),
        body_hash: "bb".into(),
    });
    store.create_handoff(first).await.unwrap();
    assert!(matches!(
        store.create_handoff(other).await,
        Err(StoreError::IdempotencyMismatch)
    ));
    assert_eq!(store.events_after(0, 100).await.unwrap().len(), 1);
}

/// Missing handoffs are not found, for reads and for actions.
pub async fn missing_items_are_not_found(store: Arc<dyn Store>) {
    let id = uuid::Uuid::now_v7();
    assert!(store.get_handoff(id).await.unwrap().is_none());
    assert!(store.handoff_events(id).await.unwrap().is_empty());
    assert!(matches!(
        store.act(act(id, Action::Close, 1, None)).await,
        Err(StoreError::NotFound)
    ));
}
