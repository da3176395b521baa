//! `PolicyConfig`: the policy file as written (serde, `deny_unknown_fields`),
//! before [`super::Policy::build`] checks and compiles it. Build reads each
//! section and each `[[…]]` entry on its own (see `parse.rs`), so one bad
//! entry does not hide the problems of the others.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::calendar::CalendarConfig;

/// The whole policy file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// `[[workflow]]`: what automations hand off and what they must send.
    #[serde(default)]
    pub workflow: Vec<Spanned<WorkflowConfig>>,
    /// `[reasons]`: the handoff- and resolution-reason taxonomies.
    #[serde(default)]
    pub reasons: ReasonsConfig,
    /// `[[impact]]`: customer impacts and their SLA targets.
    #[serde(default)]
    pub impact: Vec<Spanned<ImpactConfig>>,
    /// `[[calendar]]`: business-hours calendars.
    #[serde(default)]
    pub calendar: Vec<Spanned<CalendarConfig>>,
    /// `[[group]]`: owner groups.
    #[serde(default)]
    pub group: Vec<Spanned<GroupConfig>>,
    /// `[[route]]`: ordered routing rules; first match wins.
    #[serde(default)]
    pub route: Vec<Spanned<RouteConfig>>,
    /// `[[trigger]]`: when an agent's signal becomes a handoff.
    #[serde(default)]
    pub trigger: Vec<Spanned<TriggerConfig>>,
    /// `[sampling]`: review a share of automated work.
    #[serde(default)]
    pub sampling: SamplingConfig,
    /// `[[template]]`: customer-safe note templates.
    #[serde(default)]
    pub template: Vec<Spanned<TemplateConfig>>,
    /// `[[channel]]`: where notifications go (webhook, Slack, e-mail).
    #[serde(default)]
    pub channel: Vec<Spanned<ChannelConfig>>,
    /// `[[escalation]]`: escalation chains; the first whose `when` matches applies.
    #[serde(default)]
    pub escalation: Vec<Spanned<EscalationConfig>>,
}

/// What happens to a handoff whose payload misses required fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnIncomplete {
    /// Refuse it with 422, naming each missing or invalid field.
    #[default]
    Reject,
    /// Accept it parked in `needs_context` until the fields arrive.
    NeedsContext,
}

/// One `[[workflow]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowConfig {
    /// Its name, a label such as `support-chat`.
    pub name: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// The payload contract: a JSON Schema as an inline table, or a path to a
    /// `.json` file (relative to the policy file).
    #[serde(default)]
    pub contract: Option<toml::Value>,
    /// What to do with an incomplete payload.
    #[serde(default)]
    pub on_incomplete: OnIncomplete,
    /// Owner group when no route matches more specifically.
    pub default_group: String,
    /// Default callback URL for decisions.
    #[serde(default)]
    pub callback_url: Option<String>,
}

/// `[reasons]`: code → description for both taxonomies.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReasonsConfig {
    /// Why the automated path stopped (`low_confidence`, …).
    #[serde(default)]
    pub handoff: BTreeMap<String, String>,
    /// Why a person resolved as they did.
    #[serde(default)]
    pub resolution: BTreeMap<String, String>,
}

/// One `[[impact]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactConfig {
    /// Its name, e.g. `critical`.
    pub name: String,
    /// Order of urgency: 1 is the most urgent.
    pub rank: u32,
    /// Time to accept (claim), e.g. `"15m"`, in working time.
    pub accept_within: String,
    /// Time to resolve, e.g. `"4h"`, in working time.
    pub resolve_within: String,
    /// Calendar name; wall-clock time when absent.
    #[serde(default)]
    pub calendar: Option<String>,
    /// Fraction of the window after which a reminder fires (0 < x < 1).
    #[serde(default = "default_reminder")]
    pub reminder_at: f64,
    /// Whether the clocks stop while the handoff is `waiting`.
    #[serde(default = "yes")]
    pub pause_while_waiting: bool,
}

fn default_reminder() -> f64 {
    0.75
}

fn yes() -> bool {
    true
}

/// How work reaches the members of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Members claim from the queue.
    #[default]
    Claim,
    /// Assigned to members in turn.
    RoundRobin,
    /// Assigned to the member with the fewest open items.
    LeastLoaded,
}

/// One `[[group]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Its name, a label.
    pub name: String,
    /// The name customers may see in notes.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Most open items each reviewer of the group holds at once (automatic
    /// assignment; docs/assignment.md).
    #[serde(default)]
    pub capacity: Option<u32>,
    /// How work reaches members.
    #[serde(default)]
    pub assignment: Assignment,
}

/// One `[[route]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A unique id, named in decisions.
    pub id: String,
    /// CEL over the handoff (`workflow`, `impact`, `reason`, `tier`,
    /// `title`, `payload`); absent means "always" (the default route).
    #[serde(default)]
    pub when: Option<Spanned<String>>,
    /// The owner group it routes to.
    pub group: String,
}

