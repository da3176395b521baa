//! What each write command does inside the writer's transaction, and how it
//! can fail: a refusal (logic, wrote nothing) or a fault (a database call).

use std::collections::{HashMap, HashSet};

use baton_core::react::{self, ActError, Claim};
use baton_core::timers::Timer;
use baton_core::{ChainHead, DomainError, EventKind, Handoff, NewEvent};
use uuid::Uuid;

use super::tx::{Loaded, Update, WriteTx};
use crate::{
    ActOn, Acted, ActivatePolicy, Activated, AssignHandoff, Assigned, CreateHandoff, Created,
    FireTimers, Fired, Idempotency, ImportHandoff, StoreError,
};

/// A write request.
pub(super) enum Command {
    Create(Box<CreateHandoff>),
    Act(Box<ActOn>),
    Import(Box<ImportHandoff>),
    ActivatePolicy(Box<ActivatePolicy>),
    Fire(Box<FireTimers>),
    Assign(Box<AssignHandoff>),
}

/// A write request's answer.
pub(super) enum Outcome {
    Created(Created),
    Acted(Acted),
    Activated(Activated),
    Fired(Vec<Fired>),
    Assigned(Assigned),
}

/// Why a command did not complete.
pub(super) enum Failure {
    /// The command's own logic refused it (lifecycle, not found, claim,
    /// idempotency, a lost race, a malformed import) before it wrote
    /// anything and before it moved the chain head: only its request gets
    /// the error, the transaction goes on.
    Refused(StoreError),
    /// A [`WriteTx`] call failed: the transaction (or the command's
    /// savepoint) must be rolled back.
    Fault(StoreError),
}

impl From<DomainError> for Failure {
    fn from(err: DomainError) -> Self {
        Self::Refused(StoreError::Domain(err))
    }
}

/// Marks the error of a [`WriteTx`] call as a fault.
trait Db<T> {
    fn fault(self) -> Result<T, Failure>;
}

impl<T> Db<T> for Result<T, StoreError> {
    fn fault(self) -> Result<T, Failure> {
        self.map_err(Failure::Fault)
    }
}

/// Runs one command, appending its events after `head`. On `Err`, `head`
/// is unchanged if the failure is a refusal.
pub(super) async fn run(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    command: &Command,
) -> Result<Outcome, Failure> {
    match command {
        Command::Create(cmd) => create(tx, head, cmd).await.map(Outcome::Created),
        Command::Act(cmd) => act(tx, head, cmd).await.map(Outcome::Acted),
        Command::Import(cmd) => import(tx, head, cmd).await.map(Outcome::Created),
        Command::ActivatePolicy(cmd) => activate(tx, head, cmd).await.map(Outcome::Activated),
        Command::Fire(cmd) => fire(tx, head, cmd).await.map(Outcome::Fired),
        Command::Assign(cmd) => assign(tx, head, cmd).await.map(Outcome::Assigned),
    }
}

/// The handoff an earlier request with this idempotency key created, if
/// any; [`StoreError::IdempotencyMismatch`] if it came with another body.
async fn earlier(tx: &mut impl WriteTx, idem: &Idempotency) -> Result<Option<Created>, Failure> {
    let Some((id, body_hash)) = tx.find_idempotency(&idem.key).await.fault()? else {
        return Ok(None);
    };
    if body_hash != idem.body_hash {
        return Err(Failure::Refused(StoreError::IdempotencyMismatch));
    }
    let loaded = tx
        .load(id)
        .await
        .fault()?
        .ok_or(Failure::Refused(StoreError::NotFound))?;
    Ok(Some(Created {
        handoff: loaded.handoff,
        replayed: true,
    }))
}

