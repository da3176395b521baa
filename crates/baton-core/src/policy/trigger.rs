//! Triggers: deciding from an agent's signal whether work proceeds, goes to a
//! person now (`handoff`), or proceeds and is reviewed later.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::config::TriggerAction;
use super::expr::Facts;
use super::{Policy, RuleTrace};
use crate::Tier;

/// What an agent tells Baton about one turn of its work.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Signal {
    /// The conversation (or job) the turn belongs to; streaks are counted per conversation.
    pub conversation_id: String,
    /// The turn number within the conversation.
    #[serde(default)]
    // int64 with a maximum: an int32 format would cap it at 2^31 - 1.
    #[cfg_attr(feature = "utoipa", schema(value_type = u64, minimum = 0, maximum = 4_294_967_295_u64))]
    pub turn: u32,
    /// The model's confidence, 0 to 1 (1 when not given).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// The detected intent.
    #[serde(default)]
    pub intent: Option<String>,
    /// The customer's text.
    #[serde(default)]
    pub text: Option<String>,
    /// Sentiment from -1 (negative) to 1 (positive), 0 when not given.
    #[serde(default)]
    pub sentiment: Option<f64>,
    /// The customer asked for a person.
    #[serde(default)]
    pub explicit_request: bool,
    /// Anything else the rules look at.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub payload: Map<String, Value>,
}

/// Consecutive turns each streak trigger's condition has held, per trigger id.
pub type Streaks = BTreeMap<String, u32>;

/// What the automation should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionAction {
    /// Carry on automatically.
    Proceed,
    /// Stop and hand off to a person.
    Handoff,
    /// Carry on, and put a review item in the queue.
    ReviewLater,
}

/// The outcome of evaluating a signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// What to do.
    pub action: DecisionAction,
    /// Tier of the handoff or review item.
    pub tier: Option<Tier>,
    /// Its handoff reason.
    pub reason: Option<String>,
    /// Its customer impact.
    pub impact: Option<String>,
    /// The rule that decided (`sampling` for a sampled review).
    pub rule: Option<String>,
    /// Every trigger, in order, and why it fired or not.
    pub trace: Vec<RuleTrace>,
    /// The streak counts after this turn, to keep for the next.
    pub streaks: Streaks,
}

/// Every trigger keyword in one automaton, so a decision scans the text once
/// however many keyword rules there are.
#[derive(Debug, Clone, Default)]
pub struct KeywordIndex {
    automaton: Option<aho_corasick::AhoCorasick>,
    phrases: usize,
}

impl KeywordIndex {
    /// Indexes the (lowercase) keywords of `triggers`, setting their `keyword_ids`.
    pub(super) fn build(triggers: &mut [super::Trigger]) -> Self {
        let mut phrases: Vec<String> = Vec::new();
        for t in triggers.iter_mut() {
            t.keyword_ids = t
                .keywords
                .iter()
                .map(|k| {
                    phrases.push(k.clone());
                    phrases.len() - 1
                })
                .collect();
        }
        let automaton = if phrases.is_empty() {
            None
        } else {
            aho_corasick::AhoCorasick::new(&phrases).ok()
        };
        Self {
            automaton,
            phrases: phrases.len(),
        }
    }

    /// Which phrases occur in `text` (lowercase) between word boundaries.
    fn found(&self, text: &str) -> Vec<bool> {
        let mut found = vec![false; self.phrases];
        if let Some(automaton) = &self.automaton {
            for m in automaton.find_overlapping_iter(text) {
                let before = text[..m.start()].chars().next_back();
                let after = text[m.end()..].chars().next();
                if before.is_none_or(|c| !c.is_alphanumeric())
                    && after.is_none_or(|c| !c.is_alphanumeric())
                {
                    found[m.pattern().as_usize()] = true;
                }
            }
        }
        found
    }
}

