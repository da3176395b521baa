//! `baton import` and `baton report` on the shipped BPIC 2013 logs: the
//! store holds exactly the log's cases, the report reproduces the facts
//! anyone can compute from the log (shared/data/README.md), the chain
//! verifies, and a second import writes nothing.

mod common;

use std::path::{Path, PathBuf};

use common::baton;
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn run_json(db: &Path, args: &[&str]) -> Value {
    let out = baton(db).args(args).output().await.unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

async fn import(db: &Path, log: &str, mapping: &str) -> Value {
    let (log, mapping) = (root().join(log), root().join(mapping));
    let policy = root().join("examples/policies/it-incidents.toml");
    run_json(
        db,
        &[
            "import",
            log.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--json",
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_incident_log_imports_whole_and_the_report_gives_its_facts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let log = "data/bpic2013_incidents.xes.gz";
    let mapping = "examples/mappings/bpic2013-incidents.toml";
    let first = import(&db, log, mapping).await;
    assert_eq!(first["cases"], 7554);
    assert_eq!(first["source_events"], 65533);
    assert_eq!(first["imported"], 7554);
    assert_eq!(first["anomalies"], json!({}));
    let events_written = first["events_written"].as_u64().unwrap();
    assert!(events_written >= 65533 - 7554, "{events_written}");

    let summary = run_json(&db, &["report", "summary", "--by", "impact", "--json"]).await;
    let total = &summary["total"];
    assert_eq!(total["volume"], 7554);
    assert_eq!(total["multi_team"], 3820);
    assert_eq!(total["ping_pong"], 1177);
    assert_eq!(total["line_moves"], 2236);
    assert_eq!(total["open"], 8);
    let by_impact: Value = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["volume"].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into();
    assert_eq!(
        by_impact,
        json!({"medium": 4045, "low": 3245, "high": 261, "major": 3})
    );
    // Imported items carry the policy's deadlines, so attainment is measured.
    assert!(
        total["sla_accept"]["due"].as_u64().unwrap() > 7000,
        "{}",
        total["sla_accept"]
    );
    assert!(
        total["time_to_resolve"]["working"]["p50_s"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    let by_line = run_json(&db, &["report", "summary", "--by", "line", "--json"]).await;
    let lines: Vec<&str> = by_line["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert!(
        lines.contains(&"line 1") && lines.contains(&"line 2") && lines.contains(&"line 3"),
        "{lines:?}"
    );

    let out = baton(&db).args(["audit", "verify"]).output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{events_written} events")));

    // Again: nothing changes.
    let again = import(&db, log, mapping).await;
    assert_eq!(again["imported"], 0);
    assert_eq!(again["already_imported"], 7554);
    assert_eq!(again["events_written"], 0);
    let summary = run_json(&db, &["report", "summary", "--json"]).await;
    assert_eq!(summary["total"]["volume"], 7554);

    // The weekly report at the log's end lists the open items, oldest first.
    let weekly = run_json(&db, &["report", "weekly", "--to", "2012-06-01", "--json"]).await;
    assert_eq!(weekly["open"], 8);
    let ages: Vec<i64> = weekly["oldest_open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["age_s"].as_i64().unwrap())
        .collect();
    assert!(ages.windows(2).all(|w| w[0] >= w[1]), "{ages:?}");
    let table = baton(&db)
        .args(["report", "summary", "--by", "owner_group"])
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("MTTA"));
    let csv = baton(&db)
        .args(["report", "summary", "--csv"])
        .output()
        .await
        .unwrap();
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    assert!(csv.starts_with("key,volume,open,resolved,"), "{csv}");
    assert!(
        csv.lines().nth(1).unwrap().starts_with("all,7554,8,"),
        "{csv}"
    );
}

#[tokio::test]
async fn the_closed_problems_log_imports_with_its_own_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let summary = import(
        &db,
        "data/bpic2013_closed_problems.xes.gz",
        "examples/mappings/bpic2013-closed-problems.toml",
    )
    .await;
    assert_eq!(summary["cases"], 1487);
    assert_eq!(summary["source_events"], 6660);
    assert_eq!(summary["imported"], 1487);
    let report = run_json(&db, &["report", "summary", "--by", "workflow", "--json"]).await;
    assert_eq!(report["total"]["open"], 0);
    assert_eq!(report["rows"][0]["key"], "problem");
}

const CSV_MAPPING: &str = r#"
case_id = "ticket"
timestamp = "when"
timestamp_format = "%Y-%m-%d %H:%M"
time_zone = "Europe/Stockholm"
status = "status"
owner_group = "team"
[handoff]
source = "csv-test"
[[status_rule]]
status = "new"
step = "pending"
[[status_rule]]
status = "done"
step = "resolved"
"#;

#[tokio::test]
async fn csv_logs_report_anomalies_by_case_and_line_and_strict_stops() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let mapping = dir.path().join("m.toml");
    std::fs::write(&mapping, CSV_MAPPING).unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(
        &log,
        "ticket,when,status,team\n\
         T1,2024-01-02 09:00,new,Desk\n\
         T1,2024-01-02 09:30,frobbed,Desk\n\
         T1,2024-01-02 10:00,done,Desk\n\
         T2,2024-01-03 09:00,new,Desk\n\
         T2,not a time,done,Desk\n\
         T2,2024-01-03 08:00,done,Desk\n",
    )
    .unwrap();
    let anomalies = dir.path().join("anomalies.jsonl");
    let (log_s, mapping_s, anomalies_s) = (
        log.to_str().unwrap(),
        mapping.to_str().unwrap(),
        anomalies.to_str().unwrap(),
    );
    let summary = run_json(
        &db,
        &[
            "import",
            log_s,
            "--mapping",
            mapping_s,
            "--anomalies",
            anomalies_s,
            "--json",
        ],
    )
    .await;
    assert_eq!(summary["imported"], 2);
    assert_eq!(
        summary["anomalies"],
        json!({"unknown_status": 1, "bad_timestamp": 1, "out_of_order": 1})
    );
    let found: Vec<(String, u64, String)> = std::fs::read_to_string(&anomalies)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|a| {
            (
                a["case"].as_str().unwrap().to_owned(),
                a["line"].as_u64().unwrap(),
                a["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("T1".into(), 3, "unknown_status".into()),
            ("T2".into(), 6, "bad_timestamp".into()),
            ("T2".into(), 7, "out_of_order".into())
        ]
    );
    let report = run_json(&db, &["report", "summary", "--json"]).await;
    assert_eq!(report["total"]["resolved"], 2);

    let strict_db = dir.path().join("strict.db");
    let out = baton(&strict_db)
        .args(["import", log_s, "--mapping", mapping_s, "--strict"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("case T1 line 3: unknown_status"), "{err}");
}
