//! Escalation chains (`[[escalation]]`): for the handoffs a chain's `when`
//! matches, levels that fire on an SLA event or after a wall-clock delay and
//! notify channels, reassign, raise the impact, act automatically or fan the
//! handoff out to several roles, each with its own share of the context.
//! Pure: the policy says what a level does; the server's scheduler fires it.

use std::collections::BTreeSet;
use std::fmt;

use jiff::SignedDuration;
use serde_json::{Map, Value, json};
use toml::Spanned;

use super::Policy;
use super::build::{Errors, Names, ROUTE_VARIABLES, duration, key_list, label, start};
use super::config::{EscalationConfig, FanOutConfig, LevelConfig};
use super::expr::{Expr, Facts};
use super::fast::{self, Fast, Op};
use crate::ContextPacket;

/// An escalation chain as built.
#[derive(Debug, Clone)]
pub struct EscalationChain {
    /// Its unique id.
    pub id: String,
    /// Which handoffs it applies to (CEL over [`ROUTE_VARIABLES`]); every
    /// handoff when `None`.
    pub when: Option<Expr>,
    /// Its levels, in the order they fire.
    pub levels: Vec<EscalationLevel>,
}

/// One level of an escalation chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationLevel {
    /// Its place in the chain, from 0.
    pub index: usize,
    /// When it fires.
    pub after: LevelStart,
    /// Channel names to notify (each declared).
    pub notify: Vec<String>,
    /// A declared owner group to reassign the handoff to.
    pub reassign: Option<String>,
    /// A declared, more urgent impact to raise the handoff to.
    pub raise_impact: Option<String>,
    /// How many more times it fires after the first, every [`Self::every`].
    pub repeat: u32,
    /// The wall-clock interval between repeats; set when `repeat` is above 0.
    pub every: Option<SignedDuration>,
    /// What it does on its own when it fires.
    pub auto: Option<AutoAction>,
    /// Roles told at once, each on its channel with its share of the context.
    pub fanout: Vec<FanOut>,
}

/// When a level fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelStart {
    /// When the handoff's SLA event happens (on the impact's calendar).
    Sla(SlaEvent),
    /// This much wall-clock time after the handoff was created (the first
    /// level) or after the previous level fired (the others).
    Elapsed(SignedDuration),
}

/// An SLA event of a handoff, from its impact's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SlaEvent {
    /// `accept_reminder`: the reminder point of the time to accept.
    AcceptReminder,
    /// `accept_breach`: the time to accept ran out unclaimed.
    AcceptBreach,
    /// `resolve_reminder`: the reminder point of the time to resolve.
    ResolveReminder,
    /// `resolve_breach`: the time to resolve ran out.
    ResolveBreach,
}

/// What a level does on its own when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoAction {
    /// `"reject"`: resolve as rejected.
    Reject,
    /// `"approve"`: resolve as approved.
    Approve,
    /// `"route:GROUP"`: reassign to the declared group.
    Route(String),
}

/// One role a level fans out to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOut {
    /// The role, a label such as `traders`.
    pub role: String,
    /// The declared channel it is told on.
    pub channel: String,
    /// The context fields it receives, and only those.
    pub context: Vec<ContextField>,
}

/// A field of a handoff's context packet that a fan-out role may receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextField {
    /// `"summary"`.
    Summary,
    /// `"messages"`.
    Messages,
    /// `"ai_assessment"`.
    AiAssessment,
    /// `"links"`.
    Links,
    /// `"suggested_actions"`.
    SuggestedActions,
    /// `"payload"` (the whole payload, when empty) or `"payload.a.b"`.
    Payload(Vec<String>),
}

impl SlaEvent {
    /// Every SLA event.
    pub const ALL: [SlaEvent; 4] = [
        SlaEvent::AcceptReminder,
        SlaEvent::AcceptBreach,
        SlaEvent::ResolveReminder,
        SlaEvent::ResolveBreach,
    ];

