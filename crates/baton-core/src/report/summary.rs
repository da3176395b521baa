//! The summary report: volume, time to accept and resolve, SLA attainment,
//! rework, back-and-forth, ping-pong, reassignments, false positives and
//! reviewer load, overall and per group.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::History;
use crate::clocks::Which;

/// What the summary's rows are per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Workflow.
    Workflow,
    /// Customer impact.
    Impact,
    /// Handoff reason.
    Reason,
    /// Owner group now.
    OwnerGroup,
    /// Assignee (who holds or last held it; `unassigned` if nobody).
    Assignee,
    /// Support line now (`unknown` when the item carries none).
    Line,
}

impl GroupBy {
    /// Every choice, for error messages.
    pub const ALL: [Self; 6] = [
        Self::Workflow,
        Self::Impact,
        Self::Reason,
        Self::OwnerGroup,
        Self::Assignee,
        Self::Line,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Workflow => "workflow",
            Self::Impact => "impact",
            Self::Reason => "reason",
            Self::OwnerGroup => "owner_group",
            Self::Assignee => "assignee",
            Self::Line => "line",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.as_str() == value)
    }

    fn key(self, h: &History) -> String {
        match self {
            Self::Workflow => h.workflow.clone(),
            Self::Impact => h.impact.clone(),
            Self::Reason => h.reason.clone(),
            Self::OwnerGroup => h.owner_group.clone(),
            Self::Assignee => h.assignee.clone().unwrap_or_else(|| "unassigned".into()),
            Self::Line => h
                .line
                .map_or_else(|| "unknown".into(), |l| format!("line {l}")),
        }
    }
}

/// Mean, median and 90th percentile of some durations, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Durations {
    /// How many durations.
    pub count: u64,
    /// Mean, seconds.
    pub mean_s: Option<f64>,
    /// Median (nearest rank), seconds.
    pub p50_s: Option<f64>,
    /// 90th percentile (nearest rank), seconds.
    pub p90_s: Option<f64>,
}

impl Durations {
    /// The statistics of `values` (seconds), which it sorts.
    pub fn of(values: &mut [f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        // Nearest rank: the smallest value with at least p of them at or below it.
        let rank = |p: f64| values[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        Self {
            count: n as u64,
            mean_s: Some(values.iter().sum::<f64>() / n as f64),
            p50_s: Some(rank(0.5)),
            p90_s: Some(rank(0.9)),
        }
    }
}

/// A duration measured on the wall clock and in working time (the impact's
/// calendar: business hours minus holidays).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TimeTo {
    /// Wall-clock time.
    pub wall: Durations,
    /// Working time.
    pub working: Durations,
}

/// SLA attainment: of the clock cycles whose deadline has come (met or
/// missed), how many met it. A cycle is an item's one run of the clock:
/// a reopened item counts once more per reopen.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Attainment {
    /// Cycles that stopped, or are breached at the report's `now`.
    pub due: u64,
    /// Cycles that stopped within their budget.
    pub met: u64,
    /// `met / due`, from 0 to 1.
    pub rate: Option<f64>,
}

/// One row of the summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SummaryRow {
    /// The group's value (`all` for the total).
    pub key: String,
    /// Handoffs created in the window.
    pub volume: u64,
    /// Of those, still open.
    pub open: u64,
    /// Of those, resolved or closed.
    pub resolved: u64,
    /// Creation to first claim (MTTA is its mean).
    pub time_to_accept: TimeTo,
    /// Creation to the last resolution (MTTR is its mean).
    pub time_to_resolve: TimeTo,
    /// Claimed within the accept clock's budget (docs/sla-clocks.md).
    pub sla_accept: Attainment,
    /// Resolved within the resolve clock's budget.
    pub sla_resolve: Attainment,
    /// Items reopened or bounced back down a line.
    pub rework: u64,
    /// `rework / volume`.
    pub rework_rate: Option<f64>,
    /// Waiting ⇄ in progress cycles, all items.
    pub waiting_cycles: u64,
    /// Items with at least one such cycle.
    pub items_with_waiting_cycles: u64,
    /// Items that returned to the owner group they had just left (A → B → A).
    pub ping_pong: u64,
    /// `ping_pong / volume`.
    pub ping_pong_rate: Option<f64>,
    /// Moves to another owner group, all items.
    pub reassignments: u64,
    /// `reassignments / volume`.
    pub reassignments_per_item: Option<f64>,
    /// Assignments not claimed within the impact's `accept_within`, which
    /// returned their items to the queue, all items.
    pub assignments_expired: u64,
    /// Items through more than one owner group.
    pub multi_team: u64,
    /// Items moved between line 1 and lines 2 or 3.
    pub line_moves: u64,
    /// Resolutions approved with no change, or marked unnecessary.
    pub false_positives: u64,
    /// `false_positives / resolved`.
    pub false_positive_rate: Option<f64>,
    /// Who resolved the most items.
    pub busiest_reviewer: Option<String>,
    /// The busiest reviewer's share of resolutions, from 0 to 1 (reviewer
    /// load concentration).
    pub busiest_reviewer_share: Option<f64>,
}

/// The summary report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Summary {
    /// Window start (inclusive), if any.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub from: Option<Timestamp>,
    /// Window end (exclusive), if any.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub to: Option<Timestamp>,
    /// What the rows are per.
    pub by: GroupBy,
    /// All items in the window.
    pub total: SummaryRow,
    /// One row per group value, largest volume first.
    pub rows: Vec<SummaryRow>,
}

