//! The `Store` trait: what the server needs from a backend, and the command types of writes.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use baton_core::notify::Notification;
use baton_core::policy::Policy;
use baton_core::timers::Timer;
use baton_core::{Action, ChainHead, ChainVerdict, Event, Handoff, NewEvent, verify_chain};
use jiff::Timestamp;
use uuid::Uuid;

use crate::{HandoffQuery, OpenTotal, Page, StoreError, TokenRecord, Writer};

/// An idempotency key and the SHA-256 (hex) of the request body it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// Hex SHA-256 of the request body.
    pub body_hash: String,
}

/// Create a handoff that the domain already validated.
#[derive(Debug, Clone)]
pub struct CreateHandoff {
    /// The new handoff (state `pending`).
    pub handoff: Handoff,
    /// The timers its clocks need ([`baton_core::react::admit`]), armed in
    /// the same transaction.
    pub timers: Vec<Timer>,
    /// Its notifications, written to the outbox in the same transaction.
    pub notifications: Vec<Notification>,
    /// Makes retries safe: the same key and body give the same handoff.
    pub idempotency: Option<Idempotency>,
}

/// Write a handoff with its whole history at once (historical import): the
/// events keep their own times; the chain orders them after everything
/// already in the log.
#[derive(Debug, Clone)]
pub struct ImportHandoff {
    /// The handoff after its last event.
    pub handoff: Handoff,
    /// Its events, `created` first, in order.
    pub events: Vec<NewEvent>,
    /// The source's key (e.g. `import:bpic2013:1-364285768`) and a hash of
    /// the source case: the same key and hash import nothing twice; the
    /// same key with another hash is [`StoreError::IdempotencyMismatch`].
    pub idempotency: Idempotency,
}

/// The result of [`Store::create_handoff`].
#[derive(Debug, Clone)]
pub struct Created {
    /// The handoff as stored.
    pub handoff: Handoff,
    /// True when an earlier request with the same key created it.
    pub replayed: bool,
}

/// Take an action on a handoff.
#[derive(Debug, Clone)]
pub struct ActOn {
    /// The handoff.
    pub id: Uuid,
    /// What to do.
    pub action: Action,
    /// Who does it (token or user name).
    pub actor: String,
    /// When, to the microsecond.
    pub now: Timestamp,
    /// The claim token, for actions that need one ([`Action::needs_claim`]).
    pub claim_token: Option<String>,
    /// If set, refuse with [`StoreError::NotFound`] unless the handoff's
    /// owner group is one of these (a reviewer's scope), checked inside the
    /// write transaction.
    pub groups_in: Option<Vec<String>>,
    /// The policy whose impacts set the clocks and timers after the action.
    pub policy: Arc<Policy>,
}

/// Fire one due timer ([`baton_core::react::fire`]) if it is still armed.
#[derive(Debug, Clone)]
pub struct FireTimer {
    /// The timer as it was armed (claimed by [`TimerStore::claim_due_timers`]).
    pub timer: Timer,
    /// The policy whose impacts set the clocks.
    pub policy: Arc<Policy>,
    /// When it fires, to the microsecond.
    pub now: Timestamp,
}

/// Fire many due timers in one writer command ([`Store::fire_timers`]):
/// each as [`FireTimer`] would, with the rows taken, the handoffs loaded
/// and updated, and the timers re-armed in a few statements for all.
#[derive(Debug, Clone)]
pub struct FireTimers {
    /// The timers as they were armed, in the order to fire them.
    pub timers: Vec<Timer>,
    /// The policy whose impacts set the clocks.
    pub policy: Arc<Policy>,
    /// When they fire, to the microsecond.
    pub now: Timestamp,
}

/// The result of [`Store::fire_timer`].
#[derive(Debug, Clone, Default)]
pub struct Fired {
    /// False when the timer was no longer armed as given (fired by another
    /// instance, moved or disarmed): nothing was written.
    pub taken: bool,
    /// The events appended (`sla_warned`, `sla_breached`); empty for a
    /// stale timer.
    pub events: Vec<Event>,
    /// The handoff after the firing, when taken.
    pub handoff: Option<Handoff>,
}

