//! API token records: the SHA-256 of a secret, a role and its scopes.

use baton_core::Role;
use jiff::Timestamp;
use uuid::Uuid;

/// A stored API token. The secret itself is never stored, only `hash`.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    /// Its id.
    pub id: Uuid,
    /// A unique name, used as the actor in the event log.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Owner groups a reviewer is bound to.
    pub groups: Vec<String>,
    /// Workflows an agent is bound to (empty: all).
    pub workflows: Vec<String>,
    /// Lowercase hex SHA-256 of the secret.
    pub hash: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}
