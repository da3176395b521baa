//! `MappingConfig`: which attribute holds what, how a support line is derived
//! from the owner group, and how status values become lifecycle steps.

use serde::Deserialize;

use super::{Attributes, Case};

/// A lifecycle step a status value stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Queued, no owner.
    Pending,
    /// Taken up by the owner.
    Claimed,
    /// Waiting on the requester or a third party.
    Waiting,
    /// Resolved.
    Resolved,
    /// Closed (including cancelled).
    Closed,
}

/// One status rule: when `status` (and `sub_status`, if given) match, the
/// event is `step`. Rules apply in order; the first match wins.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRule {
    /// The status value, e.g. `Completed`.
    pub status: String,
    /// The sub-status value, e.g. `Resolved`; any when absent.
    #[serde(default)]
    pub sub_status: Option<String>,
    /// What it means.
    pub step: Step,
}

/// How the support line is derived from the owner group's name.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// Name suffix → line, e.g. `"2nd" = 2`.
    #[serde(default)]
    pub suffixes: std::collections::BTreeMap<String, u8>,
    /// The line of a group with none of the suffixes.
    #[serde(default = "line_one")]
    pub default: u8,
    /// The policy's owner group for each line (`{ 1 = "service-desk" }`),
    /// used where the log's own teams are not groups the policy declares:
    /// live replays and simulations.
    #[serde(default)]
    pub groups: std::collections::BTreeMap<String, String>,
}

fn line_one() -> u8 {
    1
}

impl Default for LineConfig {
    fn default() -> Self {
        Self {
            suffixes: Default::default(),
            default: 1,
            groups: Default::default(),
        }
    }
}

/// What imported handoffs are: the fields a log does not hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandoffDefaults {
    /// The workflow label, e.g. `incident`.
    pub workflow: String,
    /// The handoff reason label of every imported item.
    pub reason: String,
    /// The `subject.source` of imported items, e.g. `bpic2013`.
    pub source: String,
    /// Attribute (of the trace, else its first event that has it) shown in
    /// the title after the case id, e.g. `product`.
    pub title: Option<String>,
    /// The resolution recorded when the log says resolved.
    pub resolution: crate::Resolution,
    /// The resolution reason recorded when the log says resolved.
    pub resolution_reason: String,
    /// The customer impact when the log has none.
    pub impact: String,
}

impl Default for HandoffDefaults {
    fn default() -> Self {
        Self {
            workflow: "imported".into(),
            reason: "imported".into(),
            source: "event-log".into(),
            title: None,
            resolution: crate::Resolution::Corrected,
            resolution_reason: "resolved".into(),
            impact: "medium".into(),
        }
    }
}

/// The mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Trace attribute holding the case id.
    pub case_id: String,
    /// Event attribute holding the timestamp.
    pub timestamp: String,
    /// Event attribute holding the status.
    pub status: String,
    /// Event attribute holding the sub-status.
    #[serde(default)]
    pub sub_status: Option<String>,
    /// Event attribute holding the owner group (support team).
    pub owner_group: String,
    /// Event attribute holding the assignee.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Event attribute holding the customer impact.
    #[serde(default)]
    pub impact: Option<String>,
    /// Support line derivation.
    #[serde(default)]
    pub line: LineConfig,
    /// Status rules, in order.
    #[serde(default, rename = "status_rule")]
    pub status_rules: Vec<StatusRule>,
    /// `strftime` format of timestamps (e.g. `%Y/%m/%d %H:%M:%S %z`); RFC
    /// 3339 (as XES writes them) when absent.
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// Time zone of timestamps that carry no offset, e.g. `Europe/Stockholm`;
    /// UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The fields of imported handoffs the log does not hold.
    #[serde(default)]
    pub handoff: HandoffDefaults,
}

impl MappingConfig {
    /// Parses a mapping file.
    ///
    /// # Errors
    /// The TOML error, naming the line.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The case id of `case`, if it has one.
    pub fn case_id<'c>(&self, case: &'c Case) -> Option<&'c str> {
        case.attributes.get(&self.case_id).map(String::as_str)
    }

    /// The timestamp of an event: RFC 3339, or `timestamp_format` when set.
    ///
    /// # Errors
    /// Why the text is not a timestamp.
    pub fn timestamp(&self, event: &Attributes) -> Result<jiff::Timestamp, String> {
        let text = event
            .get(&self.timestamp)
            .ok_or_else(|| format!("no `{}` attribute", self.timestamp))?;
        let zone = match &self.time_zone {
            Some(name) => jiff::tz::TimeZone::get(name).map_err(|e| format!("time_zone: {e}"))?,
            None => jiff::tz::TimeZone::UTC,
        };
        let parsed = match &self.timestamp_format {
            Some(format) => jiff::fmt::strtime::parse(format, text).and_then(|tm| {
                tm.to_timestamp().or_else(|_| {
                    tm.to_datetime()
                        .and_then(|dt| dt.to_zoned_datetime(zone.clone()))
                        .map(|z| z.timestamp())
                })
            }),
            None => text.parse::<jiff::Timestamp>().or_else(|e| {
                text.parse::<jiff::civil::DateTime>()
                    .map_err(|_| e)
                    .and_then(|dt| dt.to_zoned_datetime(zone.clone()))
                    .map(|z| z.timestamp())
            }),
        };
        parsed.map_err(|e| format!("`{text}` is not a timestamp: {e}"))
    }

    /// The owner group of an event.
    pub fn group<'e>(&self, event: &'e Attributes) -> Option<&'e str> {
        event.get(&self.owner_group).map(String::as_str)
    }

    /// The support line of a group.
    pub fn line_of(&self, group: &str) -> u8 {
        self.line
            .suffixes
            .iter()
            .find(|(suffix, _)| group.ends_with(suffix.as_str()))
            .map_or(self.line.default, |(_, line)| *line)
    }

    /// The policy's owner group for `line`, if the mapping names one.
    pub fn group_of_line(&self, line: u8) -> Option<&str> {
        self.line.groups.get(&line.to_string()).map(String::as_str)
    }

    /// The step an event stands for; `None` for a status no rule maps.
    pub fn step(&self, event: &Attributes) -> Option<Step> {
        let status = event.get(&self.status)?;
        let sub = self.sub_status.as_ref().and_then(|k| event.get(k));
        self.status_rules
            .iter()
            .find(|r| &r.status == status && r.sub_status.as_ref().is_none_or(|s| Some(s) == sub))
            .map(|r| r.step)
    }
}
