//! The policy: workflows, reasons, impacts with SLA targets, business-hours
//! calendars, owner groups, routes, triggers, note templates, notification
//! channels and escalation chains, from a TOML file checked before it is
//! loaded (config → build → runtime).
//!
//! [`Policy::build`] is the one way in, shared by `baton policy check` and
//! server start-up; it reports every problem with its line and rule.

pub mod build;
pub mod calendar;
pub mod channel;
pub mod config;
pub mod contract;
pub mod escalation;
pub mod expr;
pub mod fast;
mod parse;
mod route;
pub mod sla;
pub mod template;
mod trigger;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

pub use build::{PolicyError, ROUTE_VARIABLES, SIGNAL_VARIABLES};
pub use channel::{Channel, ChannelKind, NotifyOn};
pub use config::{Assignment, OnIncomplete, TriggerAction};
pub use escalation::{
    AutoAction, ContextField, EscalationChain, EscalationLevel, FanOut, LevelStart, SlaEvent,
};
pub use parse::SECTIONS;
pub use route::{RouteDecision, RuleTrace};
pub use trigger::{Decision, DecisionAction, Signal, Streaks};

use calendar::Calendar;
use contract::{Contract, ContractViolation};
use expr::Expr;

/// The built-in policy `baton serve` uses when given none: one workflow, one
/// group, standard impacts, common reasons.
pub const DEFAULT_POLICY: &str = include_str!("default.toml");

/// A checked, compiled policy. Build it with [`Policy::build`].
#[derive(Debug, Clone)]
pub struct Policy {
    /// Hex SHA-256 of the policy text: its version.
    pub version: String,
    workflows: BTreeMap<String, Workflow>,
    handoff_reasons: BTreeMap<String, String>,
    resolution_reasons: BTreeMap<String, String>,
    impacts: BTreeMap<String, Impact>,
    calendars: BTreeMap<String, Calendar>,
    groups: BTreeMap<String, Group>,
    routes: Vec<Route>,
    triggers: Vec<Trigger>,
    keyword_index: trigger::KeywordIndex,
    sampling: Sampling,
    templates: BTreeMap<String, String>,
    channels: BTreeMap<String, Channel>,
    escalations: Vec<EscalationChain>,
    warnings: Vec<PolicyError>,
}

/// A workflow as built.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// What it is.
    pub description: String,
    /// Its payload contract.
    pub contract: Option<Contract>,
    /// What to do with an incomplete payload.
    pub on_incomplete: OnIncomplete,
    /// Its default owner group.
    pub default_group: String,
    /// Its default callback URL.
    pub callback_url: Option<String>,
}

/// A customer impact as built.
#[derive(Debug, Clone)]
pub struct Impact {
    /// 1 is the most urgent.
    pub rank: u32,
    /// Working time to accept.
    pub accept_within: SignedDuration,
    /// Working time to resolve.
    pub resolve_within: SignedDuration,
    /// Calendar name; wall clock when `None`.
    pub calendar: Option<String>,
    /// Reminder point as a fraction of each window.
    pub reminder_at: f64,
    /// Whether clocks stop while `waiting`.
    pub pause_while_waiting: bool,
}

/// An owner group as built.
#[derive(Debug, Clone)]
pub struct Group {
    /// Name customers may see.
    pub display_name: String,
    /// Most open items each reviewer holds at once (docs/assignment.md).
    pub capacity: Option<u32>,
    /// How work reaches members.
    pub assignment: Assignment,
}

#[derive(Debug, Clone)]
struct Route {
    id: String,
    when: Option<Expr>,
    group: String,
}

#[derive(Debug, Clone)]
struct Trigger {
    id: String,
    when: Option<Expr>,
    keywords: Vec<String>,
    /// Positions of `keywords` in the policy's [`trigger::KeywordIndex`].
    keyword_ids: Vec<usize>,
    streak: u32,
    action: TriggerAction,
    tier: crate::Tier,
    reason: String,
    impact: String,
}

#[derive(Debug, Clone)]
struct Sampling {
    rate: f64,
    reason: String,
    impact: String,
}

/// SLA deadlines of a handoff created at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    /// Claim by then.
    pub accept_by: Timestamp,
    /// Resolve by then.
    pub resolve_by: Timestamp,
    /// Remind about accepting at this point of the window.
    pub remind_accept_at: Timestamp,
    /// Remind about resolving at this point of the window.
    pub remind_resolve_at: Timestamp,
}