    /// Its name in the policy file, e.g. `"accept_breach"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaEvent::AcceptReminder => "accept_reminder",
            SlaEvent::AcceptBreach => "accept_breach",
            SlaEvent::ResolveReminder => "resolve_reminder",
            SlaEvent::ResolveBreach => "resolve_breach",
        }
    }

    /// The event named `name` in the policy file.
    pub fn parse(name: &str) -> Option<SlaEvent> {
        SlaEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }

    fn is_accept(self) -> bool {
        matches!(self, SlaEvent::AcceptReminder | SlaEvent::AcceptBreach)
    }

    /// Whether `self` always happens before `later`: accept events before
    /// resolve ones, and each reminder before its breach.
    fn always_before(self, later: SlaEvent) -> bool {
        (self.is_accept() && !later.is_accept())
            || matches!(
                (self, later),
                (SlaEvent::AcceptReminder, SlaEvent::AcceptBreach)
                    | (SlaEvent::ResolveReminder, SlaEvent::ResolveBreach)
            )
    }
}

impl fmt::Display for SlaEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ContextField {
    /// Reads a field as the policy writes it: `"summary"`, `"messages"`,
    /// `"ai_assessment"`, `"links"`, `"suggested_actions"`, `"payload"` or
    /// `"payload.<dotted path>"`.
    ///
    /// # Errors
    /// A lowercase message naming the field and the accepted ones.
    pub fn parse(text: &str) -> Result<ContextField, String> {
        Ok(match text {
            "summary" => ContextField::Summary,
            "messages" => ContextField::Messages,
            "ai_assessment" => ContextField::AiAssessment,
            "links" => ContextField::Links,
            "suggested_actions" => ContextField::SuggestedActions,
            "payload" => ContextField::Payload(Vec::new()),
            _ => match text.strip_prefix("payload.") {
                Some(path) if path.split('.').all(|p| !p.is_empty()) => {
                    ContextField::Payload(path.split('.').map(str::to_owned).collect())
                }
                _ => {
                    return Err(format!(
                        "unknown context field {text:?}; use summary, messages, ai_assessment, \
                         links, suggested_actions, payload or payload.<dotted path>"
                    ));
                }
            },
        })
    }

    /// Only the `fields` of `packet`, as a JSON object shaped like the
    /// packet: `{"payload": {"market_data": …}, "ai_assessment": …}`. A
    /// field the packet lacks (no assessment, no such payload path) is left
    /// out rather than sent as `null`.
    pub fn select(fields: &[ContextField], packet: &ContextPacket) -> Value {
        let mut out = Map::new();
        for field in fields {
            let (key, value) = match field {
                ContextField::Summary => ("summary", json!(packet.summary)),
                ContextField::Messages => ("messages", json!(packet.messages)),
                ContextField::AiAssessment => match &packet.ai_assessment {
                    Some(a) => ("ai_assessment", json!(a)),
                    None => continue,
                },
                ContextField::Links => ("links", json!(packet.links)),
                ContextField::SuggestedActions => {
                    ("suggested_actions", json!(packet.suggested_actions))
                }
                ContextField::Payload(path) => {
                    select_path(&mut out, &packet.payload, path);
                    continue;
                }
            };
            out.insert(key.to_owned(), value);
        }
        Value::Object(out)
    }
}

impl fmt::Display for ContextField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContextField::Summary => f.write_str("summary"),
            ContextField::Messages => f.write_str("messages"),
            ContextField::AiAssessment => f.write_str("ai_assessment"),
            ContextField::Links => f.write_str("links"),
            ContextField::SuggestedActions => f.write_str("suggested_actions"),
            ContextField::Payload(path) if path.is_empty() => f.write_str("payload"),
            ContextField::Payload(path) => write!(f, "payload.{}", path.join(".")),
        }
    }
}

/// Copies `payload` at `path` into `out["payload"]` at the same path.
fn select_path(out: &mut Map<String, Value>, payload: &Map<String, Value>, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        out.insert("payload".to_owned(), Value::Object(payload.clone()));
        return;
    };
    let mut source = payload;
    for key in parents {
        match source.get(key) {
            Some(Value::Object(inner)) => source = inner,
            _ => return,
        }
    }
    let Some(value) = source.get(last) else {
        return;
    };
    let mut node = out
        .entry("payload")
        .or_insert_with(|| Value::Object(Map::new()));
    for key in parents {
        // Not an object: a wider selection already holds this path.
        let Value::Object(map) = node else { return };
        node = map
            .entry(key.as_str())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Value::Object(map) = node {
        map.entry(last.as_str()).or_insert_with(|| value.clone());
    }
}