async fn create(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &CreateHandoff,
) -> Result<Created, Failure> {
    if let Some(idem) = &cmd.idempotency
        && let Some(earlier) = earlier(tx, idem).await?
    {
        return Ok(earlier);
    }
    let handoff = &cmd.handoff;
    let data =
        serde_json::to_value(handoff).map_err(|e| Failure::Refused(StoreError::backend(e)))?;
    tx.insert(handoff, cmd.idempotency.as_ref(), 1)
        .await
        .fault()?;
    let event = head.append(
        1,
        NewEvent {
            handoff_id: handoff.id,
            kind: EventKind::Created,
            actor: handoff.created_by.clone(),
            at: handoff.created_at,
            data,
        },
    );
    tx.append(&event).await.fault()?;
    tx.arm_timers(handoff.id, &cmd.timers, false)
        .await
        .fault()?;
    tx.enqueue(handoff.id, &cmd.notifications, handoff.created_at)
        .await
        .fault()?;
    Ok(Created {
        handoff: handoff.clone(),
        replayed: false,
    })
}

async fn import(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &ImportHandoff,
) -> Result<Created, Failure> {
    let idem = &cmd.idempotency;
    if let Some(earlier) = earlier(tx, idem).await? {
        return Ok(earlier);
    }
    let id = cmd.handoff.id;
    if cmd
        .events
        .first()
        .is_none_or(|e| e.kind != EventKind::Created)
        || cmd.events.iter().any(|e| e.handoff_id != id)
    {
        return Err(DomainError::invalid(
            "events",
            "an imported history must start with `created` and belong to its handoff",
        )
        .into());
    }
    tx.insert(&cmd.handoff, Some(idem), cmd.events.len() as i64)
        .await
        .fault()?;
    for (seq, event) in (1..).zip(&cmd.events) {
        let event = head.append(seq, event.clone());
        tx.append(&event).await.fault()?;
    }
    Ok(Created {
        handoff: cmd.handoff.clone(),
        replayed: false,
    })
}

async fn act(tx: &mut impl WriteTx, head: &mut ChainHead, cmd: &ActOn) -> Result<Acted, Failure> {
    let refused = Failure::Refused;
    let loaded = tx
        .load(cmd.id)
        .await
        .fault()?
        .ok_or(refused(StoreError::NotFound))?;
    if let Some(groups) = &cmd.groups_in
        && !groups
            .iter()
            .any(|g| g == loaded.handoff.owner_group.as_str())
    {
        return Err(refused(StoreError::NotFound));
    }
    let fresh = Uuid::new_v4().simple().to_string();
    let claim = Claim {
        stored: loaded.claim_token.as_deref(),
        presented: cmd.claim_token.as_deref(),
        fresh: &fresh,
    };
    let acted = react::act(
        &loaded.handoff,
        cmd.action.clone(),
        &cmd.actor,
        claim,
        &cmd.policy,
        cmd.now,
    )
    .map_err(|e| match e {
        ActError::ClaimMismatch => refused(StoreError::ClaimMismatch),
        ActError::Domain(e) => e.into(),
    })?;
    let reaction = acted.reaction;
    let claim_token = acted.claim_token;
    let seq = loaded.last_seq + 1;
    let updated = tx
        .update(
            &reaction.handoff,
            loaded.handoff.state,
            claim_token.as_deref(),
            seq,
        )
        .await
        .fault()?;
    if !updated {
        // The row matched nothing, so nothing was written.
        return Err(refused(StoreError::Conflict));
    }
    let (kind, data) = reaction
        .events
        .into_iter()
        .next()
        .ok_or_else(|| Failure::Refused(StoreError::backend("an action recorded no event")))?;
    let event = head.append(
        seq,
        NewEvent {
            handoff_id: cmd.id,
            kind,
            actor: cmd.actor.clone(),
            at: cmd.now,
            data,
        },
    );
    tx.append(&event).await.fault()?;
    tx.arm_timers(cmd.id, &reaction.timers, true)
        .await
        .fault()?;
    tx.enqueue(cmd.id, &reaction.notifications, cmd.now)
        .await
        .fault()?;
    let fresh_claim = acted.fresh_claim;
    Ok(Acted {
        handoff: reaction.handoff,
        event,
        claim_token: if fresh_claim { claim_token } else { None },
        first_claim: fresh_claim && loaded.handoff.claimed_at.is_none(),
    })
}

