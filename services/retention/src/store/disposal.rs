//! The disposal workflow: the sweep, reviews and decisions, tasks for holding systems, and
//! certificates.

use dps_types::{CallerId, TenantId};
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Store, StoreError};
use crate::domain::{
    CertificateId, Decision, DecisionInput, RecordClass, RecordClassId, RecordId, ReviewId,
    ReviewState, TaskId, TaskState, date_record, outside_schedule,
};

/// A review as the contract shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewRow {
    /// Its id.
    pub review_id: Uuid,
    /// The record.
    pub record_id: Uuid,
    /// The record's class code.
    pub code: String,
    /// The holding system.
    pub system: String,
    /// The record's id there.
    pub external_id: String,
    /// The person, if any.
    pub person_id: Option<String>,
    /// The review date when raised.
    pub review_on: Option<Date>,
    /// Its explanation.
    pub explanation: String,
    /// `open`, `approved`, `extended` or `withdrawn`.
    pub state: String,
    /// Raised before the review date.
    pub early: bool,
    /// When raised.
    pub raised_at: OffsetDateTime,
    /// `destroy`, `transfer` or `extend`.
    pub decision: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<OffsetDateTime>,
    /// Why.
    pub reason: Option<String>,
    /// How.
    pub method: Option<String>,
    /// The extension's date.
    pub extended_until: Option<Date>,
}

macro_rules! review_columns {
    () => {
        "SELECT d.review_id, d.record_id, c.code, r.system, r.external_id, r.person_id, \
                d.review_on, d.explanation, d.state, d.early, d.raised_at, d.decision, \
                d.decided_by, d.decided_at, d.reason, d.method, d.extended_until \
         FROM retention.disposal_reviews d \
         JOIN retention.records r ON r.tenant_id = d.tenant_id AND r.record_id = d.record_id \
         JOIN retention.record_classes c \
           ON c.tenant_id = r.tenant_id AND c.record_class_id = r.record_class_id "
    };
}

/// A task as the contract shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    /// Its id.
    pub task_id: Uuid,
    /// The record.
    pub record_id: Uuid,
    /// The holding system.
    pub system: String,
    /// The record's id there.
    pub external_id: String,
    /// `destroy` or `transfer`.
    pub action: String,
    /// How.
    pub method: String,
    /// Its state code.
    pub state: String,
    /// When created.
    pub created_at: OffsetDateTime,
}

/// A disposal certificate.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRow {
    /// Its id.
    pub certificate_id: Uuid,
    /// The record.
    pub record_id: Uuid,
    /// Its class code.
    pub record_class_code: String,
    /// The holding system.
    pub system: String,
    /// The record's id there.
    pub external_id: String,
    /// The person, if any.
    pub person_id: Option<String>,
    /// `destroy` or `transfer`.
    pub action: String,
    /// How.
    pub method: String,
    /// The review date.
    pub review_on: Option<Date>,
    /// How the rule produced it.
    pub explanation: String,
    /// Under which schedule version.
    pub schedule_version: i32,
    /// Who approved.
    pub approved_by: String,
    /// When.
    pub approved_at: OffsetDateTime,
    /// Who confirmed.
    pub confirmed_by: String,
    /// When disposed of.
    pub disposed_at: OffsetDateTime,
    /// The reason for disposal outside the schedule.
    pub outside_schedule_reason: Option<String>,
}

macro_rules! certificate_columns {
    () => {
        "SELECT certificate_id, record_id, record_class_code, system, external_id, person_id, \
                action, method, review_on, explanation, schedule_version, approved_by, \
                approved_at, confirmed_by, disposed_at, outside_schedule_reason \
         FROM retention.disposal_certificates "
    };
}

/// What deciding a review reads: record, review date, state, held, system, external id, class.
type DecisionRow = (Uuid, Option<Date>, String, bool, String, String, Uuid);

