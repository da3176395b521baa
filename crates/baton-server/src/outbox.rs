//! The outbox dispatcher: delivers the notifications the writer stored with
//! each change, on the channel's transport, retrying on the schedule of
//! [`baton_core::delivery`] until delivered or dead.
//!
//! A delivery keeps its id across attempts (the `webhook-id`). A receiver
//! answering 410 disables its channel: that delivery and every later one
//! for the channel go to the dead-letter list until `baton deliveries
//! redeliver` (or `POST /v1/deliveries/{id}/redeliver`) queues them again.

use std::sync::Arc;
use std::time::Duration;

use baton_core::delivery::{AttemptResult, Next, jitter_from_seed, next_attempt};
use baton_core::policy::{ChannelKind, Policy};
use baton_store::{AttemptRecord, Delivery, DeliveryState, Store, StoreError};
use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::notify::{
    EmailContent, Notice, Recipients, SmtpSettings, WebhookSecret, check_destination, send_email,
    send_slack, send_webhook, slack_message,
};
use crate::policy::PolicyHandle;
use crate::{AppState, Clock};

/// Reads a secret's environment variable; tests pass their own.
pub type SecretSource = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How notifications go out (`[notify]` in `baton.toml`, docs/notifications.md).
#[derive(Clone)]
pub struct NotifySettings {
    /// Allow destinations on loopback or private addresses (tests, labs).
    pub allow_private_destinations: bool,
    /// Where e-mail goes out; e-mail channels wait for it while unset.
    pub smtp: Option<SmtpSettings>,
    /// The sender of e-mail.
    pub smtp_from: String,
    /// The base URL people open handoffs at, for links in messages.
    pub public_url: String,
    /// Longest wait for one attempt (15 s).
    pub timeout: Duration,
    /// Where webhook secrets (`secret_env`) are read.
    pub secrets: SecretSource,
    /// Most deliveries attempted per round.
    pub batch: u32,
    /// Longest sleep between two looks for due deliveries.
    pub tick: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            allow_private_destinations: false,
            smtp: None,
            smtp_from: "baton@localhost".to_owned(),
            public_url: "http://localhost:8080".to_owned(),
            timeout: crate::notify::DEFAULT_TIMEOUT,
            secrets: Arc::new(|name| std::env::var(name).ok()),
            batch: 200,
            tick: Duration::from_millis(500),
        }
    }
}

impl std::fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifySettings")
            .field(
                "allow_private_destinations",
                &self.allow_private_destinations,
            )
            .field("smtp", &self.smtp)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// What one [`Dispatcher::run_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Deliveries the receiver took.
    pub delivered: usize,
    /// Deliveries to try again later.
    pub retrying: usize,
    /// Deliveries moved to the dead-letter list.
    pub dead: usize,
}

/// Delivers due outbox rows; see the module docs.
pub struct Dispatcher {
    store: Arc<dyn Store>,
    policy: Arc<PolicyHandle>,
    settings: NotifySettings,
    client: reqwest::Client,
}

