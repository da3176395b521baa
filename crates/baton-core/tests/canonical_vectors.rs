//! Golden vectors for the event log's canonical form (docs/event-log.md):
//! fixed events → fixed canonical bytes → fixed chained hashes, written out
//! literally. A change of `Event::canonical_bytes`, of serde_json's output,
//! of the time precision or of the hash formula fails here, before it can
//! silently invalidate chains already stored. The hashes were checked
//! against an independent implementation (Python's `json` and `hashlib`).
//! Never edit an expected value to make this pass: that would break every
//! stored chain.

use baton_core::event::micros;
use baton_core::{ChainHead, Event, EventKind, GENESIS_HASH, NewEvent, verify_chain};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// One event of the vector chain: its input, then what it must give.
struct Vector {
    kind: &'static str,
    actor: &'static str,
    /// RFC 3339.
    at: &'static str,
    /// JSON text as a client might send it: unsorted keys, spaces, escapes.
    data: &'static str,
    /// The exact canonical bytes (UTF-8).
    canonical: &'static str,
    /// Hex SHA-256 of the previous hash's 32 bytes followed by `canonical`.
    hash: &'static str,
}

/// Every vector belongs to this handoff and has `seq` = `position`.
const HANDOFF: &str = "0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f506";

const VECTORS: [Vector; 7] = [
    Vector {
        kind: "created",
        actor: "bot",
        at: "2026-01-01T00:00:00Z",
        data: r#"{"zeta": 1, "alpha": {"y": [3, 2, 1], "b": null, "a": true}, "title": "Rückerstattung 900 €", "emoji": "👋🏽", "quote": "he said \"hi\"\n\tthen left\\", "control": "\u0001\u001f\u007f", "slash": "a/b", "html": "<b>&amp;</b>", "sep": "\u2028", "empty": {}, "list": []}"#,
        canonical: concat!(
            r#"{"position":1,"handoff_id":"0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f506","seq":1,"kind":"created","actor":"bot","at_us":1767225600000000,"data":{"alpha":{"a":true,"b":null,"y":[3,2,1]},"control":"\u0001\u001f"#,
            "\u{7f}",
            r#"","emoji":"👋🏽","empty":{},"html":"<b>&amp;</b>","list":[],"quote":"he said \"hi\"\n\tthen left\\","sep":""#,
            "\u{2028}",
            r#"","slash":"a/b","title":"Rückerstattung 900 €","zeta":1}}"#
        ),
        hash: "dcb3eef88b3fd2873c8854772d0ea8356221df8abae5ac2155fd1fe54b85a038",
    },
    Vector {
        kind: "claimed",
        actor: "amy",
        at: "2026-01-01T00:00:01.123456Z",
        data: r#"{"assignee": "amy"}"#,
        canonical: r#"{"position":2,"handoff_id":"0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f506","seq":2,"kind":"claimed","actor":"amy","at_us":1767225601123456,"data":{"assignee":"amy"}}"#,
        hash: "6ebc1104b514a0a47abc7df207344aade328cddb2ebfa7493a9c73730a652fda",
    },
    Vector {
        kind: "note_added",
        actor: "José 山田",
        at: "2026-01-01T00:00:02.000001Z",
        data: r#"{"int": -42, "big": 9007199254740993, "u64max": 18446744073709551615, "i64min": -9223372036854775808, "float": 0.61, "two": 2.0, "exp": 1e21, "small": 1.5e-7, "zero": 0.0, "negzero": -0.0}"#,
        canonical: r#"{"position":3,"handoff_id":"0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f506","seq":3,"kind":"note_added","actor":"José 山田","at_us":1767225602000001,"data":{"big":9007199254740993,"exp":1e+21,"float":0.61,"i64min":-9223372036854775808,"int":-42,"negzero":-0.0,"small":1.5e-7,"two":2.0,"u64max":18446744073709551615,"zero":0.0}}"#,
        hash: "c1d1fadad43fc9e15d7e0e60f299cf21dbb0771629aa03dcec3fae13be94c8ff",
    },
    Vector {
        kind: "resolved",
        actor: "amy",
        at: "1969-12-31T23:59:59.999999Z",
        data: r#"{"resolution": "approved", "note": ""}"#,
        canonical: r#"{"position":4,"handoff_id":"0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f506","seq":4,"kind":"resolved","actor":"amy","at_us":-1,"data":{"note":"","resolution":"approved"}}"#,
        hash: "610655257eb8930893c57a989eeafa011c0e30d1968ae97c6d7bb1fb2f9ddae7",
    },
    Vector {
        kind: "execution_reported",
        actor: "",
        at: "9999-12-30T21:59:59.999999Z",
        data: r#"null"#,
        canonical: r#"{"position":5,"handoff_id":"0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f506","seq":5,"kind":"execution_reported","actor":"","at_us":253402207199999999,"data":null}"#,
        hash: "0b5f9b7dcb0ca8464ff3311435b483b553eb1897fd2427beb49e50ec03defacc",
    },
    Vector {
        kind: "reopened",
        actor: "lead",
        at: "-009999-01-03T00:00:00.000007Z",
        data: r#"["b", "a", 1, {"d": 4, "c": 3}]"#,
        canonical: r#"{"position":6,"handoff_id":"0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f506","seq":6,"kind":"reopened","actor":"lead","at_us":-377704943999999993,"data":["b","a",1,{"c":3,"d":4}]}"#,
        hash: "9c0c0cfddf78baf650f3933951c3d4843f4208c4c779d9d23b06f8ecc0cea52a",
    },
    Vector {
        kind: "closed",
        actor: "lead",
        at: "2026-03-29T01:30:00Z",
        data: r#""just a string""#,
        canonical: r#"{"position":7,"handoff_id":"0190f3a4-5b6c-7d8e-9fa0-b1c2d3e4f506","seq":7,"kind":"closed","actor":"lead","at_us":1774747800000000,"data":"just a string"}"#,
        hash: "b0b4c114a4dd8f1f59a9321894e821f3f6df7f4bf24314ce034df920b26ac868",
    },
];

