//! Writer fault cases: a [`FaultyTx`] around a backend's real `WriteTx`
//! fails each step of a batch, once and as an outage, under a burst of
//! concurrent creates and claims. Run by each backend's `tests/writer_faults.rs`.

use std::sync::Arc;
use std::time::Duration;

use baton_core::{Action, ChainVerdict, LifecycleState};
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::faults::{Faults, FaultyTx, Step};
use super::fixtures::{at, new_handoff};
use crate::{
    ActOn, Acted, Created, Idempotency, Store, StoreError, WriteTx, Writer, WriterHealth,
    verify_audit,
};

/// Longest a request may wait for its answer before the case calls it hung.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// For every step of a batch, a fault once and an outage of four: the
/// writer keeps going, every request answered `Ok` is in the database,
/// every other request got an error (and none hung), and nothing of a
/// failed request was written; the chain stays intact throughout.
pub async fn writer_survives_a_fault_at_every_step(store: Arc<dyn Store>, inner: impl WriteTx) {
    let (tx, faults) = FaultyTx::new(inner);
    let writer = Writer::spawn(tx);
    for step in Step::ALL {
        for times in [1, 4] {
            let mut plan = vec![(step, times)];
            if matches!(
                step,
                Step::Savepoint | Step::Release | Step::RollbackToSavepoint
            ) {
                // Reached only in the isolated retry, after a command's fault.
                plan.push((Step::Insert, 2));
            }
            burst(&store, &writer, &faults, &plan).await;
        }
    }
    let events = store.events_after(0, 100_000).await.unwrap();
    assert_eq!(
        verify_audit(store.as_ref()).await.unwrap(),
        ChainVerdict::Intact {
            events: events.len() as i64
        }
    );
}

/// A create whose insert violates a unique key (a handoff id taken) is the
/// only request of its batch that fails; the rest of the batch commits.
pub async fn a_failing_insert_is_charged_to_its_own_request(
    store: Arc<dyn Store>,
    inner: impl WriteTx,
) {
    let (tx, faults) = FaultyTx::new(inner);
    let writer = Writer::spawn(tx);
    let taken = writer
        .create(new_handoff("triage", "low", "missing_data", 0))
        .await
        .unwrap();
    let base = create_base(&writer, 2).await;
    let gate = hold(&writer, &faults).await;
    let mut creates = Vec::new();
    for i in 0..10 {
        let mut cmd = new_handoff("triage", "high", "low_confidence", i);
        if i == 4 {
            cmd.handoff.id = taken.handoff.id;
        }
        let w = writer.clone();
        creates.push((
            cmd.handoff.id,
            tokio::spawn(async move { w.create(cmd).await }),
        ));
    }
    let claims = spawn_claims(&writer, &base);
    lined_up(&writer, 12).await;
    faults.resume();
    answered(gate).await.unwrap();
    for (i, (id, task)) in creates.into_iter().enumerate() {
        let result = answered(task).await;
        if i == 4 {
            assert!(
                matches!(result, Err(StoreError::Duplicate(_))),
                "{result:?}"
            );
        } else {
            assert_eq!(result.unwrap().handoff.id, id);
            assert!(
                store.get_handoff(id).await.unwrap().is_some(),
                "acknowledged create {id} missing"
            );
        }
    }
    for (id, task) in claims {
        check_claim(&store, id, answered(task).await).await;
    }
    let kept = store.get_handoff(taken.handoff.id).await.unwrap().unwrap();
    assert_eq!(
        kept.impact.as_str(),
        "low",
        "the taken id keeps its own handoff"
    );
    // The taken one, 2 base, the held one, 9 of 10 creates, 2 claims.
    assert_eq!(
        verify_audit(store.as_ref()).await.unwrap(),
        ChainVerdict::Intact { events: 15 }
    );
}

