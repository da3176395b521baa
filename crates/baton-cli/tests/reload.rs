//! `baton serve --policy FILE`: refuses to start on a broken policy, and
//! reloads on SIGHUP only when the file checks clean.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{BATON, baton};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStderr, Command};

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../examples/policies/{name}.toml"));
    std::fs::read_to_string(path).unwrap()
}

async fn wait_for(lines: &mut Lines<BufReader<ChildStderr>>, needle: &str) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains(needle) {
                return;
            }
        }
        panic!("the server exited before logging {needle:?}");
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} within 30 s"));
}

async fn version(http: &reqwest::Client, url: &str, token: &str) -> String {
    let v: serde_json::Value = http
        .get(format!("{url}/v1/policy"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["version"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_broken_policy_stops_start_up_with_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[[route]]\nid = \"r\"\ngroup = \"ghost\"\n").unwrap();
    let out = baton(&dir.path().join("b.db"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--policy",
            policy.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("policy.toml:1: route \"r\": group \"ghost\""),
        "{err}"
    );
    assert!(err.contains("does not check clean"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_a_clean_policy_and_keeps_the_active_one_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, example("support-chat")).unwrap();
    let token = baton(&db)
        .args([
            "token", "create", "--name", "lead", "--role", "lead", "--quiet",
        ])
        .output()
        .await
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let mut child = Command::new(BATON)
        .env("BATON_DATABASE", &db)
        .env("BATON_LOG", "info")
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--policy",
            policy.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = out.next_line().await.unwrap().expect("server output");
        if let Some(rest) = line.strip_prefix("Baton listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    let http = reqwest::Client::new();
    let first = version(&http, &url, &token).await;
    let pid = child.id().unwrap().to_string();
    let hangup = || Command::new("kill").args(["-HUP", &pid]).status();

    std::fs::write(&policy, example("invoice-exceptions")).unwrap();
    assert!(hangup().await.unwrap().success());
    wait_for(&mut err, "policy reloaded on SIGHUP").await;
    let second = version(&http, &url, &token).await;
    assert_ne!(first, second);

    std::fs::write(&policy, "this is not toml [").unwrap();
    assert!(hangup().await.unwrap().success());
    wait_for(&mut err, "keeping the active one").await;
    assert_eq!(version(&http, &url, &token).await, second);

    let kept: serde_json::Value = http
        .get(format!("{url}/v1/policy"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kept["versions"].as_array().unwrap().len(), 2);
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    // A restart without --policy serves the version active in the database.
    let (mut child, url) = common::serve(&db).await;
    assert_eq!(version(&http, &url, &token).await, second);
    assert_eq!(
        activations(&http, &url, &token).await,
        2,
        "start-up and SIGHUP"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    // Starting with the file that is already active activates nothing new.
    std::fs::write(&policy, example("invoice-exceptions")).unwrap();
    let mut child = baton(&db)
        .args(["serve", "--listen", "127.0.0.1:0", "--policy"])
        .arg(&policy)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = out.next_line().await.unwrap().expect("server output");
        if let Some(rest) = line.strip_prefix("Baton listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert_eq!(version(&http, &url, &token).await, second);
    assert_eq!(
        activations(&http, &url, &token).await,
        2,
        "an unchanged file adds no event"
    );
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

/// How many `policy_activated` events the log holds.
async fn activations(http: &reqwest::Client, url: &str, token: &str) -> usize {
    let feed: serde_json::Value = http
        .get(format!("{url}/v1/events?limit=1000"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "policy_activated")
        .count()
}
