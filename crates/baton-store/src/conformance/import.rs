//! Conformance cases for historical import.

use std::sync::Arc;

use baton_core::eventlog::{Attributes, Case, MappingConfig, import_case};
use baton_core::{Action, ChainVerdict, EventKind, LifecycleState};
use uuid::Uuid;

use super::fixtures::{at, new_handoff};
use crate::{ActOn, Idempotency, ImportHandoff, Store, StoreError, verify_audit};

const MAPPING: &str = r#"
case_id = "id"
timestamp = "t"
status = "s"
owner_group = "team"
assignee = "who"
[[status_rule]]
status = "Queued"
step = "pending"
[[status_rule]]
status = "Accepted"
step = "claimed"
[[status_rule]]
status = "Done"
step = "resolved"
"#;

fn case(id: &str, events: &[(&str, &str, &str, &str)]) -> Case {
    Case {
        attributes: Attributes::from([("id".into(), id.into())]),
        events: events
            .iter()
            .map(|(t, team, s, who)| {
                Attributes::from([
                    ("t".into(), t.to_string()),
                    ("team".into(), team.to_string()),
                    ("s".into(), s.to_string()),
                    ("who".into(), who.to_string()),
                ])
            })
            .collect(),
        lines: Vec::new(),
    }
}

fn command(c: &Case, hash: &str) -> ImportHandoff {
    let mapping = MappingConfig::parse(MAPPING).expect("mapping");
    let imported = import_case(c, &mapping, |_| Uuid::now_v7(), "import").expect("import");
    ImportHandoff {
        handoff: imported.handoff,
        events: imported.events,
        idempotency: Idempotency {
            key: format!("import:test:{}", imported.case_id),
            body_hash: hash.into(),
        },
    }
}

/// An imported history keeps its own times, continues the chain after live
/// events, can be acted on afterwards, and is written once however often
/// the same case is imported.
pub async fn imported_histories_keep_their_times_and_import_once(store: Arc<dyn Store>) {
    let live = store
        .create_handoff(new_handoff("billing", "high", "low_confidence", 0))
        .await
        .unwrap();
    let old = case(
        "C-1",
        &[
            ("2012-05-01T08:00:00Z", "A", "Queued", "x"),
            ("2012-05-01T08:05:00Z", "A", "Accepted", "ann"),
            ("2012-05-01T09:00:00Z", "B", "Queued", "ann"),
        ],
    );
    let first = store.import_handoff(command(&old, "h1")).await.unwrap();
    assert!(!first.replayed);
    let id = first.handoff.id;
    let events = store.handoff_events(id).await.unwrap();
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Created,
            EventKind::Claimed,
            EventKind::Reassigned
        ]
    );
    assert_eq!(events[0].at.to_string(), "2012-05-01T08:00:00Z");
    assert_eq!(events[2].at.to_string(), "2012-05-01T09:00:00Z");
    assert!(
        events[0].position > 1,
        "imported events follow the live one"
    );
    let stored = store.get_handoff(id).await.unwrap().unwrap();
    assert_eq!(stored.state, LifecycleState::Pending);
    assert_eq!(stored.owner_group.as_str(), "b");
    assert_eq!(stored.created_at.to_string(), "2012-05-01T08:00:00Z");

    // Again: nothing new, the same handoff.
    let again = store.import_handoff(command(&old, "h1")).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.handoff.id, id);
    assert_eq!(store.handoff_events(id).await.unwrap().len(), 3);
    let changed = store.import_handoff(command(&old, "h2")).await.unwrap_err();
    assert!(
        matches!(changed, StoreError::IdempotencyMismatch),
        "{changed:?}"
    );

    // Imported items are ordinary handoffs afterwards: the next event is seq 4.
    let claimed = store
        .act(ActOn {
            id,
            action: Action::Claim {
                assignee: "bea".into(),
            },
            actor: "bea".into(),
            now: at(10),
            claim_token: None,
            groups_in: None,
            policy: crate::conformance::default_policy(),
        })
        .await
        .unwrap();
    assert_eq!(claimed.event.seq, 4);
    assert_ne!(live.handoff.id, id);

    // Many at once, in one batch or several.
    let many: Vec<_> = (0..50)
        .map(|i| {
            let c = case(
                &format!("M-{i}"),
                &[
                    ("2012-05-02T08:00:00Z", "A", "Queued", "x"),
                    ("2012-05-02T08:01:00Z", "A", "Done", "ann"),
                ],
            );
            let store = store.clone();
            tokio::spawn(async move { store.import_handoff(command(&c, "h")).await })
        })
        .collect();
    for task in many {
        let created = task.await.unwrap().unwrap();
        assert_eq!(created.handoff.state, LifecycleState::Resolved);
    }
    match verify_audit(store.as_ref()).await.unwrap() {
        ChainVerdict::Intact { events } => assert_eq!(events, 1 + 3 + 1 + 50 * 3),
        broken => panic!("chain broken: {broken:?}"),
    }
}