/// Fires timers whose rows are still there as armed: each row is taken in
/// this transaction, so of several instances (or a retry after a restart)
/// exactly one fires it. Timers fire in the order given, each on its
/// handoff as the firings before left it, exactly as one command per timer
/// would: a timer an earlier firing of the same handoff disarmed is not
/// taken. The rows are taken, the handoffs loaded and updated and their
/// timers re-armed in a few statements for all.
async fn fire(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &FireTimers,
) -> Result<Vec<Fired>, Failure> {
    let mut fired = vec![Fired::default(); cmd.timers.len()];
    let mut taken: HashSet<Timer> = tx
        .take_timers(&cmd.timers)
        .await
        .fault()?
        .into_iter()
        .collect();
    if taken.is_empty() {
        return Ok(fired);
    }
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    for timer in cmd.timers.iter().filter(|t| taken.contains(t)) {
        if seen.insert(timer.handoff_id) {
            ids.push(timer.handoff_id);
        }
    }
    let mut work: HashMap<Uuid, Firing> = tx
        .load_many(&ids)
        .await
        .fault()?
        .into_iter()
        .map(|loaded| {
            let firing = Firing {
                handoff: loaded.handoff.clone(),
                last_seq: loaded.last_seq,
                armed: None,
                loaded,
            };
            (firing.loaded.handoff.id, firing)
        })
        .collect();
    for (timer, fired) in cmd.timers.iter().zip(&mut fired) {
        if !taken.remove(timer) {
            continue;
        }
        let Some(firing) = work.get_mut(&timer.handoff_id) else {
            // The handoff is gone: the row goes, nothing else.
            fired.taken = true;
            continue;
        };
        if firing
            .armed
            .as_ref()
            .is_some_and(|armed| !armed.contains(timer))
        {
            continue; // an earlier firing of this command disarmed it
        }
        let reaction = react::fire(&firing.handoff, timer, &cmd.policy, cmd.now);
        tx.enqueue(timer.handoff_id, &reaction.notifications, cmd.now)
            .await
            .fault()?;
        if let Some(reviewer) = firing.handoff.assignee.clone()
            && reaction
                .events
                .iter()
                .any(|(kind, _)| *kind == EventKind::AssignmentExpired)
        {
            // An expired offer counts as the reviewer's turn: the item goes
            // to someone else first.
            tx.mark_assigned(&reviewer, cmd.now).await.fault()?;
        }
        for (kind, data) in reaction.events {
            firing.last_seq += 1;
            let event = head.append(
                firing.last_seq,
                NewEvent {
                    handoff_id: timer.handoff_id,
                    kind,
                    actor: reaction
                        .actor
                        .clone()
                        .unwrap_or_else(|| react::SCHEDULER.to_owned()),
                    at: cmd.now,
                    data,
                },
            );
            tx.append(&event).await.fault()?;
            fired.events.push(event);
        }
        firing.handoff = reaction.handoff;
        firing.armed = Some(reaction.timers);
        fired.taken = true;
        fired.handoff = Some(firing.handoff.clone());
    }
    let mut updates = Vec::new();
    let mut rearmed = Vec::new();
    let mut timers = Vec::new();
    for id in &ids {
        let Some(firing) = work.remove(id) else {
            continue;
        };
        let Some(armed) = firing.armed else {
            continue;
        };
        let before = &firing.loaded.handoff;
        if firing.handoff != *before {
            let update = Update {
                expected: before.state,
                claim_token: firing.loaded.claim_token.clone(),
                handoff: firing.handoff,
                last_seq: firing.last_seq,
            };
            let after = &update.handoff;
            if (&after.state, &after.owner_group, &after.assignee)
                == (&before.state, &before.owner_group, &before.assignee)
            {
                updates.push(update);
            } else {
                // A firing records itself in the clocks only; should it
                // ever change more, every column is written.
                let done = tx
                    .update(
                        after,
                        update.expected,
                        update.claim_token.as_deref(),
                        update.last_seq,
                    )
                    .await
                    .fault()?;
                if !done {
                    return Err(Failure::Fault(StoreError::Conflict));
                }
            }
        }
        rearmed.push(*id);
        timers.extend(armed);
    }
    if tx.update_docs(&updates).await.fault()? != updates.len() {
        // The timers' rows are already taken: undo them with the rest.
        return Err(Failure::Fault(StoreError::Conflict));
    }
    tx.replace_timers(&rearmed, &timers).await.fault()?;
    Ok(fired)
}

