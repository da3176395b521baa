//! `/metrics` on its own listener, scraped over a real socket: counters,
//! histograms and gauges after API traffic; labels that stay bounded; and
//! the Grafana dashboard querying only series the server exports.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use baton_server::metrics::{CONTENT_TYPE, SERIES};
use jiff::SignedDuration;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{
    AGENT, LEAD, REVIEWER, TestApp, id_of, new_handoff, on_both_backends, spawn_app,
};

on_both_backends!(
    counters_histograms_and_gauges_follow_the_lifecycle,
    labels_stay_bounded,
);

/// A scrape of the metrics listener.
struct Scrape {
    status: u16,
    head: String,
    body: String,
}

/// `GET path` on the app's metrics listener, served on `127.0.0.1:0`.
async fn scrape_path(app: &TestApp, path: &str) -> Scrape {
    let served = app.serve_metrics().await;
    let scrape = http_get(served.addr, path).await;
    served.shutdown().await;
    scrape
}

/// The metrics text, asserting 200 and the exposition content type.
async fn scrape(app: &TestApp) -> String {
    let scrape = scrape_path(app, "/metrics").await;
    assert_eq!(scrape.status, 200, "{}\n{}", scrape.head, scrape.body);
    let content_type = format!("content-type: {CONTENT_TYPE}");
    assert!(
        scrape.head.to_ascii_lowercase().contains(&content_type),
        "{}",
        scrape.head
    );
    scrape.body
}

