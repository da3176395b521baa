//! Durability under a crash: `baton serve` is killed with SIGKILL during a
//! burst of creates; after a restart every acknowledged handoff is there and
//! `baton audit verify` passes.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, Notify};

const BATON: &str = env!("CARGO_BIN_EXE_baton");
/// Acknowledged creates to wait for before the kill.
const KILL_AFTER: usize = 300;
const CLIENTS: usize = 16;

fn baton(db: &Path) -> Command {
    let mut cmd = Command::new(BATON);
    cmd.env("BATON_DATABASE", db)
        .env_remove("BATON_CONFIG")
        .env("BATON_LOG", "warn");
    cmd
}

/// Starts `baton serve` on a free port and returns it with its base URL.
async fn serve(db: &Path) -> (Child, String) {
    let mut child = baton(db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn baton serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix("Baton listening on ") {
                return rest.split_whitespace().next().expect("url").to_owned();
            }
        }
        panic!("baton serve exited before listening");
    })
    .await
    .expect("baton serve did not start within 30 s");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

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
                        "workflow": "crash-test", "title": "burst", "impact": "high",
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
