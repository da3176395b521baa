//! Request extractors that answer bad input with `ApiError`s: the caller
//! (bearer token), JSON bodies, query strings and path parameters, each
//! naming the bad field; and the request-head limits (414, 431).
//!
//! Text PostgreSQL cannot store (U+0000) is refused here, in every body
//! string and key, query parameter and path segment, before a handler runs.

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
    /// Token id: idempotency keys are scoped by it (names may be reused).
    pub id: uuid::Uuid,
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
                id: t.id,
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
        // Every body is read strictly, whatever `T` keeps of it.
        let value = parse_json(text)?;
        Ok(Self { value, raw })
    }
}

/// Parses JSON: 400 `invalid_json` unless the whole body is one JSON value
/// without a repeated key (naming the key's path), 400 `invalid_text`
/// naming the field that holds U+0000, then 422 `invalid_field` naming the
/// failing field path for a value of the wrong shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    from_value(parse_value(bytes)?)
}

/// Reads an already parsed JSON value into `T`: 422 `invalid_field` naming
/// the failing field path for a value of the wrong shape.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
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

/// Parses `bytes` as one strict JSON value (see [`crate::strict_json`]).
///
/// # Errors
/// 400 `invalid_json` (a repeated key names its path) or `invalid_text`.
pub fn parse_value(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    use crate::strict_json::{Problem, StrictError};
    crate::strict_json::parse(bytes).map_err(|err| match err {
        StrictError::Syntax(err) => {
            ApiError::new("invalid_json", format!("the body is not valid json: {err}"))
        }
        StrictError::Refused(Problem::DuplicateKey(path)) => ApiError::new(
            "invalid_json",
            format!("the key {path} appears twice in one object; send each key once"),
        )
        .with_field(path),
        StrictError::Refused(Problem::Nul(path)) => nul_error(path),
    })
}

/// 400 `invalid_text`: `field` holds U+0000.
pub fn nul_error(field: impl Into<String>) -> ApiError {
    let field = field.into();
    ApiError::new(
        "invalid_text",
        format!("{field} contains the NUL character (U+0000), which Baton does not store"),
    )
    .with_field(field)
}

/// Path parameters parsed into `T`. A segment that is not UTF-8 once
/// percent-decoded, or holds U+0000, is 400 `invalid_path` naming the
/// parameter; any other mismatch is 404 `not_found`, all with the JSON
/// error body.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::{ErrorKind, RawPathParams};
        use axum::extract::rejection::PathRejection;
        let value = axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| match &e {
                PathRejection::FailedToDeserializePathParams(inner) => match inner.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => ApiError::new(
                        "invalid_path",
                        format!("the {key} path segment is not valid utf-8 once percent-decoded"),
                    )
                    .with_field(key.clone()),
                    _ => ApiError::new("not_found", format!("no such resource: {}", e.body_text())),
                },
                _ => ApiError::new("not_found", format!("no such resource: {}", e.body_text())),
            })?;
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await {
            for (key, segment) in &raw {
                if segment.contains('\0') {
                    return Err(ApiError::new(
                        "invalid_path",
                        format!("the {key} path segment contains the NUL character (U+0000)"),
                    )
                    .with_field(key));
                }
            }
        }
        Ok(Self(value.0))
    }
}

/// A query string parsed into `T`; 400 `invalid_query` naming the
/// parameter: U+0000 or a value over [`baton_core::limits::QUERY_VALUE`]
/// characters, a parameter given twice, an unknown parameter or a value of
/// the wrong type (`?limit=-1` names `limit`).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(Self)
    }
}

/// Parses a query string into `T`, naming the bad parameter (see [`ApiQuery`]).
///
/// # Errors
/// 400 `invalid_query` with `field` set to the parameter when one is at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let bad =
        |field: &str, message: String| ApiError::new("invalid_query", message).with_field(field);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::new("invalid_query", format!("bad query string: {e}")))?;
    let mut seen = std::collections::HashSet::new();
    for (key, value) in &pairs {
        if key.contains('\0') || value.contains('\0') {
            return Err(bad(
                key,
                format!("the {key} parameter contains the NUL character (U+0000)"),
            ));
        }
        let max = baton_core::limits::QUERY_VALUE;
        if value.chars().count() > max {
            return Err(bad(key, format!("{key} must be at most {max} characters")));
        }
        if !seen.insert(key.as_str()) {
            return Err(bad(key, format!("give the {key} parameter once")));
        }
    }
    serde_urlencoded::from_str(query).map_err(|err| {
        // Find the parameter at fault: the first that fails on its own.
        let culprit = pairs.iter().find_map(|(key, value)| {
            let one = serde_urlencoded::to_string([(key, value)]).ok()?;
            serde_urlencoded::from_str::<T>(&one)
                .err()
                .map(|e| (key.clone(), e.to_string()))
        });
        match culprit {
            Some((key, message)) if message.starts_with("unknown field") => {
                bad(&key, message.replace("field", "parameter"))
            }
            Some((key, message)) => bad(&key, format!("bad value of {key}: {message}")),
            None => ApiError::new("invalid_query", format!("bad query string: {err}")),
        }
    })
}

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI: usize = 8 * 1024;
/// Largest accepted request head (all header names and values), in bytes.
pub const MAX_HEADERS: usize = 32 * 1024;

/// Middleware: 414 `uri_too_long` naming `uri` for a request target over
/// [`MAX_URI`] bytes, 431 `headers_too_large` naming the largest header when
/// the headers pass [`MAX_HEADERS`] bytes, both with the JSON error body.
/// (Past hyper's own limits, 64 KiB of URI or about 400 KiB of head, hyper
/// answers before any handler with an empty body.)
pub async fn limit_request_head(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri_len > MAX_URI {
        return ApiError::new(
            "uri_too_long",
            format!("the request target is {uri_len} bytes; at most {MAX_URI} are accepted"),
        )
        .with_field("uri")
        .into_response();
    }
    let headers = request.headers();
    let total: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if total > MAX_HEADERS {
        let largest = headers
            .iter()
            .max_by_key(|(name, value)| name.as_str().len() + value.len())
            .map_or("headers", |(name, _)| name.as_str());
        return ApiError::new(
            "headers_too_large",
            format!("the request headers are {total} bytes; at most {MAX_HEADERS} are accepted (largest: {largest})"),
        )
        .with_field(largest)
        .into_response();
    }
    next.run(request).await
}
