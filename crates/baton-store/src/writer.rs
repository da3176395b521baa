//! The group-commit writer: one task per store that commits every waiting write in one transaction.
//!
//! Requests queue on a channel. The task takes the first, then everything
//! else already waiting (up to [`MAX_BATCH`]), runs them in one transaction,
//! commits (one fsync), and only then answers each request. A domain refusal
//! answers only its own request; a database error rolls the batch back and
//! retries its requests one by one, so one bad request never fails another.

use async_trait::async_trait;
use baton_core::{ChainHead, Event, EventKind, Handoff, LifecycleState, NewEvent, lifecycle};
use tokio::sync::{broadcast, mpsc, oneshot};
use uuid::Uuid;

use crate::{
    ActOn, Acted, ActivatePolicy, Activated, CreateHandoff, Created, Idempotency, ImportHandoff,
    StoreError,
};

/// Most requests committed in one transaction.
pub const MAX_BATCH: usize = 1024;

/// A handoff row as the writer needs it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The handoff.
    pub handoff: Handoff,
    /// The current claim token, while claimed.
    pub claim_token: Option<String>,
    /// The handoff's last event sequence number.
    pub last_seq: i64,
}

/// The writes a backend performs inside one transaction. Implemented by each
/// backend over a connection it owns; only the writer task calls it.
#[async_trait]
pub trait WriteTx: Send + 'static {
    /// Starts a write transaction and returns the chain head, locking it
    /// against other writers (other instances on PostgreSQL).
    async fn begin(&mut self) -> Result<ChainHead, StoreError>;
    /// Reads one handoff inside the transaction.
    async fn load(&mut self, id: Uuid) -> Result<Option<Loaded>, StoreError>;
    /// The handoff id and body hash stored under an idempotency key.
    async fn find_idempotency(&mut self, key: &str) -> Result<Option<(Uuid, String)>, StoreError>;
    /// Inserts a new handoff (and its idempotency key) whose last event is `last_seq`.
    async fn insert(
        &mut self,
        handoff: &Handoff,
        idem: Option<&Idempotency>,
        last_seq: i64,
    ) -> Result<(), StoreError>;
    /// Updates a handoff if it is still in state `expected`; false if not.
    async fn update(
        &mut self,
        handoff: &Handoff,
        expected: LifecycleState,
        claim_token: Option<&str>,
        last_seq: i64,
    ) -> Result<bool, StoreError>;
    /// Appends an event.
    async fn append(&mut self, event: &Event) -> Result<(), StoreError>;
    /// Stores the new chain head and commits durably.
    async fn commit(&mut self, head: &ChainHead) -> Result<(), StoreError>;
    /// Abandons the transaction.
    async fn rollback(&mut self);
    /// Keeps a policy version and makes it the active one. `None` when it
    /// already was (nothing written); else the version active before and
    /// the last seq of the system stream.
    async fn activate_policy(
        &mut self,
        _cmd: &ActivatePolicy,
    ) -> Result<Option<(Option<String>, i64)>, StoreError> {
        Err(StoreError::backend("this store keeps no policies"))
    }
}

enum Command {
    Create(Box<CreateHandoff>),
    Act(Box<ActOn>),
    Import(Box<ImportHandoff>),
    ActivatePolicy(Box<ActivatePolicy>),
}

enum Outcome {
    Created(Created),
    Acted(Acted),
    Activated(Activated),
}

struct Job {
    command: Command,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// The handle to a store's writer task. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    committed: broadcast::Sender<i64>,
}

