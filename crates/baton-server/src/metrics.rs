//! Prometheus metrics: the series Baton exports (names in this module only),
//! recorded per [`AppState`] rather than in a process-global recorder, so two
//! servers or parallel tests in one process never share a counter; and
//! [`metrics_router`], served on a listener of its own.
//!
//! **Invariant:** label values are bounded. Workflow, impact, reason and
//! owner group are a handoff's [`baton_core::Label`]s (impact, reason and
//! owner group declared in the policy); the HTTP route is the matched path
//! template (`/v1/handoffs/{id}/{action}`) or `unmatched`; a method outside
//! the standard ones is `other`; never an id or a raw URI.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use baton_core::clocks::Which;
use baton_core::policy::Policy;
use baton_core::{EventKind, Handoff, react};
use baton_store::{Acted, OpenTotal};
use jiff::Timestamp;
use metrics::{Key, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::{ApiError, AppState};

/// Handoffs created, `{workflow, impact, reason, owner_group}`; counter.
pub const HANDOFFS_CREATED: &str = "baton_handoffs_created_total";
/// Resolutions, `{workflow, impact, reason, owner_group}` with the owner group
/// at resolve time; counter. A reopened handoff counts again when resolved again.
pub const HANDOFFS_RESOLVED: &str = "baton_handoffs_resolved_total";
/// Open handoffs (pending, in progress or waiting), `{owner_group, impact}`;
/// gauge read from the store at scrape time, 0 for declared pairs with none.
pub const OPEN_HANDOFFS: &str = "baton_open_handoffs";
/// Age in seconds of the oldest open handoff, `{owner_group, impact}`; gauge
/// read from the store at scrape time, 0 when none is open.
pub const OLDEST_OPEN_AGE: &str = "baton_oldest_open_age_seconds";
/// Seconds from creation to the first claim, `{workflow, impact}`; histogram
/// over [`DURATION_BUCKETS`].
pub const TIME_TO_ACCEPT: &str = "baton_time_to_accept_seconds";
/// Seconds from creation to a resolution, `{workflow, impact}`; histogram over
/// [`DURATION_BUCKETS`].
pub const TIME_TO_RESOLVE: &str = "baton_time_to_resolve_seconds";
/// Breached SLA clock cycles, `{kind, impact}`: `kind="accept"` for a claim
/// that stops the accept clock with its budget used up, `kind="resolve"` for
/// a resolution that stops the resolve clock so; counter. The live-clock
/// rule of `baton_core::clocks` (docs/sla-clocks.md), as reports and
/// `replay --simulate` count it.
pub const SLA_BREACHES: &str = "baton_sla_breaches_total";
/// API requests answered, `{method, route, status}`; counter.
pub const HTTP_REQUESTS: &str = "baton_http_requests_total";

/// Every series the metrics listener exports: name, Prometheus type, help text.
pub const SERIES: [(&str, &str, &str); 8] = [
    (HANDOFFS_CREATED, "counter", "handoffs created"),
    (HANDOFFS_RESOLVED, "counter", "handoffs resolved"),
    (
        OPEN_HANDOFFS,
        "gauge",
        "open handoffs: pending, in progress or waiting",
    ),
    (
        OLDEST_OPEN_AGE,
        "gauge",
        "age of the oldest open handoff in seconds",
    ),
    (
        TIME_TO_ACCEPT,
        "histogram",
        "seconds from creation to the first claim",
    ),
    (
        TIME_TO_RESOLVE,
        "histogram",
        "seconds from creation to a resolution",
    ),
    (
        SLA_BREACHES,
        "counter",
        "claims (kind=accept) and resolutions (kind=resolve) that stop an SLA clock whose working-time budget is used up",
    ),
    (HTTP_REQUESTS, "counter", "API requests answered"),
];

/// Upper bounds of the histogram buckets in seconds: 1, 5, 15 and 30
/// minutes, 1, 4, 8 and 24 hours, 3 and 7 days (`+Inf` follows).
pub const DURATION_BUCKETS: [f64; 10] = [
    60.0, 300.0, 900.0, 1_800.0, 3_600.0, 14_400.0, 28_800.0, 86_400.0, 259_200.0, 604_800.0,
];

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// `Content-Type` of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// One server's counters and histograms, in memory. The gauges are not kept:
/// [`Metrics::render`] computes them from the store's figures.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh recorder with no samples; histograms over [`DURATION_BUCKETS`].
    pub fn new() -> Self {
        let mut builder = PrometheusBuilder::new();
        for name in [TIME_TO_ACCEPT, TIME_TO_RESOLVE] {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(name.into()), &DURATION_BUCKETS)
                .expect("the bucket list is not empty");
        }
        let recorder = builder.build_recorder();
        for (name, kind, help) in SERIES {
            match kind {
                "counter" => recorder.describe_counter(name.into(), None, help.into()),
                "histogram" => recorder.describe_histogram(name.into(), None, help.into()),
                _ => {} // gauges are rendered from the store
            }
        }
        let handle = recorder.handle();
        Self { recorder, handle }
    }

    /// Counts a newly created handoff (not an idempotent replay).
    pub fn handoff_created(&self, handoff: &Handoff) {
        self.count(HANDOFFS_CREATED, item_labels(handoff));
    }

    /// Records what an action did under `policy` (the one it was acted
    /// under): a first claim observes the time to accept; a resolution
    /// counts and observes the time to resolve. A claim or resolution that
    /// stops an SLA clock counts a breach when [`sla_breached`] says so.
    pub fn handoff_acted(&self, acted: &Acted, policy: &Policy) {
        let h = &acted.handoff;
        let now = acted.event.at;
        let (histogram, which) = match acted.event.kind {
            EventKind::Claimed => (TIME_TO_ACCEPT, Which::Accept),
            EventKind::Resolved => {
                self.count(HANDOFFS_RESOLVED, item_labels(h));
                (TIME_TO_RESOLVE, Which::Resolve)
            }
            _ => return,
        };
        if sla_breached(acted, which, policy) {
            let labels = vec![
                Label::new("kind", which.as_str()),
                Label::new("impact", h.impact.to_string()),
            ];
            self.count(SLA_BREACHES, labels);
        }
        if which == Which::Accept && !acted.first_claim {
            return;
        }
        let labels = vec![
            Label::new("workflow", h.workflow.to_string()),
            Label::new("impact", h.impact.to_string()),
        ];
        let seconds = now.duration_since(h.created_at).as_secs_f64().max(0.0);
        self.recorder
            .register_histogram(&Key::from_parts(histogram, labels), &METADATA)
            .record(seconds);
        // Fold the sample into its buckets now: unscraped samples would pile up.
        self.handle.run_upkeep();
    }

    /// Counts an answered API request; `route` is the matched path template.
    pub fn request_answered(
        &self,
        method: &Method,
        route: Option<&MatchedPath>,
        status: StatusCode,
    ) {
        let route: SharedString = match route {
            Some(path) => path.as_str().to_owned().into(),
            None => UNMATCHED.into(),
        };
        let labels = vec![
            Label::new("method", method_label(method)),
            Label::new("route", route),
            Label::new("status", status.as_str().to_owned()),
        ];
        self.count(HTTP_REQUESTS, labels);
    }

    /// The exposition text: the counters and histograms, then the gauges from
    /// `open` (the store's [`OpenTotal`]s) at `now`, with a zero for every
    /// owner group × impact pair `policy` declares and `open` lacks.
    pub fn render(&self, open: &[OpenTotal], policy: &Policy, now: Timestamp) -> String {
        let mut text = self.handle.render();
        let mut pairs: BTreeMap<(&str, &str), (u64, f64)> = BTreeMap::new();
        for group in policy.group_names() {
            for impact in policy.impact_names() {
                pairs.insert((group, impact), (0, 0.0));
            }
        }
        for total in open {
            let age = now.duration_since(total.oldest).as_secs_f64().max(0.0);
            pairs.insert((&total.owner_group, &total.impact), (total.count, age));
        }
        for (name, kind, help) in SERIES.iter().filter(|(_, kind, _)| *kind == "gauge") {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((group, impact), (count, age)) in &pairs {
                let value = if *name == OPEN_HANDOFFS {
                    *count as f64
                } else {
                    *age
                };
                let _ = writeln!(
                    text,
                    "{name}{{owner_group=\"{group}\",impact=\"{impact}\"}} {value}"
                );
            }
            text.push('\n');
        }
        text
    }

    fn count(&self, name: &'static str, labels: Vec<Label>) {
        self.recorder
            .register_counter(&Key::from_parts(name, labels), &METADATA)
            .increment(1);
    }
}

