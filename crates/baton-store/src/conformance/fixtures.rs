//! Test data for the conformance suite.

use baton_core::{Handoff, NewHandoff};
use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;

use crate::CreateHandoff;

/// `secs` seconds after 2026-01-01T00:00:00Z: the suite's fake clock.
pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + secs).expect("in range")
}

/// A valid `NewHandoff` with the given impact and reason.
pub fn sample_new(impact: &str, reason: &str) -> NewHandoff {
    serde_json::from_value(json!({
        "workflow": "support-chat",
        "subject": {"source": "zendesk", "ref": "T-100", "url": "https://example.com/T-100"},
        "title": "refund above the automatic limit",
        "impact": impact,
        "reason": reason,
        "context": {
            "summary": "customer asks for 900 EUR back",
            "messages": [{"role": "customer", "text": "I want my money back"}],
            "ai_assessment": {"proposed_action": "refund 900 EUR", "confidence": 0.61,
                              "model": "gpt-x", "sources": ["kb/refunds"]},
            "suggested_actions": ["approve", "request_info"],
            "links": [{"label": "order", "url": "https://example.com/o/1"}],
            "payload": {"amount": 900, "currency": "EUR"}
        }
    }))
    .expect("valid sample")
}

/// A pending handoff in group `group`, created at `secs` on the fake clock.
pub fn new_handoff(group: &str, impact: &str, reason: &str, secs: i64) -> CreateHandoff {
    let handoff: Handoff = sample_new(impact, reason)
        .into_handoff(Uuid::now_v7(), group, "bot", at(secs))
        .expect("valid sample");
    CreateHandoff {
        handoff,
        timers: Vec::new(),
        notifications: Vec::new(),
        idempotency: None,
    }
}

/// The built-in default policy, shared by the suite's actions.
pub fn policy() -> std::sync::Arc<baton_core::policy::Policy> {
    static POLICY: std::sync::OnceLock<std::sync::Arc<baton_core::policy::Policy>> =
        std::sync::OnceLock::new();
    POLICY
        .get_or_init(|| std::sync::Arc::new(baton_core::policy::Policy::default_policy()))
        .clone()
}
