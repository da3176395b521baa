//! One batch in one transaction: the fast path, and the isolated retry in
//! which each command runs inside its own savepoint.

use super::commands::{self, Command, Failure, Outcome};
use super::tx::WriteTx;
use crate::StoreError;

/// Each command's answer, in order.
pub(super) type Outcomes = Vec<Result<Outcome, StoreError>>;

/// Why a batch committed nothing. Either way the transaction was rolled
/// back and the connection freed before this is returned.
pub(super) enum BatchFault {
    /// A database call failed on the way: retrying in isolation may commit
    /// everyone but the command at fault.
    Retry(StoreError),
    /// `commit` failed: after a failed `COMMIT` nobody can know whether it
    /// took effect, so replaying the batch could apply an action twice.
    Outage(StoreError),
}

/// The fast path: every command in one transaction, inserts buffered into
/// multi-row statements. A refusal answers only its own command; any
/// database error rolls everything back.
pub(super) async fn fast(
    tx: &mut impl WriteTx,
    commands: &[&Command],
) -> Result<(Outcomes, i64), BatchFault> {
    let mut head = match tx.begin().await {
        Ok(head) => head,
        Err(err) => return Err(abandon(tx, BatchFault::Retry(err)).await),
    };
    let mut outcomes = Vec::with_capacity(commands.len());
    for command in commands {
        match commands::run(tx, &mut head, command).await {
            Ok(outcome) => outcomes.push(Ok(outcome)),
            Err(Failure::Refused(err)) => outcomes.push(Err(err)),
            Err(Failure::Fault(err)) => return Err(abandon(tx, BatchFault::Retry(err)).await),
        }
    }
    if let Err(err) = tx.flush().await {
        return Err(abandon(tx, BatchFault::Retry(err)).await);
    }
    if let Err(err) = tx.commit(&head).await {
        return Err(abandon(tx, BatchFault::Outage(err)).await);
    }
    Ok((outcomes, head.position))
}

/// The retry after a fault: one transaction, each command inside its own
/// savepoint with its rows flushed before the savepoint is released. A
/// command whose database call fails is rolled back to its savepoint (rows
/// and chain head) and answered with that error; the others commit. Only a
/// failure of the transaction itself (begin, savepoint, rollback to it,
/// release, commit) is returned, as an outage, after a full rollback.
///
/// The `bool` is true when every command faulted (none committed or was
/// refused): the database refuses all writes (read-only after a failover, a
/// full disk, a statement timeout), so the writer backs off as in an outage
/// even though it answers each request with its own error.
pub(super) async fn isolated(
    tx: &mut impl WriteTx,
    commands: &[&Command],
) -> Result<(Outcomes, i64, bool), StoreError> {
    let mut head = match tx.begin().await {
        Ok(head) => head,
        Err(err) => return Err(abandon(tx, err).await),
    };
    let mut outcomes = Vec::with_capacity(commands.len());
    let mut faults = 0;
    for command in commands {
        if let Err(err) = tx.savepoint().await {
            return Err(abandon(tx, err).await);
        }
        let before = head.clone();
        let fault = match commands::run(tx, &mut head, command).await {
            Ok(outcome) => match tx.release_savepoint().await {
                Ok(()) => {
                    outcomes.push(Ok(outcome));
                    continue;
                }
                // The flush inside the release failed: the command's fault.
                Err(err) => err,
            },
            Err(Failure::Refused(err)) => {
                outcomes.push(Err(err));
                if let Err(err) = tx.release_savepoint().await {
                    return Err(abandon(tx, err).await);
                }
                continue;
            }
            Err(Failure::Fault(err)) => err,
        };
        head = before;
        if let Err(err) = tx.rollback_to_savepoint().await {
            return Err(abandon(tx, err).await);
        }
        outcomes.push(Err(fault));
        faults += 1;
    }
    if let Err(err) = tx.commit(&head).await {
        return Err(abandon(tx, err).await);
    }
    Ok((outcomes, head.position, faults == commands.len()))
}

/// Rolls the transaction back (freeing the connection), then answers `why`.
async fn abandon<E>(tx: &mut impl WriteTx, why: E) -> E {
    tx.rollback().await;
    why
}
