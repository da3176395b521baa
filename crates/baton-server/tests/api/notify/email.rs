//! E-mail against a real SMTP server in the test process: the envelope, the
//! plain-text and HTML parts, and failures that are retried.

use std::time::Duration;

use baton_core::delivery::AttemptResult;
use baton_server::notify::{EmailContent, Notice, Recipients, SmtpSettings, SmtpTls, send_email};
use jiff::SignedDuration;

use super::smtp::SmtpServer;

fn settings(port: u16, tls: SmtpTls) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls,
        username: None,
        password: None,
        timeout: Duration::from_secs(10),
    }
}

fn notice() -> Notice {
    Notice {
        title: "Refund <over> limit".into(),
        impact: "high".into(),
        reason: "refund_over_limit".into(),
        owner_group: "billing & payments".into(),
        event: "sla breached".into(),
        age: SignedDuration::from_mins(47),
        time_left: Some(SignedDuration::from_mins(-5)),
        link: "https://baton.example/handoffs/0193".into(),
    }
}

fn recipients() -> Recipients {
    Recipients::parse(
        "Baton <baton@example.com>",
        &[
            "lead@example.com".to_owned(),
            "Billing <billing@example.com>".to_owned(),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn sends_plain_text_and_html_to_every_recipient() {
    let server = SmtpServer::start(false).await;
    let content = EmailContent::from_notice(&notice());
    let result = send_email(
        &settings(server.port, SmtpTls::None),
        &recipients(),
        &content,
    )
    .await;
    assert_eq!(result, AttemptResult::Delivered);

    let [mail] = server.mails().try_into().unwrap();
    assert_eq!(mail.from, "baton@example.com");
    assert_eq!(mail.to, ["lead@example.com", "billing@example.com"]);
    let data = mail.data.replace("\r\n", "\n");
    assert!(
        data.contains("Subject: [sla breached] Refund <over> limit\n"),
        "{data}"
    );
    assert!(
        data.contains("To: lead@example.com, Billing <billing@example.com>\n"),
        "{data}"
    );
    assert!(
        data.contains("Content-Type: multipart/alternative;"),
        "{data}"
    );

    let plain = part(&data, "text/plain");
    assert!(plain.contains("Refund <over> limit\n"), "{plain}");
    assert!(plain.contains("Group: billing & payments\n"), "{plain}");
    assert!(plain.contains("Time left: breached 5 min ago\n"), "{plain}");
    assert!(
        plain.contains("Open the handoff: https://baton.example/handoffs/0193\n"),
        "{plain}"
    );

    let html = part(&data, "text/html");
    assert!(
        html.contains("<h2>Refund &lt;over&gt; limit</h2>"),
        "{html}"
    );
    assert!(html.contains("<td>billing &amp; payments</td>"), "{html}");
    assert!(html.contains("<td>47 min</td>"), "{html}");
    assert!(
        html.contains("<a href=\"https://baton.example/handoffs/0193\">"),
        "{html}"
    );
    // The plain part comes first: clients show the last part they can.
    assert!(
        data.find("Content-Type: text/plain").unwrap()
            < data.find("Content-Type: text/html").unwrap()
    );
}

/// The body of the first MIME part of `content_type` (7bit: short ASCII lines).
fn part<'a>(data: &'a str, content_type: &str) -> &'a str {
    let start = data.find(&format!("Content-Type: {content_type}")).unwrap();
    let rest = &data[start..];
    assert!(
        rest.lines()
            .take(3)
            .any(|l| l == "Content-Transfer-Encoding: 7bit"),
        "{rest}"
    );
    let body = &rest[rest.find("\n\n").unwrap() + 2..];
    &body[..body.find("\n--").unwrap()]
}

#[tokio::test]
async fn refused_recipients_are_retried() {
    let server = SmtpServer::start(true).await;
    let content = EmailContent::from_notice(&notice());
    let result = send_email(
        &settings(server.port, SmtpTls::None),
        &recipients(),
        &content,
    )
    .await;
    assert_eq!(result, AttemptResult::Retry { retry_after: None });
    assert!(server.mails().is_empty());
}

#[tokio::test]
async fn no_server_or_a_failed_tls_handshake_is_retried() {
    let content = EmailContent::from_notice(&notice());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = listener.local_addr().unwrap().port();
    drop(listener);
    let result = send_email(&settings(closed, SmtpTls::None), &recipients(), &content).await;
    assert_eq!(result, AttemptResult::Retry { retry_after: None });

    // A plain-text server where TLS is required (from the first byte, or by
    // STARTTLS, which it does not offer): nothing is sent.
    let server = SmtpServer::start(false).await;
    for tls in [SmtpTls::Tls, SmtpTls::StartTls] {
        let mut settings = settings(server.port, tls);
        settings.timeout = Duration::from_secs(2);
        let result = send_email(&settings, &recipients(), &content).await;
        assert_eq!(
            result,
            AttemptResult::Retry { retry_after: None },
            "{tls:?}"
        );
    }
    assert!(server.mails().is_empty());
}
