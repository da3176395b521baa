//! Facts of cases: what a lead asks of a log before trusting any report.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Case;
use super::mapping::{MappingConfig, Step};

/// The facts of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    /// Owner groups in order, consecutive repeats collapsed.
    pub teams: Vec<String>,
    /// More than one distinct team.
    pub multi_team: bool,
    /// Returned to the team it just left (A → B → A).
    pub ping_pong: bool,
    /// Moved between line 1 and lines 2 or 3 at least once.
    pub line_move: bool,
    /// Its last event is not resolved or closed.
    pub open: bool,
    /// The impact of its last event.
    pub impact: Option<String>,
    /// Events whose status no rule maps.
    pub unknown_statuses: usize,
}

impl CaseFacts {
    /// The facts of `case` read through `mapping`.
    pub fn of(case: &Case, mapping: &MappingConfig) -> Self {
        let mut teams: Vec<String> = Vec::new();
        for event in &case.events {
            if let Some(team) = mapping.group(event)
                && teams.last().is_none_or(|last| last != team)
            {
                teams.push(team.to_owned());
            }
        }
        let distinct: std::collections::BTreeSet<&String> = teams.iter().collect();
        let ping_pong = teams.windows(3).any(|w| w[0] == w[2]);
        let line_move = teams
            .windows(2)
            .any(|w| (mapping.line_of(&w[0]) == 1) != (mapping.line_of(&w[1]) == 1));
        let last_step = case.events.last().and_then(|e| mapping.step(e));
        let impact = mapping
            .impact
            .as_ref()
            .and_then(|k| case.events.last().and_then(|e| e.get(k)).cloned());
        Self {
            multi_team: distinct.len() > 1,
            ping_pong,
            line_move,
            open: !matches!(last_step, Some(Step::Resolved | Step::Closed)),
            impact,
            unknown_statuses: case
                .events
                .iter()
                .filter(|e| mapping.step(e).is_none())
                .count(),
            teams,
        }
    }
}

/// The facts of a whole log, accumulated case by case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogFacts {
    /// Cases read.
    pub cases: u64,
    /// Events read.
    pub events: u64,
    /// Cases through more than one team.
    pub multi_team: u64,
    /// Cases that returned to the team they just left (A → B → A).
    pub ping_pong: u64,
    /// Cases that moved between line 1 and lines 2 or 3.
    pub line_moves: u64,
    /// Cases still open at the end of the log.
    pub open: u64,
    /// Cases per impact of their last event.
    pub by_impact: BTreeMap<String, u64>,
    /// Events whose status no rule maps.
    pub unknown_statuses: u64,
}

impl LogFacts {
    /// Adds one case.
    pub fn add(&mut self, case: &Case, mapping: &MappingConfig) {
        let f = CaseFacts::of(case, mapping);
        self.cases += 1;
        self.events += case.events.len() as u64;
        self.multi_team += u64::from(f.multi_team);
        self.ping_pong += u64::from(f.ping_pong);
        self.line_moves += u64::from(f.line_move);
        self.open += u64::from(f.open);
        self.unknown_statuses += f.unknown_statuses as u64;
        if let Some(impact) = f.impact {
            *self.by_impact.entry(impact).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::Attributes;

    const MAPPING: &str = r#"
case_id = "id"
timestamp = "t"
status = "s"
owner_group = "team"
impact = "impact"
[line]
suffixes = { "2nd" = 2, "3rd" = 3 }
[[status_rule]]
status = "Completed"
step = "closed"
[[status_rule]]
status = "Queued"
step = "pending"
"#;

    fn case(events: &[(&str, &str)]) -> Case {
        Case {
            attributes: Attributes::from([("id".into(), "1".into())]),
            events: events
                .iter()
                .map(|(team, status)| {
                    Attributes::from([
                        ("team".into(), team.to_string()),
                        ("s".into(), status.to_string()),
                        ("impact".into(), "Low".into()),
                    ])
                })
                .collect(),
            lines: Vec::new(),
        }
    }

    #[test]
    fn case_facts_table() {
        let m = MappingConfig::parse(MAPPING).unwrap();
        let cases = [
            (
                vec![("A", "Queued"), ("A", "Completed")],
                (false, false, false, false),
            ),
            (
                vec![("A", "Queued"), ("B", "Queued"), ("A", "Completed")],
                (true, true, false, false),
            ),
            (
                vec![("A", "Queued"), ("B 2nd", "Queued"), ("C 2nd", "Queued")],
                (true, false, true, true),
            ),
            (
                vec![
                    ("A 2nd", "Queued"),
                    ("B 3rd", "Queued"),
                    ("A 2nd", "Completed"),
                ],
                (true, true, false, false),
            ),
            (
                vec![("A", "Queued"), ("A", "Queued"), ("B", "Mystery")],
                (true, false, false, true),
            ),
        ];
        for (events, (multi, pp, line, open)) in cases {
            let f = CaseFacts::of(&case(&events), &m);
            assert_eq!(
                (f.multi_team, f.ping_pong, f.line_move, f.open),
                (multi, pp, line, open),
                "{events:?}"
            );
        }
        let f = CaseFacts::of(&case(&[("A", "Queued"), ("B", "Mystery")]), &m);
        assert_eq!(f.unknown_statuses, 1);
        assert_eq!(f.teams, vec!["A", "B"]);
    }

    #[test]
    fn sub_status_rules_match_first() {
        let m = MappingConfig::parse(
            "case_id = \"id\"\ntimestamp = \"t\"\nstatus = \"s\"\nsub_status = \"ss\"\nowner_group = \"team\"\n\
             [[status_rule]]\nstatus = \"Completed\"\nsub_status = \"Resolved\"\nstep = \"resolved\"\n\
             [[status_rule]]\nstatus = \"Completed\"\nstep = \"closed\"\n",
        )
        .unwrap();
        let event = |ss: &str| {
            Attributes::from([("s".into(), "Completed".into()), ("ss".into(), ss.into())])
        };
        assert_eq!(m.step(&event("Resolved")), Some(Step::Resolved));
        assert_eq!(m.step(&event("In Call")), Some(Step::Closed));
        assert!(MappingConfig::parse("case_id = 1").is_err());
    }
}
