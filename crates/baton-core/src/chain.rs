//! The tamper-evident hash chain over the whole event log.
//!
//! `hash = SHA-256(previous hash ‖ canonical event bytes)`, where the previous
//! hash of the first event is 32 zero bytes. Hashes travel as lowercase hex.

use sha2::{Digest, Sha256};

use crate::event::{Event, NewEvent};

/// The hex hash that precedes the first event: 32 zero bytes.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The end of the log: the last position and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// Position of the last event, 0 for an empty log.
    pub position: i64,
    /// Hash of the last event, [`GENESIS_HASH`] for an empty log.
    pub hash: String,
}

impl Default for ChainHead {
    fn default() -> Self {
        Self {
            position: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainHead {
    /// Places `new` after the head as the handoff's `seq`-th event, hashes it
    /// and moves the head onto it.
    pub fn append(&mut self, seq: i64, new: NewEvent) -> Event {
        let mut event = Event {
            position: self.position + 1,
            handoff_id: new.handoff_id,
            seq,
            kind: new.kind,
            actor: new.actor,
            at: new.at,
            data: new.data,
            prev_hash: self.hash.clone(),
            hash: String::new(),
        };
        event.hash = hash_after(&event.prev_hash, &event);
        self.position = event.position;
        self.hash = event.hash.clone();
        event
    }
}

/// Hex `SHA-256(prev ‖ canonical bytes of event)`; `prev` is decoded from hex
/// (an undecodable `prev` is hashed as its text, so it can never match).
pub fn hash_after(prev: &str, event: &Event) -> String {
    let mut hasher = Sha256::new();
    match hex::decode(prev) {
        Ok(bytes) => hasher.update(bytes),
        Err(_) => hasher.update(prev.as_bytes()),
    }
    hasher.update(event.canonical_bytes());
    hex::encode(hasher.finalize())
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Every event links to the one before and hashes to its stored hash.
    Intact {
        /// How many events were checked.
        events: i64,
    },
    /// The first event that does not fit.
    Broken {
        /// Its position.
        position: i64,
        /// What is wrong.
        problem: String,
    },
}

/// Checks events in log order, starting after `head`; call repeatedly with
/// consecutive pages. Returns the first break, or `None` if the page fits
/// (and then `head` is moved to its end).
pub fn verify_chain<'a>(
    head: &mut ChainHead,
    events: impl IntoIterator<Item = &'a Event>,
) -> Option<ChainVerdict> {
    for event in events {
        let broken = |problem: String| {
            Some(ChainVerdict::Broken {
                position: event.position,
                problem,
            })
        };
        if event.position != head.position + 1 {
            return broken(format!(
                "expected position {} but found {}",
                head.position + 1,
                event.position
            ));
        }
        if event.prev_hash != head.hash {
            return broken("prev_hash does not match the previous event's hash".into());
        }
        let expected = hash_after(&head.hash, event);
        if event.hash != expected {
            return broken("hash does not match the event's content".into());
        }
        head.position = event.position;
        head.hash = event.hash.clone();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKind;
    use jiff::Timestamp;
    use serde_json::json;
    use uuid::Uuid;

    fn log(n: i64) -> Vec<Event> {
        let mut head = ChainHead::default();
        (1..=n)
            .map(|i| {
                head.append(
                    i,
                    NewEvent {
                        handoff_id: Uuid::nil(),
                        kind: EventKind::NoteAdded,
                        actor: "amy".into(),
                        at: Timestamp::from_second(i).unwrap(),
                        data: json!({ "text": format!("note {i}"), "b": 1, "a": 2 }),
                    },
                )
            })
            .collect()
    }

    fn verdict(events: &[Event]) -> Option<ChainVerdict> {
        verify_chain(&mut ChainHead::default(), events)
    }

    #[test]
    fn an_untouched_log_verifies() {
        assert_eq!(verdict(&log(5)), None);
        assert_eq!(log(1)[0].prev_hash, GENESIS_HASH);
    }

    #[test]
    fn any_edit_is_found_at_its_position() {
        type Edit = Box<dyn Fn(&mut Event)>;
        let edits: Vec<(i64, Edit)> = vec![
            (3, Box::new(|e| e.actor = "mallory".into())),
            (2, Box::new(|e| e.data = json!({ "text": "forged" }))),
            (4, Box::new(|e| e.at = Timestamp::from_second(99).unwrap())),
            (1, Box::new(|e| e.seq = 7)),
            (5, Box::new(|e| e.kind = EventKind::Closed)),
        ];
        for (position, edit) in edits {
            let mut events = log(5);
            edit(&mut events[(position - 1) as usize]);
            match verdict(&events) {
                Some(ChainVerdict::Broken { position: p, .. }) => assert_eq!(p, position),
                other => panic!("edit at {position} not found: {other:?}"),
            }
        }
    }

    #[test]
    fn a_deleted_event_breaks_the_chain() {
        let mut events = log(4);
        events.remove(1);
        assert!(matches!(
            verdict(&events),
            Some(ChainVerdict::Broken { position: 3, .. })
        ));
    }

    #[test]
    fn verification_runs_over_pages() {
        let events = log(6);
        let mut head = ChainHead::default();
        assert_eq!(verify_chain(&mut head, &events[..3]), None);
        assert_eq!(verify_chain(&mut head, &events[3..]), None);
        assert_eq!(head.position, 6);
    }
}
