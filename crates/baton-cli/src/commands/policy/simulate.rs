//! `baton policy simulate`: one new handoff admitted under a policy and left
//! alone, its timers fired in order up to a horizon with the same pure step
//! the server's scheduler takes (`react::admit`, then `react::fire` at each
//! timer's due time): a timeline of its reminders, breaches and whatever
//! else the reaction yields, in its calendar's time zone.

use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use baton_core::notify::Notification;
use baton_core::policy::Policy;
use baton_core::react::{self, AdmitError, Reaction};
use baton_core::{EventKind, NewHandoff};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// Firings at most: a policy whose timers re-arm without end stops here.
const MAX_FIRINGS: usize = 10_000;

/// The arguments of `baton policy simulate`.
pub struct Args<'a> {
    pub file: &'a Path,
    pub handoff: &'a Path,
    pub until: &'a str,
    pub at: Option<&'a str>,
    pub json: bool,
}

/// Runs it; prints the timeline, or the errors with the field named.
pub fn run(args: Args<'_>) -> anyhow::Result<ExitCode> {
    let policy = match super::load(args.file)? {
        Ok((p, _)) => p,
        Err(errors) => {
            super::print_errors(args.file, &errors);
            return Ok(ExitCode::FAILURE);
        }
    };
    let at: Timestamp = match args.at {
        Some(t) => t
            .parse()
            .with_context(|| format!("--at {t:?}: use RFC 3339, e.g. 2026-11-23T09:00:00Z"))?,
        None => Timestamp::now(),
    };
    let horizon = at
        .saturating_add(until(args.until)?)
        .unwrap_or(Timestamp::MAX);
    let new = read_handoff(args.handoff)?;
    let admitted = match react::admit(new, uuid::Uuid::nil(), "simulate", &policy, at) {
        Ok(r) => r,
        Err(e) => bail!(
            "{}: the policy refuses this handoff: {}",
            args.handoff.display(),
            refusal(&e)
        ),
    };
    let tz = policy
        .calendar_for(admitted.handoff.impact.as_str())
        .time_zone();
    let lines = timeline(&policy, admitted, at, horizon, &tz);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
    } else {
        print_text(&lines, horizon, &tz);
    }
    Ok(ExitCode::SUCCESS)
}

/// `+3d`, `+8h`, `+1h 30m` (the `+` optional): a policy duration.
fn until(text: &str) -> anyhow::Result<SignedDuration> {
    let trimmed = text.trim();
    baton_core::policy::build::duration(trimmed.strip_prefix('+').unwrap_or(trimmed))
        .map_err(|e| anyhow::anyhow!("--until: {e}; e.g. +3d or +8h"))
}

/// Reads the `POST /v1/handoffs` body from `path`, or stdin for `-`.
fn read_handoff(path: &Path) -> anyhow::Result<NewHandoff> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the handoff from stdin")?;
        text
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a new handoff (the POST /v1/handoffs body)",
            path.display()
        )
    })
}

/// An admission refusal, naming the field (and, for a contract, each one).
fn refusal(e: &AdmitError) -> String {
    match e {
        AdmitError::Contract {
            workflow,
            violations,
        } => {
            let fields: Vec<String> = violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.message))
                .collect();
            format!(
                "the payload misses the {workflow} workflow's contract: {}",
                fields.join("; ")
            )
        }
        other => other.to_string(),
    }
}

