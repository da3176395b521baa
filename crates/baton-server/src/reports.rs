//! Reading the event log into report histories, shared by the API and `baton report`.

use std::sync::Arc;

use baton_core::policy::Policy;
use baton_core::report::Histories;
use baton_store::{Store, StoreError};
use jiff::{SignedDuration, Timestamp};

/// Events read per page.
const PAGE: u32 = 5_000;

/// Folds the whole event log into one history per handoff, driving each
/// one's live SLA clocks under `policy` when given (attainment by the clock
/// rule; without one, by the stored deadlines).
///
/// # Errors
/// The store's.
pub async fn load_histories(
    store: &dyn Store,
    policy: Option<Arc<Policy>>,
) -> Result<Histories, StoreError> {
    fold_histories(store, policy, |histories| histories).await
}

/// Folds the whole event log into histories on a blocking thread, page by
/// page as the async side reads them, then runs `finish` on the histories
/// there too; the async workers only wait on the database. With `policy`,
/// each history drives its live SLA clocks under it.
///
/// # Errors
/// The store's, or a fold that panicked.
pub async fn fold_histories<T: Send + 'static>(
    store: &dyn Store,
    policy: Option<Arc<Policy>>,
    finish: impl FnOnce(Histories) -> T + Send + 'static,
) -> Result<T, StoreError> {
    let (pages, mut received) = tokio::sync::mpsc::channel::<Vec<baton_core::Event>>(2);
    let folder = tokio::task::spawn_blocking(move || {
        let mut histories = policy.map_or_else(Histories::default, Histories::with_policy);
        while let Some(events) = received.blocking_recv() {
            for event in &events {
                histories.apply(event);
            }
        }
        finish(histories)
    });
    let mut after = 0;
    loop {
        let events = store.events_after(after, PAGE).await?;
        let next = match events.last() {
            Some(last) if events.len() == PAGE as usize => Some(last.position),
            _ => None,
        };
        if !events.is_empty() && pages.send(events).await.is_err() {
            break;
        }
        match next {
            Some(position) => after = position,
            None => break,
        }
    }
    drop(pages);
    folder
        .await
        .map_err(|e| StoreError::Backend(format!("the report fold failed: {e}")))
}

/// Working time between two instants on the calendar of `impact` in `policy`
/// (wall-clock time for impacts it does not declare).
pub fn working_time(policy: &Policy) -> impl Fn(&str, Timestamp, Timestamp) -> SignedDuration + '_ {
    move |impact, from, to| policy.calendar_for(impact).working_between(from, to)
}

/// Parses a report bound: RFC 3339, or a date (`2012-05-01`, midnight UTC).
///
/// # Errors
/// A message naming `field` and the accepted forms.
pub fn parse_bound(field: &str, text: &str) -> Result<Timestamp, String> {
    text.parse::<Timestamp>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC))
                .map(|z| z.timestamp())
        })
        .map_err(|_| format!("{field}: `{text}` is not a time; use RFC 3339 (2012-05-01T00:00:00Z) or a date (2012-05-01)"))
}
