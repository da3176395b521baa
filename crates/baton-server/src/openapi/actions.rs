//! The OpenAPI operations of `POST /v1/handoffs/{id}/{action}`: one route
//! in the router (`act_on_handoff` parses the action's body by name), one
//! documented operation per action here, each with the body type that
//! `parse_action` deserializes.

// Each function only carries its `#[utoipa::path]`: the route is `act_on_handoff`.
#![allow(dead_code)]

use super::{ErrorBody, IdParam};
use crate::api::actions::{
    Empty, EscalateBody, ExecutionBody, NoteBody, ProvideContextBody, ProvideInfoBody, ReasonBody,
    ReassignBody, RequestInfoBody, ResolveBody, WithClaim,
};
use crate::api::view::ActionResult;

/// One action's operation: its path and body type.
macro_rules! action {
    ($fn:ident, $path:literal, $body:ty) => {
        #[utoipa::path(
            post,
            path = $path,
            tag = "actions",
            params(IdParam),
            request_body = $body,
            responses(
                (status = 200, description = "the handoff after the action and the event appended", body = ActionResult),
                (status = 409, description = "the action is not allowed in the handoff's state (`illegal_transition`), or the claim token is not the current one (`claim_mismatch`)", body = ErrorBody),
                (status = 422, description = "a field is invalid or not declared in the policy", body = ErrorBody),
            )
        )]
        pub fn $fn() {}
    };
}

action!(claim, "/v1/handoffs/{id}/claim", Empty);
action!(release, "/v1/handoffs/{id}/release", WithClaim);
action!(
    request_info,
    "/v1/handoffs/{id}/request-info",
    RequestInfoBody
);
action!(
    provide_info,
    "/v1/handoffs/{id}/provide-info",
    ProvideInfoBody
);
action!(add_note, "/v1/handoffs/{id}/notes", NoteBody);
action!(reassign, "/v1/handoffs/{id}/reassign", ReassignBody);
action!(escalate, "/v1/handoffs/{id}/escalate", EscalateBody);
action!(resolve, "/v1/handoffs/{id}/resolve", ResolveBody);
action!(
    report_execution,
    "/v1/handoffs/{id}/execution",
    ExecutionBody
);
action!(close, "/v1/handoffs/{id}/close", Empty);
action!(reopen, "/v1/handoffs/{id}/reopen", ReasonBody);
action!(
    provide_context,
    "/v1/handoffs/{id}/provide-context",
    ProvideContextBody
);
