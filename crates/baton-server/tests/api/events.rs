//! The global event feed: pages after a cursor in process, and the live
//! server-sent-event stream over a real socket.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{LEAD, REVIEWER, spawn_app};

/// How long any one read from the socket may take before the test fails.
const READ_BOUND: Duration = Duration::from_secs(5);

fn positions(page: &Value) -> Vec<i64> {
    page["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {page}"))
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_feed_pages_after_a_cursor_in_log_order() {
    let app = spawn_app().await;
    let first = app.create_sample("high", "fraud").await;
    let second = app.create_sample("low", "fraud").await;
    app.act_ok(LEAD, &first, "claim", json!({})).await;

    let page = app.get_ok(LEAD, "/v1/events?after=0").await;
    assert_eq!(positions(&page), [1, 2, 3]);
    let events = page["events"].as_array().unwrap();
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["handoff_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("created", first.as_str()),
            ("created", second.as_str()),
            ("claimed", first.as_str())
        ]
    );
    assert_eq!(events[0]["prev_hash"], "0".repeat(64));
    assert_eq!(events[1]["prev_hash"], events[0]["hash"]);
    assert_eq!(events[2]["prev_hash"], events[1]["hash"]);
    assert_eq!(page["next_after"], 3);

    let after = app.get_ok(LEAD, "/v1/events?after=3").await;
    assert_eq!(after["events"], json!([]));
    assert_eq!(after["next_after"], 3, "an empty page keeps the cursor");

    let third = app.create_sample("normal", "fraud").await;
    let newer = app.get_ok(LEAD, "/v1/events?after=3").await;
    assert_eq!(positions(&newer), [4]);
    assert_eq!(newer["events"][0]["handoff_id"], third.as_str());
    assert_eq!(newer["next_after"], 4);

    let head = app.get_ok(LEAD, "/v1/events?after=0&limit=2").await;
    assert_eq!(positions(&head), [1, 2]);
    assert_eq!(head["next_after"], 2);
    let rest = app.get_ok(LEAD, "/v1/events?after=2&limit=2").await;
    assert_eq!(positions(&rest), [3, 4]);
    assert_eq!(rest["next_after"], 4);
    // Events are the same whether read from the feed or from their handoff.
    let detail = app.get_ok(LEAD, &format!("/v1/handoffs/{first}")).await;
    assert_eq!(detail["events"][1], page["events"][2]);
}

/// One server-sent event.
#[derive(Debug, Default)]
struct SseMessage {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

/// A minimal HTTP/1.1 client for one streamed response: status, headers,
/// chunked transfer decoding and SSE framing.
struct SseClient {
    stream: TcpStream,
    raw: Vec<u8>,
    decoded: Vec<u8>,
    head: String,
}

impl SseClient {
    /// Sends `GET path` with `headers` and reads the response head.
    async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut stream = tokio::time::timeout(READ_BOUND, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut client = Self {
            stream,
            raw: Vec::new(),
            decoded: Vec::new(),
            head: String::new(),
        };
        loop {
            if let Some(end) = find(&client.raw, b"\r\n\r\n") {
                client.head = String::from_utf8_lossy(&client.raw[..end]).into_owned();
                client.raw.drain(..end + 4);
                break;
            }
            client.read_more().await;
        }
        client
    }

    fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {:?}", self.head))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// Reads more bytes, failing the test after [`READ_BOUND`] or at EOF.
    async fn read_more(&mut self) {
        let mut buf = [0u8; 8192];
        let n = tokio::time::timeout(READ_BOUND, self.stream.read(&mut buf))
            .await
            .expect("the server sends within the read bound")
            .expect("read");
        assert!(n > 0, "the server closed the stream");
        self.raw.extend_from_slice(&buf[..n]);
    }

    /// Moves complete chunks from `raw` to `decoded`.
    fn decode_chunks(&mut self) {
        while let Some(line_end) = find(&self.raw, b"\r\n") {
            let size_line = String::from_utf8_lossy(&self.raw[..line_end]).into_owned();
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .unwrap_or_else(|_| panic!("bad chunk size {size_line:?}"));
            let start = line_end + 2;
            if self.raw.len() < start + size + 2 {
                return;
            }
            self.decoded
                .extend_from_slice(&self.raw[start..start + size]);
            self.raw.drain(..start + size + 2);
        }
    }

