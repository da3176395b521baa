//! `baton audit verify` on a tampered SQLite file: deleting the newest
//! events, which leaves an intact but shorter chain, is reported.

mod common;

use baton_store::Store;
use baton_store::conformance::new_handoff;
use baton_store_sqlite::SqliteStore;
use common::baton;

#[tokio::test]
async fn audit_verify_reports_deleted_newest_events() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("baton.db");
    let store = SqliteStore::open(db.to_str().unwrap()).await.unwrap();
    for i in 0..4 {
        store
            .create_handoff(new_handoff("triage", "low", "missing_data", i))
            .await
            .unwrap();
    }
    let verify = async || {
        let out = baton(&db).args(["audit", "verify"]).output().await.unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) = verify().await;
    assert!(ok && out.starts_with("ok: 4 events"), "{out}");

    sqlx::query("DELETE FROM events WHERE position >= 3")
        .execute(store.pool())
        .await
        .unwrap();
    let (ok, out) = verify().await;
    assert!(!ok, "{out}");
    assert!(
        out.starts_with(
            "broken: event 3: the log ends at position 2 but the stored chain head is at position 4"
        ),
        "{out}"
    );
}
