//! The handoff: one unit of work handed from an automation to people, and its context packet.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::lifecycle::{AiOutputState, LifecycleState};
use crate::receipt::ClosureReceipt;
use crate::{DomainError, Label};

/// Longest accepted free text (summary, note, message), in characters; every
/// field's own limit is in [`crate::limits::TABLE`].
pub const MAX_TEXT: usize = crate::limits::TEXT;
/// Most transcript messages, links or suggested actions in one context packet.
pub const MAX_ITEMS: usize = 500;

/// How urgently a person must pick the handoff up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Context summarised, normal SLA; the customer is told a specialist is joining.
    #[default]
    Warm,
    /// High risk: priority queue and real-time alert.
    Immediate,
}

impl Tier {
    /// The wire name, `warm` or `immediate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warm => "warm",
            Self::Immediate => "immediate",
        }
    }
}

/// The item in its system of record: `{source, ref, url}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The system of record, e.g. `zendesk` or `sap`.
    #[cfg_attr(
        feature = "utoipa",
        schema(min_length = 1, max_length = 16384, pattern = r"\S")
    )]
    pub source: String,
    /// The item's id there.
    #[serde(rename = "ref")]
    #[cfg_attr(
        feature = "utoipa",
        schema(min_length = 1, max_length = 16384, pattern = r"\S")
    )]
    pub reference: String,
    /// A link to the item there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, max_length = 16384, pattern = r"^(http://[\s\S]{3,}|https://[\s\S]{2,})$"))]
    pub url: Option<String>,
}

/// One transcript message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Who spoke: `customer`, `assistant`, `agent`, …
    pub role: String,
    /// What was said.
    #[cfg_attr(feature = "utoipa", schema(max_length = 16384))]
    pub text: String,
    /// When, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub at: Option<Timestamp>,
}

/// What the AI made of the work before handing it off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AiAssessment {
    /// The action the AI would take.
    #[cfg_attr(
        feature = "utoipa",
        schema(min_length = 1, max_length = 16384, pattern = r"\S")
    )]
    pub proposed_action: String,
    /// The AI's confidence, from 0 to 1 inclusive.
    #[cfg_attr(feature = "utoipa", schema(minimum = 0, maximum = 1))]
    pub confidence: f64,
    /// The model that produced the proposal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The prompt or workflow path that led there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_path: Option<String>,
    /// References to the sources the AI used.
    #[serde(default)]
    pub sources: Vec<String>,
}

/// A link to an original record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// What the link shows.
    pub label: String,
    /// Where it points.
    #[cfg_attr(
        feature = "utoipa",
        schema(
            max_length = 16384,
            pattern = r"^(http://[\s\S]{3,}|https://[\s\S]{2,})$"
        )
    )]
    pub url: String,
}

/// The minimum a person needs to decide fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContextPacket {
    /// A short situation brief.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_length = 16384))]
    pub summary: String,
    /// The transcript or triggering record.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_items = 500))]
    pub messages: Vec<Message>,
    /// What the AI proposed, and how sure it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_assessment: Option<AiAssessment>,
    /// Suggested next actions, e.g. `approve`, `request_info`.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_items = 500))]
    pub suggested_actions: Vec<String>,
    /// Links to the original records.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_items = 500))]
    pub links: Vec<Link>,
    /// Workflow-specific data, a JSON object.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub payload: Map<String, Value>,
}

/// What an automation sends to hand work off; [`NewHandoff::into_handoff`] validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewHandoff {
    /// The workflow, a [`Label`].
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::Label))]
    pub workflow: String,
    /// The item in its system of record.
    pub subject: Subject,
    /// A one-line title.
    #[cfg_attr(
        feature = "utoipa",
        schema(min_length = 1, max_length = 16384, pattern = r"\S")
    )]
    pub title: String,
    /// The customer impact, a [`Label`] such as `high`.
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::Label))]
    pub impact: String,
    /// The handoff reason, a [`Label`] such as `low_confidence`.
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::Label))]
    pub reason: String,
    /// `warm` (the default) or `immediate`.
    #[serde(default)]
    pub tier: Tier,
    /// The owner group, a [`Label`]; the caller's default group when absent.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<crate::Label>))]
    pub owner_group: Option<String>,
    /// The context packet.
    #[serde(default)]
    pub context: ContextPacket,
    /// Where to tell the automation about the decision.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, max_length = 16384, pattern = r"^(http://[\s\S]{3,}|https://[\s\S]{2,})$"))]
    pub callback_url: Option<String>,
}

