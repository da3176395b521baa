//! The one error type of the domain: bad input naming its field, or an illegal transition.

use crate::lifecycle::{AiOutputState, LifecycleState};

/// Why the domain refused an input or an action.
///
/// Messages are lowercase with no trailing period, and name the field or the
/// state so that the caller knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A field of the input is missing or malformed; `field` is its JSON path.
    #[error("{field}: {message}")]
    Invalid {
        /// JSON path of the offending field, e.g. `context.ai_assessment.confidence`.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The action is not allowed in the handoff's lifecycle state.
    #[error("cannot {action} a handoff that is {state}")]
    IllegalTransition {
        /// The handoff's current lifecycle state.
        state: LifecycleState,
        /// The action that was refused, e.g. `claim`.
        action: &'static str,
    },
    /// The action is not allowed in the AI output's state.
    #[error("cannot {action} when the ai output is {state}")]
    IllegalAiTransition {
        /// The AI output's current state.
        state: AiOutputState,
        /// The action that was refused, e.g. `report execution`.
        action: &'static str,
    },
}

impl DomainError {
    /// Shorthand for [`DomainError::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The offending field, if the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }
}
