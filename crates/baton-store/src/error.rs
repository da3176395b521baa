//! `StoreError`: what a store operation can fail with, mapped from driver errors by each backend.

use baton_core::DomainError;

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No handoff (or token) with that id.
    #[error("not found")]
    NotFound,
    /// The domain refused the action (bad input or an illegal transition).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The claim token is missing, stale or someone else's.
    #[error(
        "the claim token is missing, stale or belongs to someone else; claim the handoff again"
    )]
    ClaimMismatch,
    /// Another request changed the handoff first.
    #[error("the handoff changed while this request ran; read it again and retry")]
    Conflict,
    /// The idempotency key was used before with a different body.
    #[error("this Idempotency-Key was used with a different request body; use a new key")]
    IdempotencyMismatch,
    /// A name that must be unique is taken.
    #[error("{0} is already taken")]
    Duplicate(String),
    /// The writer could not commit (the database is unreachable or refuses
    /// writes); nothing of the request was written. Retry later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database failed; the message is for logs, not for clients.
    #[error("database error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Wraps any driver error as [`StoreError::Backend`].
    pub fn backend(err: impl std::fmt::Display) -> Self {
        Self::Backend(err.to_string())
    }
}
