//! The audit log's table. Writers append after the head they know; the sequence is the primary
//! key, so a writer with a stale head inserts nothing, reads the head again and retries — two
//! writers can never fork the chain, and the usual append is one statement, one round trip.

use sqlx::{PgPool, Postgres, QueryBuilder};
use time::OffsetDateTime;

use super::chain::{AuditRecord, GENESIS, Verdict, Walker};

/// Rows read per page when verifying.
const VERIFY_PAGE: i64 = 10_000;

#[derive(sqlx::FromRow)]
struct EventRow {
    sequence: i64,
    at: OffsetDateTime,
    caller: String,
    roles: Vec<String>,
    tenant: String,
    method: String,
    resource_names: Vec<String>,
    status_code: i32,
    refusal_cause: String,
    trace_id: String,
    hash: Vec<u8>,
}

impl EventRow {
    fn split(self) -> (i64, AuditRecord, Vec<u8>) {
        (
            self.sequence,
            AuditRecord {
                at: self.at,
                caller: self.caller,
                roles: self.roles,
                tenant: self.tenant,
                method: self.method,
                resource_names: self.resource_names,
                status_code: self.status_code,
                refusal_cause: self.refusal_cause,
                trace_id: self.trace_id,
            },
            self.hash,
        )
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Chain position.
    pub sequence: i64,
    /// What was recorded.
    pub record: AuditRecord,
    /// Its chain hash.
    pub hash: Vec<u8>,
}

/// Filters of a listing.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// The tenant whose events are listed.
    pub tenant: String,
    /// Only this caller.
    pub caller: Option<String>,
    /// Only this method.
    pub method: Option<String>,
    /// Only non-OK outcomes.
    pub failures_only: bool,
    /// Only events before this sequence (the page token).
    pub before: Option<i64>,
}

/// The audit table.
#[derive(Debug, Clone)]
pub struct AuditStore {
    pool: PgPool,
}

impl AuditStore {
    /// The store on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Appends `records` in order after `head` (the last sequence and hash this writer knows) in
    /// one statement; returns the new head. `Ok(None)` when another writer got there first (the
    /// first sequence is taken): nothing was written, read the head again and retry. Dense,
    /// unique sequences make that test exact, so two writers can never fork the chain.
    pub async fn append_after(
        &self,
        head: (i64, [u8; 32]),
        records: &[AuditRecord],
    ) -> Result<Option<(i64, [u8; 32])>, sqlx::Error> {
        let (mut sequence, mut previous) = head;
        let mut rows = Vec::with_capacity(records.len());
        for record in records {
            sequence += 1;
            previous = record.link(&previous, sequence);
            rows.push((sequence, record, previous));
        }
        let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO gateway.audit_events (sequence, at, caller, roles, tenant, method, \
             resource_names, status_code, refusal_cause, trace_id, hash) ",
        );
        insert.push_values(&rows, |mut row, (sequence, record, hash)| {
            row.push_bind(*sequence)
                .push_bind(record.at)
                .push_bind(&record.caller)
                .push_bind(&record.roles)
                .push_bind(&record.tenant)
                .push_bind(&record.method)
                .push_bind(&record.resource_names)
                .push_bind(record.status_code)
                .push_bind(&record.refusal_cause)
                .push_bind(&record.trace_id)
                .push_bind(hash.as_slice());
        });
        // A sequence already taken means a stale head: insert nothing rather than fail.
        insert.push(" ON CONFLICT (sequence) DO NOTHING");
        let written = insert.build().execute(&self.pool).await?.rows_affected();
        match written {
            0 => Ok(None),
            n if n == rows.len() as u64 => Ok(Some((sequence, previous))),
            // Only possible if someone wrote into the middle of our range by hand.
            _ => Err(sqlx::Error::Protocol(
                "audit chain: part of a batch collided with existing rows".into(),
            )),
        }
    }

    /// Appends `records` after the current head, retrying while other writers move it.
    pub async fn append(&self, records: &[AuditRecord]) -> Result<(i64, [u8; 32]), sqlx::Error> {
        loop {
            let head = self.head().await?;
            if let Some(new_head) = self.append_after(head, records).await? {
                return Ok(new_head);
            }
        }
    }

    /// The newest events matching `filter`, at most `limit`.
    pub async fn list(
        &self,
        filter: &EventFilter,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT sequence, at, caller, roles, tenant, method, resource_names, status_code, \
             refusal_cause, trace_id, hash FROM gateway.audit_events WHERE tenant = ",
        );
        q.push_bind(&filter.tenant);
        if let Some(caller) = &filter.caller {
            q.push(" AND caller = ").push_bind(caller);
        }
        if let Some(method) = &filter.method {
            q.push(" AND method = ").push_bind(method);
        }
        if filter.failures_only {
            q.push(" AND status_code <> 0");
        }
        if let Some(before) = filter.before {
            q.push(" AND sequence < ").push_bind(before);
        }
        // A literal limit keeps the plan on the index (see the subject-requests list).
        q.push(" ORDER BY sequence DESC LIMIT ")
            .push(limit.clamp(1, 1_000));
        let rows: Vec<EventRow> = q.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let (sequence, record, hash) = row.split();
                StoredEvent {
                    sequence,
                    record,
                    hash,
                }
            })
            .collect())
    }

    /// Walks the whole chain from the first event. Returns the walker (events checked, head)
    /// and the verdict.
    pub async fn verify(&self) -> Result<(Walker, Verdict), sqlx::Error> {
        let mut walker = Walker::default();
        loop {
            let (after, _) = walker.head();
            let rows: Vec<EventRow> = sqlx::query_as(
                "SELECT sequence, at, caller, roles, tenant, method, resource_names, \
                 status_code, refusal_cause, trace_id, hash FROM gateway.audit_events \
                 WHERE sequence > $1 ORDER BY sequence LIMIT 10000",
            )
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
            let page = rows.len();
            for row in rows {
                let (sequence, record, hash) = row.split();
                if let Err(verdict) = walker.step(sequence, &record, &hash) {
                    return Ok((walker, verdict));
                }
            }
            if page < usize::try_from(VERIFY_PAGE).unwrap_or(usize::MAX) {
                return Ok((walker, Verdict::Intact));
            }
        }
    }

    /// The stored hash at `sequence`, if that event exists.
    pub async fn hash_at(&self, sequence: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
        sqlx::query_scalar("SELECT hash FROM gateway.audit_events WHERE sequence = $1")
            .bind(sequence)
            .fetch_optional(&self.pool)
            .await
    }

    /// The current head: last sequence and hash (0 and the genesis hash when empty).
    pub async fn head(&self) -> Result<(i64, [u8; 32]), sqlx::Error> {
        let head: Option<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT sequence, hash FROM gateway.audit_events ORDER BY sequence DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(head.map_or((0, GENESIS), |(s, h)| {
            (s, <[u8; 32]>::try_from(h.as_slice()).unwrap_or(GENESIS))
        }))
    }
}
