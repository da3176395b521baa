//! The closure receipt: who decided, the resolution, why, what changed and what the customer was told.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::handoff::bounded;
use crate::{DomainError, Label};

/// How a person resolved a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The AI proposal was right as it stood.
    Approved,
    /// The proposal was right once changed (see `changes`).
    Corrected,
    /// The proposal was wrong.
    Rejected,
    /// The work went to another system or team outside Baton.
    Routed,
    /// The work went up the escalation chain.
    Escalated,
    /// The work is on hold by decision.
    Paused,
}

impl Resolution {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Corrected => "corrected",
            Self::Rejected => "rejected",
            Self::Routed => "routed",
            Self::Escalated => "escalated",
            Self::Paused => "paused",
        }
    }
}

/// What a reviewer sends to resolve a handoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReceiptInput {
    /// The resolution.
    pub resolution: Resolution,
    /// The resolution reason, a [`Label`] from the resolution-reason taxonomy.
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::Label))]
    pub resolution_reason: String,
    /// What changed against the AI proposal, any JSON.
    #[serde(default)]
    pub changes: Option<Value>,
    /// What the customer was told.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_length = 16384))]
    pub customer_note: Option<String>,
    /// A note for colleagues only.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_length = 16384))]
    pub internal_note: Option<String>,
}

/// The record left when a handoff is resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ClosureReceipt {
    /// Who decided (token or user name).
    pub decided_by: String,
    /// The resolution.
    pub resolution: Resolution,
    /// Why, from the resolution-reason taxonomy.
    pub resolution_reason: Label,
    /// What changed against the AI proposal.
    pub changes: Option<Value>,
    /// What the customer was told.
    pub customer_note: Option<String>,
    /// A note for colleagues only.
    pub internal_note: Option<String>,
    /// When it was resolved.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub resolved_at: Timestamp,
    /// True when the policy decided on its own (an escalation level's
    /// `auto`, `decided_by = "policy:<chain>"`), never a person.
    #[serde(default)]
    pub automatic: bool,
}

impl ReceiptInput {
    /// Validates the input into a receipt decided by `decided_by` at `now`.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming the field: a bad resolution reason, a
    /// `corrected` resolution without `changes`, or over-long notes.
    pub fn into_receipt(
        self,
        decided_by: &str,
        now: Timestamp,
    ) -> Result<ClosureReceipt, DomainError> {
        let resolution_reason = Label::parse("resolution_reason", &self.resolution_reason)?;
        if self.resolution == Resolution::Corrected && self.changes.is_none() {
            return Err(DomainError::invalid(
                "changes",
                "a corrected resolution must say what changed against the ai proposal",
            ));
        }
        if let Some(changes) = &self.changes {
            crate::limits::check_json_nul("changes", changes)?;
        }
        for (field, note) in [
            ("customer_note", &self.customer_note),
            ("internal_note", &self.internal_note),
        ] {
            if let Some(note) = note {
                bounded(field, note)?;
            }
        }
        Ok(ClosureReceipt {
            decided_by: decided_by.to_owned(),
            resolution: self.resolution,
            resolution_reason,
            changes: self.changes,
            customer_note: self.customer_note,
            internal_note: self.internal_note,
            resolved_at: now,
            automatic: false,
        })
    }
}
