//! Building a `Policy` from its file: parse, check everything, compile CEL
//! once, and report **all** problems with their line and rule.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::SignedDuration;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::calendar::Calendar;
use super::channel::Channel;
use super::config::PolicyConfig;
use super::expr::Expr;
use super::parse::Broken;
use super::template::check_template;
use super::{Group, Impact, Policy, Route, Sampling, Trigger, Workflow};
use crate::Label;

/// Variables a route's `when` may use.
pub const ROUTE_VARIABLES: [&str; 6] = ["workflow", "impact", "reason", "tier", "title", "payload"];
/// Variables a trigger's `when` may use.
pub const SIGNAL_VARIABLES: [&str; 7] = [
    "confidence",
    "intent",
    "text",
    "sentiment",
    "explicit_request",
    "turn",
    "payload",
];

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// The rule it is about, e.g. `route "big-invoices"`, or `policy`.
    pub rule: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{line}: {}: {}", self.rule, self.message),
            None => write!(f, "{}: {}", self.rule, self.message),
        }
    }
}

/// Loads a file a policy refers to (a payload contract), by path relative to
/// the policy file; the caller does the IO.
pub type Loader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// The problems found so far: errors (the policy does not build) and
/// warnings (it builds, but something in it can never take effect).
pub(super) struct Errors<'t> {
    text: &'t str,
    list: Vec<PolicyError>,
    warnings: Vec<PolicyError>,
}

impl<'t> Errors<'t> {
    fn new(text: &'t str) -> Self {
        Errors {
            text,
            list: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn problem(&self, offset: Option<usize>, rule: String, message: String) -> PolicyError {
        let line = offset.map(|o| self.text[..o.min(self.text.len())].matches('\n').count() + 1);
        PolicyError {
            line,
            rule,
            message,
        }
    }

    /// Records an error at byte `offset` of the file.
    pub(super) fn at(
        &mut self,
        offset: Option<usize>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) {
        let e = self.problem(offset, rule.into(), message.into());
        self.list.push(e);
    }

    /// Records a warning at byte `offset` of the file.
    pub(super) fn warn(
        &mut self,
        offset: Option<usize>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) {
        let w = self.problem(offset, rule.into(), message.into());
        self.warnings.push(w);
    }
}

pub(super) fn start<T>(s: &Spanned<T>) -> Option<usize> {
    Some(s.span().start)
}

/// Longest accepted duration: ten years, in hours.
const MAX_HOURS: i64 = 10 * 366 * 24;

/// A duration such as `"15m"`, `"4h"`, `"1h 30m"` or `"2d"`; positive. A day
/// is 24 hours of the impact's clock: on a business-hours calendar, write
/// working days as hours (three 10-hour days are `"30h"`).
pub fn duration(text: &str) -> Result<SignedDuration, String> {
    let days = text
        .trim()
        .strip_suffix('d')
        .and_then(|n| n.trim().parse::<i64>().ok())
        .and_then(|n| n.checked_mul(24))
        .filter(|h| h.abs() <= MAX_HOURS);
    let parsed = match days {
        Some(hours) => Ok(SignedDuration::from_hours(hours)),
        None => text.parse::<SignedDuration>(),
    };
    let d = parsed.map_err(|_| {
        format!("{text:?} is not a duration; write e.g. \"15m\", \"4h\", \"1h 30m\" or \"2d\"")
    })?;
    if d <= SignedDuration::ZERO {
        return Err(format!("{text:?} must be longer than zero"));
    }
    if d > SignedDuration::from_hours(MAX_HOURS) {
        return Err(format!("{text:?} is longer than ten years"));
    }
    Ok(d)
}

impl Policy {
    /// Parses and checks `text`, compiling every expression once.
    ///
    /// Structural problems (a syntax error, an unknown section or key, a
    /// missing field, a value of the wrong type) are reported per entry, with
    /// the others still checked. Warnings (a policy that builds but has a
    /// rule that can never take effect) are kept in [`Policy::warnings`].
    ///
    /// # Errors
    /// Every problem found, in file order, each with its line and rule.
    pub fn build(text: &str, loader: Loader<'_>) -> Result<Policy, Vec<PolicyError>> {
        let mut errors = Errors::new(text);
        let Some((config, broken)) = super::parse::parse(text, &mut errors) else {
            return Err(errors.list);
        };
        // Files the policy loads count toward its version: a changed contract
        // file is a new policy.
        let loaded = std::cell::RefCell::new(Vec::new());
        let recording = |path: &str| {
            let result = loader(path);
            if let Ok(content) = &result {
                loaded.borrow_mut().push((path.to_owned(), content.clone()));
            }
            result
        };
        let mut policy = build_checked(&config, &broken, text, &recording, &mut errors);
        let mut hasher = Sha256::new();
        hasher.update(text.as_bytes());
        for (path, content) in loaded.borrow().iter() {
            hasher.update([0u8]);
            hasher.update(path.as_bytes());
            hasher.update([0u8]);
            hasher.update(content.as_bytes());
        }
        policy.version = hex::encode(hasher.finalize());
        if errors.list.is_empty() {
            errors.warnings.sort_by_key(|e| e.line.unwrap_or(0));
            policy.warnings = errors.warnings;
            Ok(policy)
        } else {
            errors.list.sort_by_key(|e| e.line.unwrap_or(0));
            Err(errors.list)
        }
    }
}

/// What a rule may refer to: the declared names, and those given to broken
/// entries (already reported, so not reported again as undeclared).
pub(super) struct Names<'a> {
    pub(super) groups: &'a BTreeMap<String, Group>,
    pub(super) impacts: &'a BTreeMap<String, Impact>,
    pub(super) channels: &'a BTreeMap<String, Channel>,
    pub(super) broken: &'a Broken,
}

impl Names<'_> {
    /// Whether `name` is a declared (or broken) group.
    pub(super) fn group(&self, name: &str) -> bool {
        self.groups.contains_key(name) || self.broken.has("group", name)
    }

