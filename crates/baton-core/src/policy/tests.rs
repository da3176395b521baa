//! Policy tests: building (all errors at once), routing order, every trigger
//! kind, deadlines, payload contracts.

use jiff::Timestamp;
use serde_json::json;

use super::*;

fn no_files(path: &str) -> Result<String, String> {
    Err(format!("no file {path} in tests"))
}

fn build(text: &str) -> Result<Policy, Vec<PolicyError>> {
    Policy::build(text, &no_files)
}

const BASE: &str = r#"
[reasons.handoff]
low_confidence = "unsure"
explicit_request = "asked for a person"
risk_keyword = "risky words"
negative_sentiment = "upset"
sampled_review = "sampled"

[[impact]]
name = "critical"
rank = 1
accept_within = "5m"
resolve_within = "1h"

[[impact]]
name = "normal"
rank = 3
accept_within = "4h"
resolve_within = "24h"

[[group]]
name = "loans"
[[group]]
name = "support"
[[group]]
name = "procurement"

[[workflow]]
name = "support-chat"
default_group = "support"
"#;

fn with(rules: &str) -> Policy {
    build(&format!("{BASE}\n{rules}")).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn the_default_policy_builds() {
    let p = Policy::default_policy();
    assert!(p.is_handoff_reason("low_confidence"));
    assert_eq!(p.impact_names(), vec!["critical", "high", "normal", "low"]);
    assert_eq!(
        p.route("x", "high", "fraud", "warm", "t", &json!({})).group,
        "triage"
    );
    assert_eq!(p.version.len(), 64);
}

#[test]
fn ten_distinct_errors_are_all_reported_with_lines() {
    let text = r#"
[reasons.handoff]
low_confidence = "unsure"
"Bad Code" = "not a label"

[[impact]]
name = "high"
rank = 1
accept_within = "0m"
resolve_within = "soon"
calendar = "nowhere"

[[group]]
name = "loans"

[[workflow]]
name = "chat"
default_group = "ghosts"

[[route]]
id = "everything"
group = "loans"

[[route]]
id = "after-catch-all"
when = "payload.amount > 5000"
group = "nobody"

[[trigger]]
id = "typo"
when = "confidnce < 0.5"
reason = "low_confidence"
impact = "high"

[[trigger]]
id = "undeclared"
when = "confidence < 0.2"
reason = "mystery"
impact = "high"

[[template]]
id = "leaky"
text = "we are {confidence} sure"
"#;
    let errors = build(text).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 10, "{shown:#?}");
    let expect = [
        "reasons.handoff",
        "accept_within",
        "resolve_within",
        "calendar \"nowhere\"",
        "default_group \"ghosts\"",
        "unreachable",
        "group \"nobody\"",
        "unknown variable confidnce",
        "reason \"mystery\"",
        "{confidence} is internal",
    ];
    for needle in expect {
        assert!(
            shown.iter().any(|s| s.contains(needle)),
            "{needle} missing from {shown:#?}"
        );
    }
    let typo = errors
        .iter()
        .find(|e| e.message.contains("confidnce"))
        .unwrap();
    assert_eq!(typo.line, Some(31));
    assert_eq!(typo.rule, "trigger \"typo\"");
}

#[test]
fn absurd_durations_are_errors_not_panics() {
    for d in ["106751991167301d", "999999h", "-5m"] {
        let text = format!("{BASE}\n[[route]]\nid = \"d\"\ngroup = \"support\"\n").replace(
            "resolve_within = \"24h\"",
            &format!("resolve_within = \"{d}\""),
        );
        let errors = build(&text).unwrap_err();
        assert!(
            errors.iter().any(|e| e.message.contains("resolve_within")),
            "{d}: {errors:?}"
        );
    }
}

