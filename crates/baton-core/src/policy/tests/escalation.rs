//! Channels and escalation chains: what builds, every error and warning
//! build reports, which chain applies, and what a fan-out role receives.

use jiff::SignedDuration;
use serde_json::Value;

use super::*;

const CHANNELS: &str = r#"
[[route]]
id = "default"
group = "support"

[[channel]]
name = "ops-hook"
kind = "webhook"
url = "https://hooks.example.com/baton"
secret_env = "BATON_WHSEC_OPS"
events = ["created:immediate", "breach", "escalated"]

[[channel]]
name = "desk"
kind = "slack"
url = "https://hooks.slack.com/services/T/B/x"

[[channel]]
name = "oncall"
kind = "email"
to = ["oncall@example.com"]
events = ["created", "resolved"]
"#;

fn policy(rules: &str) -> Policy {
    with(&format!("{CHANNELS}\n{rules}"))
}

fn problems(rules: &str) -> Vec<PolicyError> {
    build(&format!("{BASE}\n{CHANNELS}\n{rules}")).unwrap_err()
}

fn warnings(rules: &str) -> Vec<String> {
    policy(rules)
        .warnings()
        .iter()
        .map(ToString::to_string)
        .collect()
}

const CHAINS: &str = r#"
[[escalation]]
id = "critical"
when = 'impact == "critical"'
[[escalation.level]]
after = "accept_reminder"
notify = ["desk"]
[[escalation.level]]
after = "accept_breach"
notify = ["ops-hook"]
reassign = "loans"
repeat = 2
every = "30m"
[[escalation.level]]
after = "45m"
auto = "route:procurement"
[[escalation.level.fanout]]
role = "traders"
channel = "ops-hook"
context = ["payload.market_data", "ai_assessment", "summary"]
[[escalation.level.fanout]]
role = "risk"
channel = "oncall"
context = ["payload"]

[[escalation]]
id = "everything-else"
[[escalation.level]]
after = "resolve_breach"
notify = ["oncall"]
raise_impact = "critical"
auto = "reject"
"#;

#[test]
fn channels_build_and_say_which_events_they_want() {
    let p = policy("");
    assert_eq!(
        p.channels().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        vec!["desk", "oncall", "ops-hook"]
    );
    let hook = p.channel("ops-hook").unwrap();
    assert_eq!(
        hook.kind,
        ChannelKind::Webhook {
            url: "https://hooks.example.com/baton".into(),
            secret_env: "BATON_WHSEC_OPS".into()
        }
    );
    let cases = [
        ("ops-hook", NotifyOn::CreatedImmediate, true),
        ("ops-hook", NotifyOn::CreatedWarm, false),
        ("ops-hook", NotifyOn::Breach, true),
        ("ops-hook", NotifyOn::Resolved, false),
        ("oncall", NotifyOn::CreatedWarm, true),
        ("oncall", NotifyOn::CreatedImmediate, true),
        ("oncall", NotifyOn::Assigned, false),
        ("desk", NotifyOn::Executed, true),
        ("desk", NotifyOn::Reopened, true),
    ];
    for (channel, event, wanted) in cases {
        assert_eq!(
            p.channel(channel).unwrap().wants(event),
            wanted,
            "{channel} {event}"
        );
    }
    assert_eq!(p.channel("desk").unwrap().events.len(), NotifyOn::ALL.len());
    assert!(p.channel("nope").is_none());
    for event in NotifyOn::ALL {
        assert_eq!(NotifyOn::parse(event.as_str()), Some(event));
    }
}

