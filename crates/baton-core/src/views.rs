//! Leader views computed from store rows: aging by customer impact × age bucket, and reason trends.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;

/// The age buckets of the aging view: an open item falls in the first bucket
/// whose upper bound (exclusive) exceeds its queue age.
pub const AGE_BUCKETS: [(&str, i64); 5] = [
    ("lt_1h", 3_600),
    ("1h_4h", 4 * 3_600),
    ("4h_24h", 24 * 3_600),
    ("1d_3d", 3 * 24 * 3_600),
    ("ge_3d", i64::MAX),
];

/// Name of the bucket for an item created at `created_at`, seen at `now`.
/// Items from the future (clock skew) count as the youngest.
pub fn age_bucket(created_at: Timestamp, now: Timestamp) -> &'static str {
    let age = now.duration_since(created_at).max(SignedDuration::ZERO);
    let secs = age.as_secs();
    AGE_BUCKETS
        .iter()
        .find(|(_, upper)| secs < *upper)
        .map_or("ge_3d", |(name, _)| name)
}

/// One row of the aging view: the open items of one customer impact, counted per bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct AgingRow {
    /// The customer impact.
    pub impact: String,
    /// Count per bucket name, every bucket present.
    #[cfg_attr(feature = "utoipa", schema(value_type = std::collections::BTreeMap<String, u64>))]
    pub buckets: BTreeMap<&'static str, u64>,
    /// All open items of this impact.
    pub total: u64,
}

/// Counts open items `(impact, created_at)` by impact × age bucket at `now`,
/// impacts in name order.
pub fn aging(items: &[(String, Timestamp)], now: Timestamp) -> Vec<AgingRow> {
    let mut rows: BTreeMap<&str, AgingRow> = BTreeMap::new();
    for (impact, created_at) in items {
        let row = rows.entry(impact).or_insert_with(|| AgingRow {
            impact: impact.clone(),
            buckets: AGE_BUCKETS.iter().map(|(name, _)| (*name, 0)).collect(),
            total: 0,
        });
        *row.buckets.entry(age_bucket(*created_at, now)).or_default() += 1;
        row.total += 1;
    }
    rows.into_values().collect()
}

/// A handoff reason's volume in a window and the one before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReasonTrend {
    /// The handoff reason.
    pub reason: String,
    /// Handoffs created in the window.
    pub count: u64,
    /// Handoffs created in the previous window of the same length.
    pub previous: u64,
    /// `count - previous`.
    pub change: i64,
    /// `change / previous` as a percentage; `None` when `previous` is 0.
    pub change_pct: Option<f64>,
}

/// Joins the counts of two windows, busiest reason first (ties by name).
pub fn reason_trends(current: &[(String, u64)], previous: &[(String, u64)]) -> Vec<ReasonTrend> {
    let mut joined: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (reason, n) in current {
        joined.entry(reason).or_default().0 += n;
    }
    for (reason, n) in previous {
        joined.entry(reason).or_default().1 += n;
    }
    let mut trends: Vec<ReasonTrend> = joined
        .into_iter()
        .map(|(reason, (count, previous))| {
            let change = count as i64 - previous as i64;
            ReasonTrend {
                reason: reason.to_owned(),
                count,
                previous,
                change,
                change_pct: (previous > 0).then(|| change as f64 * 100.0 / previous as f64),
            }
        })
        .collect();
    trends.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    trends
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    #[test]
    fn buckets_have_exclusive_upper_bounds() {
        let now = at(10 * 24 * 3_600);
        let check = |age: i64, expect: &str| {
            assert_eq!(
                age_bucket(at(10 * 24 * 3_600 - age), now),
                expect,
                "age {age}"
            )
        };
        check(0, "lt_1h");
        check(3_599, "lt_1h");
        check(3_600, "1h_4h");
        check(4 * 3_600, "4h_24h");
        check(24 * 3_600, "1d_3d");
        check(3 * 24 * 3_600, "ge_3d");
        check(-50, "lt_1h");
    }

    #[test]
    fn aging_counts_by_impact_and_bucket() {
        let now = at(100_000);
        let rows = aging(
            &[
                ("high".into(), at(99_000)),
                ("high".into(), at(90_000)),
                ("low".into(), at(0)),
                ("high".into(), at(99_999)),
            ],
            now,
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].impact, "high");
        assert_eq!(rows[0].total, 3);
        assert_eq!(rows[0].buckets["lt_1h"], 2);
        assert_eq!(rows[0].buckets["1h_4h"], 1);
        assert_eq!(rows[1].buckets["1d_3d"], 1);
        assert_eq!(rows[1].buckets["ge_3d"], 0);
    }

    #[test]
    fn reason_trends_join_both_windows() {
        let trends = reason_trends(
            &[("low_confidence".into(), 6), ("missing_data".into(), 2)],
            &[("low_confidence".into(), 3), ("fraud".into(), 4)],
        );
        let got: Vec<_> = trends
            .iter()
            .map(|t| (t.reason.as_str(), t.count, t.previous, t.change))
            .collect();
        assert_eq!(
            got,
            vec![
                ("low_confidence", 6, 3, 3),
                ("missing_data", 2, 0, 2),
                ("fraud", 0, 4, -4)
            ]
        );
        assert_eq!(trends[0].change_pct, Some(100.0));
        assert_eq!(trends[1].change_pct, None);
    }
}
