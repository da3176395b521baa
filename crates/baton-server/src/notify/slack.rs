//! Slack-compatible incoming-webhook messages: a notice as Block Kit JSON with a text fallback, posted unsigned.

use std::time::Duration;

use baton_core::delivery::AttemptResult;
use jiff::Timestamp;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::Notice;

/// Slack's limit on a header block's text, in characters.
const HEADER_MAX: usize = 150;
/// Slack's limit on a section field's text, in characters.
const FIELD_MAX: usize = 2000;

/// The message for a Slack (or Mattermost, Rocket.Chat…) incoming webhook: a
/// header with the title; a section with the event, impact, reason, group,
/// age and time left; a button opening the handoff; and `text`, the fallback
/// shown in notifications. Every field is escaped for `mrkdwn`, so a title
/// cannot mention `@channel` or forge a link.
pub fn slack_message(notice: &Notice) -> Value {
    let field = |label: &str, value: &str| json!({"type": "mrkdwn", "text": truncate(&format!("*{label}*\n{}", escape(value)), FIELD_MAX)});
    let fallback = format!(
        "{}: {} impact, {}, group {}, {}",
        escape(&notice.headline()),
        escape(&notice.impact),
        escape(&notice.reason),
        escape(&notice.owner_group),
        notice.time_left_text(),
    );
    json!({
        "text": fallback,
        "blocks": [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": truncate(&notice.title, HEADER_MAX), "emoji": false},
            },
            {
                "type": "section",
                "fields": [
                    field("Event", &notice.event),
                    field("Impact", &notice.impact),
                    field("Reason", &notice.reason),
                    field("Group", &notice.owner_group),
                    field("Age", &notice.age_text()),
                    field("Time left", &notice.time_left_text()),
                ],
            },
            {
                "type": "actions",
                "elements": [{
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open handoff"},
                    "url": notice.link,
                }],
            },
        ],
    })
}

/// One attempt to post `message` to a Slack-compatible incoming webhook
/// (unsigned: the URL is the secret). Answers as [`super::send_webhook`].
pub async fn send_slack(
    client: &reqwest::Client,
    url: &str,
    message: &Value,
    now: Timestamp,
    timeout: Duration,
) -> AttemptResult {
    let body = serde_json::to_vec(message).unwrap_or_default();
    super::http::post_json(client, url, HeaderMap::new(), body, now, timeout).await
}

/// Slack's `mrkdwn` escaping: `&`, `<` and `>` only (the rest is shown as typed).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// At most `max` characters, the last an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn notice() -> Notice {
        Notice {
            title: "Refund <!channel> & more".into(),
            impact: "high".into(),
            reason: "refund_over_limit".into(),
            owner_group: "billing".into(),
            event: "sla breached".into(),
            age: SignedDuration::from_mins(47),
            time_left: Some(SignedDuration::from_mins(-5)),
            link: "https://baton.example/handoffs/0193".into(),
        }
    }

    #[test]
    fn builds_block_kit_with_every_field_escaped() {
        let message = slack_message(&notice());
        assert_eq!(
            message["text"],
            "[sla breached] Refund &lt;!channel&gt; &amp; more: high impact, refund_over_limit, group billing, breached 5 min ago"
        );
        let blocks = message["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["text"], "Refund <!channel> & more");
        let fields: Vec<&str> = blocks[1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "*Event*\nsla breached",
                "*Impact*\nhigh",
                "*Reason*\nrefund_over_limit",
                "*Group*\nbilling",
                "*Age*\n47 min",
                "*Time left*\nbreached 5 min ago",
            ]
        );
        assert_eq!(
            blocks[2]["elements"][0]["url"],
            "https://baton.example/handoffs/0193"
        );
    }

    #[test]
    fn long_titles_are_cut_to_slack_limits() {
        let mut long = notice();
        long.title = "é".repeat(400);
        long.time_left = Some(SignedDuration::from_mins(12));
        let message = slack_message(&long);
        let header = message["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(header.chars().count(), HEADER_MAX);
        assert!(header.ends_with('…'));
        assert!(message["text"].as_str().unwrap().ends_with("12 min left"));
    }
}
