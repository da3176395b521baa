//! `baton bench timers`, small: the real scheduler fires every due timer
//! exactly once, and the bench's database is gone afterwards.

mod common;

use common::baton;

#[tokio::test]
async fn bench_timers_fires_every_due_timer_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let out = baton(&dir.path().join("unused.db"))
        .args(["bench", "timers", "--pending", "2000", "--due", "100"])
        .arg("--database")
        .arg(&db)
        .output()
        .await
        .expect("run baton");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |label: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in:\n{stdout}"))
            .to_owned()
    };
    assert_eq!(
        line("fired:"),
        "fired:         100 of 100 (0 duplicates, 0 other events); each exactly once"
    );
    assert!(line("set-up:").contains("2000 timers armed"), "{stdout}");
    assert_eq!(line("timers left:"), "timers left:   1900");
    assert!(line("lateness:").contains("p99 "), "{stdout}");
    assert!(line("memory:").contains("MB"), "{stdout}");
    assert!(!db.exists(), "the bench database is removed");
}
