//! Request extractors that answer bad input with `ApiError`s: the caller
//! (bearer token), JSON bodies (naming the bad field) and query strings.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use baton_core::{Permission, Role};
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Token name, recorded as the actor of events.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A reviewer's owner groups.
    pub groups: Vec<String>,
    /// An agent's workflows (empty: all).
    pub workflows: Vec<String>,
}

impl Caller {
    /// 403 unless the role holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a {} token may not do this ({permission:?})",
                self.role
            )))
        }
    }

    /// The owner groups this caller is limited to, `None` for all.
    pub fn group_scope(&self) -> Option<Vec<String>> {
        (self.role == Role::Reviewer).then(|| self.groups.clone())
    }

    /// The workflows this caller is limited to, `None` for all.
    pub fn workflow_scope(&self) -> Option<Vec<String>> {
        (self.role == Role::Agent && !self.workflows.is_empty()).then(|| self.workflows.clone())
    }

    /// Whether a handoff in `group` and `workflow` is within this caller's scope.
    pub fn can_see(&self, group: &str, workflow: &str) -> bool {
        self.group_scope()
            .is_none_or(|g| g.iter().any(|x| x == group))
            && self
                .workflow_scope()
                .is_none_or(|w| w.iter().any(|x| x == workflow))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send 'Authorization: Bearer <token>'"))?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| {
                let (scheme, rest) = h.split_once(' ')?;
                // The auth scheme is case-insensitive (RFC 9110 §11.1).
                scheme.eq_ignore_ascii_case("bearer").then_some(rest)
            })
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be 'Bearer <token>'")
            })?;
        let hash = crate::token::hash(secret);
        let record = state.store.token_by_hash(&hash).await?;
        match record {
            Some(t) if t.revoked_at.is_none() => Ok(Self {
                name: t.name,
                role: t.role,
                groups: t.groups,
                workflows: t.workflows,
            }),
            Some(_) => Err(ApiError::unauthorized("this token was revoked")),
            None => Err(ApiError::unauthorized("unknown token")),
        }
    }
}

/// A JSON body parsed into `T`, keeping the raw bytes (for idempotency).
/// An empty body parses as `{}`.
pub struct ApiJson<T> {
    /// The parsed body.
    pub value: T,
    /// The bytes as received.
    pub raw: Bytes,
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        let raw = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    "payload_too_large",
                    format!("the request body is over {} bytes", state.config.body_limit),
                )
            } else {
                ApiError::new("bad_request", "the request body could not be read")
            }
        })?;
        if !raw.is_empty() && json_type != Some(true) {
            return Err(ApiError::new(
                "unsupported_media_type",
                "send the body as JSON with 'Content-Type: application/json'",
            ));
        }
        let text: &[u8] = if raw.is_empty() { b"{}" } else { &raw };
        let value = parse_json(text)?;
        Ok(Self { value, raw })
    }
}

/// Parses JSON: 400 `invalid_json` unless the whole body is one JSON value,
/// then 422 `invalid_field` naming the failing field path for a value of
/// the wrong shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
        ApiError::new("invalid_json", format!("the body is not valid json: {err}"))
    })?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let root = path == "." || path.is_empty();
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|m| m.split('`').next());
        let field = match (root, named) {
            (true, Some(name)) => name.to_owned(),
            (false, Some(name)) if message.starts_with("missing") => format!("{path}.{name}"),
            (true, None) => "body".to_owned(),
            (false, _) => path,
        };
        ApiError::invalid(field, message)
    })
}

/// Path parameters parsed into `T`; a path that does not parse (bad
/// percent-encoding, say) is 404 `not_found` with the JSON error body.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| ApiError::new("not_found", format!("no such resource: {}", e.body_text())))
    }
}

/// A query string parsed into `T`; 400 `invalid_query` naming the problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(Self)
            .map_err(|e| ApiError::new("invalid_query", format!("bad query string: {e}")))
    }
}
