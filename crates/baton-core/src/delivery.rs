//! The delivery retry schedule of notifications: when to try a delivery again, and when to stop.
//!
//! The schedule is the one of Svix and Standard Webhooks
//! (<https://docs.svix.com/retries>): attempt 1 at once, then after 5 s,
//! 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: 8 attempts over about 27.5 hours.
//! Every delay but the first gets ±10 % jitter so that deliveries failed by one
//! outage do not come back all at once. The jitter is an argument (a sample in
//! `[0, 1)`, see [`jitter_from_seed`]), like `now`: nothing here reads a clock
//! or a random source.
//!
//! Every failure is retried (Standard Webhooks retries every non-2xx answer)
//! except `410 Gone`, which disables the channel. A receiver's `Retry-After` is
//! honoured when it asks for longer than the schedule would wait, up to
//! [`MAX_RETRY_AFTER`].

use jiff::{SignedDuration, Timestamp};

/// Delay before each attempt, counted from the end of the attempt before it.
/// Attempt 1 (index 0) goes out at once.
pub const SCHEDULE: [SignedDuration; 8] = [
    SignedDuration::ZERO,
    SignedDuration::from_secs(5),
    SignedDuration::from_mins(5),
    SignedDuration::from_mins(30),
    SignedDuration::from_hours(2),
    SignedDuration::from_hours(5),
    SignedDuration::from_hours(10),
    SignedDuration::from_hours(10),
];

/// Attempts made before a delivery is given up as dead.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32;

/// The longest `Retry-After` honoured; a receiver asking for more waits this long.
pub const MAX_RETRY_AFTER: SignedDuration = SignedDuration::from_hours(10);

/// Jitter applied to each scheduled delay: ± this fraction of it.
pub const JITTER_FRACTION: f64 = 0.10;

/// What one delivery attempt came to, as the transport saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// The receiver accepted it (HTTP 2xx, SMTP accepted the message).
    Delivered,
    /// Any other failure: a non-2xx answer but 410, a refused or dropped
    /// connection, a timeout. `retry_after` is the receiver's `Retry-After`.
    Retry {
        /// How long the receiver asked us to wait, if it said.
        retry_after: Option<SignedDuration>,
    },
    /// HTTP 410 Gone: the endpoint is no more; disable the channel.
    Gone,
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Delivered: nothing more to do.
    Done,
    /// Try again at this time.
    RetryAt(Timestamp),
    /// Every attempt failed: give up on this delivery.
    Dead,
    /// The receiver is gone: give up and disable the channel.
    DisableChannel,
}

/// What follows an attempt: `attempts_made` counts the attempts so far, the
/// one that gave `result` included; `now` is when that attempt ended;
/// `jitter` is a sample in `[0, 1)` (0.5 means no jitter; out of range or not
/// finite, it is clamped or taken as 0.5).
pub fn next_attempt(
    attempts_made: u32,
    result: &AttemptResult,
    now: Timestamp,
    jitter: f64,
) -> Next {
    let retry_after = match *result {
        AttemptResult::Delivered => return Next::Done,
        AttemptResult::Gone => return Next::DisableChannel,
        AttemptResult::Retry { retry_after } => retry_after,
    };
    let Some(&scheduled) = SCHEDULE.get(attempts_made as usize) else {
        return Next::Dead;
    };
    let mut delay = with_jitter(scheduled, jitter);
    if let Some(asked) = retry_after {
        delay = delay.max(asked.clamp(SignedDuration::ZERO, MAX_RETRY_AFTER));
    }
    Next::RetryAt(now.checked_add(delay).unwrap_or(Timestamp::MAX))
}

