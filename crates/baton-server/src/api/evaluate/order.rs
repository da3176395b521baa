//! The evaluate ordering rule: which streak counts a turn starts from, and
//! whether it must first wait for the conversation's earlier turns.
//!
//! A conversation's stored state names the last turn evaluated. Turn `n`:
//! - `n` equal to the last turn: evaluated again from the counts before it
//!   (a retry gives the same answer);
//! - `n` below the last turn: refused (409), the counts went past it;
//! - `n` right after the last turn (or turn 1 of a new conversation):
//!   evaluated from the counts after the last turn;
//! - otherwise turns are missing (`n - 1` not evaluated yet, or a new
//!   conversation whose first turn here is not 1): the turn waits, up to
//!   the bound, for them. When the bound passes it goes ahead from what is
//!   stored, and the conversation is marked as skipping turns: its later
//!   turns never wait again (so a conversation evaluated every other turn,
//!   or from turn 5, is delayed once, not every turn).

use baton_core::policy::Streaks;
use serde::{Deserialize, Serialize};

/// Streak counts kept per conversation: the counts before and after the last
/// turn evaluated, so evaluating the same turn again gives the same answer.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreakState {
    /// The last turn evaluated.
    pub turn: Option<u32>,
    /// The counts before it.
    pub before: Streaks,
    /// The counts after it.
    pub after: Streaks,
    /// True once a turn went ahead without its predecessors: the
    /// conversation skips turns, later turns do not wait.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skips: bool,
}

/// What a turn does with the stored state.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Evaluate from these counts; `skips` is the state's new mark.
    Evaluate {
        /// The counts to start from.
        previous: Streaks,
        /// Whether the conversation is now known to skip turns.
        skips: bool,
    },
    /// Earlier turns are missing: wait and look again.
    Wait,
    /// The turn is older than the last evaluated one.
    TooOld {
        /// The last evaluated turn.
        last: u32,
    },
}

/// The plan for `turn` given the stored `kept` state; `may_wait` is false
/// once the waiting bound has passed.
pub fn plan(kept: &StreakState, turn: u32, may_wait: bool) -> Plan {
    let from = |previous: &Streaks, skips: bool| Plan::Evaluate {
        previous: previous.clone(),
        skips,
    };
    match kept.turn {
        Some(last) if turn == last => from(&kept.before, kept.skips),
        Some(last) if turn < last => Plan::TooOld { last },
        Some(last) if turn == last + 1 || kept.skips => from(&kept.after, kept.skips),
        None if turn <= 1 => from(&kept.after, false),
        _ if may_wait => Plan::Wait,
        _ => from(&kept.after, true),
    }
}

/// The state to store after evaluating `turn` from `previous`, giving `after`.
pub fn next_state(turn: u32, previous: Streaks, after: Streaks, skips: bool) -> StreakState {
    StreakState {
        turn: Some(turn),
        before: previous,
        after,
        skips,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(turn: Option<u32>, skips: bool) -> StreakState {
        StreakState {
            turn,
            before: Streaks::from([("unsure".to_owned(), 1)]),
            after: Streaks::from([("unsure".to_owned(), 2)]),
            skips,
        }
    }

    fn evaluate(count: u32, skips: bool) -> Plan {
        Plan::Evaluate {
            previous: if count == 0 {
                Streaks::new()
            } else {
                Streaks::from([("unsure".to_owned(), count)])
            },
            skips,
        }
    }

    #[test]
    fn each_stored_state_gives_its_plan() {
        let new = StreakState::default();
        let cases = [
            // (stored, turn, may wait) → plan
            (new.clone(), 1, true, evaluate(0, false)),
            (new.clone(), 0, true, evaluate(0, false)),
            (new.clone(), 2, true, Plan::Wait),
            (new.clone(), 2, false, evaluate(0, true)),
            (state(Some(3), false), 3, true, evaluate(1, false)),
            (state(Some(3), false), 4, true, evaluate(2, false)),
            (state(Some(3), false), 2, true, Plan::TooOld { last: 3 }),
            (state(Some(3), false), 5, true, Plan::Wait),
            (state(Some(3), false), 5, false, evaluate(2, true)),
            (state(Some(3), true), 5, true, evaluate(2, true)),
            (state(Some(3), true), 3, true, evaluate(1, true)),
        ];
        for (kept, turn, may_wait, expect) in cases {
            assert_eq!(
                plan(&kept, turn, may_wait),
                expect,
                "{kept:?} turn {turn} may_wait {may_wait}"
            );
        }
    }

    #[test]
    fn the_stored_state_reads_back_and_old_states_still_read() {
        let kept = next_state(
            4,
            Streaks::new(),
            Streaks::from([("unsure".to_owned(), 1)]),
            true,
        );
        let text = serde_json::to_string(&kept).unwrap();
        assert_eq!(serde_json::from_str::<StreakState>(&text).unwrap(), kept);
        let old: StreakState =
            serde_json::from_str(r#"{"turn":2,"before":{},"after":{"unsure":1}}"#).unwrap();
        assert!(!old.skips);
    }
}
