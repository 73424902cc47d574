//! The audit hash chain. Each stored event carries the hash of the one before
//! it; altering, inserting or removing an event breaks every hash after it, and
//! verification names the first event whose recorded hash no longer matches.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event as it is stored: the fields the hash covers, plus the hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StoredEvent {
    pub seq: i64,
    /// Milliseconds since the Unix epoch, UTC.
    pub at_ms: i64,
    pub actor: String,
    pub kind: String,
    pub subject: String,
    /// The payload as stored (JSON text); hashed byte for byte.
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The hash of one event given its predecessor's. Fields are length-prefixed so
/// no two different events can produce the same input.
pub fn event_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    actor: &str,
    kind: &str,
    subject: &str,
    payload: &str,
) -> String {
    let mut h = Sha256::new();
    for field in [
        prev_hash,
        &seq.to_string(),
        &at_ms.to_string(),
        actor,
        kind,
        subject,
        payload,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex(&h.finalize())
}

impl StoredEvent {
    pub fn expected_hash(&self) -> String {
        event_hash(
            &self.prev_hash,
            self.seq,
            self.at_ms,
            &self.actor,
            &self.kind,
            &self.subject,
            &self.payload,
        )
    }
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Break {
    pub seq: i64,
    pub problem: String,
}

/// Checks a chain incrementally, so the store can stream events through it.
#[derive(Debug, Clone)]
pub struct Verifier {
    prev_hash: String,
    prev_seq: Option<i64>,
    pub checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            prev_hash: GENESIS.to_string(),
            prev_seq: None,
            checked: 0,
        }
    }
}

impl Verifier {
    /// The sequence number of the last event checked (0 before any).
    pub fn last_seq(&self) -> i64 {
        self.prev_seq.unwrap_or(0)
    }

    /// Feed the next event in sequence order; returns the first break found.
    pub fn push(&mut self, e: &StoredEvent) -> Result<(), Break> {
        let expect_seq = self.prev_seq.map_or(1, |s| s + 1);
        if e.seq != expect_seq {
            return Err(Break {
                seq: e.seq,
                problem: format!(
                    "event {expect_seq} is missing (the next stored event is {})",
                    e.seq
                ),
            });
        }
        if e.prev_hash != self.prev_hash {
            return Err(Break {
                seq: e.seq,
                problem: "its link to the previous event does not match (an event before it was replaced or removed)".into(),
            });
        }
        if e.expected_hash() != e.hash {
            return Err(Break {
                seq: e.seq,
                problem:
                    "its content does not match its hash (it was altered after it was written)"
                        .into(),
            });
        }
        self.prev_hash = e.hash.clone();
        self.prev_seq = Some(e.seq);
        self.checked += 1;
        Ok(())
    }

    /// Checks that the chain ends where the store's recorded head says it does,
    /// which catches events removed from the end.
    pub fn finish(&self, head_seq: i64, head_hash: &str) -> Result<(), Break> {
        let last = self.prev_seq.unwrap_or(0);
        if last != head_seq || (head_seq > 0 && self.prev_hash != head_hash) {
            return Err(Break {
                seq: last + 1,
                problem: format!(
                    "the log ends at event {last} but the recorded head is event {head_seq}"
                ),
            });
        }
        Ok(())
    }
}

/// Verify a whole chain in order.
pub fn verify(events: &[StoredEvent]) -> Result<u64, Break> {
    let mut v = Verifier::default();
    for e in events {
        v.push(e)?;
    }
    Ok(v.checked)
}

/// Build the next stored event on top of `prev` (`None` for the first).
pub fn chain(
    prev: Option<(&str, i64)>,
    at_ms: i64,
    actor: &str,
    kind: &str,
    subject: &str,
    payload: String,
) -> StoredEvent {
    let (prev_hash, prev_seq) = prev.unwrap_or((GENESIS, 0));
    let seq = prev_seq + 1;
    let hash = event_hash(prev_hash, seq, at_ms, actor, kind, subject, &payload);
    StoredEvent {
        seq,
        at_ms,
        actor: actor.to_string(),
        kind: kind.to_string(),
        subject: subject.to_string(),
        payload,
        prev_hash: prev_hash.to_string(),
        hash,
    }
}