#[test]
fn the_version_covers_loaded_contract_files() {
    let text = format!(
        "{BASE}\n[[route]]\nid = \"d\"\ngroup = \"support\"\n[[workflow]]\nname = \"inv\"\ndefault_group = \"support\"\ncontract = \"c.json\"\n"
    );
    let v1 = Policy::build(&text, &|_: &str| Ok(r#"{"type": "object"}"#.to_owned()))
        .unwrap()
        .version;
    let v2 = Policy::build(&text, &|_: &str| {
        Ok(r#"{"type": "object", "required": ["a"]}"#.to_owned())
    })
    .unwrap()
    .version;
    assert_ne!(v1, v2);
}

#[test]
fn syntax_errors_name_the_line() {
    let errors = build("[[route]\nid = 1").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(1));
}

#[test]
fn oversized_or_deep_expressions_are_refused_at_check_time() {
    let long = format!(
        "confidence < 0.5 || {}true",
        "confidence > 2.0 || ".repeat(250)
    );
    let deep = format!("{}confidence < 0.5{}", "(".repeat(150), ")".repeat(150));
    for (when, needle) in [(long, "limit is 4096"), (deep, "nests 150 levels")] {
        let text = format!(
            "{BASE}\n[[route]]\nid = \"d\"\ngroup = \"support\"\n[[trigger]]\nid = \"t\"\nwhen = '{when}'\nreason = \"low_confidence\"\nimpact = \"normal\"\n"
        );
        let errors = build(&text).unwrap_err();
        assert!(
            errors.iter().any(|e| e.message.contains(needle)),
            "{errors:?}"
        );
    }
}

#[test]
fn a_default_route_is_required() {
    let errors = build(&format!(
        "{BASE}\n[[route]]\nid = \"x\"\nwhen = \"impact == 'critical'\"\ngroup = \"loans\"\n"
    ))
    .unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("no default route")),
        "{errors:?}"
    );
}

#[test]
fn routes_apply_in_order_first_match_wins() {
    let p = with(
        r#"
[[route]]
id = "big-amounts"
when = "has(payload.amount) && payload.amount > 5000"
group = "procurement"

[[route]]
id = "loan-intents"
when = "workflow == 'support-chat' && reason == 'low_confidence'"
group = "loans"

[[route]]
id = "default"
group = "support"
"#,
    );
    let cases = [
        (
            json!({"amount": 9000}),
            "low_confidence",
            "procurement",
            "big-amounts",
        ),
        (
            json!({"amount": 10}),
            "low_confidence",
            "loans",
            "loan-intents",
        ),
        (json!({}), "low_confidence", "loans", "loan-intents"),
        (
            json!({}),
            "explicit_request",
            "support",
            "default (workflow default)",
        ),
        (
            json!({"amount": "lots"}),
            "explicit_request",
            "support",
            "default (workflow default)",
        ),
    ];
    for (payload, reason, group, rule) in cases {
        let d = p.route("support-chat", "normal", reason, "warm", "t", &payload);
        assert_eq!(
            (d.group.as_str(), d.rule.as_str()),
            (group, rule),
            "{payload} {reason}: {:?}",
            d.trace
        );
    }
    let d = p.route(
        "support-chat",
        "normal",
        "explicit_request",
        "warm",
        "t",
        &json!({"amount": "lots"}),
    );
    assert!(
        d.trace[0].detail.contains("could not be evaluated"),
        "{:?}",
        d.trace
    );
}

const TRIGGERS: &str = r#"
[[route]]
id = "default"
group = "support"

[[trigger]]
id = "asked-for-person"
when = "explicit_request"
tier = "immediate"
reason = "explicit_request"
impact = "critical"

[[trigger]]
id = "chest-pain"
keywords = ["chest pain", "can't breathe"]
tier = "immediate"
reason = "risk_keyword"
impact = "critical"

[[trigger]]
id = "unsure-twice"
when = "confidence < 0.7"
streak = 2
reason = "low_confidence"
impact = "normal"

[[trigger]]
id = "upset"
when = "sentiment < -0.6"
action = "review_later"
reason = "negative_sentiment"
impact = "normal"
"#;

fn signal(turn: u32, confidence: f64, text: &str, sentiment: f64, explicit: bool) -> Signal {
    Signal {
        conversation_id: "c-1".into(),
        turn,
        confidence: Some(confidence),
        text: Some(text.into()),
        sentiment: Some(sentiment),
        explicit_request: explicit,
        ..Default::default()
    }
}

