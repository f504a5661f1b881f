//! The audit chain: each event's hash covers the previous hash and a canonical byte encoding of
//! the event (length-prefixed fields, integers big-endian, the time in microseconds since the
//! epoch — Postgres' precision — never JSON text, whose spelling is not unique).

use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

/// The hash before the first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// One call through the gateway, as audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When the call finished (truncated to the microsecond by [`AuditRecord::new`]).
    pub at: OffsetDateTime,
    /// The token's subject; empty when unauthenticated.
    pub caller: String,
    /// The roles the call was made with.
    pub roles: Vec<String>,
    /// The tenant acted for; empty when unauthenticated.
    pub tenant: String,
    /// The full method path.
    pub method: String,
    /// Resource names the request named.
    pub resource_names: Vec<String>,
    /// gRPC status code of the outcome.
    pub status_code: i32,
    /// Why the gateway refused, if it did.
    pub refusal_cause: String,
    /// W3C trace id, if traced.
    pub trace_id: String,
}

impl AuditRecord {
    /// A record of `method` at `at`, other fields empty.
    pub fn new(method: &str, at: OffsetDateTime) -> Self {
        Self {
            at: to_micros(at),
            caller: String::new(),
            roles: Vec::new(),
            tenant: String::new(),
            method: method.to_owned(),
            resource_names: Vec::new(),
            status_code: 0,
            refusal_cause: String::new(),
            trace_id: String::new(),
        }
    }

    /// The canonical encoding of this record at position `sequence`.
    pub fn encode(&self, sequence: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&sequence.to_be_bytes());
        let micros = i64::try_from(self.at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX);
        out.extend_from_slice(&micros.to_be_bytes());
        for text in [&self.caller, &self.tenant, &self.method] {
            put(&mut out, text.as_bytes());
        }
        for list in [&self.roles, &self.resource_names] {
            out.extend_from_slice(&u32::try_from(list.len()).unwrap_or(u32::MAX).to_be_bytes());
            for item in list {
                put(&mut out, item.as_bytes());
            }
        }
        out.extend_from_slice(&self.status_code.to_be_bytes());
        put(&mut out, self.refusal_cause.as_bytes());
        put(&mut out, self.trace_id.as_bytes());
        out
    }

    /// This record's hash at `sequence` after `previous`.
    pub fn link(&self, previous: &[u8; 32], sequence: i64) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(previous);
        hasher.update(self.encode(sequence));
        hasher.finalize().into()
    }
}

/// `at` to the microsecond: what Postgres stores, so a row read back hashes the same.
pub fn to_micros(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The outcome of checking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every link holds.
    Intact,
    /// The first event whose stored hash is not the recomputed one, or whose sequence skips.
    Broken {
        /// Its sequence.
        sequence: i64,
        /// What is wrong.
        problem: String,
    },
}

/// Checks events in sequence order, carrying the chain state between pages.
#[derive(Debug, Clone)]
pub struct Walker {
    previous: [u8; 32],
    next: i64,
    checked: i64,
}

impl Default for Walker {
    fn default() -> Self {
        Self {
            previous: GENESIS,
            next: 1,
            checked: 0,
        }
    }
}

impl Walker {
    /// Checks the next event; `Err` at the first broken link.
    pub fn step(
        &mut self,
        sequence: i64,
        record: &AuditRecord,
        stored_hash: &[u8],
    ) -> Result<(), Verdict> {
        if sequence != self.next {
            return Err(Verdict::Broken {
                sequence: self.next,
                problem: format!(
                    "event {} is missing (the next stored is {sequence})",
                    self.next
                ),
            });
        }
        let hash = record.link(&self.previous, sequence);
        if hash.as_slice() != stored_hash {
            return Err(Verdict::Broken {
                sequence,
                problem: format!("event {sequence} does not match its hash: it was changed"),
            });
        }
        self.previous = hash;
        self.next += 1;
        self.checked += 1;
        Ok(())
    }

    /// Events checked so far.
    pub fn checked(&self) -> i64 {
        self.checked
    }

    /// The last hash checked, and its sequence (0 before the first).
    pub fn head(&self) -> (i64, [u8; 32]) {
        (self.next - 1, self.previous)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn record(status: i32) -> AuditRecord {
        AuditRecord {
            caller: "jane".into(),
            roles: vec!["dpo".into()],
            tenant: "acme-north".into(),
            status_code: status,
            ..AuditRecord::new(
                "/dps.consent.v1.ConsentService/CheckProcessing",
                datetime!(2026-12-05 10:00:00.123456789 UTC),
            )
        }
    }

    #[test]
    fn the_time_is_kept_to_the_microsecond_postgres_stores() {
        assert_eq!(record(0).at, datetime!(2026-12-05 10:00:00.123456 UTC));
    }

    #[test]
    fn field_boundaries_are_part_of_the_encoding() {
        let a = AuditRecord {
            caller: "ab".into(),
            tenant: "c".into(),
            ..record(0)
        };
        let b = AuditRecord {
            caller: "a".into(),
            tenant: "bc".into(),
            ..record(0)
        };
        assert_ne!(a.encode(1), b.encode(1));
        assert_ne!(record(0).encode(1), record(0).encode(2));
    }

    #[test]
    fn a_walk_finds_the_first_changed_or_missing_event() {
        let records: Vec<AuditRecord> = (0..4).map(record).collect();
        let mut hashes = Vec::new();
        let mut previous = GENESIS;
        for (i, r) in records.iter().enumerate() {
            previous = r.link(&previous, i as i64 + 1);
            hashes.push(previous);
        }
        let mut walker = Walker::default();
        for (i, r) in records.iter().enumerate() {
            walker.step(i as i64 + 1, r, &hashes[i]).expect("intact");
        }
        assert_eq!(walker.head(), (4, hashes[3]));

        let mut walker = Walker::default();
        walker.step(1, &records[0], &hashes[0]).expect("first");
        let changed = AuditRecord {
            status_code: 7,
            ..records[1].clone()
        };
        assert!(matches!(
            walker.step(2, &changed, &hashes[1]),
            Err(Verdict::Broken { sequence: 2, .. })
        ));

        let mut walker = Walker::default();
        walker.step(1, &records[0], &hashes[0]).expect("first");
        assert!(matches!(
            walker.step(3, &records[2], &hashes[2]),
            Err(Verdict::Broken { sequence: 2, .. })
        ));
    }
}
