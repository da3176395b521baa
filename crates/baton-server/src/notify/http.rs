//! One JSON POST to a receiver, its answer read as an attempt result (2xx, 410, `Retry-After`).

use std::time::Duration;

use baton_core::delivery::AttemptResult;
use jiff::fmt::rfc2822::DateTimeParser;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};

/// How long one attempt may take, connection and answer included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The HTTP client notifications go out with: redirects are not followed (a
/// redirect could lead past [`super::check_destination`]; a 3xx is a failed
/// attempt), and a connection must be made within 5 s.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("Baton-Notifications/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// POSTs `body` as JSON with `headers` and reads the answer: 2xx delivered,
/// 410 gone, anything else (other statuses, connection errors, the timeout)
/// to be retried, with the receiver's `Retry-After` relative to `now`.
pub(super) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    mut headers: HeaderMap,
    body: Vec<u8>,
    now: Timestamp,
    timeout: Duration,
) -> AttemptResult {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let sent = client
        .post(url)
        .headers(headers)
        .body(body)
        .timeout(timeout)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            // Never the URL: it may carry a token (Slack's do).
            tracing::debug!(
                timeout = error.is_timeout(),
                connect = error.is_connect(),
                "notification not sent"
            );
            return AttemptResult::Retry { retry_after: None };
        }
    };
    let status = response.status();
    if status.is_success() {
        AttemptResult::Delivered
    } else if status == StatusCode::GONE {
        AttemptResult::Gone
    } else {
        tracing::debug!(status = status.as_u16(), "notification refused");
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, now));
        AttemptResult::Retry { retry_after }
    }
}

/// A `Retry-After` value: delay seconds or an HTTP date (RFC 9110 §10.2.3),
/// as a delay from `now`; a date in the past is no delay. `None` when unreadable.
pub(super) fn parse_retry_after(value: &str, now: Timestamp) -> Option<SignedDuration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits to fit is still "a long time": the schedule caps it.
        let secs = value.parse::<i64>().unwrap_or(i64::MAX);
        return Some(SignedDuration::from_secs(secs.min(i64::from(u32::MAX))));
    }
    static PARSER: DateTimeParser = DateTimeParser::new();
    let date = PARSER.parse_timestamp(value).ok()?;
    Some(date.duration_since(now).max(SignedDuration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_as_seconds_or_http_date() {
        let now: Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
        let secs = |s: i64| Some(SignedDuration::from_secs(s));
        let cases = [
            ("120", secs(120)),
            (" 0 ", secs(0)),
            ("99999999999999999999999", secs(i64::from(u32::MAX))),
            ("Tue, 01 Dec 2026 08:02:00 GMT", secs(120)),
            ("Tue, 01 Dec 2026 07:00:00 GMT", secs(0)),
            ("-5", None),
            ("1.5", None),
            ("", None),
            ("soon", None),
        ];
        for (value, expect) in cases {
            assert_eq!(parse_retry_after(value, now), expect, "{value:?}");
        }
    }
}
