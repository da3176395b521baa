//! Tamper cases: raw SQL under the store changes the log's end, and
//! [`verify_audit`] reports it. Run by each backend's `tests/conformance.rs`
//! with a function that executes SQL on its database.

use std::sync::Arc;

use baton_core::ChainVerdict;

use super::fixtures::new_handoff;
use crate::{Store, verify_audit};

/// Deleting the newest events, moving the stored head back, or changing
/// its hash are each reported at the right position.
pub async fn tampering_with_the_end_of_the_log_is_detected(
    store: Arc<dyn Store>,
    sql: impl AsyncFn(&str),
) {
    for i in 0..6 {
        store
            .create_handoff(new_handoff("triage", "low", "missing_data", i))
            .await
            .unwrap();
    }
    let verdict = async || verify_audit(store.as_ref()).await.unwrap();
    assert_eq!(verdict().await, ChainVerdict::Intact { events: 6 });
    assert_eq!(store.chain_head().await.unwrap().position, 6);

    sql("DELETE FROM events WHERE position = 6").await;
    assert_broken(verdict().await, 6, "stored chain head is at position 6");
    sql("DELETE FROM events WHERE position >= 4").await;
    assert_broken(verdict().await, 4, "the newest 3 events are missing");

    // Move the head back onto the last remaining event: intact again...
    sql("UPDATE chain_head SET position = 3, hash = (SELECT hash FROM events WHERE position = 3)")
        .await;
    assert_eq!(verdict().await, ChainVerdict::Intact { events: 3 });
    // ...but one further back, the log goes on past it.
    sql("UPDATE chain_head SET position = 2, hash = (SELECT hash FROM events WHERE position = 2)")
        .await;
    assert_broken(
        verdict().await,
        3,
        "past the stored chain head at position 2",
    );
    sql("UPDATE chain_head SET position = 3, hash = 'ab'").await;
    assert_broken(verdict().await, 3, "differs from the stored chain head");
}

fn assert_broken(verdict: ChainVerdict, at: i64, says: &str) {
    match verdict {
        ChainVerdict::Broken { position, problem } => {
            assert_eq!(position, at, "{problem}");
            assert!(problem.contains(says), "{problem}");
        }
        other => panic!("tampering not found: {other:?}"),
    }
}