/// One handoff while its timers of a [`FireTimers`] fire.
struct Firing {
    /// As loaded.
    loaded: Loaded,
    /// After the firings so far.
    handoff: Handoff,
    /// Its last event's seq so far.
    last_seq: i64,
    /// The timers it needs after the firings so far (`None` before the first).
    armed: Option<Vec<Timer>>,
}

/// Offers a handoff to a reviewer if it is still pending and unassigned
/// (read in this transaction, so a claim or another instance's assignment
/// committed first makes it a refusal that writes nothing).
async fn assign(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &AssignHandoff,
) -> Result<Assigned, Failure> {
    let loaded = tx
        .load(cmd.id)
        .await
        .fault()?
        .ok_or(Failure::Refused(StoreError::NotFound))?;
    let reaction = react::assign(
        &loaded.handoff,
        &cmd.assignee,
        &cmd.strategy,
        &cmd.policy,
        cmd.now,
    )?;
    let seq = loaded.last_seq + 1;
    let updated = tx
        .update(
            &reaction.handoff,
            loaded.handoff.state,
            loaded.claim_token.as_deref(),
            seq,
        )
        .await
        .fault()?;
    if !updated {
        return Err(Failure::Refused(StoreError::Conflict));
    }
    let (kind, data) =
        reaction.events.into_iter().next().ok_or_else(|| {
            Failure::Refused(StoreError::backend("an assignment recorded no event"))
        })?;
    let event = head.append(
        seq,
        NewEvent {
            handoff_id: cmd.id,
            kind,
            actor: reaction
                .actor
                .unwrap_or_else(|| react::SCHEDULER.to_owned()),
            at: cmd.now,
            data,
        },
    );
    tx.append(&event).await.fault()?;
    tx.arm_timers(cmd.id, &reaction.timers, true)
        .await
        .fault()?;
    tx.enqueue(cmd.id, &reaction.notifications, cmd.now)
        .await
        .fault()?;
    tx.mark_assigned(&cmd.assignee, cmd.now).await.fault()?;
    Ok(Assigned {
        handoff: reaction.handoff,
        event,
    })
}

/// Makes a policy version active and appends `policy_activated` to the
/// system stream (`handoff_id` nil, its own seq).
async fn activate(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &ActivatePolicy,
) -> Result<Activated, Failure> {
    let Some((previous, last_seq)) = tx.activate_policy(cmd).await.fault()? else {
        return Ok(Activated {
            previous: Some(cmd.version.clone()),
            event: None,
        });
    };
    let data = serde_json::json!({
        "version": cmd.version,
        "previous": previous,
        "source": cmd.source,
    });
    let event = head.append(
        last_seq + 1,
        NewEvent {
            handoff_id: baton_core::SYSTEM_STREAM,
            kind: EventKind::PolicyActivated,
            actor: cmd.actor.clone(),
            at: cmd.now,
            data,
        },
    );
    tx.append(&event).await.fault()?;
    Ok(Activated {
        previous,
        event: Some(event),
    })
}
