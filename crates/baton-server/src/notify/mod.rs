//! Notification transports the outbox dispatcher calls: signed webhooks, Slack-compatible incoming webhooks and e-mail.
//!
//! Each `send_*` makes one attempt and answers a
//! [`baton_core::delivery::AttemptResult`]; when to try again is
//! [`baton_core::delivery::next_attempt`]'s decision. [`check_destination`]
//! refuses private addresses before a channel is used. See
//! `docs/notifications.md`.

pub mod destination;
pub mod email;
mod http;
pub mod notice;
pub mod slack;
pub mod webhook;

pub use destination::{DestinationError, check_destination, is_private};
pub use email::{EmailContent, EmailError, Recipients, SmtpSettings, SmtpTls, send_email};
pub use http::{DEFAULT_TIMEOUT, http_client};
pub use notice::Notice;
pub use slack::{send_slack, slack_message};
pub use webhook::{SecretError, WebhookSecret, send_webhook, sign};