/// The metrics listener's router: `GET /metrics` in the Prometheus text
/// format; no auth, so bind it where only the scraper reaches it.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(get_metrics))
        .fallback(|| async { ApiError::new("not_found", "no such route; see /metrics") })
        .with_state(state)
}

/// `GET /metrics`: every series, the gauges read from the store now.
async fn get_metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let open = state.store.open_totals().await?;
    let loaded = state.policy.current();
    let text = state
        .metrics
        .render(&open, &loaded.policy, state.clock.now());
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response())
}

/// Middleware of the API router counting every answer in [`HTTP_REQUESTS`].
pub(crate) async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    state
        .metrics
        .request_answered(&method, route.as_ref(), response.status());
    response
}

/// Whether the action of `acted` (a claim for [`Which::Accept`], a
/// resolution for [`Which::Resolve`]) stopped that clock with its budget
/// used up, by the live clock of the handoff after the action
/// ([`react::stopped`]): only the action that stops the clock of the current
/// cycle counts (a claim after a release does not; the first claim after a
/// reopen does).
///
/// Items without clocks (created before live clocks existed, or imported)
/// and impacts the policy no longer declares fall back to the deadline fixed
/// at creation: breached when acted on after `accept_by`/`resolve_by`, and
/// for accept only at the first claim.
pub fn sla_breached(acted: &Acted, which: Which, policy: &Policy) -> bool {
    let h = &acted.handoff;
    let now = acted.event.at;
    match react::stopped(h, policy, now) {
        Some(stopped) => stopped.contains(&(which, true)),
        None => {
            let (deadline, counts) = match which {
                Which::Accept => (h.accept_by, acted.first_claim),
                Which::Resolve => (h.resolve_by, true),
            };
            counts && deadline.is_some_and(|by| now > by)
        }
    }
}

fn item_labels(h: &Handoff) -> Vec<Label> {
    vec![
        Label::new("workflow", h.workflow.to_string()),
        Label::new("impact", h.impact.to_string()),
        Label::new("reason", h.reason.to_string()),
        Label::new("owner_group", h.owner_group.to_string()),
    ]
}

/// The standard methods by name; any other is `other`, so a client cannot
/// invent label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
