//! E-mail notices over SMTP (lettre, rustls): the settings, the recipients, the plain-text and HTML parts, one attempt.

use std::fmt;
use std::time::Duration;

use baton_core::delivery::AttemptResult;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Notice;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or network only).
    None,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where and how e-mail is sent. `Debug` hides the password.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The server's host name (also the name its certificate must carry).
    pub host: String,
    /// Its port: usually 25 (none), 587 (STARTTLS) or 465 (TLS).
    pub port: u16,
    /// How the connection is protected.
    pub tls: SmtpTls,
    /// Login name, when the server wants one (with `password`).
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<String>,
    /// How long each SMTP command may take.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "redacted"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The sender and the recipients of a channel, checked once when it is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients {
    from: Mailbox,
    to: Vec<Mailbox>,
}

/// Why a channel's addresses were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// An address does not parse (`name@host` or `Name <name@host>`).
    #[error("invalid e-mail address `{0}`")]
    InvalidAddress(String),
    /// No recipient.
    #[error("an e-mail channel needs at least one recipient")]
    NoRecipient,
}

impl Recipients {
    /// Parses the sender and every recipient.
    pub fn parse(from: &str, to: &[String]) -> Result<Self, EmailError> {
        let mailbox = |text: &str| {
            text.parse::<Mailbox>()
                .map_err(|_| EmailError::InvalidAddress(text.to_owned()))
        };
        let to = to
            .iter()
            .map(|t| mailbox(t))
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err(EmailError::NoRecipient);
        }
        Ok(Self {
            from: mailbox(from)?,
            to,
        })
    }
}

/// The subject and the two bodies of one e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    /// One line.
    pub subject: String,
    /// The `text/plain` part.
    pub text: String,
    /// The `text/html` part.
    pub html: String,
}

impl EmailContent {
    /// A notice as an e-mail: every field of it in both parts, HTML-escaped in the HTML one.
    pub fn from_notice(notice: &Notice) -> Self {
        let rows = [
            ("Event", notice.event.clone()),
            ("Impact", notice.impact.clone()),
            ("Reason", notice.reason.clone()),
            ("Group", notice.owner_group.clone()),
            ("Age", notice.age_text()),
            ("Time left", notice.time_left_text()),
        ];
        let mut text = format!("{}\n\n", notice.title);
        let mut html = format!(
            "<!DOCTYPE html>\n<html><body>\n<h2>{}</h2>\n<table>\n",
            escape_html(&notice.title)
        );
        for (label, value) in &rows {
            text.push_str(&format!("{label}: {value}\n"));
            html.push_str(&format!(
                "<tr><th align=\"left\">{label}</th><td>{}</td></tr>\n",
                escape_html(value)
            ));
        }
        text.push_str(&format!("\nOpen the handoff: {}\n", notice.link));
        html.push_str(&format!(
            "</table>\n<p><a href=\"{}\">Open the handoff</a></p>\n</body></html>\n",
            escape_html(&notice.link)
        ));
        let subject = notice
            .headline()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        Self {
            subject,
            text,
            html,
        }
    }
}

/// One attempt to send `content` as a `multipart/alternative` message (plain
/// text, then HTML) from and to `recipients`. Accepted by the server is
/// delivered; anything else (refused, unreachable, timed out, a TLS failure)
/// is to be retried: SMTP has no "gone".
pub async fn send_email(
    settings: &SmtpSettings,
    recipients: &Recipients,
    content: &EmailContent,
) -> AttemptResult {
    let retry = AttemptResult::Retry { retry_after: None };
    let mut builder = Message::builder()
        .from(recipients.from.clone())
        .subject(content.subject.clone());
    for to in &recipients.to {
        builder = builder.to(to.clone());
    }
    let message = match builder.multipart(MultiPart::alternative_plain_html(
        content.text.clone(),
        content.html.clone(),
    )) {
        Ok(message) => message,
        Err(error) => {
            tracing::error!(%error, "e-mail not built");
            return retry;
        }
    };
    let transport = match transport(settings) {
        Ok(transport) => transport,
        Err(error) => {
            tracing::warn!(%error, "smtp transport not built");
            return retry;
        }
    };
    match transport.send(message).await {
        Ok(_) => AttemptResult::Delivered,
        Err(error) => {
            tracing::debug!(%error, "e-mail not sent");
            retry
        }
    }
}

fn transport(
    settings: &SmtpSettings,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let tls = match settings.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::StartTls => Tls::Required(TlsParameters::new(settings.host.clone())?),
        SmtpTls::Tls => Tls::Wrapper(TlsParameters::new(settings.host.clone())?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
        .port(settings.port)
        .tls(tls)
        .timeout(Some(settings.timeout));
    if let (Some(username), Some(password)) = (&settings.username, &settings.password) {
        builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// Text safe in HTML content and in quoted attributes.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn notice() -> Notice {
        Notice {
            title: "<script>alert('x')</script>".into(),
            impact: "high & urgent".into(),
            reason: "refund".into(),
            owner_group: "billing".into(),
            event: "reminder".into(),
            age: SignedDuration::from_mins(20),
            time_left: Some(SignedDuration::from_mins(12)),
            link: "https://baton.example/h/1?a=1&b=\"2\"".into(),
        }
    }

    #[test]
    fn every_field_is_in_both_parts_and_escaped_in_html() {
        let content = EmailContent::from_notice(&notice());
        assert_eq!(content.subject, "[reminder] <script>alert('x')</script>");
        assert!(content.text.contains("Impact: high & urgent\n"));
        assert!(content.text.contains("Time left: 12 min left\n"));
        assert!(
            content
                .text
                .contains("https://baton.example/h/1?a=1&b=\"2\"")
        );
        assert!(
            content
                .html
                .contains("<h2>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</h2>")
        );
        assert!(content.html.contains("<td>high &amp; urgent</td>"));
        assert!(
            content
                .html
                .contains("href=\"https://baton.example/h/1?a=1&amp;b=&quot;2&quot;\"")
        );
        assert!(!content.html.contains("<script>"));
    }

    #[test]
    fn subjects_stay_on_one_line() {
        let mut two_lines = notice();
        two_lines.title = "a\r\nBcc: x@example.com".into();
        assert_eq!(
            EmailContent::from_notice(&two_lines).subject,
            "[reminder] a  Bcc: x@example.com"
        );
    }

    #[test]
    fn recipients_are_parsed_once() {
        let to = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(
            Recipients::parse(
                "Baton <baton@example.com>",
                &to(&["a@example.com", "B <b@example.com>"])
            )
            .is_ok()
        );
        assert_eq!(
            Recipients::parse("baton@example.com", &[]),
            Err(EmailError::NoRecipient)
        );
        assert_eq!(
            Recipients::parse("baton@example.com", &to(&["not an address"])),
            Err(EmailError::InvalidAddress("not an address".into()))
        );
        assert_eq!(
            Recipients::parse("nobody", &to(&["a@example.com"])),
            Err(EmailError::InvalidAddress("nobody".into()))
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let settings = SmtpSettings {
            host: "smtp.example.com".into(),
            port: 587,
            tls: SmtpTls::StartTls,
            username: Some("baton".into()),
            password: Some("hunter2".into()),
            timeout: Duration::from_secs(15),
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
