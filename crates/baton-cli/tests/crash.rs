//! Durability under a crash: `baton serve` is killed with SIGKILL during a
//! burst of creates; after a restart every acknowledged handoff is there and
//! `baton audit verify` passes.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Mutex, Notify};

use common::{baton, serve};

/// Acknowledged creates to wait for before the kill.
const KILL_AFTER: usize = 300;
const CLIENTS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_creates_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let token = baton(&db)
        .args([
            "token", "create", "--name", "bot", "--role", "agent", "--quiet",
        ])
        .output()
        .await
        .expect("token create");
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();

    let (mut child, url) = serve(&db).await;
    let http = reqwest::Client::new();
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let enough = Arc::new(Notify::new());
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            let (acked, count, enough) = (acked.clone(), count.clone(), enough.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let body = json!({
                        "workflow": "default", "title": "burst", "impact": "high",
                        "reason": "low_confidence", "subject": {"source": "test", "ref": format!("{c}-{i}")},
                    });
                    let sent = http.post(format!("{url}/v1/handoffs")).bearer_auth(&token).json(&body).send().await;
                    let Ok(response) = sent else { return i };
                    if !response.status().is_success() {
                        return i;
                    }
                    let Ok(v) = response.json::<serde_json::Value>().await else { return i };
                    acked.lock().await.push(v["id"].as_str().expect("id").to_owned());
                    if count.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                        enough.notify_one();
                    }
                }
                unreachable!()
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(60), enough.notified())
        .await
        .expect("the burst reached its size");
    child.start_kill().expect("SIGKILL");
    child.wait().await.unwrap();
    let mut attempts = 0;
    for client in clients {
        attempts += client.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= KILL_AFTER);
    assert!(attempts >= acked.len());

    let (mut child, url) = serve(&db).await;
    for id in &acked {
        let response = http
            .get(format!("{url}/v1/handoffs/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "acknowledged handoff {id} was lost");
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    let verify = baton(&db).args(["audit", "verify"]).output().await.unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "audit verify failed: {out}");
    assert!(out.starts_with("ok: "), "{out}");
}