/// A handoff as Baton keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Handoff {
    /// UUIDv7, so ids sort by creation time.
    pub id: Uuid,
    /// The workflow that handed the work off.
    pub workflow: Label,
    /// The item in its system of record.
    pub subject: Subject,
    /// A one-line title.
    pub title: String,
    /// The customer impact, which sets the SLA clocks.
    pub impact: Label,
    /// Why the automated path stopped.
    pub reason: Label,
    /// `warm` or `immediate`.
    pub tier: Tier,
    /// The team or role that owns the item.
    pub owner_group: Label,
    /// Who claimed it, while claimed; or, while `pending`, the reviewer the
    /// assigner offered it to (see `assigned_at`).
    pub assignee: Option<String>,
    /// While `pending` with an assignee: when the assigner offered it
    /// ([`crate::react::assign`]); the offer expires the impact's
    /// `accept_within` later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub assigned_at: Option<Timestamp>,
    /// The lifecycle state.
    pub state: LifecycleState,
    /// The AI output's state.
    pub ai_state: AiOutputState,
    /// The context packet.
    pub context: ContextPacket,
    /// Where to tell the automation about the decision.
    pub callback_url: Option<String>,
    /// Who created it (token name).
    pub created_by: String,
    /// When it was created.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When it was last claimed.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub claimed_at: Option<Timestamp>,
    /// When it was last resolved.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<Timestamp>,
    /// When it was closed.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    /// When anything last changed.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    /// The latest customer-safe note.
    pub customer_note: Option<String>,
    /// When the customer was promised the next update (set by a
    /// customer-safe note; a timer fires `update_due` if it passes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub next_update_at: Option<Timestamp>,
    /// The closure receipt, once resolved.
    pub receipt: Option<ClosureReceipt>,
    /// How often it was reopened (rework).
    pub reopen_count: u32,
    /// How often it was escalated.
    pub escalation_count: u32,
    /// Claim by then (SLA time to accept), from the policy's impact and calendar.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub accept_by: Option<Timestamp>,
    /// Resolve by then (SLA time to resolve).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub resolve_by: Option<Timestamp>,
    /// Version (content hash) of the policy that routed and timed it.
    #[serde(default)]
    pub policy_version: Option<String>,
    /// The routing rule that chose the owner group (`caller` when the
    /// automation named the group itself).
    #[serde(default)]
    pub route_rule: Option<String>,
    /// While `needs_context`: the payload fields the workflow's contract
    /// still needs (dotted paths under `context.payload`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_fields: Vec<String>,
    /// The live SLA clocks ([`crate::clocks`]); `None` for an item created
    /// before clocks existed or imported, until its next change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clocks: Option<crate::clocks::SlaClocks>,
    /// Where it is in its escalation chain ([`crate::escalate`]), if one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<crate::escalate::ChainProgress>,
}

impl NewHandoff {
    /// Checks every field an evaluate draft carries (all but `impact` and
    /// `reason`, which the decision gives), as [`NewHandoff::into_handoff`]
    /// would, without building anything.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the first bad field.
    pub fn check_draft(&self) -> Result<(), DomainError> {
        Label::parse("workflow", &self.workflow)?;
        if let Some(group) = &self.owner_group {
            Label::parse("owner_group", group)?;
        }
        self.check_texts()
    }

    /// The free-text fields: title, subject, URLs and the context packet.
    fn check_texts(&self) -> Result<(), DomainError> {
        non_empty("title", &self.title)?;
        non_empty("subject.source", &self.subject.source)?;
        non_empty("subject.ref", &self.subject.reference)?;
        if let Some(url) = &self.subject.url {
            check_url("subject.url", url)?;
        }
        if let Some(url) = &self.callback_url {
            check_url("callback_url", url)?;
        }
        check_context(&self.context)
    }

    /// Validates the input and builds a `pending` handoff with the AI output `proposed`.
    ///
    /// `routed_group` (the group the policy's routes chose) is used when
    /// `owner_group` is absent.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the first bad field.
    pub fn into_handoff(
        self,
        id: Uuid,
        routed_group: &str,
        created_by: &str,
        now: Timestamp,
    ) -> Result<Handoff, DomainError> {
        let workflow = Label::parse("workflow", &self.workflow)?;
        let impact = Label::parse("impact", &self.impact)?;
        let reason = Label::parse("reason", &self.reason)?;
        let owner_group = Label::parse(
            "owner_group",
            self.owner_group.as_deref().unwrap_or(routed_group),
        )?;
        self.check_texts()?;
        Ok(Handoff {
            id,
            workflow,
            subject: self.subject,
            title: self.title,
            impact,
            reason,
            tier: self.tier,
            owner_group,
            assignee: None,
            assigned_at: None,
            state: LifecycleState::Pending,
            ai_state: AiOutputState::Proposed,
            context: self.context,
            callback_url: self.callback_url,
            created_by: created_by.to_owned(),
            created_at: now,
            claimed_at: None,
            resolved_at: None,
            closed_at: None,
            updated_at: now,
            customer_note: None,
            next_update_at: None,
            receipt: None,
            reopen_count: 0,
            escalation_count: 0,
            accept_by: None,
            resolve_by: None,
            policy_version: None,
            route_rule: None,
            missing_fields: Vec::new(),
            clocks: None,
            escalation: None,
        })
    }
}

impl Handoff {
    /// True while people still owe work on it: `pending`, `in_progress` or `waiting`.
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }
}

/// Refuses empty or over-long text.
pub(crate) fn non_empty(field: &str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    bounded(field, value)
}

/// Refuses text holding U+0000 or longer than the field's row in [`crate::limits::TABLE`].
pub(crate) fn bounded(field: &str, value: &str) -> Result<(), DomainError> {
    crate::limits::check(field, value)
}