#[test]
fn every_trigger_kind_decides() {
    let p = with(TRIGGERS);
    let none = Streaks::new();
    let explained = p.explain_signal(&signal(1, 0.99, "I have chest pain", 0.0, false), &none);
    assert_eq!(explained.trace.len(), 4);
    assert!(
        explained.trace[1].matched
            && explained.trace[1]
                .detail
                .contains("keyword \"chest pain\" found")
    );
    assert!(
        p.evaluate(&signal(1, 0.99, "I have chest pain", 0.0, false), &none)
            .trace
            .is_empty()
    );
    let cases = [
        (
            signal(1, 0.95, "what is my balance", 0.2, false),
            DecisionAction::Proceed,
            None,
        ),
        (
            signal(1, 0.95, "let me speak to a person", 0.0, true),
            DecisionAction::Handoff,
            Some("asked-for-person"),
        ),
        (
            signal(1, 0.99, "I have Chest Pain since noon", 0.0, false),
            DecisionAction::Handoff,
            Some("chest-pain"),
        ),
        (
            signal(1, 0.99, "my chest painting is done", 0.0, false),
            DecisionAction::Proceed,
            None,
        ),
        (
            signal(1, 0.5, "hmm", 0.0, false),
            DecisionAction::Proceed,
            None,
        ),
        (
            signal(1, 0.9, "this is useless!!", -0.9, false),
            DecisionAction::ReviewLater,
            Some("upset"),
        ),
    ];
    for (s, action, rule) in cases {
        let d = p.evaluate(&s, &none);
        assert_eq!(
            (d.action, d.rule.as_deref()),
            (action, rule),
            "{:?}: {:?}",
            s.text,
            d.trace
        );
    }
    let d = p.evaluate(&signal(1, 0.95, "speak to a person", 0.0, true), &none);
    assert_eq!(
        (d.tier, d.reason.as_deref(), d.impact.as_deref()),
        (
            Some(crate::Tier::Immediate),
            Some("explicit_request"),
            Some("critical")
        )
    );
}

#[test]
fn streaks_need_consecutive_turns() {
    let p = with(TRIGGERS);
    let mut streaks = Streaks::new();
    let mut actions = Vec::new();
    for (turn, confidence) in [(1, 0.5), (2, 0.9), (3, 0.6), (4, 0.65), (5, 0.4)] {
        let d = p.evaluate(&signal(turn, confidence, "hm", 0.0, false), &streaks);
        streaks = d.streaks.clone();
        actions.push(d.action);
    }
    use DecisionAction::*;
    assert_eq!(actions, vec![Proceed, Proceed, Proceed, Handoff, Handoff]);
    assert_eq!(streaks["unsure-twice"], 3);
}

#[test]
fn sampling_reviews_a_share_of_proceed_decisions() {
    let p = with(&format!(
        "{TRIGGERS}\n[sampling]\nrate = 0.2\nreason = \"sampled_review\"\nimpact = \"normal\"\n"
    ));
    let sampled = (0..2_000)
        .filter(|turn| {
            let d = p.evaluate(
                &signal(*turn, 0.99, "balance please", 0.0, false),
                &Streaks::new(),
            );
            d.action == DecisionAction::ReviewLater && d.rule.as_deref() == Some("sampling")
        })
        .count();
    assert!(
        (320..480).contains(&sampled),
        "{sampled} of 2000 sampled at 0.2"
    );
}

#[test]
fn deadlines_follow_the_impact() {
    let p = with(TRIGGERS);
    let t0: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
    let d = p.deadlines("critical", t0).unwrap();
    assert_eq!(d.accept_by, "2026-03-02T10:05:00Z".parse().unwrap());
    assert_eq!(d.resolve_by, "2026-03-02T11:00:00Z".parse().unwrap());
    assert_eq!(d.remind_resolve_at, "2026-03-02T10:45:00Z".parse().unwrap());
    assert!(p.deadlines("unknown", t0).is_none());
}

#[test]
fn payload_contracts_name_missing_fields() {
    let p = with(
        r#"
[[route]]
id = "default"
group = "support"

[[workflow]]
name = "invoice"
default_group = "procurement"
on_incomplete = "needs_context"
contract = { type = "object", required = ["po_number", "amount"], properties = { amount = { type = "number" } } }
"#,
    );
    assert_eq!(
        p.check_payload("invoice", &json!({"po_number": "1", "amount": 3})),
        PayloadCheck::Complete
    );
    match p.check_payload("invoice", &json!({"amount": "x"})) {
        PayloadCheck::Incomplete {
            on_incomplete,
            violations,
        } => {
            assert_eq!(on_incomplete, OnIncomplete::NeedsContext);
            let mut fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
            fields.sort();
            assert_eq!(
                fields,
                vec!["context.payload.amount", "context.payload.po_number"]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        p.check_payload("support-chat", &json!({})),
        PayloadCheck::Complete
    );
}

mod escalation;
mod structure;