#[test]
fn chains_build_into_levels() {
    let p = policy(CHAINS);
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
    let chains = p.escalations();
    assert_eq!(chains.len(), 2);
    let levels = &chains[0].levels;
    assert_eq!(
        levels.iter().map(|l| l.after).collect::<Vec<_>>(),
        vec![
            LevelStart::Sla(SlaEvent::AcceptReminder),
            LevelStart::Sla(SlaEvent::AcceptBreach),
            LevelStart::Elapsed(SignedDuration::from_mins(45)),
        ]
    );
    assert_eq!(levels[1].index, 1);
    assert_eq!(levels[1].reassign.as_deref(), Some("loans"));
    assert_eq!(
        (levels[1].repeat, levels[1].every),
        (2, Some(SignedDuration::from_mins(30)))
    );
    assert_eq!(
        levels[2].auto,
        Some(AutoAction::Route("procurement".into()))
    );
    assert_eq!(
        levels[2].fanout[0],
        FanOut {
            role: "traders".into(),
            channel: "ops-hook".into(),
            context: vec![
                ContextField::Payload(vec!["market_data".into()]),
                ContextField::AiAssessment,
                ContextField::Summary,
            ],
        }
    );
    assert_eq!(
        levels[2].fanout[1].context,
        vec![ContextField::Payload(vec![])]
    );
    let other = &chains[1].levels[0];
    assert_eq!(other.auto, Some(AutoAction::Reject));
    assert_eq!(other.raise_impact.as_deref(), Some("critical"));
    for event in SlaEvent::ALL {
        assert_eq!(SlaEvent::parse(event.as_str()), Some(event));
    }
}

#[test]
fn the_first_matching_chain_applies() {
    let p = policy(CHAINS);
    let chain = |impact: &str| {
        p.escalation_for(
            "support-chat",
            impact,
            "low_confidence",
            "warm",
            "t",
            &json!({}),
        )
        .map(|c| c.id.as_str())
    };
    assert_eq!(chain("critical"), Some("critical"));
    assert_eq!(chain("normal"), Some("everything-else"));
    let only_critical = policy(&CHAINS.replace(
        "id = \"everything-else\"\n",
        "id = \"everything-else\"\nwhen = \"payload.amount > 10\"\n",
    ));
    let chain = |payload: Value| {
        only_critical
            .escalation_for(
                "support-chat",
                "normal",
                "low_confidence",
                "warm",
                "t",
                &payload,
            )
            .map(|c| c.id.clone())
    };
    assert_eq!(
        chain(json!({"amount": 11})).as_deref(),
        Some("everything-else")
    );
    assert_eq!(chain(json!({"amount": 1})), None);
    // A condition that cannot be evaluated (no such key) does not match.
    assert_eq!(chain(json!({})), None);
    assert!(
        policy("")
            .escalation_for("x", "normal", "r", "warm", "t", &json!({}))
            .is_none()
    );
}