/// Whether a payload meets its workflow's contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadCheck {
    /// It does (or the workflow has no contract).
    Complete,
    /// It misses fields; what to do is the workflow's `on_incomplete`.
    Incomplete {
        /// What to do with it.
        on_incomplete: OnIncomplete,
        /// Each missing or invalid field.
        violations: Vec<ContractViolation>,
    },
}

impl Policy {
    /// The built-in default policy.
    pub fn default_policy() -> Self {
        Self::build(DEFAULT_POLICY, &|p: &str| {
            Err(format!("the default policy reads no file ({p})"))
        })
        .unwrap_or_else(|errors| unreachable_default(&errors))
    }

    /// What the policy's check found that does not stop it building but can
    /// never take effect as written (say, an escalation level that can never
    /// fire), in file order. `baton policy check` prints them as warnings.
    pub fn warnings(&self) -> &[PolicyError] {
        &self.warnings
    }

    /// A workflow by name.
    pub fn workflow(&self, name: &str) -> Option<&Workflow> {
        self.workflows.get(name)
    }

    /// Declared workflow names.
    pub fn workflow_names(&self) -> Vec<&str> {
        self.workflows.keys().map(String::as_str).collect()
    }

    /// Whether `code` is a declared handoff reason.
    pub fn is_handoff_reason(&self, code: &str) -> bool {
        self.handoff_reasons.contains_key(code)
    }

    /// Declared handoff reasons, code → description.
    pub fn handoff_reasons(&self) -> &BTreeMap<String, String> {
        &self.handoff_reasons
    }

    /// Declared resolution reasons, code → description (may be empty: any label).
    pub fn resolution_reasons(&self) -> &BTreeMap<String, String> {
        &self.resolution_reasons
    }

    /// An impact by name.
    pub fn impact(&self, name: &str) -> Option<&Impact> {
        self.impacts.get(name)
    }

    /// Declared impact names, most urgent first.
    pub fn impact_names(&self) -> Vec<&str> {
        let mut names: Vec<_> = self.impacts.iter().collect();
        names.sort_by_key(|(name, i)| (i.rank, name.as_str()));
        names.into_iter().map(|(n, _)| n.as_str()).collect()
    }

    /// A group by name.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Declared owner group names.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups.keys().map(String::as_str).collect()
    }

    /// A template's text by id.
    pub fn template(&self, id: &str) -> Option<&str> {
        self.templates.get(id).map(String::as_str)
    }

    /// The calendar an impact's clocks run on (24×7 when it names none).
    pub fn calendar_for(&self, impact: &str) -> std::borrow::Cow<'_, Calendar> {
        self.impacts
            .get(impact)
            .and_then(|i| i.calendar.as_ref())
            .and_then(|c| self.calendars.get(c))
            .map_or_else(
                || std::borrow::Cow::Owned(Calendar::always()),
                std::borrow::Cow::Borrowed,
            )
    }

    /// The SLA deadlines of a handoff of `impact` created at `created_at`;
    /// `None` for an undeclared impact.
    pub fn deadlines(&self, impact: &str, created_at: Timestamp) -> Option<Deadlines> {
        let i = self.impacts.get(impact)?;
        let calendar = self.calendar_for(impact);
        let part =
            |d: SignedDuration| SignedDuration::from_secs_f64(d.as_secs_f64() * i.reminder_at);
        Some(Deadlines {
            accept_by: calendar.add_working(created_at, i.accept_within),
            resolve_by: calendar.add_working(created_at, i.resolve_within),
            remind_accept_at: calendar.add_working(created_at, part(i.accept_within)),
            remind_resolve_at: calendar.add_working(created_at, part(i.resolve_within)),
        })
    }

    /// Checks `payload` against the workflow's contract (`Complete` for a
    /// workflow without one, or an undeclared workflow).
    pub fn check_payload(&self, workflow: &str, payload: &serde_json::Value) -> PayloadCheck {
        let Some(w) = self.workflows.get(workflow) else {
            return PayloadCheck::Complete;
        };
        let Some(contract) = &w.contract else {
            return PayloadCheck::Complete;
        };
        let violations = contract.check(payload);
        if violations.is_empty() {
            PayloadCheck::Complete
        } else {
            PayloadCheck::Incomplete {
                on_incomplete: w.on_incomplete,
                violations,
            }
        }
    }
}

#[cold]
fn unreachable_default(errors: &[PolicyError]) -> Policy {
    // The default policy is checked by a unit test; reaching this is a build defect.
    let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
    panic!(
        "the built-in default policy does not build: {}",
        list.join("; ")
    )
}

#[cfg(test)]
mod tests;