/// True if `phrase` (lowercase) occurs in `text` (lowercase) between word
/// boundaries: the plain definition the index is tested against.
#[cfg(test)]
fn contains_phrase(text: &str, phrase: &str) -> bool {
    text.match_indices(phrase).any(|(i, m)| {
        let before = text[..i].chars().next_back();
        let after = text[i + m.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// A number in [0, 1) fixed by the conversation and turn, for sampling.
fn sample_point(conversation: &str, turn: u32) -> f64 {
    let digest = Sha256::digest(format!("{conversation}\u{0}{turn}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

impl Policy {
    /// Evaluates `signal` against every trigger, in order, given the streak
    /// counts kept from the conversation's previous turns. The first firing
    /// `handoff` trigger decides; else the first firing `review_later` one;
    /// else the sampling rate may turn `proceed` into `review_later`
    /// (deterministically per conversation and turn).
    ///
    /// `trace` is left empty; [`Policy::explain_signal`] fills it.
    pub fn evaluate(&self, signal: &Signal, streaks: &Streaks) -> Decision {
        self.decide(signal, streaks, false)
    }

    /// Like [`Policy::evaluate`], with every trigger's outcome and why in `trace`.
    pub fn explain_signal(&self, signal: &Signal, streaks: &Streaks) -> Decision {
        self.decide(signal, streaks, true)
    }

    fn decide(&self, signal: &Signal, streaks: &Streaks, explain: bool) -> Decision {
        let facts = Facts::from_value(json!({
            "confidence": signal.confidence.unwrap_or(1.0),
            "intent": signal.intent.clone().unwrap_or_default(),
            "text": signal.text.clone().unwrap_or_default(),
            "sentiment": signal.sentiment.unwrap_or(0.0),
            "explicit_request": signal.explicit_request,
            "turn": signal.turn,
            "payload": signal.payload,
        }));
        facts.scope(|scope| self.evaluate_in(scope, signal, streaks, explain))
    }

    fn evaluate_in(
        &self,
        scope: &super::expr::Scope<'_>,
        signal: &Signal,
        streaks: &Streaks,
        explain: bool,
    ) -> Decision {
        let text = signal.text.as_deref().unwrap_or("").to_lowercase();
        let found = self.keyword_index.found(&text);
        let mut trace = Vec::with_capacity(if explain { self.triggers.len() } else { 0 });
        let mut next = Streaks::new();
        let mut handoff = None;
        let mut review = None;
        for t in &self.triggers {
            let mut why = Vec::new();
            let mut holds = true;
            if let Some(expr) = &t.when {
                let outcome = if explain {
                    expr.matches_cel(scope)
                } else {
                    expr.matches(scope)
                };
                match outcome {
                    Ok(m) => {
                        holds &= m;
                        if explain {
                            why.push(format!("`{}` is {m}", expr.source()));
                        }
                    }
                    Err(e) => {
                        holds = false;
                        if explain {
                            why.push(format!("`{}` could not be evaluated: {e}", expr.source()));
                        }
                    }
                }
            }
            if !t.keywords.is_empty() {
                let hit = t
                    .keyword_ids
                    .iter()
                    .position(|&id| found.get(id).copied().unwrap_or(false));
                match hit.map(|i| &t.keywords[i]) {
                    Some(k) if explain => why.push(format!("keyword {k:?} found")),
                    Some(_) => {}
                    None => {
                        holds = false;
                        if explain {
                            why.push("no keyword found".into());
                        }
                    }
                }
            }
            let mut fires = holds;
            if t.streak > 1 {
                let count = if holds {
                    streaks.get(&t.id).copied().unwrap_or(0) + 1
                } else {
                    0
                };
                next.insert(t.id.clone(), count);
                fires = count >= t.streak;
                if explain {
                    why.push(format!("streak {count}/{}", t.streak));
                }
            }
            if explain {
                trace.push(RuleTrace {
                    id: t.id.clone(),
                    matched: fires,
                    detail: why.join("; "),
                });
            }
            if fires {
                match t.action {
                    TriggerAction::Handoff => {
                        handoff.get_or_insert(t);
                    }
                    TriggerAction::ReviewLater => {
                        review.get_or_insert(t);
                    }
                }
            }
        }
        let decide = |action, t: &super::Trigger| Decision {
            action,
            tier: Some(t.tier),
            reason: Some(t.reason.clone()),
            impact: Some(t.impact.clone()),
            rule: Some(t.id.clone()),
            trace: trace.clone(),
            streaks: next.clone(),
        };
        if let Some(t) = handoff {
            return decide(DecisionAction::Handoff, t);
        }
        if let Some(t) = review {
            return decide(DecisionAction::ReviewLater, t);
        }
        let s = &self.sampling;
        if s.rate > 0.0 && sample_point(&signal.conversation_id, signal.turn) < s.rate {
            return Decision {
                action: DecisionAction::ReviewLater,
                tier: Some(Tier::Warm),
                reason: Some(s.reason.clone()),
                impact: Some(s.impact.clone()),
                rule: Some("sampling".into()),
                trace,
                streaks: next,
            };
        }
        Decision {
            action: DecisionAction::Proceed,
            tier: None,
            reason: None,
            impact: None,
            rule: None,
            trace,
            streaks: next,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_agrees_with_the_phrase_matcher() {
        let mut triggers = vec![super::super::Trigger {
            id: "k".into(),
            when: None,
            keywords: vec!["chest pain".into(), "pain".into(), "fraud".into()],
            keyword_ids: vec![],
            streak: 1,
            action: TriggerAction::Handoff,
            tier: Tier::Warm,
            reason: "r".into(),
            impact: "i".into(),
        }];
        let index = KeywordIndex::build(&mut triggers);
        for text in [
            "i have chest pain",
            "painful",
            "fraudulent pain",
            "(fraud)",
            "",
        ] {
            let found = index.found(text);
            for (i, k) in triggers[0].keywords.iter().enumerate() {
                assert_eq!(found[i], contains_phrase(text, k), "{text:?} {k:?}");
            }
        }
    }

    #[test]
    fn phrases_match_on_word_boundaries_only() {
        let cases = [
            ("i have chest pain since monday", "chest pain", true),
            ("chest pain", "chest pain", true),
            ("chest painful", "chest pain", false),
            ("fraudulent", "fraud", false),
            ("is this fraud?", "fraud", true),
            ("(fraud)", "fraud", true),
        ];
        for (text, phrase, want) in cases {
            assert_eq!(contains_phrase(text, phrase), want, "{text:?} {phrase:?}");
        }
    }

    #[test]
    fn sample_points_are_uniform_enough_and_fixed() {
        assert_eq!(sample_point("c", 1), sample_point("c", 1));
        let below = (0..10_000)
            .filter(|t| sample_point("conv", *t) < 0.1)
            .count();
        assert!((800..1200).contains(&below), "{below}");
    }
}