/// One HTTP/1.1 request with `Connection: close`, read to the end.
async fn http_get(addr: SocketAddr, path: &str) -> Scrape {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the metrics listener answers within 10 s");
    let text = String::from_utf8(raw).expect("utf-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    Scrape {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

/// The value of the sample line `series` (name and labels, as rendered).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
        .parse()
        .unwrap_or_else(|e| panic!("{series}: {e}"))
}

const ITEM: &str =
    r#"workflow="support-chat",impact="high",reason="policy_exception",owner_group="triage""#;
const ACTION_ROUTE: &str = r#"route="/v1/handoffs/{id}/{action}""#;

/// Three handoffs created, claimed (one released and claimed again) and one
/// resolved, on the fake clock: exact counters, histogram buckets, gauges.
async fn counters_histograms_and_gauges_follow_the_lifecycle(app: TestApp) {
    let a = id_of(
        &app.create(AGENT, new_handoff("high", "policy_exception"))
            .await,
    );
    let b = id_of(
        &app.create(AGENT, new_handoff("high", "policy_exception"))
            .await,
    );
    app.create(AGENT, new_handoff("low", "missing_data")).await;
    app.advance(SignedDuration::from_secs(120));
    let claim = app.act_ok(REVIEWER, &a, "claim", json!({})).await;
    let token = claim["claim_token"].as_str().expect("claim token");
    app.act_ok(REVIEWER, &a, "release", json!({"claim_token": token}))
        .await;
    // A claim after a release is not a first claim: no second observation.
    let claim = app.act_ok(REVIEWER, &a, "claim", json!({})).await;
    let token = claim["claim_token"].as_str().expect("claim token");
    app.advance(SignedDuration::from_secs(7_200));
    // B is claimed 7,320 s after creation, past its 1 h accept_by.
    app.act_ok(REVIEWER, &b, "claim", json!({})).await;
    let receipt = json!({
        "claim_token": token,
        "resolution": "approved",
        "resolution_reason": "within_policy",
    });
    app.act_ok(REVIEWER, &a, "resolve", receipt).await;

    let text = scrape(&app).await;
    let at = |series: &str| sample(&text, series);
    assert_eq!(at(&format!("baton_handoffs_created_total{{{ITEM}}}")), 2.0);
    let low = r#"workflow="support-chat",impact="low",reason="missing_data",owner_group="triage""#;
    assert_eq!(at(&format!("baton_handoffs_created_total{{{low}}}")), 1.0);
    assert_eq!(at(&format!("baton_handoffs_resolved_total{{{ITEM}}}")), 1.0);

    let accept = r#"baton_time_to_accept_seconds_bucket{workflow="support-chat",impact="high""#;
    assert_eq!(at(&format!(r#"{accept},le="60"}}"#)), 0.0);
    assert_eq!(at(&format!(r#"{accept},le="300"}}"#)), 1.0);
    assert_eq!(at(&format!(r#"{accept},le="3600"}}"#)), 1.0);
    assert_eq!(at(&format!(r#"{accept},le="14400"}}"#)), 2.0);
    assert_eq!(at(&format!(r#"{accept},le="+Inf"}}"#)), 2.0);
    let high = r#"{workflow="support-chat",impact="high"}"#;
    assert_eq!(
        at(&format!("baton_time_to_accept_seconds_count{high}")),
        2.0
    );
    assert_eq!(
        at(&format!("baton_time_to_accept_seconds_sum{high}")),
        120.0 + 7_320.0
    );
    assert_eq!(
        at(&format!("baton_time_to_resolve_seconds_count{high}")),
        1.0
    );
    assert_eq!(
        at(&format!("baton_time_to_resolve_seconds_sum{high}")),
        7_320.0
    );
    assert_eq!(
        at(r#"baton_sla_breaches_total{kind="accept",impact="high"}"#),
        1.0
    );
    assert!(!text.contains(r#"kind="resolve""#), "{text}");

    // B is open (in progress) and so is the low one; zeros for declared pairs.
    let gauge = |name: &str, group: &str, impact: &str| {
        at(&format!(
            r#"{name}{{owner_group="{group}",impact="{impact}"}}"#
        ))
    };
    assert_eq!(gauge("baton_open_handoffs", "triage", "high"), 1.0);
    assert_eq!(gauge("baton_open_handoffs", "triage", "low"), 1.0);
    assert_eq!(gauge("baton_open_handoffs", "triage", "critical"), 0.0);
    assert_eq!(gauge("baton_open_handoffs", "billing", "high"), 0.0);
    assert_eq!(
        gauge("baton_oldest_open_age_seconds", "triage", "high"),
        7_320.0
    );
    assert_eq!(
        gauge("baton_oldest_open_age_seconds", "triage", "low"),
        7_320.0
    );
    assert_eq!(
        gauge("baton_oldest_open_age_seconds", "billing", "normal"),
        0.0
    );

    // Claim, release, claim, claim, resolve: one series for the template.
    let actions =
        format!(r#"baton_http_requests_total{{method="POST",{ACTION_ROUTE},status="200"}}"#);
    assert_eq!(at(&actions), 5.0);
    let creates = r#"baton_http_requests_total{method="POST",route="/v1/handoffs",status="201"}"#;
    assert_eq!(at(creates), 3.0);
    assert!(!text.contains(&a) && !text.contains(&b), "{text}");
}

/// Unknown paths, ids, action names and methods never become label values.
async fn labels_stay_bounded(app: TestApp) {
    let id = uuid::Uuid::now_v7().to_string();
    let (status, _) = app.request(Method::GET, "/nope/123", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .request(Method::GET, &format!("/v1/handoffs/{id}"), Some(LEAD), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.act(LEAD, &id, "frobnicate", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let brew = Method::from_bytes(b"BREW").expect("a method");
    let (status, _) = app.request(brew, "/v1/handoffs", Some(LEAD), None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let text = scrape(&app).await;
    let at = |series: &str| sample(&text, series);
    assert_eq!(
        at(r#"baton_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        1.0
    );
    assert_eq!(
        at(r#"baton_http_requests_total{method="GET",route="/v1/handoffs/{id}",status="404"}"#),
        1.0
    );
    assert_eq!(
        at(&format!(
            r#"baton_http_requests_total{{method="POST",{ACTION_ROUTE},status="404"}}"#
        )),
        1.0
    );
    assert_eq!(
        at(r#"baton_http_requests_total{method="other",route="/v1/handoffs",status="405"}"#),
        1.0
    );
    for raw in ["nope", "123", id.as_str(), "frobnicate", "BREW"] {
        assert!(!text.contains(raw), "{raw} leaked into\n{text}");
    }
    // The metrics listener serves /metrics only.
    assert_eq!(scrape_path(&app, "/v1/handoffs").await.status, 404);
}

/// Series named in the dashboard's queries: every `baton_…` identifier,
/// histogram suffixes taken off.
fn dashboard_series(dashboard: &Value) -> BTreeSet<String> {
    let mut exprs = Vec::new();
    let mut stack = vec![dashboard];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(expr)) = map.get("expr") {
                    exprs.push(expr.clone());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    assert!(!exprs.is_empty(), "the dashboard has no queries");
    let mut names = BTreeSet::new();
    for expr in &exprs {
        for (start, _) in expr.match_indices("baton_") {
            let name: String = expr[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| {
                    SERIES
                        .iter()
                        .any(|(n, kind, _)| n == base && *kind == "histogram")
                })
                .map_or(name.clone(), str::to_owned);
            names.insert(base);
        }
    }
    names
}

/// Every series appears in a scrape once its event happened, and the
/// Grafana dashboard queries exactly the exported series: it cannot drift.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_queries_only_exported_series() {
    let app = spawn_app().await;
    // A critical handoff (accept within 15 min, resolve within 4 h) late on both.
    let id = id_of(&app.create(AGENT, new_handoff("critical", "fraud")).await);
    app.advance(SignedDuration::from_mins(20));
    let claim = app.act_ok(REVIEWER, &id, "claim", json!({})).await;
    app.advance(SignedDuration::from_hours(4));
    let receipt = json!({
        "claim_token": claim["claim_token"],
        "resolution": "rejected",
        "resolution_reason": "fraud_confirmed",
    });
    app.act_ok(REVIEWER, &id, "resolve", receipt).await;
    let text = scrape(&app).await;
    for kind in ["accept", "resolve"] {
        let series = format!(r#"baton_sla_breaches_total{{kind="{kind}",impact="critical"}}"#);
        assert_eq!(sample(&text, &series), 1.0);
    }
    for (name, kind, _) in SERIES {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} is not exported as a {kind}:\n{text}"
        );
    }

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/grafana/baton.json"
    );
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read the dashboard"))
            .expect("the dashboard is JSON");
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] != "row" {
            assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{panel}");
        }
    }
    let used = dashboard_series(&dashboard);
    let exported: BTreeSet<String> = SERIES.iter().map(|(n, _, _)| (*n).to_owned()).collect();
    assert_eq!(
        used, exported,
        "the dashboard's series and the exported ones differ"
    );
}