impl Writer {
    /// Spawns the writer task over `tx` on the current tokio runtime.
    pub fn spawn(tx: impl WriteTx) -> Self {
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 4);
        let (committed, _) = broadcast::channel(64);
        tokio::spawn(run(tx, rx, committed.clone()));
        Self { jobs, committed }
    }

    /// Receives the log position after each commit (for live feeds).
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.committed.subscribe()
    }

    /// Creates a handoff; see [`crate::Store::create_handoff`].
    pub async fn create(&self, cmd: CreateHandoff) -> Result<Created, StoreError> {
        match self.submit(Command::Create(Box::new(cmd))).await? {
            Outcome::Created(c) => Ok(c),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    /// Imports a handoff with its history; see [`crate::Store::import_handoff`].
    pub async fn import(&self, cmd: ImportHandoff) -> Result<Created, StoreError> {
        match self.submit(Command::Import(Box::new(cmd))).await? {
            Outcome::Created(c) => Ok(c),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    /// Acts on a handoff; see [`crate::Store::act`].
    pub async fn act(&self, cmd: ActOn) -> Result<Acted, StoreError> {
        match self.submit(Command::Act(Box::new(cmd))).await? {
            Outcome::Acted(a) => Ok(a),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    /// Activates a policy version; see [`crate::Store::activate_policy`].
    pub async fn activate_policy(&self, cmd: ActivatePolicy) -> Result<Activated, StoreError> {
        match self.submit(Command::ActivatePolicy(Box::new(cmd))).await? {
            Outcome::Activated(a) => Ok(a),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    async fn submit(&self, command: Command) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { command, reply })
            .await
            .map_err(|_| StoreError::backend("the writer task has stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::backend("the writer task stopped before answering"))?
    }
}

async fn run(mut tx: impl WriteTx, mut rx: mpsc::Receiver<Job>, committed: broadcast::Sender<i64>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let commands: Vec<&Command> = jobs.iter().map(|j| &j.command).collect();
        match batch(&mut tx, &commands).await {
            Ok((outcomes, position)) => {
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
                let _ = committed.send(position);
            }
            Err(err) if jobs.len() == 1 => {
                tracing::error!(error = %err, "write failed");
                if let Some(job) = jobs.pop() {
                    let _ = job.reply.send(Err(err));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, size = jobs.len(), "batch failed; retrying one by one");
                for job in jobs.drain(..) {
                    let outcome = match batch(&mut tx, &[&job.command]).await {
                        Ok((mut outcomes, position)) => {
                            let _ = committed.send(position);
                            outcomes
                                .pop()
                                .unwrap_or_else(|| Err(StoreError::backend("no outcome")))
                        }
                        Err(err) => Err(err),
                    };
                    let _ = job.reply.send(outcome);
                }
            }
        }
    }
}

type Outcomes = Vec<Result<Outcome, StoreError>>;

/// Runs `commands` in one transaction. The outer error is a database failure
/// (nothing committed); inner errors are per-command refusals.
async fn batch(
    tx: &mut impl WriteTx,
    commands: &[&Command],
) -> Result<(Outcomes, i64), StoreError> {
    let mut head = tx.begin().await?;
    let mut outcomes = Vec::with_capacity(commands.len());
    for command in commands {
        let result = match command {
            Command::Create(cmd) => create(tx, &mut head, cmd).await.map(Outcome::Created),
            Command::Act(cmd) => act(tx, &mut head, cmd).await.map(Outcome::Acted),
            Command::Import(cmd) => import(tx, &mut head, cmd).await.map(Outcome::Created),
            Command::ActivatePolicy(cmd) => {
                activate(tx, &mut head, cmd).await.map(Outcome::Activated)
            }
        };
        match result {
            Err(err @ StoreError::Backend(_)) => {
                tx.rollback().await;
                return Err(err);
            }
            other => outcomes.push(other),
        }
    }
    if let Err(err) = tx.commit(&head).await {
        tx.rollback().await;
        return Err(err);
    }
    Ok((outcomes, head.position))
}

/// The handoff an earlier request with this idempotency key created, if
/// any; [`StoreError::IdempotencyMismatch`] if it came with another body.
async fn earlier(tx: &mut impl WriteTx, idem: &Idempotency) -> Result<Option<Created>, StoreError> {
    let Some((id, body_hash)) = tx.find_idempotency(&idem.key).await? else {
        return Ok(None);
    };
    if body_hash != idem.body_hash {
        return Err(StoreError::IdempotencyMismatch);
    }
    let loaded = tx.load(id).await?.ok_or(StoreError::NotFound)?;
    Ok(Some(Created {
        handoff: loaded.handoff,
        replayed: true,
    }))
}

async fn create(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &CreateHandoff,
) -> Result<Created, StoreError> {
    if let Some(idem) = &cmd.idempotency
        && let Some(earlier) = earlier(tx, idem).await?
    {
        return Ok(earlier);
    }
    let handoff = &cmd.handoff;
    tx.insert(handoff, cmd.idempotency.as_ref(), 1).await?;
    let event = head.append(
        1,
        NewEvent {
            handoff_id: handoff.id,
            kind: EventKind::Created,
            actor: handoff.created_by.clone(),
            at: handoff.created_at,
            data: serde_json::to_value(handoff).map_err(StoreError::backend)?,
        },
    );
    tx.append(&event).await?;
    Ok(Created {
        handoff: handoff.clone(),
        replayed: false,
    })
}

async fn import(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &ImportHandoff,
) -> Result<Created, StoreError> {
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
        return Err(StoreError::backend(
            "an imported history must start with `created` and belong to its handoff",
        ));
    }
    tx.insert(&cmd.handoff, Some(idem), cmd.events.len() as i64)
        .await?;
    for (seq, event) in (1..).zip(&cmd.events) {
        let event = head.append(seq, event.clone());
        tx.append(&event).await?;
    }
    Ok(Created {
        handoff: cmd.handoff.clone(),
        replayed: false,
    })
}

async fn act(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &ActOn,
) -> Result<Acted, StoreError> {
    let loaded = tx.load(cmd.id).await?.ok_or(StoreError::NotFound)?;
    if let Some(groups) = &cmd.groups_in
        && !groups
            .iter()
            .any(|g| g == loaded.handoff.owner_group.as_str())
    {
        return Err(StoreError::NotFound);
    }
    if cmd.action.needs_claim()
        && matches!(
            loaded.handoff.state,
            LifecycleState::InProgress | LifecycleState::Waiting
        )
        && (loaded.claim_token.is_none() || loaded.claim_token != cmd.claim_token)
    {
        return Err(StoreError::ClaimMismatch);
    }
    let change = lifecycle::apply(&loaded.handoff, cmd.action.clone(), &cmd.actor, cmd.now)?;
    let claim_token = match (&cmd.action, change.handoff.state) {
        (baton_core::Action::Claim { .. }, _) => Some(Uuid::new_v4().simple().to_string()),
        (_, LifecycleState::InProgress | LifecycleState::Waiting) => loaded.claim_token.clone(),
        _ => None,
    };
    let seq = loaded.last_seq + 1;
    let updated = tx
        .update(
            &change.handoff,
            loaded.handoff.state,
            claim_token.as_deref(),
            seq,
        )
        .await?;
    if !updated {
        return Err(StoreError::Conflict);
    }
    let event = head.append(
        seq,
        NewEvent {
            handoff_id: cmd.id,
            kind: change.kind,
            actor: cmd.actor.clone(),
            at: cmd.now,
            data: change.data,
        },
    );
    tx.append(&event).await?;
    let fresh_claim = matches!(cmd.action, baton_core::Action::Claim { .. });
    Ok(Acted {
        handoff: change.handoff,
        event,
        claim_token: if fresh_claim { claim_token } else { None },
        first_claim: fresh_claim && loaded.handoff.claimed_at.is_none(),
    })
}

/// Makes a policy version active and appends `policy_activated` to the
/// system stream (`handoff_id` nil, its own seq).
async fn activate(
    tx: &mut impl WriteTx,
    head: &mut ChainHead,
    cmd: &ActivatePolicy,
) -> Result<Activated, StoreError> {
    let Some((previous, last_seq)) = tx.activate_policy(cmd).await? else {
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
    tx.append(&event).await?;
    Ok(Activated {
        previous,
        event: Some(event),
    })
}
