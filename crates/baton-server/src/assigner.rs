//! The assigner: offers each group's pending, unassigned items to its
//! available reviewers by the group's `assignment` strategy, never over
//! their `capacity` (docs/assignment.md).
//!
//! Reviewers are the live tokens of role `reviewer` whose `groups` include
//! the group and who said they are available (`PUT /v1/me/availability`).
//! Each assignment is one writer transaction ([`Store::assign`]) that
//! re-checks the item, so a claim or another instance's assignment that
//! commits first only makes it a refusal. Items nobody can take stay queued
//! and are assigned on a later run, once a slot frees.

use std::collections::BTreeMap;
use std::sync::Arc;

use baton_core::Role;
use baton_core::assign::{Candidate, pick, strategy_name};
use baton_core::policy::Assignment;
use baton_store::{AssignHandoff, Store, StoreError};
use jiff::Timestamp;

use crate::AppState;
use crate::policy::PolicyHandle;

/// Most items looked at per group and run.
const BATCH: u32 = 500;

/// What one [`Assigner::run_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignReport {
    /// Items offered to a reviewer.
    pub assigned: usize,
    /// Items left queued in groups that assign: every available reviewer
    /// was at capacity, or none was available.
    pub waiting: usize,
}

/// Assigns pending items; see the module docs.
pub struct Assigner {
    store: Arc<dyn Store>,
    policy: Arc<PolicyHandle>,
}

impl Assigner {
    /// An assigner over `state`'s store and policy.
    pub fn new(state: &AppState) -> Self {
        Self {
            store: state.store.clone(),
            policy: state.policy.clone(),
        }
    }

    /// Assigns what can be assigned at `now`. Tests drive it with a fake
    /// clock; the scheduler's loop calls it after firing due timers.
    ///
    /// # Errors
    /// The store's, when it cannot read reviewers, loads or queues.
    pub async fn run_due(&self, now: Timestamp) -> Result<AssignReport, StoreError> {
        let mut report = AssignReport::default();
        let policy = self.policy.current().policy.clone();
        let groups: Vec<(String, Assignment, Option<u32>)> = policy
            .group_names()
            .into_iter()
            .filter_map(|name| {
                let group = policy.group(name)?;
                (group.assignment != Assignment::Claim)
                    .then(|| (name.to_owned(), group.assignment, group.capacity))
            })
            .collect();
        // The queues first: with nothing to assign (the usual tick), the
        // tokens, availability and loads are not read at all.
        let mut queues = Vec::new();
        for (group, strategy, capacity) in groups {
            let queue = self.store.unassigned_pending(&group, BATCH).await?;
            if !queue.is_empty() {
                queues.push((group, strategy, capacity, queue));
            }
        }
        if queues.is_empty() {
            return Ok(report);
        }
        let tokens = self.store.list_tokens().await?;
        let available: BTreeMap<String, Option<Timestamp>> = self
            .store
            .available_reviewers()
            .await?
            .into_iter()
            .collect();
        let mut loads: BTreeMap<String, u64> =
            self.store.reviewer_loads().await?.into_iter().collect();
        let mut turns = available.clone();
        for (group, strategy, capacity, queue) in queues {
            let members: Vec<&str> = tokens
                .iter()
                .filter(|t| {
                    t.role == Role::Reviewer
                        && t.revoked_at.is_none()
                        && t.groups.contains(&group)
                        && available.contains_key(&t.name)
                })
                .map(|t| t.name.as_str())
                .collect();
            let mut left = queue.len();
            for id in queue {
                let candidates: Vec<Candidate> = members
                    .iter()
                    .map(|name| Candidate {
                        name: (*name).to_owned(),
                        load: loads.get(*name).copied().unwrap_or(0),
                        last_assigned_at: turns.get(*name).copied().flatten(),
                    })
                    .collect();
                let Some(name) = pick(strategy, &candidates, capacity).map(str::to_owned) else {
                    break; // everyone is full: the rest waits for a slot
                };
                let result = self
                    .store
                    .assign(AssignHandoff {
                        id,
                        assignee: name.clone(),
                        strategy: strategy_name(strategy).to_owned(),
                        policy: policy.clone(),
                        now,
                    })
                    .await;
                left -= 1;
                match result {
                    Ok(_) => {
                        report.assigned += 1;
                        *loads.entry(name.clone()).or_default() += 1;
                        turns.insert(name, Some(now));
                    }
                    // Claimed or assigned meanwhile: nothing written.
                    Err(StoreError::Domain(_) | StoreError::Conflict | StoreError::NotFound) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, handoff = %id, "cannot assign a handoff");
                    }
                }
            }
            report.waiting += left;
        }
        Ok(report)
    }
}
