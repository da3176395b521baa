//! Wire shapes of responses, converted from domain types.

use baton_core::{Event, Handoff};
use jiff::Timestamp;
use serde::Serialize;

/// A handoff as the API shows it: every stored field plus its queue age.
#[derive(Serialize)]
pub struct HandoffView<'a> {
    /// The handoff's fields.
    #[serde(flatten)]
    pub handoff: &'a Handoff,
    /// Seconds since creation, at the time of the response.
    pub queue_age_seconds: i64,
}

impl<'a> HandoffView<'a> {
    /// The view of `handoff` at `now`.
    pub fn new(handoff: &'a Handoff, now: Timestamp) -> Self {
        Self {
            handoff,
            queue_age_seconds: now.duration_since(handoff.created_at).as_secs().max(0),
        }
    }
}

/// A handoff with its events, for `GET /v1/handoffs/{id}`.
#[derive(Serialize)]
pub struct HandoffDetail<'a> {
    /// The handoff.
    #[serde(flatten)]
    pub view: HandoffView<'a>,
    /// Its events, oldest first.
    pub events: &'a [Event],
}

/// The answer to an action.
#[derive(Serialize)]
pub struct ActionResult<'a> {
    /// The handoff after the action.
    pub handoff: HandoffView<'a>,
    /// The event appended.
    pub event: &'a Event,
    /// The claim token, after a claim: send it back to release, request info or resolve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_token: Option<&'a str>,
    /// The policy version the action was checked against, for actions that
    /// consult the policy (resolve: resolution reasons; provide-context: the
    /// workflow's contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<&'a str>,
}
