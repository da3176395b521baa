//! The shipped BPIC 2013 logs read through the shipped mappings give the
//! facts anyone can compute from them (shared/data/README.md).

mod common;

use common::baton;
use serde_json::Value;

async fn stats(log: &str, mapping: &str) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let out = baton(&dir.path().join("unused.db"))
        .args([
            "log",
            "stats",
            root.join(log).to_str().unwrap(),
            "--mapping",
            root.join(mapping).to_str().unwrap(),
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
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn the_incident_log_gives_its_known_facts() {
    let f = stats(
        "data/bpic2013_incidents.xes.gz",
        "examples/mappings/bpic2013-incidents.toml",
    )
    .await;
    assert_eq!(f["cases"], 7554);
    assert_eq!(f["events"], 65533);
    assert_eq!(f["multi_team"], 3820);
    assert_eq!(f["ping_pong"], 1177);
    assert_eq!(f["line_moves"], 2236);
    assert_eq!(f["open"], 8);
    assert_eq!(f["unknown_statuses"], 0);
    assert_eq!(
        f["by_impact"],
        serde_json::json!({"Medium": 4045, "Low": 3245, "High": 261, "Major": 3})
    );
}

#[tokio::test]
async fn the_closed_problems_log_reads_with_its_own_mapping() {
    let f = stats(
        "data/bpic2013_closed_problems.xes.gz",
        "examples/mappings/bpic2013-closed-problems.toml",
    )
    .await;
    assert_eq!(f["cases"], 1487);
    assert_eq!(f["events"], 6660);
    assert_eq!(f["open"], 0);
}
