//! Standard Webhooks: the `whsec_` secret, the `v1` HMAC-SHA256 signature and one signed POST.
//!
//! Spec: <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md>.
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is
//! the base64-decoded part of the secret after `whsec_`.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use baton_core::delivery::AttemptResult;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use reqwest::header::{HeaderMap, HeaderValue};
use sha2::Sha256;

/// Fewest key bytes a secret may have: the spec's recommended minimum (192 bits).
pub const MIN_SECRET_BYTES: usize = 24;

/// A webhook signing key, read from `whsec_<base64>`. Its `Debug` never shows it.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

/// Why a webhook secret was refused. The messages never quote the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// It does not start with `whsec_`.
    #[error("webhook secret must start with `whsec_`")]
    MissingPrefix,
    /// What follows `whsec_` is not standard base64.
    #[error("webhook secret after `whsec_` must be standard base64")]
    NotBase64,
    /// The key is shorter than [`MIN_SECRET_BYTES`].
    #[error("webhook secret key must be at least {MIN_SECRET_BYTES} bytes, it has {0}")]
    TooShort(usize),
}

impl WebhookSecret {
    /// Reads `whsec_<standard base64 of the key>`; the key has at least
    /// [`MIN_SECRET_BYTES`] bytes.
    pub fn parse(secret: &str) -> Result<Self, SecretError> {
        let encoded = secret
            .strip_prefix("whsec_")
            .ok_or(SecretError::MissingPrefix)?;
        let key = BASE64
            .decode(encoded.trim())
            .map_err(|_| SecretError::NotBase64)?;
        if key.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort(key.len()));
        }
        Ok(Self { key })
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(redacted)")
    }
}

/// The `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&secret.key).expect("HMAC takes a key of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// One signed delivery attempt: POSTs the JSON `body` to `url` with
/// `webhook-id` = `msg_id` (the delivery's id, the same on every retry, so the
/// receiver can drop duplicates), `webhook-timestamp` = `now` in Unix seconds
/// and `webhook-signature`; the attempt may take `timeout` in all
/// ([`super::DEFAULT_TIMEOUT`] in production). 2xx is delivered, 410 gone, and
/// anything else, timeouts and connection errors included, to be retried.
pub async fn send_webhook(
    client: &reqwest::Client,
    url: &str,
    secret: &WebhookSecret,
    msg_id: &str,
    now: Timestamp,
    body: &[u8],
    timeout: Duration,
) -> AttemptResult {
    let timestamp = now.as_second();
    let mut headers = HeaderMap::new();
    let signature = sign(secret, msg_id, timestamp, body);
    let (Ok(id), Ok(signature)) = (
        HeaderValue::from_str(msg_id),
        HeaderValue::from_str(&signature),
    ) else {
        // Only a msg_id with control characters gets here: a bug of the caller, and no retry mends it.
        tracing::error!("webhook id is not a valid header value");
        return AttemptResult::Retry { retry_after: None };
    };
    headers.insert("webhook-id", id);
    headers.insert("webhook-timestamp", HeaderValue::from(timestamp));
    headers.insert("webhook-signature", signature);
    super::http::post_json(client, url, headers, body.to_vec(), now, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vector of the reference Rust library's `test_sign` (standardwebhooks 1.0.1).
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    #[test]
    fn signs_as_the_reference_implementation() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signature = sign(
            &secret,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            body,
        );
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn refuses_secrets_not_whsec_base64_and_never_quotes_them() {
        let cases = [
            (
                "C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                SecretError::MissingPrefix,
            ),
            ("", SecretError::MissingPrefix),
            (
                "WHSEC_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                SecretError::MissingPrefix,
            ),
            ("whsec_not*base64!", SecretError::NotBase64),
            ("whsec_", SecretError::TooShort(0)),
            ("whsec_c2hvcnQ=", SecretError::TooShort(5)),
        ];
        for (secret, expect) in cases {
            let error = WebhookSecret::parse(secret).unwrap_err();
            assert_eq!(error, expect, "{secret:?}");
            let message = error.to_string();
            assert!(
                secret.len() < 8 || !message.contains(&secret[6..]),
                "{message}"
            );
        }
    }

    #[test]
    fn debug_redacts_the_key() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let shown = format!("{secret:?}");
        assert_eq!(shown, "WebhookSecret(redacted)");
        assert!(!shown.contains("C2FV"));
    }
}