/// Working time between two instants for an item of `impact`.
pub type WorkingTime<'a> = &'a dyn Fn(&str, Timestamp, Timestamp) -> SignedDuration;

#[derive(Default)]
struct Acc {
    row: SummaryRow,
    accept: (Vec<f64>, Vec<f64>),
    resolve: (Vec<f64>, Vec<f64>),
    resolvers: BTreeMap<String, u64>,
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn secs(d: SignedDuration) -> f64 {
    d.as_secs_f64().max(0.0)
}

/// Counts `h`'s cycles of `which` by the live clock (docs/sla-clocks.md):
/// each stopped cycle met or breached when it stopped, the open one due once
/// breached at `now`, working time from `working`.
fn attain_live(
    a: &mut Attainment,
    h: &History,
    which: Which,
    now: Timestamp,
    working: WorkingTime<'_>,
) -> bool {
    let Some(run) = &h.sla else { return false };
    let tally = run.tally(which);
    a.due += u64::from(tally.met + tally.breached);
    a.met += u64::from(tally.met);
    let open_breached = run
        .open_clock(which)
        .is_some_and(|c| c.is_breached_by(&|from, to| working(&h.impact, from, to), now));
    a.due += u64::from(open_breached);
    true
}

/// The fallback for histories without live clocks (no policy given, an
/// impact it does not declare): the deadline fixed at creation, against
/// the first claim or the last resolution.
fn attain(
    a: &mut Attainment,
    deadline: Option<Timestamp>,
    done: Option<Timestamp>,
    now: Timestamp,
) {
    let Some(deadline) = deadline else { return };
    match done {
        Some(done) => {
            a.due += 1;
            a.met += u64::from(done <= deadline);
        }
        None if now > deadline => a.due += 1,
        None => {}
    }
}

impl Acc {
    fn add(&mut self, h: &History, now: Timestamp, working: WorkingTime<'_>) {
        let r = &mut self.row;
        r.volume += 1;
        r.open += u64::from(h.is_open());
        if let Some(claimed) = h.first_claim_at {
            self.accept
                .0
                .push(secs(claimed.duration_since(h.created_at)));
            self.accept
                .1
                .push(secs(working(&h.impact, h.created_at, claimed)));
        }
        if let Some(resolved) = h.resolved_at {
            r.resolved += 1;
            self.resolve
                .0
                .push(secs(resolved.duration_since(h.created_at)));
            self.resolve
                .1
                .push(secs(working(&h.impact, h.created_at, resolved)));
            r.false_positives += u64::from(h.false_positive);
            if let Some(who) = &h.resolver {
                *self.resolvers.entry(who.clone()).or_default() += 1;
            }
        }
        if !attain_live(&mut r.sla_accept, h, Which::Accept, now, working) {
            attain(&mut r.sla_accept, h.accept_by, h.first_claim_at, now);
        }
        if !attain_live(&mut r.sla_resolve, h, Which::Resolve, now, working) {
            attain(&mut r.sla_resolve, h.resolve_by, h.resolved_at, now);
        }
        r.rework += u64::from(h.rework());
        r.waiting_cycles += u64::from(h.waiting_cycles);
        r.items_with_waiting_cycles += u64::from(h.waiting_cycles > 0);
        r.ping_pong += u64::from(h.ping_pong());
        r.reassignments += u64::from(h.reassignments);
        r.assignments_expired += u64::from(h.assignments_expired);
        r.multi_team += u64::from(h.multi_team());
        r.line_moves += u64::from(h.line_move);
    }

    fn finish(mut self, key: String) -> SummaryRow {
        let mut r = self.row;
        r.key = key;
        r.time_to_accept = TimeTo {
            wall: Durations::of(&mut self.accept.0),
            working: Durations::of(&mut self.accept.1),
        };
        r.time_to_resolve = TimeTo {
            wall: Durations::of(&mut self.resolve.0),
            working: Durations::of(&mut self.resolve.1),
        };
        for a in [&mut r.sla_accept, &mut r.sla_resolve] {
            a.rate = ratio(a.met, a.due);
        }
        r.rework_rate = ratio(r.rework, r.volume);
        r.ping_pong_rate = ratio(r.ping_pong, r.volume);
        r.reassignments_per_item = ratio(r.reassignments, r.volume);
        r.false_positive_rate = ratio(r.false_positives, r.resolved);
        let total: u64 = self.resolvers.values().sum();
        if let Some((who, n)) = self
            .resolvers
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        {
            r.busiest_reviewer = Some(who);
            r.busiest_reviewer_share = ratio(n, total);
        }
        r
    }
}

/// Summarizes the items created in `[from, to)` (either end open), per `by`,
/// with deadlines judged at `now` and working time from `working`.
pub fn summarize<'h>(
    items: impl IntoIterator<Item = &'h History>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    by: GroupBy,
    now: Timestamp,
    working: WorkingTime<'_>,
) -> Summary {
    let mut total = Acc::default();
    let mut groups: BTreeMap<String, Acc> = BTreeMap::new();
    for h in items {
        if from.is_some_and(|f| h.created_at < f) || to.is_some_and(|t| h.created_at >= t) {
            continue;
        }
        total.add(h, now, working);
        groups.entry(by.key(h)).or_default().add(h, now, working);
    }
    let mut rows: Vec<SummaryRow> = groups.into_iter().map(|(k, acc)| acc.finish(k)).collect();
    rows.sort_by(|a, b| b.volume.cmp(&a.volume).then_with(|| a.key.cmp(&b.key)));
    Summary {
        from,
        to,
        by,
        total: total.finish("all".into()),
        rows,
    }
}
