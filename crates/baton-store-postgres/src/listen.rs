//! `LISTEN` on the policy channel: every version any instance activates,
//! forwarded to a channel until its receiver is dropped.

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;

/// Listens on [`baton_store::POLICY_CHANNEL`] on a connection of its own and
/// forwards each announced version. The listener reconnects by itself after
/// a lost connection (announcements made meanwhile are lost: callers poll
/// too); it stops when the receiver is dropped.
///
/// # Errors
/// The database's, when the first connection or `LISTEN` fails.
pub(crate) async fn policy_notifications(
    pool: &PgPool,
) -> Result<mpsc::Receiver<String>, sqlx::Error> {
    // A pool of one connection of its own: a PgListener keeps its
    // connection for good, which would shrink the shared pool by one.
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(baton_store::POLICY_CHANNEL).await?;
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tx.closed() => break,
                note = listener.recv() => match note {
                    Ok(note) => {
                        if tx.send(note.payload().to_owned()).await.is_err() {
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "policy listener lost its connection; retrying");
                        tokio::select! {
                            () = tx.closed() => break,
                            () = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                    }
                },
            }
        }
    });
    Ok(rx)
}
