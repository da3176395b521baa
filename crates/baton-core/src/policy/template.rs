//! Customer-safe note templates: only declared placeholders, never internal fields.

use std::collections::BTreeMap;

/// Placeholders a customer-safe note may use.
pub const PLACEHOLDERS: [&str; 6] = [
    "next_update_at",
    "group_display_name",
    "workflow",
    "subject_ref",
    "customer_name",
    "resolve_by",
];

/// Fields that must never reach a customer (they expose internal uncertainty or rules).
pub const INTERNAL_FIELDS: [&str; 8] = [
    "confidence",
    "rule",
    "reason",
    "handoff_reason",
    "model",
    "sentiment",
    "internal_note",
    "assignee",
];

/// The `{placeholders}` in `text`, or an error for an unclosed brace.
fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a '{' is never closed")?;
        found.push(&after[..close]);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("a '}' has no '{'".into());
    }
    Ok(found)
}

/// Every problem of a template text: unbalanced braces, internal fields, or
/// undeclared placeholders.
pub fn check_template(text: &str) -> Vec<String> {
    match placeholders(text) {
        Err(e) => vec![e],
        Ok(found) => found
            .into_iter()
            .filter_map(|p| {
                if INTERNAL_FIELDS.contains(&p) {
                    Some(format!(
                        "{{{p}}} is internal and may not appear in a customer-safe note"
                    ))
                } else if !PLACEHOLDERS.contains(&p) {
                    Some(format!(
                        "{{{p}}} is not a placeholder; use one of {}",
                        PLACEHOLDERS.join(", ")
                    ))
                } else {
                    None
                }
            })
            .collect(),
    }
}

/// Fills a checked template; unknown placeholders are left as written.
pub fn render(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = text.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_checks() {
        let check = |text: &str, problems: usize| {
            assert_eq!(check_template(text).len(), problems, "{text}")
        };
        check(
            "A specialist from {group_display_name} will update you by {next_update_at}.",
            0,
        );
        check("Our model was {confidence} sure", 1);
        check("Routed by {rule} for {reason}", 2);
        check("Hello {name}", 1);
        check("broken {next_update_at", 1);
        check("broken }", 1);
        check("no placeholders at all", 0);
        check("spaced { next_update_at } is not filled in", 1);
        assert!(check_template("{model}")[0].contains("internal"));
    }

    #[test]
    fn rendering_fills_declared_values() {
        let values = BTreeMap::from([("next_update_at", "15:00".to_owned())]);
        assert_eq!(
            render("next update by {next_update_at}", &values),
            "next update by 15:00"
        );
    }
}