/// One `[[trigger]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerConfig {
    /// A unique id, named in decisions.
    pub id: String,
    /// CEL over the signal (`confidence`, `intent`, `text`, `sentiment`,
    /// `explicit_request`, `turn`, `payload`).
    #[serde(default)]
    pub when: Option<Spanned<String>>,
    /// Words or phrases matched case-insensitively on word boundaries in `text`.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The condition must hold for this many consecutive turns.
    #[serde(default)]
    pub streak: Option<u32>,
    /// `handoff` (the default) or `review_later`.
    #[serde(default)]
    pub action: TriggerAction,
    /// `warm` or `immediate`.
    #[serde(default)]
    pub tier: crate::Tier,
    /// The handoff reason it records.
    pub reason: String,
    /// The customer impact it sets.
    pub impact: String,
}

/// What a firing trigger asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAction {
    /// Hand off now.
    #[default]
    Handoff,
    /// Let the automation proceed, and review afterwards.
    ReviewLater,
}

/// `[sampling]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SamplingConfig {
    /// Share (0 to 1) of `proceed` decisions sent to review as `review_later`.
    #[serde(default)]
    pub rate: f64,
    /// Handoff reason recorded on sampled items.
    #[serde(default)]
    pub reason: Option<String>,
    /// Customer impact of sampled items.
    #[serde(default)]
    pub impact: Option<String>,
}

/// One `[[template]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// A unique id.
    pub id: String,
    /// The note, with `{placeholder}`s.
    pub text: String,
}

/// The kind of a `[[channel]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKindConfig {
    /// A signed HTTP POST to `url` (needs `url` and `secret_env`).
    Webhook,
    /// A Slack incoming webhook at `url`.
    Slack,
    /// E-mail to the addresses in `to`.
    Email,
}

/// One `[[channel]]`: where notifications go.
///
/// ```toml
/// [[channel]]
/// name = "ops-hook"
/// kind = "webhook"
/// url = "https://hooks.example.com/baton"
/// secret_env = "BATON_WHSEC_OPS"
/// events = ["created:immediate", "breach", "escalated"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// Its name, a unique label that escalation levels refer to.
    pub name: String,
    /// `webhook`, `slack` or `email`.
    pub kind: ChannelKindConfig,
    /// For `webhook` and `slack` (required there): an `http(s)://` URL.
    #[serde(default)]
    pub url: Option<String>,
    /// For `webhook` (required there): the *name* of the environment variable
    /// that holds the `whsec_<base64>` signing secret, e.g.
    /// `"BATON_WHSEC_OPS"`; never the secret itself.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Never allowed: build refuses it, since the policy text is stored and
    /// served. Read only so that build can say so (its value is never kept).
    #[serde(default)]
    pub secret: Option<serde::de::IgnoredAny>,
    /// For `email` (required there): at least one address.
    #[serde(default)]
    pub to: Option<Vec<String>>,
    /// Which events it is told about (see `NotifyOn`); all of them when absent.
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// One `[[escalation]]`: an escalation chain.
///
/// ```toml
/// [[escalation]]
/// id = "major-incident"
/// when = 'impact == "major"'
/// [[escalation.level]]
/// after = "accept_breach"
/// notify = ["ops-hook"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    /// A unique id.
    pub id: String,
    /// CEL over the handoff, as a route's `when` (`workflow`, `impact`,
    /// `reason`, `tier`, `title`, `payload`); absent means every handoff.
    #[serde(default)]
    pub when: Option<Spanned<String>>,
    /// `[[escalation.level]]`: the levels, in the order they fire.
    #[serde(default)]
    pub level: Vec<Spanned<LevelConfig>>,
}

/// One `[[escalation.level]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelConfig {
    /// When it fires: an SLA event (`accept_reminder`, `accept_breach`,
    /// `resolve_reminder`, `resolve_breach`) or a duration such as `"30m"`
    /// (wall-clock time since the handoff was created, for the first level,
    /// or since the previous level fired).
    pub after: String,
    /// Channel names to notify.
    #[serde(default)]
    pub notify: Vec<String>,
    /// An owner group to reassign the handoff to.
    #[serde(default)]
    pub reassign: Option<String>,
    /// A more urgent impact to raise the handoff to.
    #[serde(default)]
    pub raise_impact: Option<String>,
    /// How many more times it fires after the first, every `every`.
    #[serde(default)]
    pub repeat: u32,
    /// The wall-clock interval between repeats, e.g. `"30m"`; required when
    /// `repeat` is above 0.
    #[serde(default)]
    pub every: Option<String>,
    /// An automatic action: `"reject"`, `"approve"` or `"route:GROUP"`.
    #[serde(default)]
    pub auto: Option<String>,
    /// `[[escalation.level.fanout]]`: several roles told at once, each with
    /// its own channel and share of the context.
    #[serde(default)]
    pub fanout: Vec<Spanned<FanOutConfig>>,
}

/// One `[[escalation.level.fanout]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOutConfig {
    /// The role told, a label such as `"traders"`.
    pub role: String,
    /// The channel it is told on.
    pub channel: String,
    /// The context fields it receives: `"summary"`, `"messages"`,
    /// `"ai_assessment"`, `"links"`, `"suggested_actions"`, `"payload"` or
    /// `"payload.<dotted path>"`.
    pub context: Vec<String>,
}
