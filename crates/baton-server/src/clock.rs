//! Clocks: the system clock for production, a fake one that tests move by hand.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

/// Where the server reads `now`. Times are truncated to microseconds, the
/// precision every store keeps, so what is returned is what is stored.
pub trait Clock: Send + Sync + 'static {
    /// The current time, to the microsecond.
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate(Timestamp::now())
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug, Clone)]
pub struct FakeClock(Arc<Mutex<Timestamp>>);

impl FakeClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Arc::new(Mutex::new(truncate(at))))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now = truncate(now.saturating_add(by).unwrap_or(*now));
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn truncate(at: Timestamp) -> Timestamp {
    baton_core::event::from_micros(baton_core::event::micros(at))
}
