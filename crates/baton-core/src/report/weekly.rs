//! The weekly report: the top repeated handoff reasons against the week
//! before, the oldest open items, the ownerless, and reviewer load.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use uuid::Uuid;

use super::History;

/// Items listed in each of the weekly report's lists.
pub const LIST_LEN: usize = 10;

/// A handoff reason's volume this week and the week before.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReasonWeek {
    /// The handoff reason.
    pub reason: String,
    /// Handoffs created this week.
    pub this_week: u64,
    /// Handoffs created the week before.
    pub previous_week: u64,
    /// `this_week - previous_week`.
    pub change: i64,
    /// The change as a fraction of the week before (none when it had none).
    pub change_rate: Option<f64>,
}

/// An open item in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct OpenItem {
    /// Handoff id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Owner group.
    pub owner_group: String,
    /// Customer impact.
    pub impact: String,
    /// Who holds it, if anyone.
    pub assignee: Option<String>,
    /// Lifecycle state.
    pub state: String,
    /// Created.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Age at the report's end, seconds.
    pub age_s: i64,
}

/// One reviewer's load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReviewerLoad {
    /// The reviewer.
    pub reviewer: String,
    /// Items they resolved this week.
    pub resolved_this_week: u64,
    /// Open items they hold now.
    pub holding: u64,
}

/// The weekly report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Weekly {
    /// This week's start (inclusive): `to` minus seven days.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    /// This week's end (exclusive).
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
    /// The three handoff reasons with most handoffs this week.
    pub top_reasons: Vec<ReasonWeek>,
    /// Open items created before `to`.
    pub open: u64,
    /// The oldest of them, oldest first.
    pub oldest_open: Vec<OpenItem>,
    /// Open items nobody holds (pending, not claimed).
    pub ownerless: u64,
    /// The oldest of those.
    pub oldest_ownerless: Vec<OpenItem>,
    /// Reviewers by items resolved this week, then by items held.
    pub reviewer_load: Vec<ReviewerLoad>,
}

fn open_item(id: Uuid, h: &History, to: Timestamp) -> OpenItem {
    OpenItem {
        id,
        title: h.title.clone(),
        owner_group: h.owner_group.clone(),
        impact: h.impact.clone(),
        assignee: h.assignee.clone(),
        state: h.state.as_str().to_owned(),
        created_at: h.created_at,
        age_s: to.duration_since(h.created_at).as_secs(),
    }
}

/// The weekly report for the seven days before `to`. Items created at or
/// after `to` are not seen; "open" means open now.
pub fn weekly(items: &[(Uuid, History)], to: Timestamp) -> Weekly {
    let week = SignedDuration::from_hours(24 * 7);
    let from = to - week;
    let before = from - week;
    let mut reasons: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut open: Vec<(Uuid, &History)> = Vec::new();
    let mut load: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (id, h) in items {
        if h.created_at >= to {
            continue;
        }
        if h.created_at >= from {
            reasons.entry(&h.reason).or_default().0 += 1;
        } else if h.created_at >= before {
            reasons.entry(&h.reason).or_default().1 += 1;
        }
        if h.is_open() {
            open.push((*id, h));
            if let Some(who) = &h.assignee
                && h.state != crate::LifecycleState::Pending
            {
                load.entry(who).or_default().1 += 1;
            }
        }
        if let (Some(at), Some(who)) = (h.resolved_at, &h.resolver)
            && at >= from
            && at < to
        {
            load.entry(who).or_default().0 += 1;
        }
    }
    let mut top: Vec<ReasonWeek> = reasons
        .into_iter()
        .filter(|(_, (this, _))| *this > 0)
        .map(|(reason, (this, prev))| ReasonWeek {
            reason: reason.to_owned(),
            this_week: this,
            previous_week: prev,
            change: this as i64 - prev as i64,
            change_rate: (prev > 0).then(|| (this as f64 - prev as f64) / prev as f64),
        })
        .collect();
    top.sort_by(|a, b| {
        b.this_week
            .cmp(&a.this_week)
            .then_with(|| a.reason.cmp(&b.reason))
    });
    top.truncate(3);
    open.sort_by_key(|(id, h)| (h.created_at, *id));
    let ownerless: Vec<&(Uuid, &History)> = open
        .iter()
        .filter(|(_, h)| h.state == crate::LifecycleState::Pending)
        .collect();
    let mut reviewer_load: Vec<ReviewerLoad> = load
        .into_iter()
        .map(|(who, (resolved, holding))| ReviewerLoad {
            reviewer: who.to_owned(),
            resolved_this_week: resolved,
            holding,
        })
        .collect();
    reviewer_load.sort_by(|a, b| {
        (b.resolved_this_week, b.holding)
            .cmp(&(a.resolved_this_week, a.holding))
            .then_with(|| a.reviewer.cmp(&b.reviewer))
    });
    reviewer_load.truncate(LIST_LEN);
    Weekly {
        from,
        to,
        top_reasons: top,
        open: open.len() as u64,
        oldest_open: open
            .iter()
            .take(LIST_LEN)
            .map(|(id, h)| open_item(*id, h, to))
            .collect(),
        ownerless: ownerless.len() as u64,
        oldest_ownerless: ownerless
            .iter()
            .take(LIST_LEN)
            .map(|(id, h)| open_item(*id, h, to))
            .collect(),
        reviewer_load,
    }
}
