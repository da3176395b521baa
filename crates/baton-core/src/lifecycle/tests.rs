//! Table tests of every lifecycle and AI output transition.

use super::*;
use crate::handoff::tests::sample;
use uuid::Uuid;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap()
}

fn handoff_in(state: LifecycleState, ai: AiOutputState) -> Handoff {
    let mut h = sample()
        .into_handoff(Uuid::nil(), "triage", "bot", at(0))
        .unwrap();
    h.state = state;
    h.ai_state = ai;
    h
}

fn receipt(resolution: Resolution) -> ReceiptInput {
    ReceiptInput {
        resolution,
        resolution_reason: "policy_applied".into(),
        changes: (resolution == Resolution::Corrected).then(|| json!({"amount": 500})),
        customer_note: Some("we refunded 500 EUR".into()),
        internal_note: None,
    }
}

fn every_action() -> Vec<Action> {
    vec![
        Action::Claim {
            assignee: "amy".into(),
        },
        Action::Release,
        Action::RequestInfo {
            question: "which order?".into(),
        },
        Action::ProvideInfo {
            info: "order 42".into(),
        },
        Action::AddNote {
            text: "looking".into(),
            visibility: NoteVisibility::Internal,
            next_update_at: None,
        },
        Action::Reassign {
            owner_group: "billing".into(),
            reason: None,
        },
        Action::Escalate {
            owner_group: Some("line-2".into()),
            reason: "needs expert".into(),
        },
        Action::Resolve(receipt(Resolution::Approved)),
        Action::Close,
        Action::Reopen {
            reason: "customer came back".into(),
        },
        Action::ProvideContext {
            payload: serde_json::Map::from_iter([("po_number".to_owned(), json!("PO-1"))]),
        },
    ]
}

/// The whole lifecycle table: (state, action) → resulting state or refusal.
#[test]
fn lifecycle_table() {
    use LifecycleState::*;
    let expect = |state: LifecycleState, action: &str| -> Option<LifecycleState> {
        match (state, action) {
            (Pending, "claim") => Some(InProgress),
            (InProgress, "release") => Some(Pending),
            (InProgress, "request-info") => Some(Waiting),
            (Waiting, "provide-info") => Some(InProgress),
            (s, "add a note to") if s != Closed => Some(s),
            (s, "reassign" | "escalate") if s.is_open() => Some(Pending),
            (InProgress, "resolve") => Some(Resolved),
            (Resolved, "close") => Some(Closed),
            (Resolved | Closed, "reopen") => Some(Pending),
            (NeedsContext, "provide-context") => Some(Pending),
            _ => None,
        }
    };
    for state in LifecycleState::ALL {
        for action in every_action() {
            let name = action.name();
            let h = handoff_in(state, AiOutputState::Proposed);
            let got = apply(&h, action, "amy", at(10)).map(|c| c.handoff.state);
            match (expect(state, name), got) {
                (Some(want), Ok(got)) => assert_eq!(got, want, "{state} + {name}"),
                (None, Err(DomainError::IllegalTransition { state: s, action })) => {
                    assert_eq!((s, action), (state, name))
                }
                (want, got) => panic!("{state} + {name}: expected {want:?}, got {got:?}"),
            }
        }
    }
}

#[test]
fn illegal_transition_message_names_state_and_action() {
    let h = handoff_in(LifecycleState::Closed, AiOutputState::Approved);
    let err = apply(
        &h,
        Action::Claim {
            assignee: "amy".into(),
        },
        "amy",
        at(1),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "cannot claim a handoff that is closed");
}

#[test]
fn resolution_sets_the_ai_output_state_and_receipt() {
    let cases = [
        (Resolution::Approved, AiOutputState::Approved),
        (Resolution::Corrected, AiOutputState::Corrected),
        (Resolution::Rejected, AiOutputState::Rejected),
        (Resolution::Escalated, AiOutputState::Escalated),
        (Resolution::Routed, AiOutputState::Proposed),
        (Resolution::Paused, AiOutputState::Proposed),
    ];
    for (resolution, ai) in cases {
        let h = handoff_in(LifecycleState::InProgress, AiOutputState::Proposed);
        let change = apply(&h, Action::Resolve(receipt(resolution)), "amy", at(5)).unwrap();
        assert_eq!(change.handoff.ai_state, ai, "{resolution:?}");
        let r = change.handoff.receipt.unwrap();
        assert_eq!((r.decided_by.as_str(), r.resolved_at), ("amy", at(5)));
        assert_eq!(
            change.handoff.customer_note.as_deref(),
            Some("we refunded 500 EUR")
        );
        assert_eq!(change.kind, EventKind::Resolved);
    }
}

