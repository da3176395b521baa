//! Handoff list queries, keyset cursors and pages.

use baton_core::{Handoff, LifecycleState};
use jiff::Timestamp;
use uuid::Uuid;

/// Open handoffs of one owner group and customer impact: how many there
/// are and when the oldest of them was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTotal {
    /// The owner group.
    pub owner_group: String,
    /// The customer impact.
    pub impact: String,
    /// Open handoffs (pending, in progress or waiting); at least 1.
    pub count: u64,
    /// Creation time of the oldest of them.
    pub oldest: Timestamp,
}

/// List order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Oldest first (queue age, longest waiting on top).
    Age,
    /// Newest first.
    #[default]
    Created,
}

/// A position in a list: the last item's creation time (µs) and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Creation time of the last item seen, microseconds since the epoch.
    pub created_us: i64,
    /// Id of the last item seen.
    pub id: Uuid,
}

impl Cursor {
    /// The opaque text form, `"{created_us}.{id}"`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_us, self.id.simple())
    }

    /// Parses [`Cursor::encode`]'s output; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let (us, id) = text.split_once('.')?;
        Some(Self {
            created_us: us.parse().ok()?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

/// Filters, order and page size for listing handoffs. Empty vectors and
/// `None` mean "any".
#[derive(Debug, Clone, Default)]
pub struct HandoffQuery {
    /// Any of these lifecycle states.
    pub states: Vec<LifecycleState>,
    /// Exactly this owner group.
    pub owner_group: Option<String>,
    /// Exactly this customer impact.
    pub impact: Option<String>,
    /// Exactly this handoff reason.
    pub reason: Option<String>,
    /// Exactly this assignee; `Some(None)` means unassigned.
    pub assignee: Option<Option<String>>,
    /// Exactly this workflow.
    pub workflow: Option<String>,
    /// Scope: only these owner groups (a reviewer's), `None` for all.
    pub groups_in: Option<Vec<String>>,
    /// Scope: only these workflows (an agent's), `None` for all.
    pub workflows_in: Option<Vec<String>>,
    /// Order.
    pub sort: Sort,
    /// Page size, 1 to 500.
    pub limit: u32,
    /// Continue after this item.
    pub cursor: Option<Cursor>,
}

/// One page of handoffs.
#[derive(Debug, Clone)]
pub struct Page {
    /// The handoffs, in the query's order.
    pub items: Vec<Handoff>,
    /// The cursor for the next page, `None` on the last one.
    pub next_cursor: Option<Cursor>,
}

impl Page {
    /// Builds a page from up to `limit + 1` rows: the extra row only signals
    /// that another page exists.
    pub fn from_rows(mut items: Vec<Handoff>, limit: u32) -> Self {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(|h| Cursor {
                created_us: baton_core::event::micros(h.created_at),
                id: h.id,
            })
        } else {
            None
        };
        Self { items, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_junk() {
        let c = Cursor {
            created_us: 1_700_000_000_000_000,
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for junk in ["", "abc", "1.", ".x", "x.0000"] {
            assert_eq!(Cursor::decode(junk), None, "{junk}");
        }
    }
}
