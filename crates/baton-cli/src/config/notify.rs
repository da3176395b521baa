//! `[notify]` of `baton.toml`: where notifications may go and how e-mail is
//! sent (docs/notifications.md). Webhook secrets are never here: each
//! channel names the environment variable that holds its `whsec_…` secret.

use anyhow::bail;
use baton_server::NotifySettings;
use baton_server::notify::{SmtpSettings, SmtpTls};
use serde::Deserialize;

/// `[notify]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFile {
    /// Allow channel URLs on loopback or private addresses (default false:
    /// refused, so a policy cannot aim Baton at the internal network).
    pub allow_private_destinations: Option<bool>,
    /// The base URL people open Baton at, for links in messages.
    pub public_url: Option<String>,
    /// SMTP server for e-mail channels; e-mail waits (retrying) while unset.
    pub smtp_host: Option<String>,
    /// Its port (default 587).
    pub smtp_port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    pub smtp_tls: Option<String>,
    /// The sender address (default `baton@localhost`).
    pub smtp_from: Option<String>,
    /// Login name; the password comes from `BATON_SMTP_PASSWORD`.
    pub smtp_username: Option<String>,
}

impl NotifyFile {
    /// The dispatcher's settings; `password` is `BATON_SMTP_PASSWORD`.
    ///
    /// # Errors
    /// An unknown `smtp_tls`, naming the field and its values.
    pub fn resolve(self, password: Option<String>) -> anyhow::Result<NotifySettings> {
        let defaults = NotifySettings::default();
        let tls = match self.smtp_tls.as_deref().unwrap_or("starttls") {
            "none" => SmtpTls::None,
            "starttls" => SmtpTls::StartTls,
            "tls" => SmtpTls::Tls,
            other => bail!("[notify] smtp_tls = {other:?}: use none, starttls or tls"),
        };
        let smtp = self.smtp_host.map(|host| SmtpSettings {
            host,
            port: self.smtp_port.unwrap_or(587),
            tls,
            username: self.smtp_username,
            password,
            timeout: defaults.timeout,
        });
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("[notify] public_url = {url:?}: use an http:// or https:// URL");
        }
        Ok(NotifySettings {
            allow_private_destinations: self.allow_private_destinations.unwrap_or(false),
            smtp,
            smtp_from: self.smtp_from.unwrap_or(defaults.smtp_from.clone()),
            public_url: self.public_url.unwrap_or(defaults.public_url.clone()),
            ..defaults
        })
    }
}