    /// Whether `name` is a declared (or broken) impact.
    pub(super) fn impact(&self, name: &str) -> bool {
        self.impacts.contains_key(name) || self.broken.has("impact", name)
    }

    /// Whether `name` is a declared (or broken) channel.
    pub(super) fn channel(&self, name: &str) -> bool {
        self.channels.contains_key(name) || self.broken.has("channel", name)
    }
}

/// The keys of `map`, comma-separated, for "use one of …" messages.
pub(super) fn key_list<T>(map: &BTreeMap<String, T>) -> String {
    if map.is_empty() {
        return "(none declared)".to_owned();
    }
    map.keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn label(
    errors: &mut Errors,
    at: Option<usize>,
    rule: &str,
    field: &str,
    value: &str,
) -> Option<Label> {
    Label::parse(field, value)
        .map_err(|e| errors.at(at, rule, e.to_string()))
        .ok()
}

fn build_checked(
    config: &PolicyConfig,
    broken: &Broken,
    text: &str,
    loader: Loader<'_>,
    errors: &mut Errors,
) -> Policy {
    let mut calendars = BTreeMap::new();
    for c in &config.calendar {
        let rule = format!("calendar {:?}", c.get_ref().name);
        match Calendar::build(c.get_ref()) {
            Ok(cal) => {
                if calendars.insert(c.get_ref().name.clone(), cal).is_some() {
                    errors.at(
                        start(c),
                        &rule,
                        "declared twice; give each calendar its own name",
                    );
                }
            }
            Err(problems) => problems
                .into_iter()
                .for_each(|p| errors.at(start(c), &rule, p)),
        }
    }

    let mut groups = BTreeMap::new();
    for g in &config.group {
        let cfg = g.get_ref();
        let rule = format!("group {:?}", cfg.name);
        let Some(name) = label(errors, start(g), &rule, "name", &cfg.name) else {
            continue;
        };
        if cfg.capacity == Some(0) {
            errors.at(
                start(g),
                &rule,
                "capacity must be at least 1, or left out for no limit",
            );
        }
        let group = Group {
            display_name: cfg.display_name.clone().unwrap_or_else(|| cfg.name.clone()),
            capacity: cfg.capacity,
            assignment: cfg.assignment,
        };
        if groups.insert(name.to_string(), group).is_some() {
            errors.at(start(g), &rule, "declared twice");
        }
    }

    let mut handoff_reasons = BTreeMap::new();
    for (code, description) in &config.reasons.handoff {
        if label(errors, None, "reasons.handoff", code, code).is_some() {
            handoff_reasons.insert(code.clone(), description.clone());
        }
    }
    if handoff_reasons.is_empty() && !broken.any("reasons") {
        errors.at(
            None,
            "reasons.handoff",
            "declare at least one handoff reason, e.g. low_confidence = \"…\"",
        );
    }
    let mut resolution_reasons = BTreeMap::new();
    for (code, description) in &config.reasons.resolution {
        if label(errors, None, "reasons.resolution", code, code).is_some() {
            resolution_reasons.insert(code.clone(), description.clone());
        }
    }

    let mut impacts = BTreeMap::new();
    for i in &config.impact {
        let cfg = i.get_ref();
        let rule = format!("impact {:?}", cfg.name);
        let Some(name) = label(errors, start(i), &rule, "name", &cfg.name) else {
            continue;
        };
        let accept = duration(&cfg.accept_within)
            .map_err(|e| errors.at(start(i), &rule, format!("accept_within: {e}")));
        let resolve = duration(&cfg.resolve_within)
            .map_err(|e| errors.at(start(i), &rule, format!("resolve_within: {e}")));
        if let (Ok(a), Ok(r)) = (accept, resolve)
            && a > r
        {
            errors.at(
                start(i),
                &rule,
                "accept_within is longer than resolve_within",
            );
        }
        if !(cfg.reminder_at > 0.0 && cfg.reminder_at < 1.0) {
            errors.at(
                start(i),
                &rule,
                "reminder_at must be a fraction between 0 and 1, e.g. 0.75",
            );
        }
        if let Some(cal) = &cfg.calendar
            && !calendars.contains_key(cal)
            && !broken.has("calendar", cal)
        {
            errors.at(
                start(i),
                &rule,
                format!("calendar {cal:?} is not declared; add a [[calendar]] named so"),
            );
        }
        let impact = Impact {
            rank: cfg.rank,
            accept_within: accept.unwrap_or(SignedDuration::ZERO),
            resolve_within: resolve.unwrap_or(SignedDuration::ZERO),
            calendar: cfg.calendar.clone(),
            reminder_at: cfg.reminder_at,
            pause_while_waiting: cfg.pause_while_waiting,
        };
        if impacts.insert(name.to_string(), impact).is_some() {
            errors.at(start(i), &rule, "declared twice");
        }
    }
    if impacts.is_empty() && !broken.any("impact") {
        errors.at(None, "impact", "declare at least one [[impact]]");
    }

    let channels = super::channel::build_channels(&config.channel, errors);
    let names = Names {
        groups: &groups,
        impacts: &impacts,
        channels: &channels,
        broken,
    };

    let mut workflows = BTreeMap::new();
    for w in &config.workflow {
        let cfg = w.get_ref();
        let rule = format!("workflow {:?}", cfg.name);
        let Some(name) = label(errors, start(w), &rule, "name", &cfg.name) else {
            continue;
        };
        if !names.group(&cfg.default_group) {
            errors.at(
                start(w),
                &rule,
                format!(
                    "default_group {:?} is not a declared group; use one of {}",
                    cfg.default_group,
                    key_list(&groups)
                ),
            );
        }
        let contract = cfg.contract.as_ref().and_then(|c| {
            super::contract::Contract::from_toml(c, loader)
                .map_err(|e| errors.at(start(w), &rule, format!("contract: {e}")))
                .ok()
        });
        let workflow = Workflow {
            description: cfg.description.clone(),
            contract,
            on_incomplete: cfg.on_incomplete,
            default_group: cfg.default_group.clone(),
            callback_url: cfg.callback_url.clone(),
        };
        if workflows.insert(name.to_string(), workflow).is_some() {
            errors.at(start(w), &rule, "declared twice");
        }
    }

    let mut routes = Vec::new();
    let mut ids = BTreeSet::new();
    let mut catch_all: Option<String> = None;
    for r in &config.route {
        let cfg = r.get_ref();
        let rule = format!("route {:?}", cfg.id);
        if !ids.insert(format!("route:{}", cfg.id)) {
            errors.at(
                start(r),
                &rule,
                "this id is used twice; route ids must be unique",
            );
        }
        if let Some(earlier) = &catch_all {
            errors.at(
                start(r),
                &rule,
                format!("unreachable: route {earlier:?} before it matches everything"),
            );
        }
        if !names.group(&cfg.group) {
            errors.at(
                start(r),
                &rule,
                format!(
                    "group {:?} is not declared; use one of {}",
                    cfg.group,
                    key_list(&groups)
                ),
            );
        }
        let when = match &cfg.when {
            None => None,
            Some(w) if w.get_ref().trim() == "true" => None,
            Some(w) => Expr::compile(w.get_ref(), &ROUTE_VARIABLES)
                .map_err(|e| errors.at(start(w), &rule, format!("when: {e}")))
                .ok(),
        };
        if cfg
            .when
            .as_ref()
            .is_none_or(|w| w.get_ref().trim() == "true")
        {
            catch_all.get_or_insert(cfg.id.clone());
        }
        routes.push(Route {
            id: cfg.id.clone(),
            when,
            group: cfg.group.clone(),
        });
    }
    if catch_all.is_none() && !broken.any("route") {
        errors.at(
            None,
            "route",
            "no default route: end with a [[route]] that has no `when`",
        );
    }

    let mut triggers = Vec::new();
    for t in &config.trigger {
        let cfg = t.get_ref();
        let rule = format!("trigger {:?}", cfg.id);
        if !ids.insert(format!("trigger:{}", cfg.id)) {
            errors.at(
                start(t),
                &rule,
                "this id is used twice; trigger ids must be unique",
            );
        }
        if !handoff_reasons.contains_key(&cfg.reason) && !broken.any("reasons") {
            errors.at(
                start(t),
                &rule,
                format!(
                    "reason {:?} is not declared in [reasons.handoff]",
                    cfg.reason
                ),
            );
        }
        if !names.impact(&cfg.impact) {
            errors.at(
                start(t),
                &rule,
                format!("impact {:?} is not a declared [[impact]]", cfg.impact),
            );
        }
        if cfg.when.is_none() && cfg.keywords.is_empty() {
            errors.at(start(t), &rule, "give it a `when`, `keywords`, or both");
        }
        if cfg.keywords.iter().any(|k| k.trim().is_empty()) {
            errors.at(start(t), &rule, "keywords must not be empty strings");
        }
        if cfg.streak == Some(0) {
            errors.at(
                start(t),
                &rule,
                "streak must be at least 1 (turns in a row)",
            );
        }
        let when = cfg.when.as_ref().and_then(|w| {
            Expr::compile(w.get_ref(), &SIGNAL_VARIABLES)
                .map_err(|e| errors.at(start(w), &rule, format!("when: {e}")))
                .ok()
        });
        triggers.push(Trigger {
            id: cfg.id.clone(),
            when,
            keywords: cfg.keywords.iter().map(|k| k.to_lowercase()).collect(),
            keyword_ids: Vec::new(),
            streak: cfg.streak.unwrap_or(1),
            action: cfg.action,
            tier: cfg.tier,
            reason: cfg.reason.clone(),
            impact: cfg.impact.clone(),
        });
    }

    let s = &config.sampling;
    if !(0.0..=1.0).contains(&s.rate) {
        errors.at(None, "sampling", "rate must be from 0 to 1");
    }
    if s.rate > 0.0 {
        match &s.reason {
            Some(r) if handoff_reasons.contains_key(r) || broken.any("reasons") => {}
            _ => errors.at(
                None,
                "sampling",
                "with a rate above 0, set `reason` to a declared handoff reason",
            ),
        }
        match &s.impact {
            Some(i) if names.impact(i) => {}
            _ => errors.at(
                None,
                "sampling",
                "with a rate above 0, set `impact` to a declared impact",
            ),
        }
    }
    let sampling = Sampling {
        rate: s.rate,
        reason: s.reason.clone().unwrap_or_default(),
        impact: s.impact.clone().unwrap_or_default(),
    };

    let mut templates = BTreeMap::new();
    for t in &config.template {
        let cfg = t.get_ref();
        let rule = format!("template {:?}", cfg.id);
        for problem in check_template(&cfg.text) {
            errors.at(start(t), &rule, problem);
        }
        if templates.insert(cfg.id.clone(), cfg.text.clone()).is_some() {
            errors.at(start(t), &rule, "declared twice");
        }
    }

    let escalations = super::escalation::build_escalations(&config.escalation, &names, errors);

    Policy {
        version: hex::encode(Sha256::digest(text.as_bytes())),
        workflows,
        handoff_reasons,
        resolution_reasons,
        impacts,
        calendars,
        groups,
        routes,
        keyword_index: super::trigger::KeywordIndex::build(&mut triggers),
        triggers,
        sampling,
        templates,
        channels,
        escalations,
        warnings: Vec::new(),
    }
}
