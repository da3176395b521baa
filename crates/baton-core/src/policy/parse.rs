//! The policy file's structure: parsed into a spanned TOML tree first, then
//! each section and each `[[…]]` entry deserialized on its own, so that one
//! bad entry (a missing field, an unknown key, a value of the wrong type)
//! reports its own problem, with its line, and the others are still checked.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::build::Errors;
use super::config::PolicyConfig;

/// The sections of a policy file: `[name]` tables and `[[name]]` lists.
pub const SECTIONS: [&str; 11] = [
    "[[workflow]]",
    "[reasons]",
    "[[impact]]",
    "[[calendar]]",
    "[[group]]",
    "[[route]]",
    "[[trigger]]",
    "[sampling]",
    "[[template]]",
    "[[channel]]",
    "[[escalation]]",
];

/// Entries that did not deserialize, by section, with the names (or ids)
/// they were given: those count as declared, so a reference to one is not
/// reported a second time as undeclared.
#[derive(Debug, Default)]
pub(super) struct Broken(BTreeMap<&'static str, BTreeSet<String>>);

impl Broken {
    /// Whether any entry of `section` (`"impact"`, `"reasons"`, …) is broken.
    pub(super) fn any(&self, section: &str) -> bool {
        self.0.contains_key(section)
    }

    /// Whether `name` was given to a broken entry of `section`.
    pub(super) fn has(&self, section: &str, name: &str) -> bool {
        self.0
            .get(section)
            .is_some_and(|names| names.contains(name))
    }

    fn add(&mut self, section: &'static str, name: Option<String>) {
        self.0.entry(section).or_default().extend(name);
    }
}

/// Parses `text` into its sections, recording every structural problem in
/// `errors`. `None` when the text is not TOML at all (each syntax error is
/// recorded); otherwise the entries that deserialized, and the broken ones.
pub(super) fn parse(text: &str, errors: &mut Errors) -> Option<(PolicyConfig, Broken)> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in &syntax {
            errors.at(e.span().map(|s| s.start), "policy", e.message().trim_end());
        }
        return None;
    }
    let mut config = PolicyConfig::default();
    let mut s = Sections {
        errors,
        broken: Broken::default(),
    };
    for (key, value) in root.into_inner() {
        let at = key.span().start;
        match key.get_ref().as_ref() {
            "workflow" => config.workflow = s.list("workflow", "name", value),
            "reasons" => config.reasons = s.table("reasons", value),
            "impact" => config.impact = s.list("impact", "name", value),
            "calendar" => config.calendar = s.list("calendar", "name", value),
            "group" => config.group = s.list("group", "name", value),
            "route" => config.route = s.list("route", "id", value),
            "trigger" => config.trigger = s.list("trigger", "id", value),
            "sampling" => config.sampling = s.table("sampling", value),
            "template" => config.template = s.list("template", "id", value),
            "channel" => config.channel = s.list("channel", "name", value),
            "escalation" => config.escalation = s.list("escalation", "id", value),
            other => s.errors.at(
                Some(at),
                "policy",
                format!(
                    "unknown section `{other}`; a policy has only {}",
                    SECTIONS.join(", ")
                ),
            ),
        }
    }
    Some((config, s.broken))
}

struct Sections<'e, 't> {
    errors: &'e mut Errors<'t>,
    broken: Broken,
}

impl Sections<'_, '_> {
    /// A `[[section]]` list, each entry on its own; `key` names an entry.
    fn list<T: DeserializeOwned>(
        &mut self,
        section: &'static str,
        key: &str,
        value: Spanned<DeValue<'_>>,
    ) -> Vec<Spanned<T>> {
        let at = value.span().start;
        let DeValue::Array(items) = value.get_ref() else {
            self.errors.at(
                Some(at),
                section,
                format!(
                    "`{section}` must be a list of tables: start each entry with [[{section}]]"
                ),
            );
            self.broken.add(section, None);
            return Vec::new();
        };
        let mut entries = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let name = item
                .get_ref()
                .get(key)
                .and_then(|v| v.get_ref().as_str())
                .map(str::to_owned);
            match Spanned::<T>::deserialize(ValueDeserializer::from(item.clone())) {
                Ok(entry) => entries.push(entry),
                Err(e) => {
                    let rule = match &name {
                        Some(n) => format!("{section} {n:?}"),
                        None => format!("{section} {}", i + 1),
                    };
                    let (offset, message) = describe(&e, item);
                    self.errors.at(Some(offset), rule, message);
                    self.broken.add(section, name);
                }
            }
        }
        entries
    }

    /// A `[section]` table, or its default when it is broken.
    fn table<T: DeserializeOwned + Default>(
        &mut self,
        section: &'static str,
        value: Spanned<DeValue<'_>>,
    ) -> T {
        T::deserialize(ValueDeserializer::from(value.clone())).unwrap_or_else(|e| {
            let (offset, message) = describe(&e, &value);
            self.errors.at(Some(offset), section, message);
            self.broken.add(section, None);
            T::default()
        })
    }
}

/// Where a deserialization error of `entry` is, and what it says: prefixed
/// with the field it is about, and for a missing field, how to add it.
fn describe(e: &toml::de::Error, entry: &Spanned<DeValue<'_>>) -> (usize, String) {
    let offset = e.span().map_or(entry.span().start, |s| s.start);
    let message = e.message().trim_end();
    let message = match message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        Some(field) => format!("missing field `{field}`; add `{field} = …`"),
        None => message.to_owned(),
    };
    let message = match path_to(entry.get_ref(), offset) {
        Some(path) => format!("{path}: {message}"),
        None => message,
    };
    (offset, message)
}

/// The path to the deepest value of `value` whose span holds `offset`:
/// `rank`, `handoff.low_confidence`, or `level 2, fanout 1` (list entries
/// counted from 1).
fn path_to(value: &DeValue<'_>, offset: usize) -> Option<String> {
    // `level 2, fanout 1` after a list entry; `handoff.low_confidence` in a table.
    let join = |head: String, rest: Option<String>, entry: bool| match rest {
        Some(rest) if entry => format!("{head}, {rest}"),
        Some(rest) => format!("{head}.{rest}"),
        None => head,
    };
    match value {
        DeValue::Table(table) => table.iter().find_map(|(key, child)| {
            let key = key.get_ref();
            if let DeValue::Array(items) = child.get_ref() {
                let hit = items.iter().enumerate().find_map(|(i, item)| {
                    let inner = path_to(item.get_ref(), offset);
                    (inner.is_some() || item.span().contains(&offset))
                        .then(|| join(format!("{key} {}", i + 1), inner, true))
                });
                if hit.is_some() {
                    return hit;
                }
            }
            let inner = path_to(child.get_ref(), offset);
            (inner.is_some() || child.span().contains(&offset))
                .then(|| join(key.to_string(), inner, false))
        }),
        DeValue::Array(items) => items
            .iter()
            .find_map(|item| path_to(item.get_ref(), offset)),
        _ => None,
    }
}
