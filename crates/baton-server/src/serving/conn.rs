//! Open connections: what each one is doing, the cap on how many are open,
//! and which one is evicted to make room for a newcomer.
//!
//! A connection is *busy* while a request is in flight (from the moment its
//! head is parsed until its response body is finished or dropped), and
//! *evictable* otherwise: still reading its first request head (or its TLS
//! handshake), or idle between keep-alive requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};

/// What a connection is doing, as the accept loop and its own task see it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Activity {
    /// Requests whose response body is not finished yet.
    pub in_flight: usize,
    /// Requests whose head was read on this connection so far.
    pub requests: u64,
}

struct Entry {
    activity: watch::Receiver<Activity>,
    close: Arc<Notify>,
}

/// Every open connection, oldest first, under one cap.
pub(crate) struct Registry {
    cap: usize,
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Entry>>,
}

/// Why a newcomer was not admitted.
#[derive(Debug)]
pub(crate) struct Full;

impl Registry {
    /// A registry admitting at most `cap` connections (at least one).
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            next: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
        })
    }

    /// Admits a new connection. At the cap, the oldest evictable connection
    /// is told to close and leaves the registry at once; when every open
    /// connection is busy the newcomer is refused.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<Slot, Full> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= self.cap {
            let victim = open
                .iter()
                .find(|(_, e)| e.activity.borrow().in_flight == 0)
                .map(|(id, _)| *id)
                .ok_or(Full)?;
            if let Some(entry) = open.remove(&victim) {
                entry.close.notify_one();
                tracing::debug!(
                    connection = victim,
                    "connection cap reached; evicted the oldest idle connection"
                );
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(watch::Sender::new(Activity::default()));
        let close = Arc::new(Notify::new());
        open.insert(
            id,
            Entry {
                activity: activity.subscribe(),
                close: close.clone(),
            },
        );
        Ok(Slot {
            id,
            registry: self.clone(),
            activity,
            close,
        })
    }

    /// Connections open now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A connection's place in the registry; leaving it frees the place.
pub(crate) struct Slot {
    id: u64,
    registry: Arc<Registry>,
    /// The connection's activity, updated by its requests.
    pub activity: Arc<watch::Sender<Activity>>,
    /// Notified when the connection is evicted.
    pub close: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&self.id);
    }
}

/// Marks one request in flight until dropped (with the response body).
pub(crate) struct InFlight(Arc<watch::Sender<Activity>>);

impl InFlight {
    /// Counts a request whose head was just read.
    pub(crate) fn start(activity: &Arc<watch::Sender<Activity>>) -> Self {
        activity.send_modify(|a| {
            a.in_flight += 1;
            a.requests += 1;
        });
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .send_modify(|a| a.in_flight = a.in_flight.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let registry = Registry::new(2);
        let first = registry.admit().unwrap();
        let second = registry.admit().unwrap();
        let _busy = InFlight::start(&first.activity);
        // The first is busy, so the second (idle) is evicted for the third.
        let third = registry.admit().unwrap();
        assert_eq!(registry.len(), 2);
        let evicted = second.close.clone();
        assert!(
            futures::FutureExt::now_or_never(evicted.notified()).is_some(),
            "the idle connection was told to close"
        );
        // Both left are busy now: a fourth is refused.
        let _busy_too = InFlight::start(&third.activity);
        assert!(registry.admit().is_err());
        drop(second);
        assert_eq!(registry.len(), 2, "an evicted slot frees no second place");
        drop(_busy);
        assert!(registry.admit().is_ok(), "an idle one is evicted again");
    }
}