/// Offer a pending, unassigned handoff to a reviewer ([`baton_core::react::assign`]).
#[derive(Debug, Clone)]
pub struct AssignHandoff {
    /// The handoff.
    pub id: Uuid,
    /// The reviewer's token name.
    pub assignee: String,
    /// The group's strategy, as the event records it (`round_robin`, …).
    pub strategy: String,
    /// The policy whose impact sets the offer's expiry.
    pub policy: Arc<Policy>,
    /// When, to the microsecond.
    pub now: Timestamp,
}

/// The result of [`Store::assign`].
#[derive(Debug, Clone)]
pub struct Assigned {
    /// The handoff after the assignment.
    pub handoff: Handoff,
    /// The `assigned` event appended.
    pub event: Event,
}

/// The result of [`Store::act`].
#[derive(Debug, Clone)]
pub struct Acted {
    /// The handoff after the action.
    pub handoff: Handoff,
    /// The event appended.
    pub event: Event,
    /// The new claim token, after a claim.
    pub claim_token: Option<String>,
    /// True when the action was the handoff's first claim ever, the one that
    /// ends its time to accept (a claim after a release is not).
    pub first_claim: bool,
}

/// Make a policy version the active one, for every instance on the database.
#[derive(Debug, Clone)]
pub struct ActivatePolicy {
    /// The version (`Policy::version`, a hash of the text and its files).
    pub version: String,
    /// The policy's TOML text.
    pub text: String,
    /// The files the text loaded (contracts), by the path the text names.
    pub files: BTreeMap<String, String>,
    /// Who activates it: a token name, or `serve --policy`.
    pub actor: String,
    /// How: `api`, `serve --policy`, `sighup` or `serve` (the start-up default).
    pub source: String,
    /// When, to the microsecond.
    pub now: Timestamp,
    /// Activate only if no version is active yet (a first start-up's
    /// default must not override a version another instance activated
    /// meanwhile); otherwise nothing changes.
    pub only_if_none_active: bool,
}

/// The result of [`Store::activate_policy`].
#[derive(Debug, Clone)]
pub struct Activated {
    /// The version active before (`None` in an empty database).
    pub previous: Option<String>,
    /// The `policy_activated` event appended, or `None` when nothing was
    /// written (the version was already active, or another one was and
    /// `only_if_none_active` was set).
    pub event: Option<Event>,
}

/// The active policy as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    /// Its version.
    pub version: String,
    /// Its TOML text.
    pub text: String,
    /// The files the text loaded, by path.
    pub files: BTreeMap<String, String>,
    /// When it became active.
    pub activated_at: Timestamp,
    /// Who activated it.
    pub activated_by: String,
}

/// What [`Store::evaluate_streaks`] does after its step looked at the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreakStep {
    /// Store these counts (JSON object text) and commit.
    Save(String),
    /// Write nothing and release the row.
    Leave,
}

/// The PostgreSQL `NOTIFY` channel that carries each newly active policy version.
pub const POLICY_CHANNEL: &str = "baton_policy";

/// The timers concern: reading and claiming armed timers. Arming,
/// disarming and firing are writes, in the writer's transactions
/// ([`Store::create_handoff`], [`Store::act`], [`Store::fire_timer`]).
#[async_trait]
pub trait TimerStore: Send + Sync + 'static {
    /// Up to `limit` armed timers due at `now`, soonest first, each leased
    /// until `lease_until` so other instances pass over them meanwhile
    /// (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite has one instance and
    /// leases nothing). A timer whose lease ran out is claimable again.
    async fn claim_due_timers(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError>;

    /// A handoff's armed timers, soonest first.
    async fn handoff_timers(&self, id: Uuid) -> Result<Vec<Timer>, StoreError>;

    /// When the soonest armed timer falls due, if any.
    async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError>;

    /// How many timers are armed.
    async fn count_timers(&self) -> Result<u64, StoreError>;

    /// **Benchmarks and tests only**: inserts timer rows straight into the
    /// table, outside the writer, with no handoff and no event behind
    /// them, to fill a scratch database fast (`baton bench timers`). Never
    /// call it on a database that serves: such a timer, once due, fires
    /// for a handoff that does not exist (its row is just taken).
    async fn seed_timers(&self, timers: &[Timer]) -> Result<(), StoreError>;
}

