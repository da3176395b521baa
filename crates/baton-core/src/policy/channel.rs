//! Notification channels (`[[channel]]`): where handoff events and
//! escalations are announced (a signed webhook, a Slack incoming webhook or
//! e-mail) and which events each one wants. The policy only describes them;
//! the server's transports deliver.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use toml::Spanned;

use super::Policy;
use super::build::{Errors, label, start};
use super::config::{ChannelConfig, ChannelKindConfig};

/// A notification channel as built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Its name, a unique label.
    pub name: String,
    /// Where and how it delivers.
    pub kind: ChannelKind,
    /// The events it is told about (all of them when the policy lists none).
    pub events: BTreeSet<NotifyOn>,
}

/// Where and how a channel delivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    /// A signed HTTP POST.
    Webhook {
        /// An `http://` or `https://` URL.
        url: String,
        /// The name of the environment variable holding the `whsec_<base64>`
        /// signing secret (the server reads it; the policy never holds it).
        secret_env: String,
    },
    /// A Slack incoming webhook.
    Slack {
        /// An `http://` or `https://` URL.
        url: String,
    },
    /// E-mail.
    Email {
        /// At least one address.
        to: Vec<String>,
    },
}

/// An event a channel may be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotifyOn {
    /// `created`: a handoff was created, whatever its tier.
    Created,
    /// `created:warm`: a warm handoff was created.
    CreatedWarm,
    /// `created:immediate`: an immediate handoff was created.
    CreatedImmediate,
    /// `assigned`: a handoff was claimed or assigned.
    Assigned,
    /// `reminder`: an SLA reminder fired.
    Reminder,
    /// `breach`: an SLA target was missed.
    Breach,
    /// `escalated`: a handoff was escalated (by a person or a chain's level).
    Escalated,
    /// `resolved`: a handoff was resolved.
    Resolved,
    /// `reopened`: a handoff was reopened.
    Reopened,
    /// `executed`: the automation reported executing the decision.
    Executed,
}

impl NotifyOn {
    /// Every event, in the order of the policy documentation.
    pub const ALL: [NotifyOn; 10] = [
        NotifyOn::Created,
        NotifyOn::CreatedWarm,
        NotifyOn::CreatedImmediate,
        NotifyOn::Assigned,
        NotifyOn::Reminder,
        NotifyOn::Breach,
        NotifyOn::Escalated,
        NotifyOn::Resolved,
        NotifyOn::Reopened,
        NotifyOn::Executed,
    ];

    /// Its name in the policy file, e.g. `"created:immediate"`.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyOn::Created => "created",
            NotifyOn::CreatedWarm => "created:warm",
            NotifyOn::CreatedImmediate => "created:immediate",
            NotifyOn::Assigned => "assigned",
            NotifyOn::Reminder => "reminder",
            NotifyOn::Breach => "breach",
            NotifyOn::Escalated => "escalated",
            NotifyOn::Resolved => "resolved",
            NotifyOn::Reopened => "reopened",
            NotifyOn::Executed => "executed",
        }
    }

    /// The event named `name` in the policy file.
    pub fn parse(name: &str) -> Option<NotifyOn> {
        NotifyOn::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for NotifyOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Channel {
    /// Whether the channel is told about `event`. Ask about a creation with
    /// its tier's event (`CreatedWarm` or `CreatedImmediate`): a channel
    /// listing `created` wants both.
    pub fn wants(&self, event: NotifyOn) -> bool {
        self.events.contains(&event)
            || (matches!(event, NotifyOn::CreatedWarm | NotifyOn::CreatedImmediate)
                && self.events.contains(&NotifyOn::Created))
    }
}

impl Policy {
    /// A channel by name.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.get(name)
    }

    /// Every declared channel, by name.
    pub fn channels(&self) -> impl ExactSizeIterator<Item = &Channel> {
        self.channels.values()
    }
}

