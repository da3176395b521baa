//! Routing: the ordered `[[route]]` rules pick an owner group; first match wins.

use serde::Serialize;
use serde_json::{Value, json};

use super::Policy;
use super::expr::Facts;

/// How one rule fared for one item: the "why" of an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RuleTrace {
    /// The rule's id.
    pub id: String,
    /// Whether it matched.
    pub matched: bool,
    /// Why (the condition and its outcome, or the evaluation error).
    pub detail: String,
}

/// The routing decision for one handoff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteDecision {
    /// The owner group.
    pub group: String,
    /// The rule that chose it.
    pub rule: String,
    /// Every rule tried, in order, up to the match.
    pub trace: Vec<RuleTrace>,
}

impl Policy {
    /// Routes a handoff described by `workflow`, … (see below). When only the
    /// default route matches, a declared workflow's `default_group` is used.
    ///
    /// Routes a handoff described by `workflow`, `impact`, `reason`, `tier`,
    /// `title` and `payload` (a JSON object). A rule whose condition fails to
    /// evaluate (say, a missing payload key) does not match, and the trace
    /// says why. The default route always matches.
    pub fn route(
        &self,
        workflow: &str,
        impact: &str,
        reason: &str,
        tier: &str,
        title: &str,
        payload: &Value,
    ) -> RouteDecision {
        let facts = Facts::from_value(json!({
            "workflow": workflow, "impact": impact, "reason": reason,
            "tier": tier, "title": title, "payload": payload,
        }));
        facts.scope(|scope| self.route_in(scope, workflow))
    }

    fn route_in(&self, scope: &super::expr::Scope<'_>, workflow: &str) -> RouteDecision {
        let mut trace = Vec::new();
        for route in &self.routes {
            let (matched, detail) = match &route.when {
                None => (true, "default route".to_owned()),
                Some(expr) => match expr.matches(scope) {
                    Ok(m) => (m, format!("`{}` is {m}", expr.source())),
                    Err(e) => (
                        false,
                        format!("`{}` could not be evaluated: {e}", expr.source()),
                    ),
                },
            };
            trace.push(RuleTrace {
                id: route.id.clone(),
                matched,
                detail,
            });
            if matched {
                // Only the catch-all matched: a declared workflow's own
                // default group wins over the policy-wide default.
                if route.when.is_none()
                    && let Some(w) = self.workflows.get(workflow)
                {
                    return RouteDecision {
                        group: w.default_group.clone(),
                        rule: format!("{} (workflow default)", route.id),
                        trace,
                    };
                }
                return RouteDecision {
                    group: route.group.clone(),
                    rule: route.id.clone(),
                    trace,
                };
            }
        }
        // Unreachable for a built policy (it must end with a default route).
        let group = self
            .workflows
            .get(workflow)
            .map(|w| w.default_group.clone())
            .unwrap_or_default();
        RouteDecision {
            group,
            rule: "workflow default".into(),
            trace,
        }
    }
}
