//! The conformance suite: behaviour every backend must show, run by each
//! backend's tests through [`conformance_suite!`](crate::conformance_suite).
//!
//! Each case takes a fresh, empty, migrated store and panics on a failure.

mod activation;
mod assignment;
mod faults;
mod fixtures;
mod import;
mod lifecycle;
mod listing;
mod policy;
mod races;
mod tamper;
mod timers;
mod writer_faults;

pub use activation::*;
pub use assignment::*;
pub use faults::{Faults, FaultyTx, Step};
pub use fixtures::{at, new_handoff, policy as default_policy, sample_new};
pub use import::*;
pub use lifecycle::*;
pub use listing::*;
pub use policy::*;
pub use races::*;
pub use tamper::*;
pub use timers::*;
pub use writer_faults::*;

/// Generates one `#[tokio::test]` per conformance case. `$make` is an async
/// expression giving `Option<Arc<dyn Store>>`; `None` skips the case (a
/// backend whose server is not configured).
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@cases $make;
            every_lifecycle_transition_is_recorded,
            illegal_transitions_change_nothing,
            claim_tokens_guard_release_and_resolve,
            reviewer_scope_is_enforced_in_the_write,
            idempotent_create_returns_the_same_item,
            idempotency_key_with_other_body_is_refused,
            concurrent_duplicates_create_one_item,
            racing_claims_have_one_winner,
            concurrent_creates_keep_the_chain_intact,
            pagination_walks_every_item_once,
            filters_narrow_the_list,
            views_count_open_items_and_reasons,
            open_totals_count_open_items_per_group_and_impact,
            event_feed_is_in_log_order,
            tokens_are_stored_by_hash_and_revocable,
            missing_items_are_not_found,
            policy_versions_are_kept_once,
            streaks_round_trip,
            policy_activation_is_kept_and_chained,
            concurrent_streak_steps_run_one_after_another,
            imported_histories_keep_their_times_and_import_once,
            fired_timers_fire_once_as_one_command_per_timer,
            assignments_are_offered_once_and_counted,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(store) = $make.await else {
                    eprintln!("skipped: backend not configured");
                    return;
                };
                $crate::conformance::$case(store).await;
            }
        )*
    };
}