/// Where an outbox delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// The receiver took it.
    Delivered,
    /// Every attempt failed, or its channel is disabled: the dead-letter list.
    Dead,
}

impl DeliveryState {
    /// `pending`, `delivered` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// Parses a stored or query name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// One outbox delivery: a notification on its way to a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Its id: the `webhook-id`, the same on every attempt.
    pub id: Uuid,
    /// The policy channel it goes to.
    pub channel: String,
    /// The handoff it is about.
    pub handoff_id: Uuid,
    /// What it tells, e.g. `breach`.
    pub event: String,
    /// The fan-out role it is for, if any.
    pub role: Option<String>,
    /// The message (JSON).
    pub payload: serde_json::Value,
    /// Pending, delivered or dead.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (while pending).
    pub next_at: Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was written (with its cause).
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// The outcome of one delivery attempt, to record.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The state after it.
    pub state: DeliveryState,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// When to try next (while pending).
    pub next_at: Timestamp,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When it was made.
    pub now: Timestamp,
}

/// The deliveries concern: the outbox the writer fills (in the transaction
/// of each change) and the dispatcher empties.
#[async_trait]
pub trait DeliveryStore: Send + Sync + 'static {
    /// Up to `limit` pending deliveries due at `now`, oldest due first, each
    /// leased until `lease_until` where instances share the database.
    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records an attempt's outcome and frees the lease.
    async fn record_attempt(&self, id: Uuid, record: &AttemptRecord) -> Result<(), StoreError>;

    /// Up to `limit` deliveries, newest first, in `state` if given.
    async fn list_deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// One delivery.
    async fn get_delivery(&self, id: Uuid) -> Result<Option<Delivery>, StoreError>;

    /// Queues a dead or delivered delivery again, attempts from zero, due at
    /// `now`; false if there is none or it is still pending.
    async fn redeliver(&self, id: Uuid, now: Timestamp) -> Result<bool, StoreError>;

    /// Marks a channel disabled (its receiver answered 410 Gone).
    async fn disable_channel(
        &self,
        channel: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Disabled channels: `(channel, since, reason)`.
    async fn disabled_channels(&self) -> Result<Vec<(String, Timestamp, String)>, StoreError>;

    /// Enables a disabled channel again; false if it was not disabled.
    async fn enable_channel(&self, channel: &str) -> Result<bool, StoreError>;
}

/// The automatic assignment concern: reviewers' availability and what the
/// assigner reads. The assignment itself is a writer command
/// ([`Store::assign`]), which also records the reviewer's turn.
#[async_trait]
pub trait AssignmentStore: Send + Sync + 'static {
    /// Marks `reviewer` (a token name) available or not, as of `now`.
    async fn set_availability(
        &self,
        reviewer: &str,
        available: bool,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Whether `reviewer` said they are available (false if they never did).
    async fn is_available(&self, reviewer: &str) -> Result<bool, StoreError>;

    /// Every available reviewer with when the assigner last gave them an item.
    async fn available_reviewers(&self) -> Result<Vec<(String, Option<Timestamp>)>, StoreError>;

    /// Open items per assignee: offered and still `pending`, or
    /// `in_progress`/`waiting` with them.
    async fn reviewer_loads(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// Up to `limit` ids of `group`'s pending handoffs with no assignee,
    /// oldest first.
    async fn unassigned_pending(&self, group: &str, limit: u32) -> Result<Vec<Uuid>, StoreError>;
}

/// The tokens concern: API tokens, stored by the SHA-256 of their secret.
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// Stores a new token; [`StoreError::Duplicate`] if the name is taken.
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError>;

    /// The token with this hash, revoked or not.
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Revokes the token with this name; false if there is none.
    async fn revoke_token(&self, name: &str, now: Timestamp) -> Result<bool, StoreError>;
}