/// A jitter sample in `[0, 1)` derived from a seed (say, the delivery id's
/// bits mixed with the attempt number): the same seed gives the same sample.
pub fn jitter_from_seed(seed: u64) -> f64 {
    // SplitMix64's finalizer spreads close seeds over the whole range.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // The top 53 bits: every value exactly representable, below 1.
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// `delay` moved by up to ± [`JITTER_FRACTION`] of it, to the millisecond.
fn with_jitter(delay: SignedDuration, jitter: f64) -> SignedDuration {
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let millis = delay.as_millis() as f64;
    let offset = (millis * JITTER_FRACTION * (2.0 * jitter - 1.0)).round();
    // At most 10 % of 10 hours: far inside i64 milliseconds.
    delay.saturating_add(SignedDuration::from_millis(offset as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    const FAILED: AttemptResult = AttemptResult::Retry { retry_after: None };

    fn after(attempts_made: u32, result: AttemptResult, jitter: f64) -> Next {
        next_attempt(attempts_made, &result, at(0), jitter)
    }

    #[test]
    fn every_step_of_the_schedule_without_jitter() {
        let cases = [
            (0, at(0)),
            (1, at(5)),
            (2, at(5 * 60)),
            (3, at(30 * 60)),
            (4, at(2 * 3600)),
            (5, at(5 * 3600)),
            (6, at(10 * 3600)),
            (7, at(10 * 3600)),
        ];
        for (made, expect) in cases {
            assert_eq!(
                after(made, FAILED, 0.5),
                Next::RetryAt(expect),
                "after {made}"
            );
        }
        assert_eq!(after(8, FAILED, 0.5), Next::Dead);
        assert_eq!(after(9, FAILED, 0.5), Next::Dead);
        assert_eq!(after(u32::MAX, FAILED, 0.5), Next::Dead);
    }

    #[test]
    fn a_delivery_is_retried_eight_times_in_all_over_about_27_hours() {
        let mut now = at(0);
        let mut attempts = 0;
        while let Next::RetryAt(when) = next_attempt(attempts, &FAILED, now, 0.5) {
            now = when;
            attempts += 1;
        }
        assert_eq!(attempts, MAX_ATTEMPTS);
        let total = now.duration_since(at(0));
        assert_eq!(
            total,
            SignedDuration::from_secs(5 + 5 * 60 + 30 * 60 + 27 * 3600)
        );
    }

    #[test]
    fn jitter_stays_within_ten_percent_of_each_delay() {
        for (made, &delay) in SCHEDULE.iter().enumerate() {
            let lowest = after(made as u32, FAILED, 0.0);
            let highest = after(made as u32, FAILED, 1.0);
            let tenth = SignedDuration::from_millis((delay.as_millis() / 10) as i64);
            assert_eq!(
                lowest,
                Next::RetryAt(at(0) + (delay - tenth)),
                "after {made}"
            );
            assert_eq!(
                highest,
                Next::RetryAt(at(0) + (delay + tenth)),
                "after {made}"
            );
            for seed in 0..200u64 {
                let Next::RetryAt(when) = after(made as u32, FAILED, jitter_from_seed(seed)) else {
                    panic!("a retry after {made}");
                };
                let waited = when.duration_since(at(0));
                assert!(
                    waited >= delay - tenth && waited <= delay + tenth,
                    "{waited:?}"
                );
            }
        }
    }

    #[test]
    fn odd_jitter_samples_are_clamped_or_ignored() {
        let five_min = SignedDuration::from_mins(5);
        let cases = [
            (-3.0, five_min - SignedDuration::from_secs(30)),
            (7.0, five_min + SignedDuration::from_secs(30)),
            (f64::NAN, five_min),
            (f64::INFINITY, five_min),
            (f64::NEG_INFINITY, five_min),
        ];
        for (jitter, expect) in cases {
            assert_eq!(
                after(2, FAILED, jitter),
                Next::RetryAt(at(0) + expect),
                "{jitter}"
            );
        }
    }

    #[test]
    fn jitter_from_seed_is_deterministic_and_spread() {
        assert_eq!(jitter_from_seed(42), jitter_from_seed(42));
        let samples: Vec<f64> = (0..1000).map(jitter_from_seed).collect();
        assert!(samples.iter().all(|s| (0.0..1.0).contains(s)));
        let low = samples.iter().filter(|s| **s < 0.5).count();
        assert!((400..600).contains(&low), "{low} of 1000 below one half");
    }

    #[test]
    fn retry_after_counts_when_longer_than_the_schedule() {
        let retry = |secs: i64| AttemptResult::Retry {
            retry_after: Some(SignedDuration::from_secs(secs)),
        };
        let cases = [
            // after attempt 1 the schedule waits 5 s: 120 s asked wins
            (1, retry(120), at(120)),
            // after attempt 3 the schedule waits 30 min: 120 s asked is shorter
            (3, retry(120), at(30 * 60)),
            // capped at 10 h
            (1, retry(48 * 3600), at(10 * 3600)),
            // negative or zero: the schedule
            (1, retry(-60), at(5)),
            (1, retry(0), at(5)),
        ];
        for (made, result, expect) in cases {
            assert_eq!(
                after(made, result, 0.5),
                Next::RetryAt(expect),
                "after {made}: {result:?}"
            );
        }
        // the last attempt is the last, whatever the receiver asks
        assert_eq!(after(MAX_ATTEMPTS, retry(120), 0.5), Next::Dead);
    }

    #[test]
    fn delivered_is_done_and_gone_disables_the_channel_at_any_attempt() {
        for made in [0, 1, 4, 7, 8, 100] {
            assert_eq!(after(made, AttemptResult::Delivered, 0.5), Next::Done);
            assert_eq!(after(made, AttemptResult::Gone, 0.5), Next::DisableChannel);
        }
    }

    #[test]
    fn a_retry_near_the_end_of_time_saturates() {
        let next = next_attempt(7, &FAILED, Timestamp::MAX, 0.5);
        assert_eq!(next, Next::RetryAt(Timestamp::MAX));
    }
}
