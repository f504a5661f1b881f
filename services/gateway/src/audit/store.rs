//! The audit log's table. Writers append after the head they know; the sequence is the primary
//! key and a batch is one all-or-nothing statement, so a writer with a stale head inserts
//! nothing, reads the head again and retries — two writers can never fork the chain, and the
//! usual append is one statement, one round trip.

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
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

    /// The pool it reads and writes through.
    pub fn pool(&self) -> &PgPool {
        &self.pool
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
        append_after(&mut *self.pool.acquire().await?, head, records).await
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
        head(&mut *self.pool.acquire().await?).await
    }
}

/// [`AuditStore::head`] on `conn`.
pub(crate) async fn head(conn: &mut PgConnection) -> Result<(i64, [u8; 32]), sqlx::Error> {
    let head: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT sequence, hash FROM gateway.audit_events ORDER BY sequence DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(head.map_or((0, GENESIS), |(s, h)| {
        (s, <[u8; 32]>::try_from(h.as_slice()).unwrap_or(GENESIS))
    }))
}

/// [`AuditStore::append_after`] on `conn`: the log's writer keeps one connection for its appends
/// (a pooled connection is pinged on every acquire, one more round trip before each commit).
pub(crate) async fn append_after(
    conn: &mut PgConnection,
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
    // One statement text whatever the batch size (columns as arrays): a VALUES list per size
    // would be prepared and cached anew on every pooled connection for every size seen, and
    // the suite's memory crept up for as long as new sizes kept appearing. Each row's own
    // text arrays travel as array literals cast per row (Postgres arrays of arrays must be
    // rectangular; a JSON subquery per row cost Postgres ~50 µs more per statement).
    let written = sqlx::query(
        "INSERT INTO gateway.audit_events (sequence, at, caller, roles, tenant, method, \
             resource_names, status_code, refusal_cause, trace_id, hash) \
         SELECT r.sequence, r.at, r.caller, \
                r.roles::text[], r.tenant, r.method, r.resource_names::text[], \
                r.status_code, r.refusal_cause, r.trace_id, r.hash \
         FROM UNNEST($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], \
                     $6::text[], $7::text[], $8::int4[], $9::text[], $10::text[], $11::bytea[]) \
              AS r(sequence, at, caller, roles, tenant, method, resource_names, status_code, \
                   refusal_cause, trace_id, hash) \
         ORDER BY r.sequence",
    )
    .bind(
        rows.iter()
            .map(|(sequence, _, _)| *sequence)
            .collect::<Vec<i64>>(),
    )
    .bind(column(&rows, |r| r.at))
    .bind(column(&rows, |r| r.caller.as_str()))
    .bind(column(&rows, |r| array_literal(&r.roles)))
    .bind(column(&rows, |r| r.tenant.as_str()))
    .bind(column(&rows, |r| r.method.as_str()))
    .bind(column(&rows, |r| array_literal(&r.resource_names)))
    .bind(column(&rows, |r| r.status_code))
    .bind(column(&rows, |r| r.refusal_cause.as_str()))
    .bind(column(&rows, |r| r.trace_id.as_str()))
    .bind(
        rows.iter()
            .map(|(_, _, hash)| hash.to_vec())
            .collect::<Vec<Vec<u8>>>(),
    )
    .execute(&mut *conn)
    .await;
    // A sequence already taken means a stale head. The statement is all or nothing: with
    // `ON CONFLICT DO NOTHING` the rows past another writer's shorter batch would land,
    // linked to the stale head, and fork the chain.
    match written {
        Ok(_) => Ok(Some((sequence, previous))),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// One column of a batch: `field` of every record, in order.
fn column<'a, T>(
    rows: &[(i64, &'a AuditRecord, [u8; 32])],
    field: impl Fn(&'a AuditRecord) -> T,
) -> Vec<T> {
    rows.iter().map(|(_, record, _)| field(record)).collect()
}

/// `items` as a Postgres array literal: every element double-quoted, with `"` and `\` escaped,
/// so any text (commas, braces, `NULL`, the empty string) comes back exactly.
fn array_literal(items: &[String]) -> String {
    let mut out = String::with_capacity(2 + items.iter().map(|i| i.len() + 3).sum::<usize>());
    out.push('{');
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}