/// The policy concern: kept versions, the active one, its announcements
/// across instances, and evaluate's per-conversation streaks.
#[async_trait]
pub trait PolicyStore: Send + Sync + 'static {
    /// Every kept policy version, `(version, text, first loaded)`, oldest first.
    async fn policy_versions(&self) -> Result<Vec<(String, String, Timestamp)>, StoreError>;

    /// The active policy version with its text, or `None` in a database
    /// where no policy was ever activated.
    async fn active_policy(&self) -> Result<Option<StoredPolicy>, StoreError>;

    /// Tells listening instances that `version` became active (PostgreSQL
    /// `NOTIFY` on [`POLICY_CHANNEL`]); a no-op where instances cannot listen.
    async fn notify_policy(&self, _version: &str) -> Result<(), StoreError> {
        Ok(())
    }

    /// Versions activated by any instance as they are announced (PostgreSQL
    /// `LISTEN`), or `None` where the backend has no notifications: poll
    /// [`Store::active_policy`] then. Announcements can be lost (a dropped
    /// connection): poll as well.
    async fn policy_notifications(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
        Ok(None)
    }

    /// Reads and replaces a conversation's streak counts as one step: in one
    /// transaction with the conversation's row locked (created if missing),
    /// `step` sees the stored counts (`None` for a new conversation) and
    /// decides. Concurrent calls for one conversation, from any instance,
    /// run one after the other. True when counts were saved.
    async fn evaluate_streaks(
        &self,
        conversation_id: &str,
        at: Timestamp,
        step: &mut (dyn for<'c> FnMut(Option<&'c str>) -> StreakStep + Send),
    ) -> Result<bool, StoreError>;

    /// A conversation's trigger streak counts (JSON object text), if any.
    async fn load_streaks(&self, conversation_id: &str) -> Result<Option<String>, StoreError>;
}

/// A Baton backend. Writes go through [`Store::writer`]; reads are the
/// backend's own, one trait per concern ([`TokenStore`], [`PolicyStore`],
/// [`TimerStore`], [`DeliveryStore`], [`AssignmentStore`]); this one holds
/// the handoffs.
#[async_trait]
pub trait Store:
    TokenStore + PolicyStore + TimerStore + DeliveryStore + AssignmentStore + Send + Sync + 'static
{
    /// The group-commit writer of this store.
    fn writer(&self) -> &Writer;

    /// Creates a handoff and its `created` event; durable when it returns.
    async fn create_handoff(&self, cmd: CreateHandoff) -> Result<Created, StoreError> {
        self.writer().create(cmd).await
    }

    /// Writes an imported handoff and its history; durable when it returns.
    /// `replayed` is true when the same source case was imported before.
    async fn import_handoff(&self, cmd: ImportHandoff) -> Result<Created, StoreError> {
        self.writer().import(cmd).await
    }

    /// Applies an action and appends its event; durable when it returns.
    async fn act(&self, cmd: ActOn) -> Result<Acted, StoreError> {
        self.writer().act(cmd).await
    }

    /// Fires an armed timer, if it still is, in one writer transaction:
    /// takes its row, records the firing on the handoff with its event, and
    /// re-arms what the handoff needs now. Fires at most once, across
    /// instances: the row goes in the transaction that fires it.
    async fn fire_timer(&self, cmd: FireTimer) -> Result<Fired, StoreError> {
        self.writer().fire(cmd).await
    }

    /// Fires armed timers in one writer command, each as
    /// [`Store::fire_timer`] would and in the order given (a timer that an
    /// earlier one of the same handoff disarmed is not taken); answers one
    /// [`Fired`] per timer, in order. All or nothing: on `Err` nothing was
    /// written, and firing the timers one by one tells which one fails.
    async fn fire_timers(&self, cmd: FireTimers) -> Result<Vec<Fired>, StoreError> {
        self.writer().fire_many(cmd).await
    }

    /// Offers a pending, unassigned handoff to a reviewer in one writer
    /// transaction: the handoff, its `assigned` event, its timers (the
    /// offer's expiry), its notifications and the reviewer's turn. Refused
    /// ([`StoreError::Domain`]) with nothing written if the item is no
    /// longer pending or already has an assignee.
    async fn assign(&self, cmd: AssignHandoff) -> Result<Assigned, StoreError> {
        self.writer().assign(cmd).await
    }

    /// One handoff, or `None`.
    async fn get_handoff(&self, id: Uuid) -> Result<Option<Handoff>, StoreError>;

    /// A handoff's events, oldest first.
    async fn handoff_events(&self, id: Uuid) -> Result<Vec<Event>, StoreError>;

    /// A page of handoffs.
    async fn list_handoffs(&self, query: &HandoffQuery) -> Result<Page, StoreError>;

    /// `(customer impact, created_at)` of every open handoff, for the aging view.
    async fn open_ages(&self) -> Result<Vec<(String, Timestamp)>, StoreError>;

    /// Open handoffs counted per owner group and customer impact, with the
    /// oldest creation time of each pair, for the metrics' gauges.
    async fn open_totals(&self) -> Result<Vec<OpenTotal>, StoreError>;

    /// Handoffs created in `[from, to)`, counted per handoff reason.
    async fn reason_counts(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, u64)>, StoreError>;

    /// Up to `limit` events after log position `after`, in log order.
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>, StoreError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// The stored chain head: the position and hash of the last event every
    /// commit records with its events (table `chain_head`), so deleting the
    /// newest events is found by [`verify_audit`].
    async fn chain_head(&self) -> Result<ChainHead, StoreError>;

    /// Keeps a policy version and makes it the active one, with a
    /// `policy_activated` event on the system stream, in one writer
    /// transaction (so under the chain head lock); then tells the other
    /// instances ([`Store::notify_policy`]). Activating the active version
    /// again writes nothing.
    async fn activate_policy(&self, cmd: ActivatePolicy) -> Result<Activated, StoreError> {
        let version = cmd.version.clone();
        let activated = self.writer().activate_policy(cmd).await?;
        if activated.event.is_some()
            && let Err(err) = self.notify_policy(&version).await
        {
            // The other instances' polling still finds it.
            tracing::warn!(error = %err, "cannot notify the other instances of the new policy");
        }
        Ok(activated)
    }
}

