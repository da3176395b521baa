//! The example policies in `examples/policies/` build and behave as their
//! comments say.

use baton_core::Tier;
use baton_core::policy::{
    ChannelKind, DecisionAction, LevelStart, OnIncomplete, PayloadCheck, Policy, Signal, SlaEvent,
    Streaks,
};
use jiff::Timestamp;
use serde_json::{Value, json};

fn load(text: &str) -> Policy {
    Policy::build(text, &|p: &str| {
        Err(format!("examples read no files ({p})"))
    })
    .unwrap_or_else(|errors| panic!("{errors:#?}"))
}

fn signal(v: Value) -> Signal {
    serde_json::from_value(v).expect("signal")
}

fn decide(p: &Policy, v: Value) -> (DecisionAction, Option<String>) {
    let d = p.evaluate(&signal(v), &Streaks::new());
    (d.action, d.rule)
}

#[test]
fn support_chat() {
    let p = load(include_str!("../../../examples/policies/support-chat.toml"));
    use DecisionAction::*;
    let s = |v| decide(&p, v);
    assert_eq!(
        s(json!({"conversation_id": "a", "turn": 1, "intent": "balance", "confidence": 0.95})).0,
        Proceed
    );
    assert_eq!(
        s(json!({"conversation_id": "a", "turn": 1, "intent": "faq", "confidence": 0.4})).0,
        Proceed
    );
    assert_eq!(
        s(
            json!({"conversation_id": "a", "turn": 1, "intent": "loan_refinance", "confidence": 0.9})
        ),
        (Handoff, Some("loan-refinance".into()))
    );
    assert_eq!(
        s(json!({"conversation_id": "a", "turn": 1, "text": "I want to speak to a person now"})),
        (Handoff, Some("speak-to-a-person".into()))
    );
    assert_eq!(
        s(json!({"conversation_id": "a", "turn": 1, "sentiment": -0.8})),
        (Handoff, Some("sentiment-spike".into()))
    );
    // Low confidence hands off on the second turn in a row only.
    let mut streaks = Streaks::new();
    let mut actions = Vec::new();
    for turn in 1..=2 {
        let d = p.evaluate(&signal(json!({"conversation_id": "b", "turn": turn, "intent": "card_lost", "confidence": 0.5})), &streaks);
        streaks = d.streaks;
        actions.push(d.action);
    }
    assert_eq!(actions[1], Handoff);
    assert_ne!(actions[0], Handoff);
    let d = p.evaluate(
        &signal(json!({"conversation_id": "a", "turn": 1, "explicit_request": true})),
        &Streaks::new(),
    );
    assert_eq!(d.tier, Some(Tier::Immediate));
    assert_eq!(
        p.route(
            "support-chat",
            "normal",
            "loan_refinance",
            "warm",
            "t",
            &json!({})
        )
        .group,
        "loan-officers"
    );
    assert!(matches!(
        p.check_payload("support-chat", &json!({"channel": "fax"})),
        PayloadCheck::Incomplete {
            on_incomplete: OnIncomplete::Reject,
            ..
        }
    ));
}

#[test]
fn invoice_exceptions() {
    let p = load(include_str!(
        "../../../examples/policies/invoice-exceptions.toml"
    ));
    use DecisionAction::*;
    let s = |payload: Value| decide(&p, json!({"conversation_id": "inv", "payload": payload}));
    assert_eq!(
        s(json!({"po_number": "PO-1", "price_variance_pct": 1.5})).0,
        Proceed
    );
    assert_eq!(
        s(json!({"po_number": "PO-1", "price_variance_pct": 2.5})),
        (Handoff, Some("price-variance".into()))
    );
    assert_eq!(
        s(json!({"price_variance_pct": 0})),
        (Handoff, Some("missing-po".into()))
    );
    assert_eq!(
        s(json!({"po_number": null})),
        (Handoff, Some("missing-po".into()))
    );
    let route = |amount: f64| {
        p.route(
            "invoice-exception",
            "normal",
            "price_variance",
            "warm",
            "t",
            &json!({"amount_usd": amount}),
        )
        .group
    };
    assert_eq!(route(5000.01), "procurement-analysts");
    assert_eq!(route(5000.0), "ap-clerks");
    assert_eq!(p.resolution_reasons().len(), 3);
    assert!(matches!(
        p.check_payload("invoice-exception", &json!({"invoice_id": "I"})),
        PayloadCheck::Incomplete {
            on_incomplete: OnIncomplete::NeedsContext,
            ..
        }
    ));
}