fn check_url(field: &str, url: &str) -> Result<(), DomainError> {
    bounded(field, url)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
        return Err(DomainError::invalid(
            field,
            "must be an absolute http:// or https:// url",
        ));
    }
    Ok(())
}

fn check_context(context: &ContextPacket) -> Result<(), DomainError> {
    bounded("context.summary", &context.summary)?;
    for (name, len) in [
        ("context.messages", context.messages.len()),
        ("context.links", context.links.len()),
        ("context.suggested_actions", context.suggested_actions.len()),
    ] {
        if len > MAX_ITEMS {
            return Err(DomainError::invalid(
                name,
                format!("must hold at most {MAX_ITEMS} entries"),
            ));
        }
    }
    for (i, message) in context.messages.iter().enumerate() {
        bounded(&format!("context.messages[{i}].role"), &message.role)?;
        bounded(&format!("context.messages[{i}].text"), &message.text)?;
    }
    for (i, link) in context.links.iter().enumerate() {
        bounded(&format!("context.links[{i}].label"), &link.label)?;
        check_url(&format!("context.links[{i}].url"), &link.url)?;
    }
    for (key, value) in &context.payload {
        let path = format!("context.payload.{key}");
        crate::limits::check_nul(&path, key)?;
        crate::limits::check_json_nul(&path, value)?;
    }
    for (i, action) in context.suggested_actions.iter().enumerate() {
        bounded(&format!("context.suggested_actions[{i}]"), action)?;
    }
    if let Some(ai) = &context.ai_assessment {
        for (field, value) in [
            ("context.ai_assessment.model", &ai.model),
            ("context.ai_assessment.workflow_path", &ai.workflow_path),
        ] {
            if let Some(value) = value {
                bounded(field, value)?;
            }
        }
        if ai.sources.len() > MAX_ITEMS {
            return Err(DomainError::invalid(
                "context.ai_assessment.sources",
                format!("must hold at most {MAX_ITEMS} entries"),
            ));
        }
        for (i, source) in ai.sources.iter().enumerate() {
            bounded(&format!("context.ai_assessment.sources[{i}]"), source)?;
        }
        if !(0.0..=1.0).contains(&ai.confidence) {
            return Err(DomainError::invalid(
                "context.ai_assessment.confidence",
                "must be a number from 0 to 1",
            ));
        }
        non_empty("context.ai_assessment.proposed_action", &ai.proposed_action)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid new handoff for tests.
    pub(crate) fn sample() -> NewHandoff {
        serde_json::from_value(serde_json::json!({
            "workflow": "support-chat",
            "subject": {"source": "zendesk", "ref": "T-1", "url": "https://example.com/T-1"},
            "title": "refund over limit",
            "impact": "high",
            "reason": "policy_exception",
            "context": {
                "summary": "customer asks for a refund of 900 EUR",
                "ai_assessment": {"proposed_action": "refund", "confidence": 0.62},
                "payload": {"amount": 900}
            }
        }))
        .unwrap()
    }

    fn field_of(edit: impl FnOnce(&mut NewHandoff)) -> Option<String> {
        let mut new = sample();
        edit(&mut new);
        new.into_handoff(Uuid::nil(), "triage", "agent", Timestamp::UNIX_EPOCH)
            .err()
            .and_then(|e| e.field().map(str::to_owned))
    }

    #[test]
    fn valid_input_builds_a_pending_proposed_handoff() {
        let h = sample()
            .into_handoff(Uuid::nil(), "triage", "bot", Timestamp::UNIX_EPOCH)
            .unwrap();
        assert_eq!(h.state, LifecycleState::Pending);
        assert_eq!(h.ai_state, AiOutputState::Proposed);
        assert_eq!(h.owner_group.as_str(), "triage");
        assert_eq!(h.created_by, "bot");
    }

    #[test]
    fn bad_fields_are_named() {
        type Edit = Box<dyn FnOnce(&mut NewHandoff)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("workflow", Box::new(|n| n.workflow = "Bad Name".into())),
            ("impact", Box::new(|n| n.impact = String::new())),
            ("reason", Box::new(|n| n.reason = "x y".into())),
            (
                "owner_group",
                Box::new(|n| n.owner_group = Some("A".into())),
            ),
            ("title", Box::new(|n| n.title = "  ".into())),
            (
                "subject.ref",
                Box::new(|n| n.subject.reference = String::new()),
            ),
            (
                "subject.url",
                Box::new(|n| n.subject.url = Some("ftp://x".into())),
            ),
            (
                "callback_url",
                Box::new(|n| n.callback_url = Some("nope".into())),
            ),
            (
                "context.ai_assessment.confidence",
                Box::new(|n| n.context.ai_assessment.as_mut().unwrap().confidence = 1.5),
            ),
            (
                "context.summary",
                Box::new(|n| n.context.summary = "x".repeat(MAX_TEXT + 1)),
            ),
        ];
        for (field, edit) in cases {
            assert_eq!(field_of(edit).as_deref(), Some(field));
        }
    }
}
