//! Writes the one length table ([`baton_core::limits::TABLE`]) into the
//! request-body schemas, so the document's `maxLength`s are the server's.

use serde_json::Value;

/// For every string field of every operation's JSON request body whose path
/// (`context.links[].label`, `signal.conversation_id`, `reason` …) is in the
/// length table, sets `maxLength` to the table's value, or keeps a smaller
/// one the schema already had (a label's 64, say). Component schemas are
/// shared, so a field gets the limit of the paths that reach it.
pub fn apply(doc: &mut Value) {
    let mut found: Vec<(String, usize)> = Vec::new();
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let body = &op["requestBody"]["content"]["application/json"]["schema"];
                if body.is_object() {
                    let pointer = format!(
                        "/paths/{}/{}/requestBody/content/application~1json/schema",
                        escape(path),
                        escape(method)
                    );
                    walk(doc, body, "", pointer, &mut found, 0);
                }
            }
        }
    }
    for (pointer, max) in found {
        if let Some(node) = doc.pointer_mut(&pointer) {
            let keep = node["maxLength"]
                .as_u64()
                .map_or(max as u64, |m| m.min(max as u64));
            node["maxLength"] = Value::from(keep);
        }
    }
}

/// Collects the JSON pointers of the string schemas under `schema` (found
/// at `pointer`, or a `$ref`) whose field path is in the table.
fn walk(
    doc: &Value,
    schema: &Value,
    field: &str,
    pointer: String,
    found: &mut Vec<(String, usize)>,
    depth: usize,
) {
    if depth > 12 {
        return;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let target = reference.trim_start_matches('#').to_owned();
        if let Some(resolved) = doc.pointer(&target) {
            walk(doc, resolved, field, target, found, depth + 1);
        }
        return;
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for (i, part) in schema[key].as_array().into_iter().flatten().enumerate() {
            walk(
                doc,
                part,
                field,
                format!("{pointer}/{key}/{i}"),
                found,
                depth + 1,
            );
        }
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, sub) in props {
            let path = if field.is_empty() {
                name.clone()
            } else {
                format!("{field}.{name}")
            };
            let escaped = name.replace('~', "~0").replace('/', "~1");
            walk(
                doc,
                sub,
                &path,
                format!("{pointer}/properties/{escaped}"),
                found,
                depth + 1,
            );
        }
    }
    if schema["items"].is_object() {
        let path = format!("{field}[]");
        walk(
            doc,
            &schema["items"],
            &path,
            format!("{pointer}/items"),
            found,
            depth + 1,
        );
    }
    let is_string = schema["type"] == "string"
        || schema["type"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "string"));
    if is_string
        && !pointer.is_empty()
        && let Some((_, max)) = baton_core::limits::TABLE
            .iter()
            .find(|(name, _)| *name == field)
    {
        found.push((pointer, *max));
    }
}