#[test]
fn medical_scheduling() {
    let p = load(include_str!(
        "../../../examples/policies/medical-scheduling.toml"
    ));
    let d = p.evaluate(
        &signal(json!({"conversation_id": "m", "text": "Since this morning I have CHEST PAIN"})),
        &Streaks::new(),
    );
    assert_eq!(
        (d.action, d.tier, d.impact.as_deref()),
        (
            DecisionAction::Handoff,
            Some(Tier::Immediate),
            Some("critical")
        )
    );
    assert_eq!(
        p.route(
            "scheduling",
            "critical",
            "risk_keyword",
            "immediate",
            "t",
            &json!({})
        )
        .group,
        "triage-nurses"
    );
    let d = p.evaluate(
        &signal(json!({"conversation_id": "m", "payload": {"insurance_covered": false}})),
        &Streaks::new(),
    );
    assert_eq!(
        (d.action, d.tier, d.rule.as_deref()),
        (
            DecisionAction::Handoff,
            Some(Tier::Warm),
            Some("insurance-mismatch")
        )
    );
    assert_eq!(
        decide(
            &p,
            json!({"conversation_id": "m", "text": "can I move my appointment?"})
        )
        .0,
        DecisionAction::Proceed
    );
}

#[test]
fn it_incidents() {
    let p = load(include_str!("../../../examples/policies/it-incidents.toml"));
    assert_eq!(p.impact_names(), vec!["major", "high", "medium", "low"]);
    let route = |impact: &str, line: u8| {
        p.route(
            "incident",
            impact,
            "tier_escalation",
            "warm",
            "t",
            &json!({"support_line": line}),
        )
        .group
    };
    assert_eq!(route("medium", 1), "service-desk");
    assert_eq!(route("medium", 2), "specialists");
    assert_eq!(route("low", 3), "experts");
    assert_eq!(route("major", 1), "crisis-manager");
    // Friday 17:00 Brussels (16:00Z in winter) + 2h of business time → Monday 09:00 Brussels.
    let friday: Timestamp = "2026-11-20T16:00:00Z".parse().unwrap();
    let d = p.deadlines("medium", friday).unwrap();
    assert_eq!(
        d.accept_by,
        "2026-11-23T08:00:00Z".parse::<Timestamp>().unwrap()
    );
    // Major incidents run on the wall clock.
    assert_eq!(
        p.deadlines("major", friday).unwrap().accept_by,
        "2026-11-20T16:15:00Z".parse::<Timestamp>().unwrap()
    );
    // Major incidents escalate in four levels; others do not escalate.
    let chain = |impact: &str| {
        p.escalation_for(
            "incident",
            impact,
            "major_incident",
            "immediate",
            "t",
            &json!({}),
        )
        .map(|c| c.id.clone())
    };
    assert_eq!(chain("major").as_deref(), Some("major-incident"));
    assert_eq!(chain("medium"), None);
    let levels = &p.escalations()[0].levels;
    assert_eq!(
        levels.iter().map(|l| l.after).collect::<Vec<_>>(),
        vec![
            LevelStart::Sla(SlaEvent::AcceptReminder),
            LevelStart::Sla(SlaEvent::AcceptBreach),
            LevelStart::Elapsed(jiff::SignedDuration::from_mins(15)),
            LevelStart::Sla(SlaEvent::ResolveReminder),
        ]
    );
    assert_eq!(levels[1].notify, ["specialists-chat", "ops-hook"]);
    assert_eq!(levels[2].repeat, 1);
    let roles: Vec<&str> = levels[2].fanout.iter().map(|f| f.role.as_str()).collect();
    assert_eq!(roles, vec!["crisis-manager", "it-operations"]);
    assert!(matches!(
        &p.channel("ops-hook").unwrap().kind,
        ChannelKind::Webhook { secret_env, .. } if secret_env == "BATON_WHSEC_OPS"
    ));
}

#[test]
fn every_example_builds_without_warnings() {
    for text in [
        include_str!("../../../examples/policies/support-chat.toml"),
        include_str!("../../../examples/policies/invoice-exceptions.toml"),
        include_str!("../../../examples/policies/medical-scheduling.toml"),
        include_str!("../../../examples/policies/it-incidents.toml"),
        include_str!("../../../examples/policies/it-incidents-24x7.toml"),
        baton_core::policy::DEFAULT_POLICY,
    ] {
        let p = load(text);
        assert!(p.warnings().is_empty(), "{:#?}", p.warnings());
    }
}
