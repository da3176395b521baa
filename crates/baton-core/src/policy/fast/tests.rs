//! The fast path agrees with CEL wherever it answers.

use serde_json::{Value, json};

use super::*;
use crate::policy::expr::{Expr, Facts};

fn facts() -> Vec<Value> {
    vec![
        json!({"confidence": 0.4, "intent": "loan_refinance", "explicit_request": false, "sentiment": -0.8, "turn": 2.0,
               "text": "hi", "payload": {"amount": 7000.0, "po_number": null, "line": 2.0, "tags": ["vip"], "name": "b"}}),
        json!({"confidence": 0.95, "intent": "balance", "explicit_request": true, "sentiment": 0.3, "turn": 1.0,
               "text": "", "payload": {"amount": 12.5, "po_number": "PO-1", "line": 1.0}}),
        json!({"confidence": 0.7, "intent": "", "explicit_request": false, "sentiment": 0.0, "turn": 0.0,
               "text": "x", "payload": {}}),
        json!({"confidence": 0.1, "intent": "faq", "explicit_request": false, "sentiment": -0.61, "turn": 5.0,
               "text": "y", "payload": {"amount": "lots", "line": 3.0}}),
    ]
}

const EXPRESSIONS: &[&str] = &[
    "confidence < 0.7",
    "confidence <= 0.7",
    "confidence >= 0.7 && !explicit_request",
    "explicit_request",
    "!explicit_request || confidence > 0.9",
    "intent == 'loan_refinance'",
    "intent != \"balance\"",
    "sentiment < -0.6",
    "has(payload.amount) && payload.amount > 5000",
    "payload.amount > 5000",
    "payload.amount > 5000 || confidence < 0.5",
    "payload.amount > 5000 && confidence > 2.0",
    "has(payload.po_number)",
    "!has(payload.po_number) || payload.po_number == null || payload.po_number == ''",
    "payload.line == 2",
    "payload.line == 2.0",
    "payload.line >= 2 && payload.line < 3",
    "intent in ['balance', 'faq']",
    "!(intent in ['balance', 'faq'])",
    "confidence < 0.7 && !(intent in ['balance', 'faq'])",
    "payload.name < 'c'",
    "turn > 1",
    "(confidence < 0.5 || sentiment < -0.5) && turn >= 2",
    "payload.missing == 1 || true",
    "payload.missing == 1 && false",
    "payload.missing == 1",
    "payload.missing > 1 || payload.amount == 100",
    "!(payload.missing > 1 && payload.line == 2)",
    "!intent in ['faq', 'balance']",
    "!explicit_request == true",
    "!payload.amount > 3.0",
];

/// CEL's answer: `Some(bool)`, or `None` for an error.
fn cel(source: &str, facts: &Value) -> Option<bool> {
    let expr = Expr::compile(source, &[]).unwrap();
    Facts::from_json(facts)
        .scope(|scope| expr.matches_cel(scope))
        .ok()
}

#[test]
fn every_supported_shape_compiles() {
    for source in EXPRESSIONS {
        assert!(
            compile(source).is_some(),
            "{source} should take the fast path"
        );
    }
    for unsupported in [
        "9007199254740993 == 9007199254740992",
        "payload.amount > .5",
        "payload.amount > 1.2.3",
        "size(text) > 3",
        "text.startsWith('a')",
        "payload.tags.exists(t, t == 'vip')",
        "1u < 2u",
        "'a\\'b' == text",
    ] {
        assert!(
            compile(unsupported).is_none(),
            "{unsupported} must be left to CEL"
        );
    }
}

#[test]
fn the_fast_path_agrees_with_cel() {
    let mut answered = 0;
    for source in EXPRESSIONS {
        let fast = compile(source).unwrap();
        for f in facts() {
            let want = cel(source, &f);
            let outcome = eval(&fast, &f);
            if let Some(b) = outcome.as_bool() {
                assert_eq!(Some(b), want, "{source} on {f}");
                answered += 1;
                continue;
            }
            match outcome {
                Outcome::Bool(_) => unreachable!("handled above"),
                Outcome::Error(_) => {
                    assert_eq!(None, want, "{source} on {f}: fast path erred, CEL did not");
                    answered += 1;
                }
                Outcome::Value(_) | Outcome::Defer => {}
            }
        }
    }
    assert!(
        answered > EXPRESSIONS.len() * 3,
        "the fast path answered only {answered} cases"
    );
}

#[test]
fn matches_gives_the_same_answer_with_or_without_the_fast_path() {
    for source in EXPRESSIONS {
        let expr = Expr::compile(source, &[]).unwrap();
        for f in facts() {
            let facts = Facts::from_json(&f);
            let both =
                facts.scope(|scope| (expr.matches(scope).ok(), expr.matches_cel(scope).ok()));
            assert_eq!(both.0, both.1, "{source} on {f}");
        }
    }
}

#[test]
fn deep_conditions_are_left_to_cel() {
    let deep_not = format!("{}explicit_request", "!".repeat(500));
    assert!(compile(&deep_not).is_none());
    let deep_parens = format!("{}true{}", "(".repeat(60), ")".repeat(60));
    assert!(compile(&deep_parens).is_none());
    assert!(compile("!!explicit_request").is_some());
}
