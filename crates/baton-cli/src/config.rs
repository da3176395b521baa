//! Service configuration: `baton.toml` < environment (`BATON_…`) < flags.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

pub mod notify;
pub mod serving;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE: &str = "./baton.db";

/// The service configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on.
    pub listen: Option<String>,
    /// Database URL or SQLite path.
    pub database: Option<String>,
    /// Deprecated and ignored: the policy's routes choose the owner group
    /// of a handoff created without one. Accepted so old files still load.
    pub default_group: Option<String>,
    /// Largest request body in bytes.
    pub body_limit: Option<usize>,
    /// Policy file; the built-in default when absent.
    pub policy: Option<std::path::PathBuf>,
    /// How long an evaluate turn waits for its conversation's earlier
    /// turns, in milliseconds (default 1000).
    pub evaluate_order_wait_ms: Option<u64>,
    /// The listener's timeouts, caps and TLS (`[serve]`).
    pub serve: Option<serving::ServeFile>,
    /// Notification destinations and e-mail (`[notify]`).
    pub notify: Option<notify::NotifyFile>,
}

/// The resolved configuration.
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Database URL or SQLite path.
    pub database: String,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Policy file; the built-in default when absent.
    pub policy: Option<std::path::PathBuf>,
    /// How long an evaluate turn waits for its conversation's earlier turns.
    pub evaluate_order_wait: std::time::Duration,
    /// `[serve]` as the file has it; `baton serve` resolves it with its flags.
    pub serve: serving::ServeFile,
    /// `[notify]`, resolved.
    pub notify: baton_server::NotifySettings,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database", &redact(&self.database))
            .field("body_limit", &self.body_limit)
            .field("policy", &self.policy)
            .field("evaluate_order_wait", &self.evaluate_order_wait)
            .field("serve", &self.serve)
            .field("notify", &self.notify)
            .finish()
    }
}

/// Hides a password in a database URL: the one after `user:` and any
/// `password=` query parameter.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &base[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

impl Config {
    /// Reads `file` (if given, or `./baton.toml` if present) and applies the
    /// flag/env values on top.
    pub fn load(
        file: Option<&Path>,
        database: Option<String>,
        listen: Option<String>,
    ) -> anyhow::Result<Self> {
        let file_config = match file {
            Some(path) => read(path)?,
            None if Path::new("baton.toml").exists() => read(Path::new("baton.toml"))?,
            None => FileConfig::default(),
        };
        if let Some(group) = &file_config.default_group {
            eprintln!(
                "warning: default_group = {group:?} in the config is deprecated and ignored: \
                 the policy's routes choose the owner group (a policy needs a default [[route]])"
            );
        }
        Ok(Self {
            listen: listen
                .or(file_config.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.into()),
            database: database
                .or(file_config.database)
                .unwrap_or_else(|| DEFAULT_DATABASE.into()),
            body_limit: file_config.body_limit.unwrap_or(1024 * 1024),
            policy: file_config.policy,
            evaluate_order_wait: std::time::Duration::from_millis(
                file_config.evaluate_order_wait_ms.unwrap_or(1000),
            ),
            serve: file_config.serve.unwrap_or_default(),
            notify: file_config
                .notify
                .unwrap_or_default()
                .resolve(std::env::var("BATON_SMTP_PASSWORD").ok())?,
        })
    }
}

fn read(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid baton config", path.display()))
}

/// What `baton init` writes.
pub const EXAMPLE: &str = r#"# Baton service configuration. Environment variables (BATON_LISTEN,
# BATON_DATABASE) override these values, and command-line flags override both.

# Address the HTTP API listens on.
listen = "127.0.0.1:8080"

# Database: a SQLite file (the embedded default) or a PostgreSQL URL for
# several instances, e.g. "postgres://baton@db.internal/baton".
database = "./baton.db"

# Largest accepted request body, in bytes.
body_limit = 1048576

# The policy file (workflows, reasons, impacts, calendars, routes, triggers).
# Without one Baton uses its built-in default. `baton policy check FILE`
# checks a file; SIGHUP reloads it without downtime.
# policy = "policy.toml"

# How long POST /v1/evaluate waits for a conversation's earlier turns when
# turns arrive out of order, in milliseconds (docs/policy-activation.md).
evaluate_order_wait_ms = 1000

# The listener (docs/serving.md). Each has a BATON_… variable and a flag of
# the same name, e.g. BATON_MAX_CONNECTIONS or --max-connections.
[serve]
# A new connection must send its first request head (TLS included) within this.
header_read_timeout = "10s"
# A connection with no request in flight is closed after this.
idle_timeout = "60s"
# A handler must produce its response head within this (event streams go on).
request_timeout = "30s"
# On SIGTERM, requests in flight get this long before their connections close.
shutdown_timeout = "10s"
# Most connections open at once; at the cap the oldest idle one makes room.
max_connections = 1024
# Most server-sent-event streams open at once, in total and per token.
max_streams = 256
max_streams_per_token = 16
# HTTPS: a PEM certificate chain and its private key.
# tls_cert = "cert.pem"
# tls_key = "key.pem"

# Notifications (docs/notifications.md). Channels are declared in the policy;
# each webhook channel names the environment variable holding its secret.
[notify]
# Refuse channel URLs on loopback and private networks unless true.
allow_private_destinations = false
# Where people open Baton, for the links in messages.
public_url = "http://127.0.0.1:8080"
# E-mail channels send through this server (password: BATON_SMTP_PASSWORD).
# smtp_host = "smtp.example.com"
# smtp_port = 587
# smtp_tls = "starttls"
# smtp_from = "baton@example.com"
# smtp_username = "baton"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baton.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        let c = Config::load(Some(&path), None, Some("0.0.0.0:9".into())).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9");
        assert_eq!(c.database, "./baton.db");
        assert_eq!(c.body_limit, 1_048_576);
        let serving = serving::Serving::resolve(c.serve, serving::ServeFile::default()).unwrap();
        assert_eq!(serving.max_connections, 1024);
    }

    #[test]
    fn the_old_default_group_key_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baton.toml");
        std::fs::write(
            &path,
            "default_group = 'Not A Label'\nlisten = '127.0.0.1:1'",
        )
        .unwrap();
        let c = Config::load(Some(&path), None, None).unwrap();
        assert_eq!(c.listen, "127.0.0.1:1");
        assert!(!EXAMPLE.contains("default_group"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("baton.toml");
        std::fs::write(&path, "lisen = 'x'").unwrap();
        let err = Config::load(Some(&path), None, None).unwrap_err();
        assert!(format!("{err:#}").contains("lisen"), "{err:#}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("./baton.db"), "./baton.db");
        assert_eq!(
            redact("postgres://h/db?sslmode=require&password=s3cret"),
            "postgres://h/db?sslmode=require&password=***"
        );
    }
}
