//! Roles and what each may do: the rule behind every 401/403 decision.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A token's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An automation: creates handoffs, reads its workflows' items, reports execution.
    Agent,
    /// A person bound to owner groups: reads, claims and acts only there.
    Reviewer,
    /// A team lead: reads everything, reassigns, escalates, sees the views.
    Lead,
    /// Everything, including tokens.
    Admin,
}

/// Something a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Create a handoff.
    Create,
    /// Read handoffs and their events (scoped for agents and reviewers).
    Read,
    /// Claim, release, request/provide info, add notes, resolve, close, reopen.
    Work,
    /// Move an item to another owner group, or escalate it.
    Reassign,
    /// Report the execution of a decision.
    ReportExecution,
    /// Answer a request for information.
    ProvideInfo,
    /// Leader views and the global event feed.
    Views,
    /// Manage tokens.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Self; 4] = [Self::Agent, Self::Reviewer, Self::Lead, Self::Admin];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Reviewer => "reviewer",
            Self::Lead => "lead",
            Self::Admin => "admin",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// Whether the role holds `permission` at all (scopes are checked apart).
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Admin => true,
            Self::Lead => matches!(permission, Read | Work | Reassign | ProvideInfo | Views),
            Self::Reviewer => matches!(permission, Read | Work | Reassign | ProvideInfo),
            Self::Agent => matches!(permission, Create | Read | ReportExecution | ProvideInfo),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_permission_table() {
        use Permission::*;
        let all = [
            Create,
            Read,
            Work,
            Reassign,
            ReportExecution,
            ProvideInfo,
            Views,
            Admin,
        ];
        let table: [(Role, &[Permission]); 4] = [
            (Role::Agent, &[Create, Read, ReportExecution, ProvideInfo]),
            (Role::Reviewer, &[Read, Work, Reassign, ProvideInfo]),
            (Role::Lead, &[Read, Work, Reassign, ProvideInfo, Views]),
            (Role::Admin, &all),
        ];
        for (role, granted) in table {
            for p in all {
                assert_eq!(role.allows(p), granted.contains(&p), "{role} {p:?}");
            }
        }
    }
}
