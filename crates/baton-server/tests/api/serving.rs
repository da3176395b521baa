//! The listener and its limits: the header-read timeout closes half-open
//! connections, the cap evicts idle ones for newcomers and refuses when all
//! are busy, event streams are capped in total and per token, and the
//! request timeout answers 503 without cutting event streams.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use baton_server::{AppState, ServeOptions, ServerConfig};
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tower::ServiceExt;

use crate::helpers::{ADMIN, LEAD, TestApp, spawn_app};

/// Serves `app` with `options` on `127.0.0.1:0`; drop the sender to stop.
async fn serve(app: &TestApp, options: ServeOptions) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(baton_server::serve_with(
        listener,
        app.router.clone(),
        async move {
            let _ = stopped.await;
        },
        options,
    ));
    (addr, stop)
}

/// Reads until the peer closes; the bytes read. Fails after `within`.
async fn until_closed(socket: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut all = Vec::new();
    tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection in time");
    all
}

async fn healthz(addr: &str) -> StatusCode {
    let url = format!("http://{addr}/healthz");
    let reply = tokio::time::timeout(Duration::from_secs(5), reqwest::get(&url))
        .await
        .expect("/healthz answers within 5 s")
        .expect("/healthz answers");
    StatusCode::from_u16(reply.status().as_u16()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_open_connection_is_closed_after_the_header_read_timeout() {
    let app = spawn_app().await;
    let timeout = Duration::from_millis(300);
    let options = ServeOptions {
        header_read_timeout: timeout,
        ..ServeOptions::default()
    };
    let (addr, _stop) = serve(&app, options).await;
    let started = Instant::now();
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /healthz HT").await.unwrap();
    let answered = until_closed(&mut half, Duration::from_secs(5)).await;
    assert!(answered.is_empty(), "no answer to half a request line");
    assert!(
        started.elapsed() >= timeout,
        "closed after {:?}, before the timeout",
        started.elapsed()
    );
    // A connection that never sends a byte goes the same way.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    until_closed(&mut silent, Duration::from_secs(5)).await;
    assert_eq!(healthz(&addr).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app().await;
    let idle = Duration::from_millis(300);
    let options = ServeOptions {
        idle_timeout: idle,
        ..ServeOptions::default()
    };
    let (addr, _stop) = serve(&app, options).await;
    let mut socket = TcpStream::connect(&addr).await.unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = socket.read(&mut buf).await.unwrap();
    let answered = Instant::now();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let rest = until_closed(&mut socket, Duration::from_secs(5)).await;
    assert!(rest.is_empty());
    assert!(
        answered.elapsed() >= idle - Duration::from_millis(20),
        "closed {:?} after the answer",
        answered.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_and_half_open_connections_at_once() {
    let app = spawn_app().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let options = ServeOptions {
        shutdown_timeout: Duration::from_secs(60),
        ..ServeOptions::default()
    };
    let server = tokio::spawn(baton_server::serve_with(
        listener,
        app.router.clone(),
        async move {
            let _ = stopped.await;
        },
        options,
    ));
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    assert!(idle.read(&mut buf).await.unwrap() > 0);
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST /v1/hand").await.unwrap();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    stop.send(()).unwrap();
    // Far within the 60 s bound: nothing was in flight.
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops at once with nothing in flight")
        .unwrap()
        .unwrap();
    for socket in [&mut idle, &mut half, &mut silent] {
        until_closed(socket, Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_oldest_idle_connection_makes_room_and_healthz_answers() {
    let app = spawn_app().await;
    let options = ServeOptions {
        max_connections: 4,
        ..ServeOptions::default()
    };
    let (addr, _stop) = serve(&app, options).await;
    let mut half_open = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /hea").await.unwrap();
        half_open.push(s);
    }
    for _ in 0..3 {
        assert_eq!(healthz(&addr).await, StatusCode::OK);
    }
    // The oldest was closed to make room.
    until_closed(&mut half_open[0], Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_with_every_connection_busy_a_newcomer_gets_503() {
    let app = spawn_app().await;
    let options = ServeOptions {
        max_connections: 1,
        ..ServeOptions::default()
    };
    let (addr, _stop) = serve(&app, options).await;
    // An open event stream keeps its connection busy.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "GET /v1/events/stream HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {LEAD}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let mut newcomer = TcpStream::connect(&addr).await.unwrap();
    let refused =
        String::from_utf8(until_closed(&mut newcomer, Duration::from_secs(5)).await).unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    let body: Value = serde_json::from_str(refused.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_connections")
    );
}

/// The app's store and policy under a config of our own.
fn with_config(app: &TestApp, config: ServerConfig) -> axum::Router {
    let state = AppState::new(app.state.store.clone(), Arc::new(app.clock.clone()), config)
        .with_policy(baton_server::PolicyHandle::new(
            app.state.policy.current().policy.clone(),
            app.state.policy.current().text.clone(),
        ));
    baton_server::router(state)
}

async fn open_stream(router: &axum::Router, token: &str) -> (StatusCode, axum::response::Response) {
    let request = Request::builder()
        .method(Method::GET)
        .uri("/v1/events/stream")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    (response.status(), response)
}

async fn error_of(response: axum::response::Response) -> Value {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_capped_per_token_and_in_total() {
    let app = spawn_app().await;
    let router = with_config(
        &app,
        ServerConfig {
            max_streams: 2,
            max_streams_per_token: 1,
            ..ServerConfig::default()
        },
    );
    let (status, lead) = open_stream(&router, LEAD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = open_stream(&router, LEAD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let error = error_of(refused).await;
    assert_eq!(error["error"]["code"], "too_many_streams");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_streams_per_token = 1"),
        "{error}"
    );
    let (status, _admin) = open_stream(&router, ADMIN).await;
    assert_eq!(status, StatusCode::OK);
    // Closing the lead's stream frees its place; the total is still full.
    drop(lead);
    let (status, _lead_again) = open_stream(&router, LEAD).await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = open_stream(&router, crate::helpers::AGENT).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "agents may not watch the feed"
    );
    drop(refused);
    let router = with_config(
        &app,
        ServerConfig {
            max_streams: 1,
            ..ServerConfig::default()
        },
    );
    let (_, _first) = open_stream(&router, LEAD).await;
    let (status, refused) = open_stream(&router, ADMIN).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let error = error_of(refused).await;
    assert_eq!(error["error"]["code"], "unavailable");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_streams = 1"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_gets_503_timeout_and_an_event_stream_outlives_the_timeout() {
    let app = spawn_app().await;
    let timeout = Duration::from_millis(200);
    let config = ServerConfig {
        request_timeout: timeout,
        report_workers: 1,
        ..ServerConfig::default()
    };
    let state = AppState::new(app.state.store.clone(), Arc::new(app.clock.clone()), config);
    let router = baton_server::router(state.clone());
    let (status, stream) = open_stream(&router, LEAD).await;
    assert_eq!(status, StatusCode::OK);
    // Hold the only report turn: the report waits, and times out.
    let turn = state.reports.acquire().await.unwrap();
    let started = Instant::now();
    let request = Request::builder()
        .uri("/v1/reports/weekly")
        .header("authorization", format!("Bearer {LEAD}"))
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() >= timeout);
    let error = error_of(response).await;
    assert_eq!(error["error"]["code"], "timeout");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request_timeout")
    );
    drop(turn);
    // The stream opened before the timeout still delivers a new event.
    app.create_sample("low", "low_confidence").await;
    let mut frames = stream.into_body().into_data_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), frames.next())
        .await
        .expect("an event within 5 s")
        .expect("the stream is open")
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: created"));
}