#[test]
fn corrected_needs_changes() {
    let h = handoff_in(LifecycleState::InProgress, AiOutputState::Proposed);
    let mut input = receipt(Resolution::Corrected);
    input.changes = None;
    let err = apply(&h, Action::Resolve(input), "amy", at(5)).unwrap_err();
    assert_eq!(err.field(), Some("changes"));
}

#[test]
fn execution_reports_follow_the_ai_output_machine() {
    use AiOutputState::*;
    let (ok, failed) = (ExecutionOutcome::Executed, ExecutionOutcome::Failed);
    let cases = [
        (Approved, ok, Some(Executed)),
        (Corrected, failed, Some(Failed)),
        (Proposed, ok, None),
        (Rejected, ok, None),
        (Executed, ok, None),
    ];
    for (from, outcome, want) in cases {
        let h = handoff_in(LifecycleState::Resolved, from);
        let got = apply(
            &h,
            Action::ReportExecution {
                outcome,
                detail: None,
            },
            "bot",
            at(9),
        );
        match (want, got) {
            (Some(want), Ok(c)) => assert_eq!(c.handoff.ai_state, want),
            (None, Err(DomainError::IllegalAiTransition { state, .. })) => assert_eq!(state, from),
            (want, got) => panic!("{from} + {outcome:?}: expected {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn failed_execution_reopens_as_rework() {
    let h = handoff_in(LifecycleState::Closed, AiOutputState::Approved);
    let c = apply(
        &h,
        Action::ReportExecution {
            outcome: ExecutionOutcome::Failed,
            detail: Some("api 500".into()),
        },
        "bot",
        at(9),
    )
    .unwrap();
    assert_eq!(c.handoff.state, LifecycleState::Pending);
    assert_eq!(c.handoff.reopen_count, 1);
    assert!(c.handoff.receipt.is_none());
}

#[test]
fn claim_release_and_reassign_track_the_assignee() {
    let h = handoff_in(LifecycleState::Pending, AiOutputState::Proposed);
    let claimed = apply(
        &h,
        Action::Claim {
            assignee: "amy".into(),
        },
        "amy",
        at(3),
    )
    .unwrap();
    assert_eq!(claimed.handoff.assignee.as_deref(), Some("amy"));
    assert_eq!(claimed.handoff.claimed_at, Some(at(3)));
    let released = apply(&claimed.handoff, Action::Release, "amy", at(4)).unwrap();
    assert_eq!(released.handoff.assignee, None);
    let claimed = apply(
        &h,
        Action::Claim {
            assignee: "bo".into(),
        },
        "bo",
        at(5),
    )
    .unwrap();
    let moved = apply(
        &claimed.handoff,
        Action::Reassign {
            owner_group: "billing".into(),
            reason: Some("wrong team".into()),
        },
        "lead",
        at(6),
    )
    .unwrap();
    assert_eq!(moved.handoff.owner_group.as_str(), "billing");
    assert_eq!(moved.handoff.assignee, None);
    assert_eq!(moved.data["from"], "triage");
}

#[test]
fn customer_notes_become_the_latest_customer_note() {
    let h = handoff_in(LifecycleState::Waiting, AiOutputState::Proposed);
    let internal = apply(
        &h,
        Action::AddNote {
            text: "internal".into(),
            visibility: NoteVisibility::Internal,
            next_update_at: None,
        },
        "amy",
        at(1),
    )
    .unwrap();
    assert_eq!(internal.handoff.customer_note, None);
    let customer = apply(
        &h,
        Action::AddNote {
            text: "next update by 15:00".into(),
            visibility: NoteVisibility::Customer,
            next_update_at: None,
        },
        "amy",
        at(1),
    )
    .unwrap();
    assert_eq!(
        customer.handoff.customer_note.as_deref(),
        Some("next update by 15:00")
    );
}

#[test]
fn provided_context_is_merged_and_queues_the_handoff() {
    let mut h = handoff_in(LifecycleState::NeedsContext, AiOutputState::Proposed);
    h.missing_fields = vec!["context.payload.po_number".into()];
    let payload = serde_json::Map::from_iter([("po_number".to_owned(), json!("PO-1"))]);
    let c = apply(&h, Action::ProvideContext { payload }, "bot", at(3)).unwrap();
    assert_eq!(c.handoff.state, LifecycleState::Pending);
    assert_eq!(c.handoff.context.payload["po_number"], "PO-1");
    assert_eq!(c.handoff.context.payload["amount"], 900);
    assert!(c.handoff.missing_fields.is_empty());
    assert_eq!(c.kind, EventKind::ContextReceived);
}