impl FanOut {
    /// The part of `packet` this role receives (see [`ContextField::select`]).
    pub fn context_for(&self, packet: &ContextPacket) -> Value {
        ContextField::select(&self.context, packet)
    }
}

impl Policy {
    /// The escalation chain for a handoff described as for [`Policy::route`]:
    /// the first whose `when` matches (a `when` that fails to evaluate does
    /// not match); `None` when none does.
    pub fn escalation_for(
        &self,
        workflow: &str,
        impact: &str,
        reason: &str,
        tier: &str,
        title: &str,
        payload: &Value,
    ) -> Option<&EscalationChain> {
        if self.escalations.is_empty() {
            return None;
        }
        let facts = Facts::from_value(json!({
            "workflow": workflow, "impact": impact, "reason": reason,
            "tier": tier, "title": title, "payload": payload,
        }));
        facts.scope(|scope| {
            self.escalations.iter().find(|chain| match &chain.when {
                None => true,
                Some(expr) => expr.matches(scope).unwrap_or(false),
            })
        })
    }

    /// Every escalation chain, in file order.
    pub fn escalations(&self) -> &[EscalationChain] {
        &self.escalations
    }
}

/// Checks every `[[escalation]]`, recording errors and warnings in `errors`.
pub(super) fn build_escalations(
    configs: &[Spanned<EscalationConfig>],
    names: &Names,
    errors: &mut Errors,
) -> Vec<EscalationChain> {
    let mut chains = Vec::new();
    let mut ids = BTreeSet::new();
    for c in configs {
        let cfg = c.get_ref();
        let rule = format!("escalation {:?}", cfg.id);
        let Some(id) = label(errors, start(c), &rule, "id", &cfg.id) else {
            continue;
        };
        if !ids.insert(id.to_string()) {
            errors.at(
                start(c),
                &rule,
                "this id is used twice; escalation ids must be unique",
            );
        }
        let mut impacts = None;
        let when = match &cfg.when {
            None => None,
            Some(w) if w.get_ref().trim() == "true" => None,
            Some(w) => {
                impacts = fast::compile(w.get_ref()).and_then(|f| impacts_matched(&f));
                check_impacts_exist(impacts.as_ref(), names, errors, start(w), &rule);
                Expr::compile(w.get_ref(), &ROUTE_VARIABLES)
                    .map_err(|e| errors.at(start(w), &rule, format!("when: {e}")))
                    .ok()
            }
        };
        if cfg.level.is_empty() {
            errors.at(
                start(c),
                &rule,
                "give it at least one [[escalation.level]], e.g. after = \"accept_breach\"",
            );
        }
        let levels: Vec<EscalationLevel> = cfg
            .level
            .iter()
            .enumerate()
            .map(|(index, l)| {
                let mut check = Check {
                    errors,
                    rule: &rule,
                    at: start(l),
                    prefix: format!("level {}", index + 1),
                };
                check.level(index, l.get_ref(), names, impacts.as_ref())
            })
            .collect();
        warn_unreachable(&levels, &cfg.level, errors, &rule);
        chains.push(EscalationChain {
            id: id.to_string(),
            when,
            levels,
        });
    }
    chains
}

/// The impacts a condition can match when it says so plainly
/// (`impact == "major"`, `impact in [...]`, joined by `||` and `&&`).
fn impacts_matched(condition: &Fast) -> Option<BTreeSet<String>> {
    let is_impact = |f: &Fast| matches!(f, Fast::Path(p) if p.len() == 1 && p[0] == "impact");
    match condition {
        Fast::Cmp(Op::Eq, a, b) => match (a.as_ref(), b.as_ref()) {
            (p, Fast::Lit(Value::String(s))) | (Fast::Lit(Value::String(s)), p) if is_impact(p) => {
                Some(BTreeSet::from([s.clone()]))
            }
            _ => None,
        },
        Fast::In(a, items) if is_impact(a) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        ),
        Fast::Or(a, b) => Some(&impacts_matched(a)? | &impacts_matched(b)?),
        Fast::And(a, b) => match (impacts_matched(a), impacts_matched(b)) {
            (Some(a), Some(b)) => Some(&a & &b),
            (Some(only), None) | (None, Some(only)) => Some(only),
            (None, None) => None,
        },
        _ => None,
    }
}

