//! The global event feed: pages after a cursor, and a live server-sent-event stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use baton_core::Permission;
use futures::Stream;
use serde::Deserialize;

use super::view::EventPage;

use crate::extract::{ApiQuery, Caller};
use crate::openapi::ErrorBody;
use crate::{ApiError, AppState};

/// `?after=&limit=` of the feed.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// Log position to start after (default 0; below 0 counts as 0).
    after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// `GET /v1/events?after=CURSOR`: events after a log position, with `next_after`.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(FeedParams),
    responses((status = 200, description = "a page of the event log", body = EventPage))
)]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<FeedParams>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Views)?;
    let after = p.after.unwrap_or(0).max(0);
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(
            ApiError::new("invalid_query", "limit must be from 1 to 1000").with_field("limit"),
        );
    }
    let events = state.store.events_after(after, limit).await?;
    let next_after = events.last().map_or(after, |e| e.position);
    Ok(Json(EventPage {
        events: &events,
        next_after,
    })
    .into_response())
}

/// `GET /v1/events/stream?after=CURSOR`: every event after the cursor (or
/// `Last-Event-ID`), then new ones as they commit. Each SSE message has the
/// event's log position as its id and kind as its event name. It also polls
/// once a second, so events written by other instances arrive too. At most
/// `max_streams` are open (503 beyond), `max_streams_per_token` per token (429).
#[utoipa::path(
    get,
    path = "/v1/events/stream",
    tag = "events",
    params(
        FeedParams,
        ("Last-Event-ID" = Option<String>, Header, description = "the id of the last message seen (a log position); wins over `after`"),
    ),
    responses(
        (status = 200, description = "server-sent events: `id` is the log position, `event` the kind, `data` the event as JSON",
            content_type = "text/event-stream", body = String),
        (status = 429, description = "this token has `max_streams_per_token` streams open", body = ErrorBody),
        (status = 503, description = "`max_streams` streams are open", body = ErrorBody),
    )
)]
pub async fn stream_events(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<FeedParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    caller.require(Permission::Views)?;
    let slot = state.streams.acquire(&caller.name)?;
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let after = last_id.or(p.after).unwrap_or(0).max(0);
    let wake = state.store.writer().subscribe();
    let stop = state.stopping();
    let stream = futures::stream::unfold(
        (
            (state, slot),
            after,
            (wake, stop),
            Vec::<baton_core::Event>::new().into_iter(),
        ),
        |((state, slot), mut after, (mut wake, mut stop), mut pending)| async move {
            loop {
                if *stop.borrow() {
                    return None;
                }
                if let Some(event) = pending.next() {
                    after = event.position;
                    let sse = SseEvent::default()
                        .id(event.position.to_string())
                        .event(event.kind.as_str())
                        .json_data(&event)
                        .unwrap_or_else(|_| SseEvent::default().comment("unencodable event"));
                    return Some((Ok(sse), ((state, slot), after, (wake, stop), pending)));
                }
                match state.store.events_after(after, 500).await {
                    Ok(events) if !events.is_empty() => {
                        pending = events.into_iter();
                        continue;
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "event stream read failed"),
                }
                // Wait for a local commit, a shutdown, or a second (other instances).
                let woken = async {
                    tokio::select! {
                        _ = wake.recv() => {}
                        _ = stop.changed() => {}
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(1), woken).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
