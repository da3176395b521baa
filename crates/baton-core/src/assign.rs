//! Automatic assignment: which available reviewer of a group gets the next
//! pending item, by the group's `assignment` strategy and `capacity`.
//!
//! `capacity` is per reviewer: the open items a reviewer holds (offered
//! and still `pending`, or `in_progress`/`waiting` with them as assignee).
//! Nobody is given an item at or over it. The assigner in the server
//! gathers the candidates and carries the pick out with
//! [`crate::react::assign`].

use jiff::Timestamp;

use crate::policy::Assignment;

/// An available reviewer of the group, as the strategy sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The reviewer's token name.
    pub name: String,
    /// Open items they hold now.
    pub load: u64,
    /// When the assigner last gave them an item, if ever.
    pub last_assigned_at: Option<Timestamp>,
}

/// The strategy's wire name, as events record it.
pub fn strategy_name(strategy: Assignment) -> &'static str {
    match strategy {
        Assignment::Claim => "claim",
        Assignment::RoundRobin => "round_robin",
        Assignment::LeastLoaded => "least_loaded",
    }
}

/// The candidate who gets the next item, or `None` when the group is
/// claim-only or every candidate is at `capacity`.
///
/// - `round_robin`: the one assigned longest ago (never assigned first),
///   ties by name;
/// - `least_loaded`: the lowest load, ties by longest ago, then by name.
pub fn pick(strategy: Assignment, candidates: &[Candidate], capacity: Option<u32>) -> Option<&str> {
    let under = |c: &&Candidate| capacity.is_none_or(|cap| c.load < u64::from(cap));
    // `None` (never assigned) sorts before any time.
    let turn = |c: &Candidate| (c.last_assigned_at, c.name.clone());
    let open = candidates.iter().filter(under);
    let chosen = match strategy {
        Assignment::Claim => None,
        Assignment::RoundRobin => open.min_by_key(|c| turn(c)),
        Assignment::LeastLoaded => open.min_by_key(|c| (c.load, turn(c))),
    };
    chosen.map(|c| c.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_767_600_000 + minute * 60).unwrap()
    }

    fn c(name: &str, load: u64, last: Option<i64>) -> Candidate {
        Candidate {
            name: name.to_owned(),
            load,
            last_assigned_at: last.map(at),
        }
    }

    fn check(
        strategy: Assignment,
        candidates: &[Candidate],
        cap: Option<u32>,
        expect: Option<&str>,
    ) {
        assert_eq!(
            pick(strategy, candidates, cap),
            expect,
            "{strategy:?} cap {cap:?} over {candidates:?}"
        );
    }

    #[test]
    fn round_robin_table() {
        use Assignment::RoundRobin as R;
        // Never assigned goes first, ties by name.
        check(
            R,
            &[c("bo", 0, Some(1)), c("al", 0, None), c("cy", 0, None)],
            None,
            Some("al"),
        );
        // Longest ago next, whatever the load.
        check(
            R,
            &[c("al", 3, Some(1)), c("bo", 0, Some(2))],
            None,
            Some("al"),
        );
        // Same time: by name.
        check(
            R,
            &[c("bo", 0, Some(1)), c("al", 0, Some(1))],
            None,
            Some("al"),
        );
        // Capacity skips the one at it.
        check(
            R,
            &[c("al", 1, Some(1)), c("bo", 0, Some(2))],
            Some(1),
            Some("bo"),
        );
        // All full: nobody.
        check(R, &[c("al", 2, None), c("bo", 1, None)], Some(1), None);
        // Nobody available.
        check(R, &[], Some(3), None);
    }

    #[test]
    fn least_loaded_table() {
        use Assignment::LeastLoaded as L;
        check(
            L,
            &[c("al", 2, None), c("bo", 1, Some(5))],
            None,
            Some("bo"),
        );
        // Equal load: longest ago, then name.
        check(
            L,
            &[c("al", 1, Some(5)), c("bo", 1, Some(2))],
            None,
            Some("bo"),
        );
        check(L, &[c("bo", 1, None), c("al", 1, None)], None, Some("al"));
        check(
            L,
            &[c("al", 1, None), c("bo", 1, Some(0))],
            None,
            Some("al"),
        );
        // Capacity.
        check(L, &[c("al", 3, None), c("bo", 3, None)], Some(3), None);
        check(
            L,
            &[c("al", 3, None), c("bo", 2, None)],
            Some(3),
            Some("bo"),
        );
        check(L, &[], None, None);
    }

    #[test]
    fn claim_groups_are_never_assigned() {
        check(Assignment::Claim, &[c("al", 0, None)], None, None);
    }

    #[test]
    fn strategy_names() {
        assert_eq!(strategy_name(Assignment::RoundRobin), "round_robin");
        assert_eq!(strategy_name(Assignment::LeastLoaded), "least_loaded");
        assert_eq!(strategy_name(Assignment::Claim), "claim");
    }
}
