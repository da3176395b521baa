//! Structural problems (unknown sections and keys, missing fields, wrong
//! types) are reported per entry, every one with its line, next to the
//! semantic problems of the entries that did parse.

use super::*;

fn shown(errors: &[PolicyError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn three_structural_errors_are_all_reported_with_their_lines() {
    let text = r#"[reasons.handoff]
low_confidence = "unsure"

[[impact]]
name = "normal"
accept_within = "4h"
resolve_within = "24h"

[[group]]
name = "support"
colour = "blue"

[[route]]
when = "impact == 'normal'"
group = "support"

[[route]]
id = "default"
group = "nobody"
"#;
    let errors = build(text).unwrap_err();
    let shown = shown(&errors);
    assert_eq!(
        shown,
        vec![
            "4: impact \"normal\": missing field `rank`; add `rank = …`".to_owned(),
            "11: group \"support\": unknown field `colour`, expected one of `name`, `display_name`, `capacity`, `assignment`".to_owned(),
            "13: route 1: missing field `id`; add `id = …`".to_owned(),
            "17: route \"default\": group \"nobody\" is not declared; use one of (none declared)".to_owned(),
        ],
        "{shown:#?}"
    );
}

#[test]
fn a_broken_entry_is_not_reported_again_where_it_is_used() {
    // The impact, the group and the reasons are broken; what names them is
    // not reported as undeclared, and no "declare at least one" appears.
    let text = r#"[reasons]
handoff = { low_confidence = 1 }

[[impact]]
name = "normal"
rank = "3"
accept_within = "4h"
resolve_within = "24h"

[[group]]
name = "support"
capacity = -1

[[workflow]]
name = "chat"
default_group = "support"

[[route]]
id = "default"
group = "support"

[[trigger]]
id = "unsure"
when = "confidence < 0.5"
reason = "low_confidence"
impact = "normal"
"#;
    let errors = build(text).unwrap_err();
    let shown = shown(&errors);
    assert_eq!(errors.len(), 3, "{shown:#?}");
    assert_eq!(
        (errors[0].line, errors[0].rule.as_str()),
        (Some(2), "reasons")
    );
    assert!(
        shown[0].contains("handoff.low_confidence: invalid type: integer `1`, expected a string"),
        "{shown:#?}"
    );
    assert_eq!(errors[1].line, Some(6));
    assert!(
        shown[1].contains("impact \"normal\": rank: invalid type: string \"3\""),
        "{shown:#?}"
    );
    assert_eq!(errors[2].line, Some(12));
    assert!(
        shown[2].contains("group \"support\": capacity: invalid value: integer `-1`"),
        "{shown:#?}"
    );
}

#[test]
fn unknown_sections_and_misshapen_sections_are_named() {
    let text = format!(
        "{BASE}\n[[route]]\nid = \"d\"\ngroup = \"support\"\n\n[[impacts]]\nname = \"x\"\n\n[template]\nid = \"t\"\ntext = \"hi\"\n"
    );
    let errors = build(&text).unwrap_err();
    let shown = shown(&errors);
    assert_eq!(errors.len(), 2, "{shown:#?}");
    assert!(
        shown.iter().any(|s| s.contains(
            "policy: unknown section `impacts`; a policy has only [[workflow]], [reasons]"
        )),
        "{shown:#?}"
    );
    assert!(
        shown.iter().any(|s| s.contains(
            "template: `template` must be a list of tables: start each entry with [[template]]"
        )),
        "{shown:#?}"
    );
}

#[test]
fn nested_entries_name_their_path() {
    let text = format!(
        r#"{BASE}
[[route]]
id = "d"
group = "support"

[[channel]]
name = "hook"
kind = "slack"
url = "https://hooks.slack.com/x"

[[escalation]]
id = "slow"
[[escalation.level]]
after = "accept_breach"
notify = ["hook"]
[[escalation.level]]
after = "resolve_breach"
[[escalation.level.fanout]]
role = "ops"
context = ["summary"]
"#
    );
    let errors = build(&text).unwrap_err();
    let shown = shown(&errors);
    assert_eq!(errors.len(), 1, "{shown:#?}");
    assert!(
        shown[0].ends_with(
            "escalation \"slow\": level 2, fanout 1: missing field `channel`; add `channel = …`"
        ),
        "{shown:#?}"
    );
    let fanout_line = text
        .lines()
        .position(|l| l == "[[escalation.level.fanout]]")
        .unwrap()
        + 1;
    assert_eq!(errors[0].line, Some(fanout_line));
}

#[test]
fn wrong_kinds_and_unknown_keys_in_channels_are_structural() {
    let text = format!(
        "{BASE}\n[[route]]\nid = \"d\"\ngroup = \"support\"\n[[channel]]\nname = \"sms\"\nkind = \"sms\"\n[[channel]]\nname = \"ok\"\nkind = \"email\"\nto = [\"a@b.c\"]\nurls = \"x\"\n"
    );
    let errors = build(&text).unwrap_err();
    let shown = shown(&errors);
    assert_eq!(errors.len(), 2, "{shown:#?}");
    assert!(shown[0].contains("channel \"sms\": kind: unknown variant `sms`, expected one of `webhook`, `slack`, `email`"), "{shown:#?}");
    assert!(
        shown[1].contains("channel \"ok\": unknown field `urls`"),
        "{shown:#?}"
    );
}