/// Withdraws the open (not early) reviews of `records`, whose review dates have just moved past
/// today or gone. The records stay active: under review is the open review, not a record state.
/// Callers pass only records they re-dated that way, so the statement is a few probes of the
/// open-review key whatever the planner knows.
pub(super) async fn withdraw_reviews(
    conn: &mut PgConnection,
    tenant: &TenantId,
    records: &[Uuid],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE retention.disposal_reviews SET state = 'withdrawn' \
         WHERE tenant_id = $1 AND state = 'open' AND NOT early AND record_id = ANY($2)",
    )
    .bind(tenant.as_str())
    .bind(records)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns records whose approved disposal was cancelled to active.
pub(super) async fn reactivate(
    conn: &mut PgConnection,
    tenant: &TenantId,
    records: &[Uuid],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE retention.records SET state = 'active' \
         WHERE tenant_id = $1 AND record_id = ANY($2)",
    )
    .bind(tenant.as_str())
    .bind(records)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes the tenant's review lock for the rest of the transaction. Everything that raises
/// reviews (the sweep, an early review) or withdraws them for a new hold takes it first, so they
/// run one at a time per tenant: a sweep never races another sweep, an early review or a hold
/// being placed. It must be its own statement, before the work: in READ COMMITTED each statement
/// then reads after the previous holder committed.
pub(super) async fn lock_reviews(
    conn: &mut PgConnection,
    tenant: &TenantId,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(REVIEW_LOCK_CLASS)
        .bind(tenant.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The first key of the service's two-key advisory locks (the second is the tenant's hash):
/// "RTRV" in ASCII, so a lock seen in `pg_locks` says whose it is.
const REVIEW_LOCK_CLASS: i32 = 0x5254_5256;

/// Reviews one sweep statement raises at most. A statement costs ~6 µs of Postgres work per
/// review raised on the 2-core benchmark machine (~1.5 s for a full window, under a third of the
/// 5 s statement timeout), plus ~1 µs per due record after the window's start: few, large windows
/// are what make a large backlog fast (the benchmark's 234,529 fit in one).
pub const SWEEP_CHUNK: i64 = 250_000;

/// Raises reviews for every due, unheld record of the tenant without an open review, window by
/// window in the caller's transaction (each window its own transaction when the caller commits
/// between them, as [`Store::sweep`] does); returns how many.
pub(super) async fn sweep(
    conn: &mut PgConnection,
    tenant: &TenantId,
    today: Date,
    chunk: i64,
) -> Result<u64, StoreError> {
    let mut raised = 0;
    let mut after = None;
    loop {
        let (n, until) = sweep_window(&mut *conn, tenant, today, after, chunk).await?;
        raised += n;
        match until {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    // The rest of the caller's transaction (a hold's release) plans and commits as usual.
    sqlx::query("SET LOCAL enable_nestloop TO DEFAULT")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET LOCAL jit TO DEFAULT")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET LOCAL work_mem TO DEFAULT")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET LOCAL synchronous_commit TO DEFAULT")
        .execute(conn)
        .await?;
    Ok(raised)
}

/// One window of the sweep, in one statement: reviews for the first `chunk` due, unheld records
/// without an open review, in record id order after `after`. Returns the reviews raised and, if
/// the window was full, the record id the next one starts after. A window reads every due record
/// after its start (to pick the first `chunk`), so a backlog of k windows reads it ~k/2 times.
///
/// What makes it fast (234,529 reviews among 1,000,000 records in ~1.5 s, where lock + mark +
/// insert cost ~60 µs a review): no write to the record row (under review is the open review), no
/// foreign-key check, one `INSERT … SELECT`, rows inserted in record id order with ascending
/// (version 7) review ids so both keys of the review table grow at their right edges. What keeps
/// it correct:
/// - the tenant's review lock (see [`lock_reviews`]) is held, so nothing else raises or
///   withdraws the tenant's reviews meanwhile, and this statement's snapshot is later than any
///   earlier holder's commit;
/// - a record with an open review is skipped (anti-join); the partial unique key
///   `disposal_reviews_open_key` would refuse a second one anyway, failing the sweep instead;
/// - held records are skipped: `retention.is_held` written out as anti-joins (called per row the
///   function costs ~20 µs, 4 s over this backlog).
///
/// Plan safety: the statement reads the table it inserts into. On a first sweep the planner sees
/// an empty review table and may choose a nested loop whose inner side re-scans it for every
/// record — while this very statement fills it (a run measured here did not finish in 10 min).
/// `enable_nestloop = off` leaves hash and merge anti-joins, linear whatever the statistics say;
/// nothing in the sweep is small enough on both sides for a nested loop to matter. JIT is off
/// (it compiled for ~40 ms a window and saved nothing) and the sort of a window stays in memory.
/// `synchronous_commit = off`: the sweep is re-runnable, so a crash can lose at most reviews the
/// next sweep raises again.
async fn sweep_window(
    conn: &mut PgConnection,
    tenant: &TenantId,
    today: Date,
    after: Option<Uuid>,
    chunk: i64,
) -> Result<(u64, Option<Uuid>), StoreError> {
    sqlx::query("SET LOCAL enable_nestloop = off")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET LOCAL jit = off")
        .execute(&mut *conn)
        .await?;
    sqlx::query("SET LOCAL work_mem = '64MB'")
        .execute(&mut *conn)
        .await?;
    // A window lost in a crash is raised again by the next sweep: no need to wait for its flush.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *conn)
        .await?;
    lock_reviews(&mut *conn, tenant).await?;
    let row: (i64, Option<Uuid>) = sqlx::query_as(
        "WITH w_raised AS ( \
             INSERT INTO retention.disposal_reviews \
                 (tenant_id, review_id, record_id, review_on, explanation, early) \
             SELECT $1, retention.uuid_v7(), w.record_id, w.review_on, w.explanation, false \
             FROM ( \
                 SELECT c.record_id, c.review_on, c.explanation FROM retention.records c \
                 WHERE c.tenant_id = $1 AND c.state = 'active' AND c.review_on <= $2 \
                   AND c.record_id > $3 \
                   AND NOT EXISTS (SELECT 1 FROM retention.disposal_reviews d \
                       WHERE d.tenant_id = c.tenant_id AND d.record_id = c.record_id \
                         AND d.state = 'open') \
                   AND NOT EXISTS (SELECT 1 FROM retention.legal_holds h \
                       WHERE h.tenant_id = c.tenant_id AND h.released_at IS NULL \
                         AND h.person_id = c.person_id) \
                   AND NOT EXISTS (SELECT 1 FROM retention.legal_holds h \
                       WHERE h.tenant_id = c.tenant_id AND h.released_at IS NULL \
                         AND h.record_class_id = c.record_class_id) \
                   AND NOT EXISTS (SELECT 1 FROM retention.legal_hold_records hr \
                       JOIN retention.legal_holds h \
                         ON h.tenant_id = hr.tenant_id AND h.hold_id = hr.hold_id \
                       WHERE hr.tenant_id = c.tenant_id AND hr.record_id = c.record_id \
                         AND h.released_at IS NULL) \
                 ORDER BY c.record_id LIMIT $4) AS w \
             RETURNING record_id) \
         SELECT (SELECT count(*) FROM w_raised), \
                (SELECT record_id FROM w_raised ORDER BY record_id DESC LIMIT 1)",
    )
    .bind(tenant.as_str())
    .bind(today)
    .bind(after.unwrap_or_else(Uuid::nil))
    .bind(chunk)
    .fetch_one(conn)
    .await?;
    Ok(match row {
        (raised, Some(last)) if raised >= chunk => (raised as u64, Some(last)),
        (raised, _) => (raised as u64, None),
    })
}

impl Store {
    /// Raises reviews for the tenant's due records; returns how many. Each window commits on its
    /// own, so a large backlog makes progress even if a later window fails.
    pub async fn sweep(&self, tenant: &TenantId, today: Date) -> Result<u64, StoreError> {
        let mut raised = 0;
        let mut after = None;
        loop {
            let mut tx = self.pool.begin().await?;
            let (n, until) = sweep_window(&mut tx, tenant, today, after, self.sweep_chunk).await?;
            tx.commit().await?;
            raised += n;
            match until {
                Some(key) => after = Some(key),
                None => return Ok(raised),
            }
        }
    }

    /// Raises a review of one record before its date (early disposal). Refused for a held
    /// record or one already under review or disposed of.
    pub async fn raise_review(
        &self,
        tenant: &TenantId,
        record: RecordId,
        today: Date,
    ) -> Result<ReviewRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_reviews(&mut tx, tenant).await?;
        let row: Option<(String, Option<Date>, String, bool)> = sqlx::query_as(
            "SELECT CASE WHEN r.state = 'active' AND EXISTS ( \
                        SELECT 1 FROM retention.disposal_reviews d \
                        WHERE d.tenant_id = r.tenant_id AND d.record_id = r.record_id \
                          AND d.state = 'open') \
                    THEN 'under_review' ELSE r.state END, \
                    r.review_on, r.explanation, \
                    retention.is_held(r.tenant_id, r.record_id, r.person_id, r.record_class_id) \
             FROM retention.records r WHERE r.tenant_id = $1 AND r.record_id = $2 FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(record.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let (state, review_on, explanation, held) =
            row.ok_or_else(|| StoreError::NotFound(record.to_string()))?;
        if held {
            return Err(StoreError::Precondition(format!(
                "{record} is on legal hold: it cannot be offered for disposal"
            )));
        }
        if state != "active" {
            return Err(StoreError::Precondition(format!(
                "{record} is {state}: only an active record can be put up for disposal"
            )));
        }
        let id = ReviewId::generate();
        sqlx::query(
            "INSERT INTO retention.disposal_reviews \
                 (tenant_id, review_id, record_id, review_on, explanation, early) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(record.as_uuid())
        .bind(review_on)
        .bind(&explanation)
        .bind(review_on.is_none_or(|d| d > today))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_review(tenant, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// One review.
    pub async fn get_review(
        &self,
        tenant: &TenantId,
        id: ReviewId,
    ) -> Result<Option<ReviewRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            review_columns!(),
            "WHERE d.tenant_id = $1 AND d.review_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Reviews in `state` (all when `None`), undated then oldest review date first, after the
    /// key `after` of a previous page.
    pub async fn list_reviews(
        &self,
        tenant: &TenantId,
        state: Option<ReviewState>,
        limit: i64,
        after: Option<(Date, Uuid)>,
    ) -> Result<Vec<ReviewRow>, StoreError> {
        let (after_date, after_id) = after.unzip();
        Ok(sqlx::query_as(concat!(
            review_columns!(),
            "WHERE d.tenant_id = $1 AND ($2::text IS NULL OR d.state = $2) \
               AND ($3::date IS NULL \
                    OR (COALESCE(d.review_on, DATE '0001-01-01'), d.review_id) > ($3, $4)) \
             ORDER BY COALESCE(d.review_on, DATE '0001-01-01'), d.review_id LIMIT $5"
        ))
        .bind(tenant.as_str())
        .bind(state.map(ReviewState::code))
        .bind(after_date)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Decides an open review. Destroy or transfer leaves a task for the holding system;
    /// extend re-dates the record with the new date as a floor.
    pub async fn decide_review(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: ReviewId,
        input: DecisionInput,
        violations: dps_types::Violations,
        today: Date,
    ) -> Result<ReviewRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<DecisionRow> = sqlx::query_as(
            "SELECT d.record_id, d.review_on, d.state, \
                    retention.is_held(r.tenant_id, r.record_id, r.person_id, r.record_class_id), \
                    r.system, r.external_id, r.record_class_id \
             FROM retention.disposal_reviews d \
             JOIN retention.records r ON r.tenant_id = d.tenant_id AND r.record_id = d.record_id \
             WHERE d.tenant_id = $1 AND d.review_id = $2 FOR UPDATE OF d, r",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let (record_id, review_on, state, held, system, external_id, class_id) =
            row.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        if state != ReviewState::Open.code() {
            return Err(StoreError::Precondition(format!(
                "{id} is {state}: it was already decided"
            )));
        }
        let (decision, reason) = input
            .parse(violations, review_on, today)
            .map_err(StoreError::Invalid)?;
        if held && !matches!(decision, Decision::Extend { .. }) {
            return Err(StoreError::Precondition(format!(
                "records/{record_id} is on legal hold: it cannot be disposed of"
            )));
        }
        let (method, extended_until) = match &decision {
            Decision::Destroy { method } | Decision::Transfer { method } => {
                (Some(method.clone()), None)
            }
            Decision::Extend { until } => (None, Some(*until)),
        };
        let next_state = if extended_until.is_some() {
            ReviewState::Extended
        } else {
            ReviewState::Approved
        };
        sqlx::query(
            "UPDATE retention.disposal_reviews SET state = $3, decision = $4, decided_by = $5, \
                 decided_at = now(), reason = $6, method = $7, extended_until = $8 \
             WHERE tenant_id = $1 AND review_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(next_state.code())
        .bind(decision.code())
        .bind(caller.as_str())
        .bind(&reason)
        .bind(&method)
        .bind(extended_until)
        .execute(&mut *tx)
        .await?;
        match (&decision, method) {
            (Decision::Extend { until }, _) => {
                let class = self
                    .get_record_class(tenant, RecordClassId::from_uuid(class_id))
                    .await?
                    .ok_or(StoreError::Corrupt("record of an unknown class"))?;
                extend(&mut tx, tenant, record_id, &class, *until).await?;
            }
            (_, Some(method)) => {
                sqlx::query(
                    "INSERT INTO retention.disposal_tasks \
                         (tenant_id, task_id, review_id, record_id, system, external_id, action, \
                          method) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(tenant.as_str())
                .bind(TaskId::generate().as_uuid())
                .bind(id.as_uuid())
                .bind(record_id)
                .bind(&system)
                .bind(&external_id)
                .bind(decision.code())
                .bind(&method)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE retention.records SET state = 'disposal_approved' \
                     WHERE tenant_id = $1 AND record_id = $2",
                )
                .bind(tenant.as_str())
                .bind(record_id)
                .execute(&mut *tx)
                .await?;
            }
            (_, None) => return Err(StoreError::Corrupt("disposal decision without a method")),
        }
        tx.commit().await?;
        self.get_review(tenant, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Gives `system` up to `max` pending tasks, oldest first; concurrent claimers get
    /// different tasks.
    pub async fn claim_tasks(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        system: &str,
        max: i64,
    ) -> Result<Vec<TaskRow>, StoreError> {
        Ok(sqlx::query_as(
            "UPDATE retention.disposal_tasks t SET state = 'claimed', claimed_by = $3, \
                 claimed_at = now() \
             WHERE t.tenant_id = $1 AND t.task_id IN ( \
                 SELECT task_id FROM retention.disposal_tasks \
                 WHERE tenant_id = $1 AND system = $2 AND state = 'pending' \
                 ORDER BY created_at, task_id LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING t.task_id, t.record_id, t.system, t.external_id, t.action, t.method, \
                       t.state, t.created_at",
        )
        .bind(tenant.as_str())
        .bind(system)
        .bind(caller.as_str())
        .bind(max)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Confirms a claimed task: the record is destroyed or transferred and a certificate is
    /// issued. Confirming again returns the same certificate.
    pub async fn confirm_task(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: TaskId,
        method: Option<&str>,
    ) -> Result<CertificateRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM retention.disposal_tasks \
             WHERE tenant_id = $1 AND task_id = $2 FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let state = state.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        match TaskState::from_code(&state) {
            Some(TaskState::Claimed) => {}
            Some(TaskState::Done) => {
                tx.rollback().await?;
                return sqlx::query_as(concat!(
                    certificate_columns!(),
                    "WHERE tenant_id = $1 AND task_id = $2"
                ))
                .bind(tenant.as_str())
                .bind(id.as_uuid())
                .fetch_one(&self.pool)
                .await
                .map_err(Into::into);
            }
            Some(TaskState::Pending) => {
                return Err(StoreError::Precondition(format!(
                    "{id} is pending: claim it before confirming"
                )));
            }
            Some(TaskState::Cancelled) => {
                return Err(StoreError::Precondition(format!(
                    "{id} was cancelled by a legal hold: the record must be kept"
                )));
            }
            None => return Err(StoreError::Corrupt("task state")),
        }
        let row: CertificateRow = sqlx::query_as(
            "INSERT INTO retention.disposal_certificates \
                 (tenant_id, certificate_id, task_id, record_id, record_class_code, system, \
                  external_id, person_id, action, method, review_on, explanation, \
                  schedule_version, approved_by, approved_at, confirmed_by, \
                  outside_schedule_reason) \
             SELECT t.tenant_id, $3, t.task_id, t.record_id, c.code, r.system, r.external_id, \
                    r.person_id, t.action, COALESCE($4, t.method), d.review_on, d.explanation, \
                    r.schedule_version, d.decided_by, d.decided_at, $5, \
                    CASE WHEN $6 THEN d.reason END \
             FROM retention.disposal_tasks t \
             JOIN retention.disposal_reviews d \
               ON d.tenant_id = t.tenant_id AND d.review_id = t.review_id \
             JOIN retention.records r ON r.tenant_id = t.tenant_id AND r.record_id = t.record_id \
             JOIN retention.record_classes c \
               ON c.tenant_id = r.tenant_id AND c.record_class_id = r.record_class_id \
             WHERE t.tenant_id = $1 AND t.task_id = $2 \
             RETURNING certificate_id, record_id, record_class_code, system, external_id, \
                       person_id, action, method, review_on, explanation, schedule_version, \
                       approved_by, approved_at, confirmed_by, disposed_at, \
                       outside_schedule_reason",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(CertificateId::generate().as_uuid())
        .bind(method)
        .bind(caller.as_str())
        .bind(self.outside_schedule(&mut tx, tenant, id).await?)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE retention.disposal_tasks SET state = 'done' \
             WHERE tenant_id = $1 AND task_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE retention.records \
             SET state = CASE WHEN $3 = 'transfer' THEN 'transferred' ELSE 'destroyed' END \
             WHERE tenant_id = $1 AND record_id = $2",
        )
        .bind(tenant.as_str())
        .bind(row.record_id)
        .bind(&row.action)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Whether the task's approval was outside the schedule (its reason then goes on the
    /// certificate).
    async fn outside_schedule(
        &self,
        conn: &mut PgConnection,
        tenant: &TenantId,
        task: TaskId,
    ) -> Result<bool, StoreError> {
        let (review_on, decided_at): (Option<Date>, Option<OffsetDateTime>) = sqlx::query_as(
            "SELECT d.review_on, d.decided_at FROM retention.disposal_tasks t \
             JOIN retention.disposal_reviews d \
               ON d.tenant_id = t.tenant_id AND d.review_id = t.review_id \
             WHERE t.tenant_id = $1 AND t.task_id = $2",
        )
        .bind(tenant.as_str())
        .bind(task.as_uuid())
        .fetch_one(conn)
        .await?;
        let decided = decided_at.ok_or(StoreError::Corrupt("approved review without a date"))?;
        Ok(outside_schedule(review_on, decided.date()).is_some())
    }

    /// One certificate.
    pub async fn get_certificate(
        &self,
        tenant: &TenantId,
        id: CertificateId,
    ) -> Result<Option<CertificateRow>, StoreError> {
        Ok(sqlx::query_as(concat!(
            certificate_columns!(),
            "WHERE tenant_id = $1 AND certificate_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?)
    }
}

/// Extends a record's retention to at least `until` and returns it to active.
async fn extend(
    conn: &mut PgConnection,
    tenant: &TenantId,
    record_id: Uuid,
    class: &RecordClass,
    until: Date,
) -> Result<(), StoreError> {
    let row: super::records::RecordRow = sqlx::query_as(concat!(
        super::records::record_columns!(),
        "WHERE r.tenant_id = $1 AND r.record_id = $2"
    ))
    .bind(tenant.as_str())
    .bind(record_id)
    .fetch_one(&mut *conn)
    .await?;
    let (_, facts, _) = row.facts();
    let dating = date_record(class, &facts, Some(until));
    sqlx::query(
        "UPDATE retention.records SET state = 'active', extended_until = $3, review_on = $4, \
             explanation = $5 \
         WHERE tenant_id = $1 AND record_id = $2",
    )
    .bind(tenant.as_str())
    .bind(record_id)
    .bind(until)
    .bind(dating.review_on)
    .bind(&dating.explanation)
    .execute(conn)
    .await?;
    Ok(())
}