impl Dispatcher {
    /// A dispatcher over `state`'s store and policy.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots).
    pub fn new(state: &AppState, settings: NotifySettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            store: state.store.clone(),
            policy: state.policy.clone(),
            client: crate::notify::http_client()?,
            settings,
        })
    }

    /// Attempts every delivery due at `now` once (each at most once per
    /// call), recording each outcome with `now` as its time.
    ///
    /// # Errors
    /// The store's, when it cannot claim deliveries.
    pub async fn run_due(&self, now: Timestamp) -> Result<DispatchReport, StoreError> {
        let lease = SignedDuration::try_from(self.settings.timeout * 2).unwrap_or_default();
        let due = self
            .store
            .claim_due_deliveries(
                now,
                now.saturating_add(lease).unwrap_or(now),
                self.settings.batch,
            )
            .await?;
        if due.is_empty() {
            return Ok(DispatchReport::default());
        }
        let policy = self.policy.current().policy.clone();
        let disabled: Vec<String> = self
            .store
            .disabled_channels()
            .await?
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        let attempts = due.iter().map(|d| self.attempt(d, &policy, &disabled, now));
        let mut report = DispatchReport::default();
        for (delivery, (result, error)) in due.iter().zip(join_all(attempts).await) {
            let attempts = delivery.attempts + 1;
            let seed = delivery.id.as_u64_pair().0 ^ u64::from(attempts);
            let next = match result {
                Some(result) => next_attempt(attempts, &result, now, jitter_from_seed(seed)),
                None => Next::Dead,
            };
            let (state, next_at) = match next {
                Next::Done => (DeliveryState::Delivered, now),
                Next::RetryAt(at) => (DeliveryState::Pending, at),
                Next::Dead => (DeliveryState::Dead, now),
                Next::DisableChannel => {
                    self.store
                        .disable_channel(&delivery.channel, "the receiver answered 410 Gone", now)
                        .await?;
                    (DeliveryState::Dead, now)
                }
            };
            match state {
                DeliveryState::Delivered => report.delivered += 1,
                DeliveryState::Pending => report.retrying += 1,
                DeliveryState::Dead => report.dead += 1,
            }
            let record = AttemptRecord {
                state,
                attempts,
                next_at,
                error,
                now,
            };
            self.store.record_attempt(delivery.id, &record).await?;
        }
        Ok(report)
    }

    /// One attempt: the transport's result (`None`: no attempt can succeed,
    /// e.g. the channel is gone) and the error to record.
    async fn attempt(
        &self,
        d: &Delivery,
        policy: &Policy,
        disabled: &[String],
        now: Timestamp,
    ) -> (Option<AttemptResult>, Option<String>) {
        let retry = |error: String| {
            (
                Some(AttemptResult::Retry { retry_after: None }),
                Some(error),
            )
        };
        if disabled.contains(&d.channel) {
            return (None, Some(format!("channel {} is disabled", d.channel)));
        }
        let Some(channel) = policy.channel(&d.channel) else {
            return (
                None,
                Some(format!("channel {} is not in the active policy", d.channel)),
            );
        };
        let url = match &channel.kind {
            ChannelKind::Webhook { url, .. } | ChannelKind::Slack { url } => Some(url),
            ChannelKind::Email { .. } => None,
        };
        if let Some(url) = url
            && let Err(err) = check_destination(url, self.settings.allow_private_destinations).await
        {
            return (None, Some(format!("refused destination: {err}")));
        }
        let result = match &channel.kind {
            ChannelKind::Webhook { url, secret_env } => {
                let Some(text) = (self.settings.secrets)(secret_env) else {
                    return retry(format!("environment variable {secret_env} is not set"));
                };
                let secret = match WebhookSecret::parse(&text) {
                    Ok(secret) => secret,
                    Err(err) => return retry(format!("{secret_env}: {err}")),
                };
                let body = serde_json::to_vec(&d.payload).unwrap_or_default();
                let id = d.id.to_string();
                send_webhook(
                    &self.client,
                    url,
                    &secret,
                    &id,
                    now,
                    &body,
                    self.settings.timeout,
                )
                .await
            }
            ChannelKind::Slack { url } => {
                let message = slack_message(&self.notice(d, now));
                send_slack(&self.client, url, &message, now, self.settings.timeout).await
            }
            ChannelKind::Email { to } => {
                let Some(smtp) = &self.settings.smtp else {
                    return retry("no smtp server is configured ([notify] smtp_host)".to_owned());
                };
                let recipients = match Recipients::parse(&self.settings.smtp_from, to) {
                    Ok(r) => r,
                    Err(err) => return (None, Some(err.to_string())),
                };
                send_email(
                    smtp,
                    &recipients,
                    &EmailContent::from_notice(&self.notice(d, now)),
                )
                .await
            }
        };
        let error = match result {
            AttemptResult::Delivered => None,
            AttemptResult::Gone => Some("the receiver answered 410 Gone".to_owned()),
            AttemptResult::Retry { retry_after } => Some(match retry_after {
                Some(after) => format!("the receiver failed; it asked to retry after {after:#}"),
                None => "the receiver failed or did not answer".to_owned(),
            }),
        };
        (Some(result), error)
    }

    /// The notice people read, from a delivery's payload.
    fn notice(&self, d: &Delivery, now: Timestamp) -> Notice {
        let h = &d.payload["data"]["handoff"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let at = |v: &Value| v.as_str().and_then(|s| s.parse::<Timestamp>().ok());
        let due = if h["state"] == "pending" {
            at(&h["accept_by"])
        } else {
            at(&h["resolve_by"])
        };
        Notice {
            title: text(&h["title"]),
            impact: text(&h["impact"]),
            reason: text(&h["reason"]),
            owner_group: text(&h["owner_group"]),
            event: d.event.replace('_', " "),
            age: at(&h["created_at"]).map_or(SignedDuration::ZERO, |c| now.duration_since(c)),
            time_left: due.map(|due| now.duration_until(due)),
            link: format!(
                "{}/v1/handoffs/{}",
                self.settings.public_url.trim_end_matches('/'),
                text(&h["id"])
            ),
        }
    }

    async fn run(self, clock: Arc<dyn Clock>) {
        loop {
            match self.run_due(clock.now()).await {
                Ok(report) if report != DispatchReport::default() => {
                    tracing::info!(?report, "notifications dispatched");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "cannot dispatch notifications"),
            }
            tokio::time::sleep(self.settings.tick).await;
        }
    }
}

/// The running dispatcher loop; it stops when this is dropped.
#[derive(Debug)]
pub struct DispatcherTask {
    task: JoinHandle<()>,
}

impl Drop for DispatcherTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the dispatcher loop of `baton serve` on `state`'s clock.
///
/// # Errors
/// When the HTTP client cannot be built.
pub fn spawn_dispatcher(
    state: &AppState,
    settings: NotifySettings,
) -> Result<DispatcherTask, reqwest::Error> {
    let dispatcher = Dispatcher::new(state, settings)?;
    Ok(DispatcherTask {
        task: tokio::spawn(dispatcher.run(state.clock.clone())),
    })
}
