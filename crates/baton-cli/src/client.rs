//! A small HTTP client for the API, used by `baton handoff` and `baton bench`.

use std::path::Path;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A client for one server and token.
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// An HTTP client (rustls) trusting the system's roots and `ca_cert` (PEM) too.
///
/// # Errors
/// A CA file that cannot be read or holds no certificate.
pub fn http_client(ca_cert: Option<&Path>) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if let Some(path) = ca_cert {
        let pem = std::fs::read(path)
            .with_context(|| format!("--ca-cert: cannot read {}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("--ca-cert: {} is not a PEM certificate", path.display()))?;
        if certs.is_empty() {
            bail!("--ca-cert: {} holds no certificate", path.display());
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder.build().context("cannot set up the HTTP client")
}

impl ApiClient {
    /// A client for `base` (e.g. `http://127.0.0.1:8080` or `https://…`)
    /// with `token`, trusting `ca_cert` (PEM) besides the system's roots.
    pub fn new(base: &str, token: Option<&str>, ca_cert: Option<&Path>) -> anyhow::Result<Self> {
        let token = token.context("no API token: pass --token or set BATON_TOKEN")?;
        Ok(Self {
            http: http_client(ca_cert)?,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    /// Sends a request and returns the JSON answer; API errors become their message.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        self.call_with(method, path, body, None)
            .await
            .map(|(_, v)| v)
    }

    /// Like [`ApiClient::call`], with an optional `Idempotency-Key`, returning the status too.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let error = &value["error"];
            let field = error["field"]
                .as_str()
                .map(|f| format!(" (field {f})"))
                .unwrap_or_default();
            bail!(
                "{} {}: {}{field}",
                status.as_u16(),
                error["code"].as_str().unwrap_or("error"),
                error["message"].as_str().unwrap_or("no message")
            );
        }
        Ok((status, value))
    }
}
