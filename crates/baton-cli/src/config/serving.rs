//! The `[serve]` settings of `baton.toml`: timeouts, caps and TLS of the
//! listener, resolved with their `BATON_…` variables and flags on top.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

/// `[serve]` as written in the file; every key optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeFile {
    /// How long a new connection may take to send its first request head.
    pub header_read_timeout: Option<String>,
    /// How long a connection may stay open with no request in flight.
    pub idle_timeout: Option<String>,
    /// How long a handler may take to produce its response head.
    pub request_timeout: Option<String>,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Option<String>,
    /// Most connections open at once.
    pub max_connections: Option<usize>,
    /// Most event streams open at once.
    pub max_streams: Option<usize>,
    /// Most event streams open at once per token.
    pub max_streams_per_token: Option<usize>,
    /// Reports computed at once.
    pub report_workers: Option<usize>,
    /// TLS certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Serving {
    /// How long a new connection may take to send its first request head (TLS included).
    pub header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight.
    pub idle_timeout: Duration,
    /// How long a handler may take to produce its response head.
    pub request_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most event streams open at once.
    pub max_streams: usize,
    /// Most event streams open at once per token.
    pub max_streams_per_token: usize,
    /// Reports computed at once.
    pub report_workers: usize,
    /// TLS certificate chain and private key (PEM); plain HTTP when absent.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Serving {
    /// `over` (environment and flags, already merged by clap) on top of
    /// `file`, on top of the defaults.
    ///
    /// # Errors
    /// A value out of range or not a duration, naming its setting.
    pub fn resolve(file: ServeFile, over: ServeFile) -> anyhow::Result<Self> {
        let defaults = baton_server::ServeOptions::default();
        let server = baton_server::ServerConfig::default();
        let duration = |name: &str, over: Option<String>, file: Option<String>, default| {
            over.or(file)
                .map_or(Ok(default), |text| parse_duration(name, &text))
        };
        let count = |name: &str, over: Option<usize>, file: Option<usize>, default: usize| {
            let n = over.or(file).unwrap_or(default);
            if n == 0 {
                bail!("{name}: must be at least 1");
            }
            Ok(n)
        };
        let tls = match (
            over.tls_cert.or(file.tls_cert),
            over.tls_key.or(file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => bail!("tls_key: --tls-cert needs --tls-key too"),
            (None, Some(_)) => bail!("tls_cert: --tls-key needs --tls-cert too"),
        };
        Ok(Self {
            header_read_timeout: duration(
                "header_read_timeout",
                over.header_read_timeout,
                file.header_read_timeout,
                defaults.header_read_timeout,
            )?,
            idle_timeout: duration(
                "idle_timeout",
                over.idle_timeout,
                file.idle_timeout,
                defaults.idle_timeout,
            )?,
            request_timeout: duration(
                "request_timeout",
                over.request_timeout,
                file.request_timeout,
                server.request_timeout,
            )?,
            shutdown_timeout: duration(
                "shutdown_timeout",
                over.shutdown_timeout,
                file.shutdown_timeout,
                defaults.shutdown_timeout,
            )?,
            max_connections: count(
                "max_connections",
                over.max_connections,
                file.max_connections,
                defaults.max_connections,
            )?,
            max_streams: count(
                "max_streams",
                over.max_streams,
                file.max_streams,
                server.max_streams,
            )?,
            max_streams_per_token: count(
                "max_streams_per_token",
                over.max_streams_per_token,
                file.max_streams_per_token,
                server.max_streams_per_token,
            )?,
            report_workers: count(
                "report_workers",
                over.report_workers,
                file.report_workers,
                server.report_workers,
            )?,
            tls,
        })
    }
}

/// Parses `10s`, `1m 30s`, `500ms` or ISO 8601 (`PT10S`): positive, at most a day.
fn parse_duration(name: &str, text: &str) -> anyhow::Result<Duration> {
    let parsed = text
        .parse::<jiff::SignedDuration>()
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .filter(|d| !d.is_zero() && *d <= Duration::from_secs(86_400));
    match parsed {
        Some(d) => Ok(d),
        None => bail!("{name}: `{text}` is not a duration from 1ms to 24h; use e.g. 10s or 1m 30s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_env_win_over_the_file_and_the_file_over_defaults() {
        let file = ServeFile {
            idle_timeout: Some("2m".into()),
            max_connections: Some(64),
            ..ServeFile::default()
        };
        let over = ServeFile {
            max_connections: Some(16),
            ..ServeFile::default()
        };
        let s = Serving::resolve(file, over).unwrap();
        assert_eq!(s.idle_timeout, Duration::from_secs(120));
        assert_eq!(s.max_connections, 16);
        assert_eq!(s.header_read_timeout, Duration::from_secs(10));
        assert!(s.tls.is_none());
    }

    #[test]
    fn bad_values_name_their_setting() {
        let check = |over: ServeFile, needle: &str| {
            let err = Serving::resolve(ServeFile::default(), over).unwrap_err();
            assert!(err.to_string().contains(needle), "{err}");
        };
        check(
            ServeFile {
                shutdown_timeout: Some("soon".into()),
                ..ServeFile::default()
            },
            "shutdown_timeout: `soon`",
        );
        check(
            ServeFile {
                request_timeout: Some("0s".into()),
                ..ServeFile::default()
            },
            "request_timeout",
        );
        check(
            ServeFile {
                max_streams: Some(0),
                ..ServeFile::default()
            },
            "max_streams: must be at least 1",
        );
        check(
            ServeFile {
                tls_cert: Some("c.pem".into()),
                ..ServeFile::default()
            },
            "tls_key",
        );
    }
}