/// Walks the whole event log in pages, checks its hash chain, and checks
/// that the walk ends exactly at the stored chain head ([`Store::chain_head`]):
/// the newest events deleted leave the head past the log's end; events
/// appended behind Baton's back, or the last one replaced, leave the log
/// past the head or at another hash.
///
/// Safe while writes go on: the head is read after the walk, and if it is
/// ahead because events were committed meanwhile, the walk goes on to them.
pub async fn verify_audit(store: &dyn Store) -> Result<ChainVerdict, StoreError> {
    const PAGE: u32 = 5_000;
    let mut head = ChainHead::default();
    loop {
        let events = store.events_after(head.position, PAGE).await?;
        if let Some(broken) = verify_chain(&mut head, &events) {
            return Ok(broken);
        }
        if events.len() == PAGE as usize {
            continue;
        }
        let stored = store.chain_head().await?;
        if stored.position > head.position {
            if !store.events_after(head.position, 1).await?.is_empty() {
                continue; // committed while we walked
            }
            return Ok(ChainVerdict::Broken {
                position: head.position + 1,
                problem: format!(
                    "the log ends at position {} but the stored chain head is at position {}: \
                     the newest {} events are missing",
                    head.position,
                    stored.position,
                    stored.position - head.position
                ),
            });
        }
        if stored.position < head.position {
            return Ok(ChainVerdict::Broken {
                position: stored.position + 1,
                problem: format!(
                    "the log goes on to position {} past the stored chain head at position {}: \
                     events were added outside Baton",
                    head.position, stored.position
                ),
            });
        }
        if stored.hash != head.hash {
            return Ok(ChainVerdict::Broken {
                position: head.position,
                problem: format!(
                    "the last event's hash {} differs from the stored chain head's {}",
                    head.hash, stored.hash
                ),
            });
        }
        return Ok(ChainVerdict::Intact {
            events: head.position,
        });
    }
}
