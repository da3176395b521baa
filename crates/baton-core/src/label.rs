//! `Label`: a short machine name such as a workflow, owner group, impact or reason code.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::DomainError;

/// A machine name: 1 to 64 characters of `a-z`, `0-9`, `_`, `-`, `.` and `:`.
///
/// Workflows, owner groups, customer impacts and handoff reasons are all
/// labels, so they are safe in URLs, metric labels and log lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Label(String);

impl Label {
    /// Longest accepted label, in bytes.
    pub const MAX_LEN: usize = 64;

    /// The characters of a label, as a regular expression (its length is
    /// checked apart: 1 to [`Label::MAX_LEN`]).
    pub const PATTERN: &'static str = "^[a-z0-9_.:-]+$";

    /// Parses `value`, naming `field` in the error when it is not a label.
    pub fn parse(field: &str, value: &str) -> Result<Self, DomainError> {
        if value.is_empty() {
            return Err(DomainError::invalid(field, "must not be empty"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(DomainError::invalid(
                field,
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let ok = value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.:".contains(&b));
        if !ok {
            return Err(DomainError::invalid(
                field,
                "use only lowercase letters, digits, '_', '-', '.' and ':'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The label as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Label {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("label", &value)
    }
}

impl From<Label> for String {
    fn from(label: Label) -> Self {
        label.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A label is a string matching [`Label::parse`]: the pattern and length
/// below are the same rule, so clients can check names before sending them.
#[cfg(feature = "utoipa")]
impl utoipa::PartialSchema for Label {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "a machine name: lowercase letters, digits, '_', '-', '.' and ':'",
            ))
            .pattern(Some(Self::PATTERN))
            .min_length(Some(1))
            .max_length(Some(Self::MAX_LEN))
            .into()
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::ToSchema for Label {}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, ok: bool) {
        assert_eq!(Label::parse("f", input).is_ok(), ok, "{input:?}");
    }

    #[test]
    fn accepts_machine_names_only() {
        check("support-chat", true);
        check("line_2", true);
        check("tier.1:eu", true);
        check("", false);
        check("Support", false);
        check("has space", false);
        check(&"a".repeat(64), true);
        check(&"a".repeat(65), false);
    }

    #[test]
    fn pattern_matches_the_parser_on_every_byte() {
        // PATTERN is a character class: check each ASCII byte against it.
        let class = Label::PATTERN
            .strip_prefix("^[")
            .and_then(|p| p.strip_suffix("]+$"))
            .unwrap();
        let allowed = |b: u8| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || class.replace("a-z0-9", "").as_bytes().contains(&b)
        };
        for b in 0u8..128 {
            let text = (b as char).to_string();
            assert_eq!(Label::parse("f", &text).is_ok(), allowed(b), "{b}");
        }
    }

    #[test]
    fn error_names_the_field() {
        let err = Label::parse("owner_group", "X").unwrap_err();
        assert_eq!(err.field(), Some("owner_group"));
    }
}
