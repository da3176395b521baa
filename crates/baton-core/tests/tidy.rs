//! Architecture invariants, checked over `cargo metadata` and the sources:
//! the core does no IO, and only the store crates contain SQL.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn metadata() -> Value {
    // Offline first; platform-only packages (Windows, loom) may not be
    // downloaded on a fresh machine, and then cargo may fetch them.
    let run = |offline: bool| {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["metadata", "--format-version", "1"]);
        if offline {
            cmd.arg("--offline");
        }
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run cargo metadata")
    };
    let out = match run(true) {
        out if out.status.success() => out,
        _ => run(false),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("metadata json")
}

/// Names of every package `root` pulls in through normal (non-dev, non-build) dependencies.
fn normal_closure(meta: &Value, root: &str) -> HashSet<String> {
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let start = names
        .iter()
        .find(|(_, n)| **n == root)
        .map(|(id, _)| *id)
        .unwrap();
    let mut seen = HashSet::new();
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                todo.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    seen.into_iter().map(|id| names[id].to_owned()).collect()
}

#[test]
fn core_pulls_in_no_io_crate() {
    let closure = normal_closure(&metadata(), "baton-core");
    for banned in [
        "tokio",
        "sqlx",
        "axum",
        "reqwest",
        "hyper",
        "mio",
        "baton-store",
    ] {
        assert!(!closure.contains(banned), "baton-core depends on {banned}");
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn only_store_crates_contain_sql() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for name in ["baton-core", "baton-server", "baton-cli"] {
        let mut files = Vec::new();
        rust_files(&crates.join(name).join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for sql in [
                "SELECT ",
                "INSERT INTO",
                "UPDATE handoffs",
                "DELETE FROM",
                "CREATE TABLE",
            ] {
                assert!(
                    !text.contains(sql),
                    "{} contains SQL ({sql})",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn core_never_reads_the_clock_or_environment() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in [
            "Timestamp::now()",
            "SystemTime::now",
            "Instant::now",
            "std::env::",
            "Uuid::now_v7()",
        ] {
            let offending = text
                .lines()
                .any(|l| l.contains(banned) && !l.trim_start().starts_with("//"));
            assert!(!offending, "{} uses {banned}", file.display());
        }
    }
}