/// Each broken rule yields its error, on its own line.
#[test]
fn every_error_is_reported_with_its_line() {
    let level = |body: &str| {
        format!(
            "[[escalation]]\nid = \"e\"\nwhen = 'impact == \"normal\"'\n[[escalation.level]]\n{body}\n"
        )
    };
    let cases: Vec<(String, &str)> = vec![
        ("[[channel]]\nname = \"ops-hook\"\nkind = \"slack\"\nurl = \"https://x.example\"".into(), "channel \"ops-hook\": declared twice"),
        ("[[channel]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"https://x.example\"".into(), "needs secret_env"),
        ("[[channel]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"https://x.example\"\nsecret_env = \"whsec_c2VjcmV0\"".into(), "secret_env holds a secret (it starts with whsec_)"),
        ("[[channel]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"https://x.example\"\nsecret_env = \"E\"\nsecret = \"whsec_c2VjcmV0\"".into(), "a `secret` key would put the secret itself in the policy"),
        ("[[channel]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"https://x.example\"\nsecret_env = \"1BAD NAME\"".into(), "secret_env must be an environment variable name"),
        ("[[channel]]\nname = \"w\"\nkind = \"slack\"\nurl = \"ftp://x.example\"".into(), "is not an http(s) url"),
        ("[[channel]]\nname = \"w\"\nkind = \"slack\"\nurl = \"https:///path\"".into(), "has no host"),
        ("[[channel]]\nname = \"w\"\nkind = \"slack\"".into(), "a slack channel needs a url"),
        ("[[channel]]\nname = \"w\"\nkind = \"slack\"\nurl = \"https://x.example\"\nsecret_env = \"E\"".into(), "secret_env is for webhook channels only"),
        ("[[channel]]\nname = \"w\"\nkind = \"email\"".into(), "an email channel needs to"),
        ("[[channel]]\nname = \"w\"\nkind = \"email\"\nto = []".into(), "to is empty"),
        ("[[channel]]\nname = \"w\"\nkind = \"email\"\nto = [\"nobody\"]".into(), "to: \"nobody\" is not an e-mail address"),
        ("[[channel]]\nname = \"w\"\nkind = \"email\"\nto = [\"a@b.c\"]\nurl = \"https://x.example\"".into(), "url is for webhook and slack channels"),
        ("[[channel]]\nname = \"w\"\nkind = \"slack\"\nurl = \"https://x.example\"\nto = [\"a@b.c\"]".into(), "to is for email channels only"),
        ("[[channel]]\nname = \"w\"\nkind = \"slack\"\nurl = \"https://x.example\"\nevents = [\"created\", \"closed\"]".into(), "events: unknown event \"closed\""),
        ("[[channel]]\nname = \"w\"\nkind = \"slack\"\nurl = \"https://x.example\"\nevents = []".into(), "events is empty"),
        ("[[channel]]\nname = \"Bad Name\"\nkind = \"slack\"\nurl = \"https://x.example\"".into(), "use only lowercase letters"),
        (format!("{}{}", level("after = \"accept_breach\"\nnotify = [\"desk\"]"), level("after = \"accept_breach\"\nnotify = [\"desk\"]")), "this id is used twice"),
        ("[[escalation]]\nid = \"e\"\n".into(), "give it at least one [[escalation.level]]"),
        ("[[escalation]]\nid = \"e\"\nwhen = \"impact ==\"\n[[escalation.level]]\nafter = \"1h\"\nnotify = [\"desk\"]".into(), "when: invalid cel"),
        ("[[escalation]]\nid = \"e\"\nwhen = \"confidence < 0.5\"\n[[escalation.level]]\nafter = \"1h\"\nnotify = [\"desk\"]".into(), "when: unknown variable confidence"),
        (level("after = \"accept_breech\"\nnotify = [\"desk\"]"), "level 1: after: \"accept_breech\" is neither an sla event"),
        (level("after = \"0m\"\nnotify = [\"desk\"]"), "level 1: after: \"0m\" must be longer than zero"),
        (level("after = \"1h\"\nnotify = [\"pager\"]"), "level 1: notify: channel \"pager\" is not declared; use one of desk, oncall, ops-hook"),
        (level("after = \"1h\"\nreassign = \"ghosts\""), "level 1: reassign: group \"ghosts\" is not declared"),
        (level("after = \"1h\"\nraise_impact = \"apocalyptic\""), "level 1: raise_impact: impact \"apocalyptic\" is not declared"),
        (level("after = \"1h\"\nnotify = [\"desk\"]\nrepeat = 3"), "level 1: repeat = 3 needs every"),
        (level("after = \"1h\"\nnotify = [\"desk\"]\nrepeat = 3\nevery = \"often\""), "level 1: every: \"often\" is not a duration"),
        (level("after = \"1h\"\nauto = \"escalate\""), "level 1: auto: \"escalate\" is not an action"),
        (level("after = \"1h\"\nauto = \"route:ghosts\""), "level 1: auto: group \"ghosts\" is not declared"),
        (level("after = \"1h\""), "level 1: does nothing"),
        (level("after = \"1h\"\n[[escalation.level.fanout]]\nrole = \"ops\"\nchannel = \"pager\"\ncontext = [\"summary\"]"), "level 1, fanout 1: channel \"pager\" is not declared"),
        (level("after = \"1h\"\n[[escalation.level.fanout]]\nrole = \"ops\"\nchannel = \"desk\"\ncontext = [\"payload.\"]"), "level 1, fanout 1: context: unknown context field \"payload.\""),
        (level("after = \"1h\"\n[[escalation.level.fanout]]\nrole = \"ops\"\nchannel = \"desk\"\ncontext = []"), "level 1, fanout 1: context is empty"),
        (level("after = \"1h\"\n[[escalation.level.fanout]]\nrole = \"Ops Team\"\nchannel = \"desk\"\ncontext = [\"summary\"]"), "level 1, fanout 1: role: use only lowercase letters"),
        (level("after = \"1h\"\n[[escalation.level.fanout]]\nrole = \"ops\"\nchannel = \"desk\"\ncontext = [\"summary\"]\n[[escalation.level.fanout]]\nrole = \"ops\"\nchannel = \"oncall\"\ncontext = [\"links\"]"), "level 1: fanout: role \"ops\" is listed twice"),
        ("[[escalation]]\nid = \"e\"\nwhen = 'impact == \"critical\"'\n[[escalation.level]]\nafter = \"1h\"\nraise_impact = \"normal\"".into(), "level 1: raise_impact: \"normal\" (rank 3) is not more urgent than \"critical\" (rank 1)"),
        ("[[escalation]]\nid = \"e\"\nwhen = 'impact in [\"normal\", \"critical\"]'\n[[escalation.level]]\nafter = \"1h\"\nraise_impact = \"critical\"".into(), "level 1: raise_impact: \"critical\" (rank 1) is not more urgent than \"critical\" (rank 1)"),
    ];
    for (rules, needle) in cases {
        let errors = problems(&rules);
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 1, "{needle}: {shown:#?}");
        assert!(shown[0].contains(needle), "{needle}: {shown:#?}");
        // The line is that of the entry the problem is in.
        let line = errors[0].line.expect("a line");
        let full = format!("{BASE}\n{CHANNELS}\n{rules}");
        let at = full.lines().nth(line - 1).unwrap_or("");
        assert!(
            at.starts_with("[[") || at.starts_with("when"),
            "{needle}: line {line} is {at:?}"
        );
    }
}

#[test]
fn a_secret_is_never_repeated_in_a_message() {
    for field in [
        "secret = \"whsec_c2VjcmV0\"",
        "secret_env = \"whsec_c2VjcmV0\"",
        "secret_env = \"c2VjcmV0 whsec\"",
    ] {
        let errors = problems(&format!(
            "[[channel]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"https://x.example\"\n{field}\n"
        ));
        assert!(!errors.is_empty());
        for e in &errors {
            assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
        }
    }
}

#[test]
fn each_warning_is_reported_and_the_policy_still_builds() {
    let chain = |levels: &[&str]| {
        let mut text = "[[escalation]]\nid = \"e\"\n".to_owned();
        for after in levels {
            text.push_str(&format!(
                "[[escalation.level]]\n{after}\nnotify = [\"desk\"]\n"
            ));
        }
        text
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            chain(&["after = \"resolve_reminder\"", "after = \"accept_breach\""]),
            vec!["level 2 (after = \"accept_breach\") can never fire: it follows level 1 (after = \"resolve_reminder\"), and resolve events come after accept ones"],
        ),
        (
            chain(&["after = \"resolve_breach\"", "after = \"1h\"", "after = \"accept_reminder\""]),
            vec!["level 3 (after = \"accept_reminder\") can never fire: it follows level 1 (after = \"resolve_breach\")"],
        ),
        (
            chain(&["after = \"accept_breach\"", "after = \"accept_reminder\""]),
            vec!["level 2 (after = \"accept_reminder\") can never fire: it follows level 1 (after = \"accept_breach\"), and a reminder comes before its breach"],
        ),
        (
            chain(&["after = \"accept_breach\"", "after = \"accept_breach\""]),
            vec!["level 2 fires at the same instant as level 1 (both after = \"accept_breach\"); merge them into one level"],
        ),
        (
            "[[escalation]]\nid = \"e\"\nwhen = \"impact == 'major'\"\n[[escalation.level]]\nafter = \"1h\"\nnotify = [\"desk\"]\n".into(),
            vec!["when matches only impact \"major\", which is not declared, so this chain never applies; use one of critical, normal"],
        ),
        (
            "[[escalation]]\nid = \"e\"\nwhen = \"impact == 'normal' && impact == 'critical'\"\n[[escalation.level]]\nafter = \"1h\"\nnotify = [\"desk\"]\n".into(),
            vec!["when can never match: it asks for two different impacts at once"],
        ),
    ];
    for (rules, expect) in cases {
        let shown = warnings(&rules);
        assert_eq!(shown.len(), expect.len(), "{shown:#?}");
        for (s, needle) in shown.iter().zip(expect) {
            assert!(s.contains(needle), "{needle}: {shown:#?}");
            assert!(s.contains("escalation \"e\""), "{s}");
        }
    }
    // Not warned: a repeating level followed by one on the same event, levels
    // in time order, a chain whose `when` may match a declared impact.
    let quiet = [
        "[[escalation]]\nid = \"e\"\n[[escalation.level]]\nafter = \"accept_breach\"\nnotify = [\"desk\"]\nrepeat = 2\nevery = \"10m\"\n[[escalation.level]]\nafter = \"accept_breach\"\nnotify = [\"oncall\"]\n",
        &chain(&[
            "after = \"accept_reminder\"",
            "after = \"accept_breach\"",
            "after = \"resolve_reminder\"",
            "after = \"resolve_breach\"",
        ]),
        "[[escalation]]\nid = \"e\"\nwhen = \"impact == 'major' || impact == 'normal'\"\n[[escalation.level]]\nafter = \"1h\"\nnotify = [\"desk\"]\n",
    ];
    for rules in quiet {
        assert_eq!(warnings(rules), Vec::<String>::new(), "{rules}");
    }
}

#[test]
fn a_fanout_role_receives_only_its_fields() {
    let packet: crate::ContextPacket = serde_json::from_value(json!({
        "summary": "desk is down",
        "messages": [{"role": "user", "text": "help"}],
        "ai_assessment": {"proposed_action": "restart", "confidence": 0.4},
        "links": [{"label": "ticket", "url": "https://t.example/1"}],
        "suggested_actions": ["approve"],
        "payload": {"market_data": {"eurusd": 1.08, "gbpusd": 1.27}, "account": {"id": 7, "owner": "x"}, "secret": 1}
    }))
    .unwrap();
    let fields = |list: &[&str]| -> Vec<ContextField> {
        list.iter()
            .map(|f| ContextField::parse(f).unwrap())
            .collect()
    };
    let cases = [
        (
            vec!["payload.market_data", "ai_assessment", "summary"],
            json!({
                "payload": {"market_data": {"eurusd": 1.08, "gbpusd": 1.27}},
                "ai_assessment": packet.ai_assessment,
                "summary": "desk is down",
            }),
        ),
        (
            vec![
                "payload.account.id",
                "payload.market_data.eurusd",
                "payload.nothing.here",
                "links",
            ],
            json!({
                "payload": {"account": {"id": 7}, "market_data": {"eurusd": 1.08}},
                "links": [{"label": "ticket", "url": "https://t.example/1"}],
            }),
        ),
        (
            vec!["payload.account.id", "payload"],
            json!({"payload": packet.payload}),
        ),
        (
            vec!["payload", "payload.account.id"],
            json!({"payload": packet.payload}),
        ),
        (
            vec!["messages", "suggested_actions"],
            json!({"messages": packet.messages, "suggested_actions": ["approve"]}),
        ),
        (vec![], json!({})),
    ];
    for (list, expect) in cases {
        assert_eq!(
            ContextField::select(&fields(&list), &packet),
            expect,
            "{list:?}"
        );
    }
    let mut bare = packet.clone();
    bare.ai_assessment = None;
    assert_eq!(
        ContextField::select(&fields(&["ai_assessment"]), &bare),
        json!({})
    );
    for f in ["summary", "payload", "payload.a.b", "suggested_actions"] {
        assert_eq!(ContextField::parse(f).unwrap().to_string(), f);
    }
    for bad in ["payload.", "payload..a", "transcript", ""] {
        assert!(ContextField::parse(bad).is_err(), "{bad}");
    }
    let p = policy(CHAINS);
    let traders = &p.escalations()[0].levels[2].fanout[0];
    assert_eq!(
        traders.context_for(&packet)["payload"],
        json!({"market_data": {"eurusd": 1.08, "gbpusd": 1.27}})
    );
}
