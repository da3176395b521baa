//! The one length table of every text field Baton accepts, and the rule that
//! no text holds U+0000 (PostgreSQL cannot store it in `TEXT` or `JSONB`).
//!
//! Lengths are counted in characters (Unicode scalar values), not bytes.
//! Labels (`workflow`, `impact`, `reason` of a create, `owner_group`,
//! `resolution_reason`) are [`crate::Label`]s: at most [`Label::MAX_LEN`]
//! characters of `[a-z0-9_.:-]`. Free-form JSON (`context.payload`, a
//! receipt's `changes`, an evaluate signal's other fields) has no per-string
//! limit beyond the request body limit, but the NUL rule holds there too.
//! `docs/input-rules.md` prints this table; a test keeps the two in step.

use crate::{DomainError, Label};

/// Free text: summaries, messages, notes, questions, reasons, details.
pub const TEXT: usize = 16 * 1024;
/// URLs.
pub const URL: usize = 2048;
/// Short names: a message's role, a link's label, a subject's source and ref.
pub const NAME: usize = 256;
/// Token names (see [`check_token_name`]).
pub const TOKEN_NAME: usize = 64;
/// A query parameter's value.
pub const QUERY_VALUE: usize = 1024;

/// Every text field and its longest accepted length in characters. Array
/// elements are written `[]`: `context.messages[].role` covers
/// `context.messages[3].role`. Action body fields are named as sent.
pub const TABLE: &[(&str, usize)] = &[
    // POST /v1/handoffs (and an evaluate's `handoff` draft)
    ("title", 2048),
    ("subject.source", NAME),
    ("subject.ref", NAME),
    ("subject.url", URL),
    ("callback_url", URL),
    ("context.summary", TEXT),
    ("context.messages[].role", 64),
    ("context.messages[].text", TEXT),
    ("context.links[].label", NAME),
    ("context.links[].url", URL),
    ("context.suggested_actions[]", NAME),
    ("context.ai_assessment.proposed_action", TEXT),
    ("context.ai_assessment.model", NAME),
    ("context.ai_assessment.workflow_path", URL),
    ("context.ai_assessment.sources[]", URL),
    // POST /v1/handoffs/{id}/{action}
    ("assignee", NAME),
    ("claim_token", NAME),
    ("question", TEXT),
    ("info", TEXT),
    ("text", TEXT),
    ("reason", TEXT),
    ("detail", TEXT),
    ("customer_note", TEXT),
    ("internal_note", TEXT),
    // POST /v1/evaluate
    ("signal.conversation_id", 255),
    ("signal.intent", NAME),
    ("signal.text", TEXT),
    // Headers and names
    ("Idempotency-Key", 255),
    ("token name", TOKEN_NAME),
];

/// The longest accepted length of `field` in characters: its row in
/// [`TABLE`] (indices like `[3]` read as `[]`), or [`TEXT`] for a field the
/// table does not name.
pub fn max_chars(field: &str) -> usize {
    let key = without_indices(field);
    TABLE
        .iter()
        .find(|(name, _)| *name == key)
        .map_or(TEXT, |(_, max)| *max)
}

/// Refuses `value` when it holds U+0000 or is longer than [`max_chars`] of `field`.
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn check(field: &str, value: &str) -> Result<(), DomainError> {
    check_nul(field, value)?;
    let max = max_chars(field);
    // Bytes bound characters from above: count only when it can matter.
    if value.len() > max && value.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Refuses `value` when it holds U+0000.
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn check_nul(field: &str, value: &str) -> Result<(), DomainError> {
    if value.contains('\0') {
        return Err(DomainError::invalid(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
    Ok(())
}

/// Refuses U+0000 in any string or object key inside `value`, naming the
/// path below `field` (`context.payload.items[2].note`).
///
/// # Errors
/// [`DomainError::Invalid`] naming the first such path.
pub fn check_json_nul(field: &str, value: &serde_json::Value) -> Result<(), DomainError> {
    use serde_json::Value;
    match value {
        Value::String(s) => check_nul(field, s),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_json_nul(&format!("{field}[{i}]"), v)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            let path = format!("{field}.{k}");
            check_nul(&path, k)?;
            check_json_nul(&path, v)
        }),
        _ => Ok(()),
    }
}

/// Checks a token name: 1 to [`TOKEN_NAME`] characters of `A-Z a-z 0-9 . _ -`.
/// Token names become event actors and assignees; idempotency keys are
/// scoped by the token's id, not its name.
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn check_token_name(field: &str, name: &str) -> Result<(), DomainError> {
    let ok = !name.is_empty()
        && name.len() <= TOKEN_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            format!("a token name is 1 to {TOKEN_NAME} of A-Z, a-z, 0-9, '.', '_' and '-'"),
        ))
    }
}

/// `context.messages[3].role` → `context.messages[].role`.
fn without_indices(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut in_index = false;
    for c in field.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// The longest accepted label, for the documentation's table.
pub const LABEL: usize = Label::MAX_LEN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_fields_use_their_row() {
        assert_eq!(max_chars("context.messages[12].role"), 64);
        assert_eq!(max_chars("context.links[0].label"), NAME);
        assert_eq!(max_chars("unknown"), TEXT);
    }

    #[test]
    fn nul_and_length_are_refused_by_name() {
        let err = check("context.links[1].label", "a\0b").unwrap_err();
        assert_eq!(err.field(), Some("context.links[1].label"));
        let err = check("context.messages[0].role", &"r".repeat(65)).unwrap_err();
        assert_eq!(err.field(), Some("context.messages[0].role"));
        // Characters, not bytes: 64 two-byte characters fit.
        check("context.messages[0].role", &"é".repeat(64)).unwrap();
    }

    #[test]
    fn token_names_have_one_character_set() {
        for ok in ["admin", "bot-eu.1", "A_b", &"x".repeat(64)] {
            check_token_name("name", ok).unwrap();
        }
        for bad in ["", "bot:eu", "a b", "é", "a\0", &"x".repeat(65)] {
            assert!(check_token_name("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_documented_table_matches() {
        let doc = include_str!("../../../docs/input-rules.md");
        for (field, max) in TABLE {
            let row = format!("| `{field}` | {max} |");
            assert!(doc.contains(&row), "docs/input-rules.md lacks {row}");
        }
        let rows = doc.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(
            rows,
            TABLE.len(),
            "docs/input-rules.md has rows the table lacks"
        );
    }

    #[test]
    fn the_table_names_each_field_once() {
        let mut names: Vec<_> = TABLE.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLE.len());
    }
}