/// [`Writer::health`] reports a batch held inside the database as stuck,
/// a failed commit as failing, and recovers with the next commit.
pub async fn writer_health_follows_its_batches(inner: impl WriteTx) {
    let (tx, faults) = FaultyTx::new(inner);
    let writer = Writer::spawn(tx);
    assert_eq!(writer.health(Duration::ZERO), WriterHealth::Ready);
    let gate = hold(&writer, &faults).await;
    assert!(matches!(
        writer.health(Duration::ZERO),
        WriterHealth::Stuck(_)
    ));
    assert_eq!(
        writer.health(Duration::from_secs(3600)),
        WriterHealth::Ready
    );
    faults.arm(Step::Commit, 1);
    faults.resume();
    let refused = answered(gate).await;
    assert!(
        matches!(refused, Err(StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(writer.health(Duration::ZERO), WriterHealth::Failing);
    writer
        .create(new_handoff("triage", "low", "missing_data", 1))
        .await
        .unwrap();
    assert_eq!(writer.health(Duration::ZERO), WriterHealth::Ready);
    // The database refuses every write of a batch, yet commits (a read-only
    // failover, a full disk): each request gets its own error, not
    // `Unavailable`, and the writer still backs off and reports it.
    faults.arm(Step::Insert, 2);
    let refused = writer
        .create(new_handoff("triage", "low", "missing_data", 2))
        .await;
    assert!(
        matches!(&refused, Err(e) if !matches!(e, StoreError::Unavailable(_))),
        "{refused:?}"
    );
    assert_eq!(writer.health(Duration::ZERO), WriterHealth::Failing);
    writer
        .create(new_handoff("triage", "low", "missing_data", 3))
        .await
        .unwrap();
    assert_eq!(writer.health(Duration::ZERO), WriterHealth::Ready);
}

/// One round: pending handoffs to claim, a held batch, a burst lined up
/// behind it, the faults armed, then every answer checked against the database.
async fn burst(store: &Arc<dyn Store>, writer: &Writer, faults: &Faults, plan: &[(Step, u32)]) {
    let base = create_base(writer, 8).await;
    let fired = faults.fired();
    let gate = hold(writer, faults).await;
    let mut creates = Vec::new();
    for i in 0..24 {
        let mut cmd = new_handoff("triage", "high", "low_confidence", i);
        if i % 3 == 0 {
            cmd.idempotency = Some(Idempotency {
                key: format!("k-{}", cmd.handoff.id),
                body_hash: "b".into(),
            });
        }
        let w = writer.clone();
        creates.push((
            cmd.handoff.id,
            tokio::spawn(async move { w.create(cmd).await }),
        ));
    }
    let claims = spawn_claims(writer, &base);
    lined_up(writer, 24 + base.len()).await;
    for (step, times) in plan {
        faults.arm(*step, *times);
    }
    faults.resume();
    let gate_result = answered(gate).await;
    creates.push((Uuid::nil(), tokio::spawn(async move { gate_result })));
    for (id, task) in creates {
        let result = answered(task).await;
        let id = result.as_ref().map_or(id, |c| c.handoff.id);
        let stored = store.get_handoff(id).await.unwrap();
        match result {
            Ok(_) => {
                assert!(
                    stored.is_some(),
                    "{plan:?}: acknowledged create {id} not committed"
                );
                assert_eq!(store.handoff_events(id).await.unwrap().len(), 1);
            }
            Err(_) => assert!(stored.is_none(), "{plan:?}: failed create {id} was written"),
        }
    }
    for (id, task) in claims {
        check_claim(store, id, answered(task).await).await;
    }
    assert!(faults.fired() > fired, "{plan:?}: no fault fired");
    faults.clear();
    let later = writer
        .create(new_handoff("triage", "low", "missing_data", 99))
        .await
        .unwrap_or_else(|e| panic!("{plan:?}: the writer did not recover: {e}"));
    assert!(store.get_handoff(later.handoff.id).await.unwrap().is_some());
}

async fn create_base(writer: &Writer, n: i64) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in 0..n {
        let created = writer
            .create(new_handoff("triage", "low", "missing_data", i))
            .await
            .expect("base handoff");
        ids.push(created.handoff.id);
    }
    ids
}

type Claims = Vec<(Uuid, JoinHandle<Result<Acted, StoreError>>)>;

fn spawn_claims(writer: &Writer, ids: &[Uuid]) -> Claims {
    ids.iter()
        .map(|&id| {
            let w = writer.clone();
            let cmd = ActOn {
                id,
                action: Action::Claim {
                    assignee: format!("r-{id}"),
                },
                actor: "reviewer".into(),
                now: at(10),
                claim_token: None,
                groups_in: None,
                policy: crate::conformance::default_policy(),
            };
            (id, tokio::spawn(async move { w.act(cmd).await }))
        })
        .collect()
}

/// An acknowledged claim is stored with its event; a failed one left the handoff pending.
async fn check_claim(store: &Arc<dyn Store>, id: Uuid, result: Result<Acted, StoreError>) {
    let stored = store.get_handoff(id).await.unwrap().expect("base handoff");
    let events = store.handoff_events(id).await.unwrap().len();
    match result {
        Ok(acted) => {
            assert_eq!(
                stored.state,
                LifecycleState::InProgress,
                "acknowledged claim of {id} lost"
            );
            assert_eq!(stored.assignee, acted.handoff.assignee);
            assert_eq!(events, 2);
        }
        Err(_) => {
            assert_eq!(
                stored.state,
                LifecycleState::Pending,
                "failed claim of {id} was written"
            );
            assert_eq!(events, 1);
        }
    }
}

/// Sends one create and waits until the writer holds it at `begin`, so the
/// next requests queue up into one batch.
async fn hold(writer: &Writer, faults: &Faults) -> JoinHandle<Result<Created, StoreError>> {
    faults.pause();
    let w = writer.clone();
    let gate = tokio::spawn(async move {
        w.create(new_handoff("triage", "low", "missing_data", 0))
            .await
    });
    tokio::time::timeout(ANSWER_WITHIN, async {
        while faults.held() == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the writer never reached begin");
    gate
}

/// Waits until `n` requests queue behind the held batch.
async fn lined_up(writer: &Writer, n: usize) {
    tokio::time::timeout(ANSWER_WITHIN, async {
        while writer.queued() < n {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the burst never queued");
}

async fn answered<T>(task: JoinHandle<Result<T, StoreError>>) -> Result<T, StoreError> {
    tokio::time::timeout(ANSWER_WITHIN, task)
        .await
        .expect("a request hung")
        .expect("request task")
}