/// Checks every `[[channel]]`, recording each problem in `errors`.
pub(super) fn build_channels(
    configs: &[Spanned<ChannelConfig>],
    errors: &mut Errors,
) -> BTreeMap<String, Channel> {
    let mut channels = BTreeMap::new();
    for c in configs {
        let cfg = c.get_ref();
        let at = start(c);
        let rule = format!("channel {:?}", cfg.name);
        let Some(name) = label(errors, at, &rule, "name", &cfg.name) else {
            continue;
        };
        let mut problem = |message: String| errors.at(at, &rule, message);
        if cfg.secret.is_some() {
            problem(
                "a `secret` key would put the secret itself in the policy, which is stored and \
                 served with every version; remove it, keep the secret in an environment \
                 variable and give that variable's name as secret_env"
                    .to_owned(),
            );
        }
        let kind_name = match cfg.kind {
            ChannelKindConfig::Webhook => "webhook",
            ChannelKindConfig::Slack => "slack",
            ChannelKindConfig::Email => "email",
        };
        let url = match (&cfg.url, cfg.kind) {
            (Some(_), ChannelKindConfig::Email) => {
                problem(
                    "url is for webhook and slack channels; an email channel sends to `to`"
                        .to_owned(),
                );
                None
            }
            (Some(url), _) => check_url(url).map_err(&mut problem).ok(),
            (None, ChannelKindConfig::Email) => None,
            (None, _) => {
                problem(format!(
                    "a {kind_name} channel needs a url, e.g. url = \"https://hooks.example.com/baton\""
                ));
                None
            }
        };
        let secret_env = match (&cfg.secret_env, cfg.kind) {
            (Some(env), ChannelKindConfig::Webhook) => {
                check_secret_env(env).map_err(&mut problem).ok()
            }
            (Some(_), _) => {
                problem(format!(
                    "secret_env is for webhook channels only; leave it out of a {kind_name} channel"
                ));
                None
            }
            (None, ChannelKindConfig::Webhook) => {
                problem(
                    "a webhook channel needs secret_env: the name of the environment variable \
                     holding its whsec_ secret, e.g. secret_env = \"BATON_WHSEC_OPS\""
                        .to_owned(),
                );
                None
            }
            (None, _) => None,
        };
        let to = match (&cfg.to, cfg.kind) {
            (Some(to), ChannelKindConfig::Email) => check_addresses(to).map_err(&mut problem).ok(),
            (Some(_), _) => {
                problem(format!(
                    "to is for email channels only; a {kind_name} channel posts to its url"
                ));
                None
            }
            (None, ChannelKindConfig::Email) => {
                problem("an email channel needs to, e.g. to = [\"oncall@example.com\"]".to_owned());
                None
            }
            (None, _) => None,
        };
        let events = match &cfg.events {
            None => NotifyOn::ALL.into_iter().collect(),
            Some(list) => check_events(list).map_err(&mut problem).unwrap_or_default(),
        };
        let kind = match cfg.kind {
            ChannelKindConfig::Webhook => ChannelKind::Webhook {
                url: url.unwrap_or_default(),
                secret_env: secret_env.unwrap_or_default(),
            },
            ChannelKindConfig::Slack => ChannelKind::Slack {
                url: url.unwrap_or_default(),
            },
            ChannelKindConfig::Email => ChannelKind::Email {
                to: to.unwrap_or_default(),
            },
        };
        let channel = Channel {
            name: name.to_string(),
            kind,
            events,
        };
        if channels.insert(name.to_string(), channel).is_some() {
            errors.at(at, &rule, "declared twice; give each channel its own name");
        }
    }
    channels
}

/// An `http(s)://` URL with a host and no spaces.
fn check_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        _ if url.chars().any(|c| c.is_whitespace() || c.is_control()) => Err(format!(
            "url {url:?} holds spaces or control characters; percent-encode them"
        )),
        Some(host) if !host.is_empty() && !host.starts_with(':') && !host.contains('@') => {
            Ok(url.to_owned())
        }
        Some(_) => Err(format!(
            "url {url:?} has no host; write e.g. \"https://hooks.example.com/baton\""
        )),
        None => Err(format!(
            "url {url:?} is not an http(s) url; write e.g. \"https://hooks.example.com/baton\""
        )),
    }
}

/// The name of an environment variable, never a secret. Its value is never
/// repeated in a message: it might be the secret.
fn check_secret_env(name: &str) -> Result<String, String> {
    if name.starts_with("whsec_") {
        return Err(
            "secret_env holds a secret (it starts with whsec_), and the policy is stored and \
             served with every version; put the secret in an environment variable and give \
             that variable's name here, e.g. secret_env = \"BATON_WHSEC_OPS\""
                .to_owned(),
        );
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(
            "secret_env must be an environment variable name (letters, digits and '_', not \
             starting with a digit), e.g. \"BATON_WHSEC_OPS\""
                .to_owned(),
        );
    }
    Ok(name.to_owned())
}

/// At least one address, each `local@domain` without spaces.
fn check_addresses(to: &[String]) -> Result<Vec<String>, String> {
    if to.is_empty() {
        return Err("to is empty; list at least one address, e.g. [\"oncall@example.com\"]".into());
    }
    for address in to {
        let ok = address
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
            && !address.chars().any(char::is_whitespace);
        if !ok {
            return Err(format!(
                "to: {address:?} is not an e-mail address; write e.g. \"oncall@example.com\""
            ));
        }
    }
    Ok(to.to_vec())
}

/// Known event names, at least one.
fn check_events(list: &[String]) -> Result<BTreeSet<NotifyOn>, String> {
    if list.is_empty() {
        return Err("events is empty, so the channel is never used; leave events out to be told about every event".into());
    }
    list.iter()
        .map(|name| {
            NotifyOn::parse(name).ok_or_else(|| {
                let all: Vec<&str> = NotifyOn::ALL.iter().map(|e| e.as_str()).collect();
                format!("events: unknown event {name:?}; use {}", all.join(", "))
            })
        })
        .collect()
}
