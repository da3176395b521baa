//! `baton replay` (offline through policies, and live against a real
//! server) and `baton serve --demo`, on the shipped BPIC 2013 incident log.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{BATON, baton, create_token};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn path(rel: &str) -> String {
    root().join(rel).to_str().unwrap().to_owned()
}

const LOG: &str = "data/bpic2013_incidents.xes.gz";
const MAPPING: &str = "examples/mappings/bpic2013-incidents.toml";
const POLICY: &str = "examples/policies/it-incidents.toml";

#[tokio::test]
async fn simulate_runs_the_whole_log_through_two_policies() {
    let dir = tempfile::tempdir().unwrap();
    let out = baton(&dir.path().join("unused.db"))
        .args([
            "replay",
            &path(LOG),
            "--mapping",
            &path(MAPPING),
            "--simulate",
        ])
        .args([
            "--policy",
            &path(POLICY),
            "--compare",
            &path("examples/policies/it-incidents-24x7.toml"),
            "--json",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cases"], 7554);
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let it = &runs[0]["simulation"];
    let items: Vec<(&str, u64)> = ["medium", "low", "high", "major"]
        .iter()
        .map(|k| (*k, it["by_impact"][k]["items"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        items,
        [("medium", 4045), ("low", 3245), ("high", 261), ("major", 3)]
    );
    let routed: u64 = it["by_group"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(routed, 7554);
    assert_eq!(
        it["by_group"]["crisis-manager"], 3,
        "major incidents go to the crisis manager"
    );
    assert!(it["by_group"]["experts"].as_u64().unwrap() > 0);
    let total = &runs[0]["total"];
    assert!(total["resolve_breaches"].as_u64().unwrap() > 0);
    assert!(
        total["resolve_reminders"].as_u64().unwrap() >= total["resolve_breaches"].as_u64().unwrap()
    );
    // The 24×7 variant routes line 2 to experts and keeps other clocks.
    let p2 = &runs[1]["simulation"];
    assert!(
        p2["by_group"].get("specialists").is_none(),
        "{}",
        p2["by_group"]
    );
    assert_eq!(
        p2["by_group"]["experts"].as_u64().unwrap(),
        it["by_group"]["experts"].as_u64().unwrap()
            + it["by_group"]["specialists"].as_u64().unwrap()
    );
    assert_ne!(runs[1]["total"], runs[0]["total"]);
    assert_eq!(runs[1]["total"]["without_sla"], 0);
    // The major-incident chain: every major incident reaches the resolve
    // reminder level (4); only those unclaimed near 15 min reach level 1.
    assert_eq!(it["escalated_items"]["4"], 3, "{}", it["escalated_items"]);
    let level1 = it["escalated_items"]["1"].as_u64().unwrap_or(0);
    assert!(level1 <= 3, "{}", it["escalated_items"]);
    assert!(it["escalation_firings"].as_u64().unwrap() >= 3 + level1);
    assert_eq!(
        p2["escalated_items"],
        serde_json::json!({}),
        "the 24x7 variant has no chain"
    );

    let err = baton(&dir.path().join("unused.db"))
        .args([
            "replay",
            &path(LOG),
            "--mapping",
            &path(MAPPING),
            "--simulate",
        ])
        .output()
        .await
        .unwrap();
    assert!(!err.status.success());
    assert!(String::from_utf8_lossy(&err.stderr).contains("--simulate needs --policy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_replay_drives_a_real_server_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let token = create_token(&db, "replay", "admin").await;
    let mut server = baton(&db)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--policy",
            &path(POLICY),
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = listening(&mut server, None).await.0;
    // Six busy hours of 2012-05-03 at 36,000× (0.6 s).
    let out = baton(&db)
        .args([
            "replay",
            &path(LOG),
            "--mapping",
            &path(MAPPING),
            "--target",
            &url,
            "--token",
            &token,
        ])
        .args([
            "--speed",
            "36000",
            "--from",
            "2012-05-03T06:00:00Z",
            "--until",
            "2012-05-03T12:00:00Z",
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(", 0 errors"), "{stdout}");
    let cases: u64 = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(cases > 100, "{stdout}");

    let client = reqwest::Client::new();
    let summary: Value = client
        .get(format!("{url}/v1/reports/summary?by=owner_group"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        summary["total"]["volume"].as_u64(),
        Some(cases),
        "{summary}"
    );
    let groups: Vec<&str> = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert!(
        groups
            .iter()
            .all(|g| ["service-desk", "specialists", "experts", "crisis-manager"].contains(g)),
        "{groups:?}"
    );
    assert!(
        summary["total"]["resolved"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert!(
        summary["total"]["reassignments"].as_u64().unwrap() > 0,
        "{summary}"
    );
}

/// Reads the server's stdout up to its listening line, then on up to a line
/// starting with `last` if given: the URL, any token printed, and every line.
async fn listening(
    server: &mut tokio::process::Child,
    last: Option<&str>,
) -> (String, Option<String>, Vec<String>) {
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut url = None;
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("Baton listening on ") {
                url = Some(rest.split_whitespace().next().unwrap().to_owned());
            }
            let done = url.is_some() && last.is_none_or(|l| line.starts_with(l));
            seen.push(line);
            if done {
                return;
            }
        }
        panic!("baton serve exited: {seen:?}");
    })
    .await
    .expect("baton serve did not start");
    let token = seen.iter().find_map(|l| {
        l.trim()
            .strip_prefix("baton_")
            .map(|t| format!("baton_{t}"))
    });
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (url.unwrap(), token, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_with_the_incident_log_and_says_where_to_look() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let mut server = tokio::process::Command::new(BATON)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database",
            db.to_str().unwrap(),
        ])
        .env_remove("BATON_CONFIG")
        .env_remove("BATON_POLICY")
        .env("BATON_LOG", "warn")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (url, token, lines) = listening(&mut server, Some("Lost the token?")).await;
    let text = lines.join("\n");
    assert!(text.contains("7554 incidents (7554 imported now"), "{text}");
    assert!(text.contains("/v1/reports/weekly"), "{text}");
    assert!(text.contains("it-incidents"), "{text}");
    let token = token.unwrap_or_else(|| panic!("no token in {text}"));
    let client = reqwest::Client::new();
    let get = |p: &str| client.get(format!("{url}{p}")).bearer_auth(&token).send();
    let summary: Value = get("/v1/reports/summary?by=impact")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["total"]["volume"], 7554);
    assert_eq!(summary["total"]["ping_pong"], 1177);
    let policy: Value = get("/v1/policy").await.unwrap().json().await.unwrap();
    assert!(policy.to_string().contains("crisis-manager"), "{policy}");
    let oldest: Value = get("/v1/views/oldest").await.unwrap().json().await.unwrap();
    assert_eq!(oldest["items"].as_array().unwrap().len(), 8);
}