/// The vectors appended in order from the genesis head.
fn chain() -> Vec<Event> {
    let handoff_id: Uuid = HANDOFF.parse().unwrap();
    let mut head = ChainHead::default();
    VECTORS
        .iter()
        .enumerate()
        .map(|(i, v)| {
            head.append(
                i as i64 + 1,
                NewEvent {
                    handoff_id,
                    kind: EventKind::parse(v.kind).unwrap(),
                    actor: v.actor.to_owned(),
                    at: v.at.parse::<Timestamp>().unwrap(),
                    data: serde_json::from_str(v.data).unwrap(),
                },
            )
        })
        .collect()
}

#[test]
fn canonical_bytes_and_hashes_are_pinned() {
    let events = chain();
    let mut prev = GENESIS_HASH.to_owned();
    for (event, v) in events.iter().zip(&VECTORS) {
        let bytes = event.canonical_bytes();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            v.canonical,
            "canonical bytes of event {}",
            event.position
        );
        assert_eq!(
            event.prev_hash, prev,
            "prev_hash of event {}",
            event.position
        );
        assert_eq!(event.hash, v.hash, "hash of event {}", event.position);
        prev = event.hash.clone();
    }
    assert_eq!(verify_chain(&mut ChainHead::default(), &events), None);
}

#[test]
fn the_hash_is_sha256_of_the_previous_hash_bytes_and_the_canonical_bytes() {
    let mut prev = [0u8; 32].to_vec();
    for v in &VECTORS {
        let mut hasher = Sha256::new();
        hasher.update(&prev);
        hasher.update(v.canonical.as_bytes());
        let hash = hasher.finalize().to_vec();
        assert_eq!(hex::encode(&hash), v.hash);
        prev = hash;
    }
}

#[test]
fn canonical_bytes_survive_a_store_round_trip() {
    // Stores keep `data` as serde_json text and the time in microseconds.
    for event in chain() {
        let stored = Event {
            data: serde_json::from_str(&event.data.to_string()).unwrap(),
            at: Timestamp::from_microsecond(micros(event.at)).unwrap(),
            ..event.clone()
        };
        assert_eq!(stored.canonical_bytes(), event.canonical_bytes());
    }
}
