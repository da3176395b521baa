//! Signed webhooks and Slack messages against a real receiver: signatures the
//! reference library accepts, one `webhook-id` across retries, 410, 429 with
//! `Retry-After`, timeouts, refused connections and redirects.

use std::time::Duration;

use baton_core::delivery::{AttemptResult, MAX_ATTEMPTS, Next, jitter_from_seed, next_attempt};
use baton_server::notify::{
    Notice, WebhookSecret, http_client, send_slack, send_webhook, slack_message,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use standardwebhooks::Webhook;

use super::{Answer, Receiver, closed_port_url, silent_receiver};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const BODY: &[u8] =
    br#"{"type":"handoff.sla_breached","data":{"id":"0193a3f0-0000-7000-8000-000000000001"}}"#;
const MSG_ID: &str = "msg_0193a3f0000070008000000000000001";
const TIMEOUT: Duration = Duration::from_secs(10);

fn secret() -> WebhookSecret {
    WebhookSecret::parse(SECRET).unwrap()
}

fn start() -> Timestamp {
    "2026-12-01T08:00:00Z".parse().unwrap()
}

fn header<'a>(recorded: &'a super::Recorded, name: &str) -> &'a str {
    recorded.headers.get(name).unwrap().to_str().unwrap()
}

async fn send(url: &str, now: Timestamp, timeout: Duration) -> AttemptResult {
    send_webhook(
        &http_client().unwrap(),
        url,
        &secret(),
        MSG_ID,
        now,
        BODY,
        timeout,
    )
    .await
}

