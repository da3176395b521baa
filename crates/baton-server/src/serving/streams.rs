//! Caps on open server-sent-event streams: in total and per token. A
//! [`StreamSlot`] holds one place until the stream ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::ApiError;

/// Open streams, counted in total and per token name.
#[derive(Debug)]
pub struct StreamSlots {
    max: usize,
    per_token: usize,
    open: Mutex<(usize, HashMap<String, usize>)>,
}

impl StreamSlots {
    /// At most `max` streams open, `per_token` of them for one token.
    pub fn new(max: usize, per_token: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            per_token,
            open: Mutex::new((0, HashMap::new())),
        })
    }

    /// Takes a place for a stream of `token`.
    ///
    /// # Errors
    /// 429 `too_many_streams` when the token has `per_token` open, 503
    /// `unavailable` when the server has `max`; each names its setting.
    pub fn acquire(self: &Arc<Self>, token: &str) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mine = open.1.get(token).copied().unwrap_or(0);
        if mine >= self.per_token {
            return Err(ApiError::new(
                "too_many_streams",
                format!(
                    "this token has {mine} event streams open, the most allowed (max_streams_per_token = {}); close one first",
                    self.per_token
                ),
            ));
        }
        if open.0 >= self.max {
            return Err(ApiError::new(
                "unavailable",
                format!(
                    "the server has {} event streams open, the most allowed (max_streams = {}); retry later",
                    open.0, self.max
                ),
            ));
        }
        open.0 += 1;
        *open.1.entry(token.to_owned()).or_insert(0) += 1;
        Ok(StreamSlot {
            slots: self.clone(),
            token: token.to_owned(),
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }
}

/// One open stream's place; dropping it frees the place.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    token: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.token) {
            *n -= 1;
            if *n == 0 {
                open.1.remove(&self.token);
            }
        }
    }
}