/// Warns when a chain's `when` can only match impacts that are not declared.
fn check_impacts_exist(
    impacts: Option<&BTreeSet<String>>,
    names: &Names,
    errors: &mut Errors,
    at: Option<usize>,
    rule: &str,
) {
    let Some(impacts) = impacts else { return };
    if impacts.iter().any(|i| names.impact(i)) {
        return;
    }
    let message = if impacts.is_empty() {
        "when can never match: it asks for two different impacts at once, so this chain never \
         applies"
            .to_owned()
    } else {
        let list: Vec<String> = impacts.iter().map(|i| format!("{i:?}")).collect();
        format!(
            "when matches only impact {}, which is not declared, so this chain never applies; \
             use one of {}",
            list.join(" or "),
            key_list(names.impacts)
        )
    };
    errors.warn(at, rule, message);
}

/// The checks of one level, each problem prefixed with `level N`.
struct Check<'e, 't, 'r> {
    errors: &'e mut Errors<'t>,
    rule: &'r str,
    at: Option<usize>,
    prefix: String,
}

impl Check<'_, '_, '_> {
    fn error(&mut self, message: impl fmt::Display) {
        let message = format!("{}: {message}", self.prefix);
        self.errors.at(self.at, self.rule, message);
    }

    fn level(
        &mut self,
        index: usize,
        cfg: &LevelConfig,
        names: &Names,
        chain_impacts: Option<&BTreeSet<String>>,
    ) -> EscalationLevel {
        let after = self.after(&cfg.after);
        for channel in &cfg.notify {
            if !names.channel(channel) {
                self.error(format_args!(
                    "notify: channel {channel:?} is not declared; use one of {}",
                    key_list(names.channels)
                ));
            }
        }
        if let Some(group) = &cfg.reassign
            && !names.group(group)
        {
            self.error(format_args!(
                "reassign: group {group:?} is not declared; use one of {}",
                key_list(names.groups)
            ));
        }
        if let Some(raised) = &cfg.raise_impact {
            self.raise_impact(raised, names, chain_impacts);
        }
        let every = cfg.every.as_ref().and_then(|e| {
            duration(e)
                .map_err(|problem| self.error(format_args!("every: {problem}")))
                .ok()
        });
        if cfg.repeat > 0 && cfg.every.is_none() {
            self.error(format_args!(
                "repeat = {} needs every, the wall-clock interval between repeats, e.g. every = \"30m\"",
                cfg.repeat
            ));
        }
        let auto = cfg.auto.as_deref().and_then(|a| self.auto(a, names));
        let fanout: Vec<FanOut> = cfg
            .fanout
            .iter()
            .enumerate()
            .filter_map(|(i, f)| self.fanout(i, f, names))
            .collect();
        let mut roles = BTreeSet::new();
        for f in &fanout {
            if !roles.insert(f.role.as_str()) {
                self.error(format_args!(
                    "fanout: role {:?} is listed twice; merge its context fields",
                    f.role
                ));
            }
        }
        let does_nothing = cfg.notify.is_empty()
            && cfg.fanout.is_empty()
            && cfg.reassign.is_none()
            && cfg.raise_impact.is_none()
            && cfg.auto.is_none();
        if does_nothing {
            self.error("does nothing; give it notify, fanout, reassign, raise_impact or auto");
        }
        EscalationLevel {
            index,
            after: after.unwrap_or(LevelStart::Elapsed(SignedDuration::ZERO)),
            notify: cfg.notify.clone(),
            reassign: cfg.reassign.clone(),
            raise_impact: cfg.raise_impact.clone(),
            repeat: cfg.repeat,
            every,
            auto,
            fanout,
        }
    }

    fn after(&mut self, text: &str) -> Option<LevelStart> {
        if let Some(event) = SlaEvent::parse(text) {
            return Some(LevelStart::Sla(event));
        }
        match duration(text) {
            Ok(d) => Some(LevelStart::Elapsed(d)),
            Err(problem) if text.trim_start().starts_with(|c: char| c.is_ascii_digit()) => {
                self.error(format_args!("after: {problem}"));
                None
            }
            Err(_) => {
                self.error(format_args!(
                    "after: {text:?} is neither an sla event (accept_reminder, accept_breach, \
                     resolve_reminder, resolve_breach) nor a duration such as \"30m\""
                ));
                None
            }
        }
    }

    fn raise_impact(
        &mut self,
        raised: &str,
        names: &Names,
        chain_impacts: Option<&BTreeSet<String>>,
    ) {
        let Some(new) = names.impacts.get(raised) else {
            if !names.impact(raised) {
                self.error(format_args!(
                    "raise_impact: impact {raised:?} is not declared; use one of {}",
                    key_list(names.impacts)
                ));
            }
            return;
        };
        for from in chain_impacts.into_iter().flatten() {
            if let Some(old) = names.impacts.get(from)
                && new.rank >= old.rank
            {
                self.error(format_args!(
                    "raise_impact: {raised:?} (rank {}) is not more urgent than {from:?} (rank {}), \
                     which this chain applies to; raise to an impact of a lower rank, or leave \
                     raise_impact out",
                    new.rank, old.rank
                ));
            }
        }
    }

    fn auto(&mut self, text: &str, names: &Names) -> Option<AutoAction> {
        match text {
            "reject" => Some(AutoAction::Reject),
            "approve" => Some(AutoAction::Approve),
            _ => match text.strip_prefix("route:") {
                Some(group) if names.group(group) => Some(AutoAction::Route(group.to_owned())),
                Some(group) => {
                    self.error(format_args!(
                        "auto: group {group:?} is not declared; use route: with one of {}",
                        key_list(names.groups)
                    ));
                    None
                }
                None => {
                    self.error(format_args!(
                        "auto: {text:?} is not an action; use \"reject\", \"approve\" or \"route:GROUP\""
                    ));
                    None
                }
            },
        }
    }

    fn fanout(&mut self, i: usize, f: &Spanned<FanOutConfig>, names: &Names) -> Option<FanOut> {
        let cfg = f.get_ref();
        let mut check = Check {
            errors: self.errors,
            rule: self.rule,
            at: start(f),
            prefix: format!("{}, fanout {}", self.prefix, i + 1),
        };
        let role = crate::Label::parse("role", &cfg.role)
            .map_err(|e| check.error(e))
            .ok();
        if !names.channel(&cfg.channel) {
            check.error(format_args!(
                "channel {:?} is not declared; use one of {}",
                cfg.channel,
                key_list(names.channels)
            ));
        }
        if cfg.context.is_empty() {
            check.error("context is empty; list the fields this role receives, e.g. [\"summary\"]");
        }
        let context: Vec<ContextField> = cfg
            .context
            .iter()
            .filter_map(|c| {
                ContextField::parse(c)
                    .map_err(|e| check.error(format_args!("context: {e}")))
                    .ok()
            })
            .collect();
        Some(FanOut {
            role: role?.to_string(),
            channel: cfg.channel.clone(),
            context,
        })
    }
}