    /// The next SSE message that has data (comments and keep-alives skipped).
    async fn next_message(&mut self) -> SseMessage {
        loop {
            self.decode_chunks();
            while let Some(end) = find(&self.decoded, b"\n\n") {
                let block = String::from_utf8_lossy(&self.decoded[..end]).into_owned();
                self.decoded.drain(..end + 2);
                let mut message = SseMessage::default();
                let mut has_data = false;
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => message.id = Some(value.to_owned()),
                        "event" => message.event = Some(value.to_owned()),
                        "data" => {
                            if has_data {
                                message.data.push('\n');
                            }
                            message.data.push_str(value);
                            has_data = true;
                        }
                        _ => {} // a comment (keep-alive) or retry
                    }
                }
                if has_data {
                    return message;
                }
            }
            self.read_more().await;
        }
    }

    /// The next message's id, event name and data as JSON.
    async fn next_event(&mut self) -> (i64, String, Value) {
        let message = self.next_message().await;
        let id = message
            .id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no numeric id: {message:?}"));
        let event = message.event.clone().unwrap_or_default();
        let data = serde_json::from_str(&message.data)
            .unwrap_or_else(|e| panic!("data is not json ({e}): {message:?}"));
        (id, event, data)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_sends_past_events_then_new_ones_as_they_commit() {
    let app = spawn_app().await;
    let first = app.create_sample("high", "fraud").await;
    let served = app.serve().await;
    let bearer = format!("Bearer {LEAD}");

    let mut client = SseClient::get(
        served.addr,
        "/v1/events/stream?after=0",
        &[("authorization", &bearer), ("accept", "text/event-stream")],
    )
    .await;
    assert_eq!(client.status(), 200, "{}", client.head);
    assert_eq!(
        client.header("content-type").as_deref(),
        Some("text/event-stream")
    );

    let (id, kind, data) = client.next_event().await;
    assert_eq!((id, kind.as_str()), (1, "created"));
    assert_eq!(data["handoff_id"], first.as_str());
    assert_eq!(data["position"], 1);
    assert_eq!(data["data"]["id"], first.as_str());

    // New events arrive without asking again.
    let second = app.create_sample("low", "missing_data").await;
    let (id, kind, data) = client.next_event().await;
    assert_eq!((id, kind.as_str()), (2, "created"));
    assert_eq!(data["handoff_id"], second.as_str());

    app.act_ok(LEAD, &second, "claim", json!({})).await;
    let (id, kind, data) = client.next_event().await;
    assert_eq!((id, kind.as_str()), (3, "claimed"));
    assert_eq!(data["actor"], "lead");
    assert_eq!(data["seq"], 2);

    // A reconnecting client resumes after Last-Event-ID, which wins over `after`.
    let mut resumed = SseClient::get(
        served.addr,
        "/v1/events/stream?after=0",
        &[("authorization", &bearer), ("last-event-id", "2")],
    )
    .await;
    assert_eq!(resumed.status(), 200);
    let (id, kind, _) = resumed.next_event().await;
    assert_eq!((id, kind.as_str()), (3, "claimed"));

    drop(client);
    drop(resumed);
    served.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_refuses_bad_callers_with_json() {
    let app = spawn_app().await;
    let served = app.serve().await;
    let reviewer = format!("Bearer {REVIEWER}");
    for (headers, status, code) in [
        (vec![], 401, "unauthorized"),
        (vec![("authorization", "Bearer nope")], 401, "unauthorized"),
        (vec![("authorization", reviewer.as_str())], 403, "forbidden"),
    ] {
        let mut headers = headers;
        headers.push(("connection", "close"));
        let mut client = SseClient::get(served.addr, "/v1/events/stream", &headers).await;
        assert_eq!(client.status(), status, "{}", client.head);
        // Read the body to the end (the server closes the connection).
        let length: usize = client
            .header("content-length")
            .and_then(|l| l.parse().ok())
            .expect("a sized error body");
        while client.raw.len() < length {
            client.read_more().await;
        }
        let body: Value = serde_json::from_slice(&client.raw[..length]).unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    served.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_streams_lets_the_server_drain_with_clients_connected() {
    let app = spawn_app().await;
    app.create_sample("high", "fraud").await;
    let served = app.serve().await;
    let bearer = format!("Bearer {LEAD}");
    let mut client = SseClient::get(
        served.addr,
        "/v1/events/stream?after=0",
        &[("authorization", &bearer)],
    )
    .await;
    let (id, _, _) = client.next_event().await;
    assert_eq!(id, 1);
    // The client stays connected: shutdown must still finish (within the
    // helper's 10 s bound) once streams are told to stop.
    app.state.stop_streams();
    served.shutdown().await;
    drop(client);
}