#[tokio::test]
async fn the_reference_library_verifies_what_we_send() {
    let receiver = Receiver::start(vec![Answer::status(204)]).await;
    // Webhook::verify checks the timestamp against the real clock (±5 min).
    let now = Timestamp::now();
    assert_eq!(
        send(&receiver.url, now, TIMEOUT).await,
        AttemptResult::Delivered
    );

    let [got] = receiver.requests().try_into().unwrap();
    assert_eq!(header(&got, "content-type"), "application/json");
    assert_eq!(header(&got, "webhook-id"), MSG_ID);
    assert_eq!(
        header(&got, "webhook-timestamp"),
        now.as_second().to_string()
    );
    assert_eq!(got.body.as_ref(), BODY);
    let reference = Webhook::new(SECRET).unwrap();
    reference.verify(&got.body, &got.headers).unwrap();
    // and it is the body that is signed
    assert!(
        reference
            .verify(br#"{"type":"forged"}"#, &got.headers)
            .is_err()
    );
}

#[tokio::test]
async fn five_failures_then_success_is_six_attempts_of_one_message() {
    let mut answers = vec![Answer::status(500); 5];
    answers.push(Answer::status(200));
    let receiver = Receiver::start(answers).await;

    let mut now = start();
    let mut attempts = 0;
    let mut times = vec![];
    let outcome = loop {
        times.push(now);
        let result = send(&receiver.url, now, TIMEOUT).await;
        attempts += 1;
        match next_attempt(
            attempts,
            &result,
            now,
            jitter_from_seed(u64::from(attempts)),
        ) {
            Next::RetryAt(at) => {
                assert!(at > now, "attempt {attempts}: {at} after {now}");
                now = at;
            }
            other => break other,
        }
    };
    assert_eq!((outcome, attempts), (Next::Done, 6));

    let requests = receiver.requests();
    assert_eq!(requests.len(), 6);
    assert_eq!(
        requests.iter().filter(|r| r.answered.is_success()).count(),
        1
    );
    assert!(requests[5].answered.is_success());
    let reference = Webhook::new(SECRET).unwrap();
    for (request, at) in requests.iter().zip(&times) {
        assert_eq!(header(request, "webhook-id"), MSG_ID);
        // Each attempt is signed anew at its own time.
        let timestamp = header(request, "webhook-timestamp").parse::<i64>().unwrap();
        assert_eq!(timestamp, at.as_second());
        let expected = reference.sign(MSG_ID, timestamp, BODY).unwrap();
        assert_eq!(header(request, "webhook-signature"), expected);
        assert_eq!(request.body.as_ref(), BODY);
    }
    // The waits follow the schedule: 5 s, 5 min, 30 min, 2 h, 5 h, each ±10 %.
    for (pair, secs) in times.windows(2).zip([5, 300, 1800, 7200, 18_000]) {
        let waited = pair[1].duration_since(pair[0]).as_secs_f64();
        let secs = f64::from(secs);
        assert!(
            (secs * 0.9..=secs * 1.1).contains(&waited),
            "{waited} s for {secs} s"
        );
    }
}

#[tokio::test]
async fn a_receiver_that_always_fails_kills_the_delivery_after_eight_attempts() {
    let receiver = Receiver::start(vec![Answer::status(503)]).await;
    let mut now = start();
    let mut attempts = 0;
    let outcome = loop {
        let result = send(&receiver.url, now, TIMEOUT).await;
        attempts += 1;
        match next_attempt(attempts, &result, now, 0.5) {
            Next::RetryAt(at) => now = at,
            other => break other,
        }
    };
    assert_eq!((outcome, attempts), (Next::Dead, MAX_ATTEMPTS));
    assert_eq!(receiver.requests().len(), MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn gone_disables_the_channel() {
    let receiver = Receiver::start(vec![Answer::status(410)]).await;
    let result = send(&receiver.url, start(), TIMEOUT).await;
    assert_eq!(result, AttemptResult::Gone);
    assert_eq!(next_attempt(1, &result, start(), 0.5), Next::DisableChannel);
}

#[tokio::test]
async fn too_many_requests_with_retry_after_waits_as_asked() {
    let receiver = Receiver::start(vec![Answer::status(429).with("retry-after", "120")]).await;
    let result = send(&receiver.url, start(), TIMEOUT).await;
    assert_eq!(
        result,
        AttemptResult::Retry {
            retry_after: Some(SignedDuration::from_secs(120))
        }
    );
    // The schedule would wait 5 s after the first attempt: the receiver's 120 s wins.
    assert_eq!(
        next_attempt(1, &result, start(), 0.5),
        Next::RetryAt(start() + SignedDuration::from_secs(120))
    );
}

#[tokio::test]
async fn retry_after_as_an_http_date_counts_from_the_attempt() {
    let receiver = Receiver::start(vec![
        Answer::status(503).with("retry-after", "Tue, 01 Dec 2026 08:10:00 GMT"),
    ])
    .await;
    let result = send(&receiver.url, start(), TIMEOUT).await;
    assert_eq!(
        result,
        AttemptResult::Retry {
            retry_after: Some(SignedDuration::from_mins(10))
        }
    );
}

#[tokio::test]
async fn client_errors_and_redirects_are_retried_and_redirects_not_followed() {
    for status in [400, 401, 404, 301, 302, 307] {
        let receiver = Receiver::start(vec![
            Answer::status(status).with("location", "http://127.0.0.1:9/elsewhere"),
        ])
        .await;
        let result = send(&receiver.url, start(), TIMEOUT).await;
        assert_eq!(
            result,
            AttemptResult::Retry { retry_after: None },
            "{status}"
        );
        assert_eq!(receiver.requests().len(), 1, "{status}");
    }
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_into_a_retry() {
    let url = silent_receiver().await;
    let result = send(&url, start(), Duration::from_millis(200)).await;
    assert_eq!(result, AttemptResult::Retry { retry_after: None });
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    let url = closed_port_url().await;
    let result = send(&url, start(), TIMEOUT).await;
    assert_eq!(result, AttemptResult::Retry { retry_after: None });
}

#[tokio::test]
async fn slack_messages_are_posted_unsigned() {
    let receiver = Receiver::start(vec![Answer::status(200)]).await;
    let notice = Notice {
        title: "Refund over limit".into(),
        impact: "high".into(),
        reason: "refund_over_limit".into(),
        owner_group: "billing".into(),
        event: "sla breached".into(),
        age: SignedDuration::from_mins(47),
        time_left: Some(SignedDuration::from_mins(-5)),
        link: "https://baton.example/handoffs/0193".into(),
    };
    let message = slack_message(&notice);
    let result = send_slack(
        &http_client().unwrap(),
        &receiver.url,
        &message,
        start(),
        TIMEOUT,
    )
    .await;
    assert_eq!(result, AttemptResult::Delivered);

    let [got] = receiver.requests().try_into().unwrap();
    assert_eq!(header(&got, "content-type"), "application/json");
    assert!(got.headers.get("webhook-signature").is_none());
    let body: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body, message);
    assert_eq!(body["blocks"][0]["text"]["text"], "Refund over limit");
}