/// Warns about levels that can never fire as placed: one waiting for an SLA
/// event that always comes before the event an earlier level waits for, and
/// one waiting for the same event as the level before it (without repeats).
fn warn_unreachable(
    levels: &[EscalationLevel],
    configs: &[Spanned<LevelConfig>],
    errors: &mut Errors,
    rule: &str,
) {
    for (k, level) in levels.iter().enumerate() {
        let LevelStart::Sla(event) = level.after else {
            continue;
        };
        let at = configs.get(k).and_then(start);
        let earlier = levels[..k].iter().find_map(|l| match l.after {
            LevelStart::Sla(e) if event.always_before(e) => Some((l.index, e)),
            _ => None,
        });
        if let Some((j, later)) = earlier {
            let why = if event.is_accept() && !later.is_accept() {
                "resolve events come after accept ones, so once it fires the handoff no \
                 longer waits to be accepted"
            } else {
                "a reminder comes before its breach"
            };
            errors.warn(
                at,
                rule,
                format!(
                    "level {} (after = {:?}) can never fire: it follows level {} (after = {:?}), \
                     and {why}; move it before level {}",
                    k + 1,
                    event.as_str(),
                    j + 1,
                    later.as_str(),
                    j + 1
                ),
            );
            continue;
        }
        if let Some(previous) = k.checked_sub(1).and_then(|p| levels.get(p))
            && previous.after == level.after
            && previous.repeat == 0
        {
            errors.warn(
                at,
                rule,
                format!(
                    "level {} fires at the same instant as level {} (both after = {:?}); merge \
                     them into one level",
                    k + 1,
                    k,
                    event.as_str()
                ),
            );
        }
    }
}