/// The admission, then each event the timers produce, in order.
fn timeline(
    policy: &Policy,
    admitted: Reaction,
    at: Timestamp,
    horizon: Timestamp,
    tz: &TimeZone,
) -> Vec<Value> {
    let h = &admitted.handoff;
    let calendar = policy.calendar_for(h.impact.as_str());
    let mut lines = vec![json!({
        "at": at,
        "local": local(at, tz),
        "kind": "admitted",
        "summary": format!(
            "owner group {} (rule {}), {}",
            h.owner_group,
            h.route_rule.as_deref().unwrap_or("-"),
            h.state.as_str()
        ),
        "owner_group": h.owner_group,
        "route_rule": h.route_rule,
        "state": h.state,
        "impact": h.impact,
        "calendar": calendar.name(),
        "time_zone": tz.iana_name().unwrap_or("UTC"),
        "accept_by": h.accept_by,
        "resolve_by": h.resolve_by,
    })];
    notices(&mut lines, &admitted.notifications, at, tz);
    let mut handoff = admitted.handoff;
    let mut timers = admitted.timers;
    for _ in 0..MAX_FIRINGS {
        let Some(timer) = timers
            .iter()
            .filter(|t| t.due_at <= horizon)
            .min_by_key(|t| (t.due_at, t.kind))
            .copied()
        else {
            break;
        };
        let reaction = react::fire(&handoff, &timer, policy, timer.due_at);
        if reaction.events.is_empty() && reaction.handoff == handoff && reaction.timers == timers {
            break; // stale and nothing changes: it would fire again forever
        }
        for (kind, data) in &reaction.events {
            lines.push(json!({
                "at": timer.due_at,
                "local": local(timer.due_at, tz),
                "kind": kind.as_str(),
                "label": label(*kind),
                "summary": summary(data),
                "data": data,
            }));
        }
        notices(&mut lines, &reaction.notifications, timer.due_at, tz);
        handoff = reaction.handoff;
        timers = reaction.timers;
    }
    lines
}

/// One line per notification: the channel, what it tells, and the fan-out
/// role it is for.
fn notices(lines: &mut Vec<Value>, notifications: &[Notification], at: Timestamp, tz: &TimeZone) {
    for n in notifications {
        let role = n
            .role
            .as_ref()
            .map(|r| format!(" (role {r})"))
            .unwrap_or_default();
        lines.push(json!({
            "at": at,
            "local": local(at, tz),
            "kind": "notification",
            "label": "notify",
            "summary": format!("{} about {}{role}", n.channel, n.event),
            "channel": n.channel,
            "event": n.event,
            "role": n.role,
        }));
    }
}

/// What people call an event kind in a timeline.
fn label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::SlaWarned => "reminder",
        EventKind::SlaBreached => "breach",
        other => other.as_str(),
    }
}

/// The event's scalar facts as `key=value`, leaving out what the line's
/// time already says (`due_at`) and a lateness of zero.
fn summary(data: &Value) -> String {
    let Some(map) = data.as_object() else {
        return data.to_string();
    };
    map.iter()
        .filter(|(k, v)| *k != "due_at" && !(*k == "late_by_ms" && v.as_i64() == Some(0)))
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some(format!("{k}={s}")),
            Value::Number(n) => Some(format!("{k}={n}")),
            Value::Bool(b) => Some(format!("{k}={b}")),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2026-06-01 11:00:00 CEST`: `at` in the calendar's zone.
fn local(at: Timestamp, tz: &TimeZone) -> String {
    at.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

fn print_text(lines: &[Value], horizon: Timestamp, tz: &TimeZone) {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or("-").to_owned();
    let time = |v: &Value, k: &str| {
        v[k].as_str()
            .and_then(|s| s.parse::<Timestamp>().ok())
            .map_or_else(|| "- (paused)".to_owned(), |t| local(t, tz))
    };
    let Some((admitted, events)) = lines.split_first() else {
        return;
    };
    println!(
        "admitted {} ({}, calendar {}, times in {})",
        text(admitted, "local"),
        text(admitted, "impact"),
        text(admitted, "calendar"),
        text(admitted, "time_zone"),
    );
    println!(
        "  owner group: {} (rule {})",
        text(admitted, "owner_group"),
        text(admitted, "route_rule")
    );
    println!("  state:       {}", text(admitted, "state"));
    println!("  accept by:   {}", time(admitted, "accept_by"));
    println!("  resolve by:  {}", time(admitted, "resolve_by"));
    println!("until {}, nobody acting on it:", local(horizon, tz));
    if events.is_empty() {
        println!("  nothing fires");
    }
    for e in events {
        println!(
            "  {}  {:<9} {}",
            text(e, "local"),
            text(e, "label"),
            text(e, "summary")
        );
    }
}
