//! `ApiError`: the one error type of handlers, rendered as
//! `{"error": {"code", "message", "field"?}}` with a stable `code`.
//!
//! Which error type where: the core returns `DomainError`, the stores
//! `StoreError`; handlers return `ApiError`, converted from both with `?`.
//! The CLI and start-up use `anyhow`. Internal errors are logged once here
//! and never shown to clients.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_core::DomainError;
use baton_store::StoreError;
use serde_json::json;

/// An error answered to a client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code (see the table in [`ApiError::code_status`]).
    pub code: &'static str,
    /// Human message: lowercase, names what to fix.
    pub message: String,
    /// The offending field, when there is one.
    pub field: Option<String>,
    /// Every problem, when there are several (`[{field, message}]` or policy errors).
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// The status of each stable code; the single table of codes.
    pub fn code_status(code: &str) -> StatusCode {
        match code {
            "bad_request" | "invalid_json" | "invalid_query" | "invalid_text" | "invalid_path" => {
                StatusCode::BAD_REQUEST
            }
            "unauthorized" => StatusCode::UNAUTHORIZED,
            "forbidden" => StatusCode::FORBIDDEN,
            "not_found" => StatusCode::NOT_FOUND,
            "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
            "illegal_transition" | "claim_mismatch" | "conflict" | "duplicate" => {
                StatusCode::CONFLICT
            }
            "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            "uri_too_long" => StatusCode::URI_TOO_LONG,
            "headers_too_large" => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_field" | "idempotency_mismatch" => StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_streams" => StatusCode::TOO_MANY_REQUESTS,
            "unavailable" | "timeout" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// An error with `code` (from the table) and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: Self::code_status(code),
            code,
            message: message.into(),
            field: None,
            details: None,
        }
    }

    /// Lists every problem in `details`.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Names the offending field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 422 `invalid_field` naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new("invalid_field", message).with_field(field)
    }

    /// 404 for a handoff.
    pub fn no_handoff(id: &str) -> Self {
        Self::new("not_found", format!("no handoff with id {id}"))
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new("unauthorized", message)
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new("forbidden", message)
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match &err {
            DomainError::Invalid { field, message } => {
                Self::invalid(field.clone(), message.clone())
            }
            DomainError::IllegalTransition { .. } | DomainError::IllegalAiTransition { .. } => {
                Self::new("illegal_transition", err.to_string())
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => Self::new("not_found", "no such handoff"),
            StoreError::Domain(d) => d.into(),
            StoreError::ClaimMismatch => {
                Self::new("claim_mismatch", StoreError::ClaimMismatch.to_string())
                    .with_field("claim_token")
            }
            e @ StoreError::Conflict => Self::new("conflict", e.to_string()),
            e @ StoreError::IdempotencyMismatch => {
                Self::new("idempotency_mismatch", e.to_string()).with_field("Idempotency-Key")
            }
            e @ StoreError::Duplicate(_) => Self::new("duplicate", e.to_string()),
            StoreError::Backend(detail) | StoreError::Unavailable(detail) => {
                tracing::error!(%detail, "store failure");
                Self::new("unavailable", "the database is unavailable; retry later")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            error["field"] = field.into();
        }
        if let Some(details) = self.details {
            error["details"] = details;
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}
