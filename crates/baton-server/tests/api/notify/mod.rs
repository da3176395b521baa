//! Notification transports against real receivers in the test process: an
//! HTTP receiver (axum on `127.0.0.1:0`) that records every request and
//! answers from a script, and a small SMTP server that captures messages.

mod destination;
mod email;
mod smtp;
mod webhook;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

/// One scripted answer: a status and its headers.
#[derive(Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn status(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// What the receiver got, and what it answered.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub answered: StatusCode,
}

#[derive(Clone)]
struct Script {
    answers: Arc<Vec<Answer>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

/// An HTTP receiver on `127.0.0.1:0`: the nth request gets the nth answer
/// (the last one once the script runs out). It lives as long as the test's runtime.
pub struct Receiver {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    pub async fn start(answers: Vec<Answer>) -> Self {
        assert!(!answers.is_empty());
        let script = Script {
            answers: Arc::new(answers),
            requests: Arc::default(),
        };
        let requests = script.requests.clone();
        let router = Router::new().fallback(record).with_state(script);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/baton", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url, requests }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

async fn record(State(script): State<Script>, headers: HeaderMap, body: Bytes) -> Response {
    let mut requests = script.requests.lock().unwrap();
    let answer = script
        .answers
        .get(requests.len())
        .or(script.answers.last())
        .unwrap()
        .clone();
    requests.push(Recorded {
        headers,
        body,
        answered: answer.status,
    });
    let mut response = answer.status.into_response();
    for (name, value) in answer.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// A listener on `127.0.0.1:0` that accepts connections and never answers;
/// its URL. The connections stay open as long as the test's runtime.
pub async fn silent_receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/baton", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    url
}

/// A URL on `127.0.0.1` where nothing listens (a port bound, then released).
pub async fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/baton", listener.local_addr().unwrap());
    drop(listener);
    url
}
