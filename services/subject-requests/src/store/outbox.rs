//! The transactional outbox (issue 10): effects written with the change that caused them, then
//! claimed, delivered and marked by the dispatcher. The queue spans tenants: the dispatcher works
//! for all of them, and every row carries its tenant and caller to act as.

use std::time::Duration;

use dps_types::{CallerId, TenantId};
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreError;
use crate::domain::erasure::{self, RetainedRecord};
use crate::domain::notices::{self, Disclosed};
use crate::domain::outbox::Effect;
use crate::domain::pack::SourceField;
use crate::domain::tasks::{PERSON, TaskAction, TaskId};
use crate::domain::{RequestKind, RequestState, SubjectRequestId};

/// An effect to deliver, as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The tenant to act in.
    pub tenant: TenantId,
    /// Unique; sent to the receiver as its idempotency key.
    pub message_id: Uuid,
    /// The request that caused it.
    pub subject_request: SubjectRequestId,
    /// What to do.
    pub effect: Effect,
    /// About whom.
    pub person_id: String,
    /// When the causing step happened.
    pub occurred_at: OffsetDateTime,
    /// Who made the step, and their roles: the receiver acts for them.
    pub caller: CallerId,
    /// Their roles.
    pub roles: Vec<String>,
    /// The step's trace context.
    pub traceparent: Option<String>,
    /// Deliveries tried so far, this one included.
    pub attempts: u32,
}

/// Where a message stands, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxStatus {
    /// The effect's code.
    pub effect: String,
    /// Deliveries tried.
    pub attempts: i32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<OffsetDateTime>,
    /// When the receiver refused it for good.
    pub failed_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    tenant_id: String,
    message_id: Uuid,
    subject_request_id: Uuid,
    effect: String,
    person_id: String,
    occurred_at: OffsetDateTime,
    caller: String,
    roles: Vec<String>,
    traceparent: Option<String>,
    attempts: i32,
}

impl MessageRow {
    fn into_message(self) -> Result<OutboxMessage, StoreError> {
        Ok(OutboxMessage {
            tenant: TenantId::parse(&self.tenant_id).map_err(|_| StoreError::Corrupt("tenant"))?,
            message_id: self.message_id,
            subject_request: SubjectRequestId::from_uuid(self.subject_request_id),
            effect: Effect::from_code(&self.effect).ok_or(StoreError::Corrupt("outbox effect"))?,
            person_id: self.person_id,
            occurred_at: self.occurred_at,
            caller: CallerId::parse(&self.caller).map_err(|_| StoreError::Corrupt("caller"))?,
            roles: self.roles,
            traceparent: self.traceparent,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
        })
    }
}

/// Who makes a change, as the effects it causes must act: the caller, their roles and the trace
/// the change belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The verified caller.
    pub caller: &'a CallerId,
    /// Their roles.
    pub roles: &'a [String],
    /// The W3C `traceparent` of the call, if traced.
    pub traceparent: Option<&'a str>,
}

/// Writes the effect a move of the locked request to `next` causes, if any, inside the
/// transaction of the move. The same effect of the same request is written once.
pub(super) async fn follow_move(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
    locked: &super::Locked,
    next: RequestState,
    occurred_at: OffsetDateTime,
    actor: &Actor<'_>,
) -> Result<(), StoreError> {
    for effect in Effect::of_move(locked.kind, locked.state, next) {
        owe(
            tx,
            tenant,
            id,
            &locked.person_id,
            *effect,
            occurred_at,
            actor,
        )
        .await?;
    }
    Ok(())
}

/// Writes `effect` of request `id` about `person_id`, caused by a step of `actor` at
/// `occurred_at`, inside the step's transaction; once per request and effect.
pub(super) async fn owe(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
    person_id: &str,
    effect: Effect,
    occurred_at: OffsetDateTime,
    actor: &Actor<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO subject_requests.outbox \
             (tenant_id, message_id, subject_request_id, effect, person_id, occurred_at, caller, \
              roles, traceparent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT ON CONSTRAINT outbox_effect_key DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(Uuid::now_v7())
    .bind(id.as_uuid())
    .bind(effect.code())
    .bind(person_id)
    .bind(occurred_at)
    .bind(actor.caller.as_str())
    .bind(actor.roles)
    .bind(actor.traceparent)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes `effect` of the request `message` came from, acting as the same caller, in the trace
/// `traceparent`: a step that follows from an answer belongs to the change that asked.
async fn insert_effect(
    tx: &mut Transaction<'_, Postgres>,
    message: &OutboxMessage,
    effect: Effect,
    traceparent: Option<&str>,
) -> Result<(), StoreError> {
    let actor = Actor {
        caller: &message.caller,
        roles: &message.roles,
        traceparent,
    };
    owe(
        tx,
        &message.tenant,
        message.subject_request,
        &message.person_id,
        effect,
        message.occurred_at,
        &actor,
    )
    .await
}

/// A notice task drafted by the service, once per request, addressee and action.
async fn insert_notice(
    tx: &mut Transaction<'_, Postgres>,
    message: &OutboxMessage,
    action: TaskAction,
    to: &str,
    notice: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO subject_requests.fulfilment_tasks \
             (tenant_id, task_id, subject_request_id, system, action, notice) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT ON CONSTRAINT fulfilment_tasks_system_action_key DO NOTHING",
    )
    .bind(message.tenant.as_str())
    .bind(TaskId::generate().as_uuid())
    .bind(message.subject_request.as_uuid())
    .bind(to)
    .bind(action.code())
    .bind(notice)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn request_kind(
    tx: &mut Transaction<'_, Postgres>,
    message: &OutboxMessage,
) -> Result<RequestKind, StoreError> {
    let kind: String = sqlx::query_scalar(
        "SELECT kind FROM subject_requests.subject_requests \
         WHERE tenant_id = $1 AND subject_request_id = $2",
    )
    .bind(message.tenant.as_str())
    .bind(message.subject_request.as_uuid())
    .fetch_one(&mut **tx)
    .await?;
    RequestKind::from_code(&kind).ok_or(StoreError::Corrupt("kind"))
}

/// A system the retention service says may hold the person's data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoundSystem {
    /// Its name, as in the asset register.
    pub system: String,
    /// Why it is listed (records registered there, or a system searched by hand).
    pub reason: String,
    /// From its asset register entry, for an access response: the categories of data held ...
    pub categories: Vec<String>,
    /// ... the recipients it names ...
    pub recipients: Vec<String>,
    /// ... and its international transfers with their safeguards.
    pub transfers: Vec<String>,
}

/// Keeps what another service said for a pack field, once per request, field and answer.
async fn keep_source(
    tx: &mut Transaction<'_, Postgres>,
    message: &OutboxMessage,
    field: SourceField,
    entries: &[String],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO subject_requests.pack_sources \
             (tenant_id, subject_request_id, field, origin, entries) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT ON CONSTRAINT pack_sources_pkey DO NOTHING",
    )
    .bind(message.tenant.as_str())
    .bind(message.subject_request.as_uuid())
    .bind(field.code())
    .bind(message.effect.code())
    .bind(entries)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn distinct(entries: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in entries {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

async fn mark_delivered(
    tx: &mut Transaction<'_, Postgres>,
    message: &OutboxMessage,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE subject_requests.outbox SET delivered_at = now(), last_error = NULL \
         WHERE tenant_id = $1 AND message_id = $2",
    )
    .bind(message.tenant.as_str())
    .bind(message.message_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Messages of request `id` not yet delivered (waiting, retrying or refused for good).
pub(super) async fn owed(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM subject_requests.outbox \
         WHERE tenant_id = $1 AND subject_request_id = $2 AND delivered_at IS NULL",
    )
    .bind(tenant.as_str())
    .bind(id.as_uuid())
    .fetch_one(&mut **tx)
    .await?)
}

/// The outbox's side of the dispatcher, on the runtime pool.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: PgPool,
}

impl Outbox {
    /// The outbox on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Claims up to `limit` due messages for `lease`: another dispatcher (another replica) skips
    /// them until the lease ends, and a dispatcher that dies mid-delivery leaves them to be
    /// retried after it. Each claim counts as an attempt.
    pub async fn claim(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let rows: Vec<MessageRow> = sqlx::query_as(
            "WITH w_due AS ( \
                 SELECT tenant_id, message_id FROM subject_requests.outbox \
                 WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() \
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             UPDATE subject_requests.outbox o \
             SET attempts = o.attempts + 1, \
                 next_attempt_at = now() + make_interval(secs => $2::double precision / 1000) \
             FROM w_due WHERE o.tenant_id = w_due.tenant_id AND o.message_id = w_due.message_id \
             RETURNING o.tenant_id, o.message_id, o.subject_request_id, o.effect, o.person_id, \
                 o.occurred_at, o.caller, o.roles, o.traceparent, o.attempts",
        )
        .bind(limit)
        .bind(lease_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(MessageRow::into_message).collect()
    }

    /// The receiver confirmed the message.
    pub async fn delivered(&self, message: &OutboxMessage) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE subject_requests.outbox SET delivered_at = now(), last_error = NULL \
             WHERE tenant_id = $1 AND message_id = $2",
        )
        .bind(message.tenant.as_str())
        .bind(message.message_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Delivery failed for a reason that may pass: try again after `wait`.
    pub async fn retry_later(
        &self,
        message: &OutboxMessage,
        wait: Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE subject_requests.outbox \
             SET next_attempt_at = now() + make_interval(secs => $3::double precision / 1000), \
                 last_error = $4 \
             WHERE tenant_id = $1 AND message_id = $2 AND delivered_at IS NULL",
        )
        .bind(message.tenant.as_str())
        .bind(message.message_id)
        .bind(wait_ms)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The retention service's answer to an erasure request's [`Effect::CheckErasure`]: kept with
    /// the request and the message marked delivered in one transaction, so an answer is never
    /// half kept; an answer to a redelivered message changes nothing.
    ///
    /// While the request is open, the answer is acted on in the same transaction
    /// ([`erasure::plan`]): an erase task per holding system scoped to the records that may go
    /// (an intake erase task for that system is narrowed to them, or waived when everything
    /// there must be kept), a notice task telling the person what is kept and why, and the
    /// follow-up messages to the consent service ([`Effect::AFTER_ERASURE_CHECK`]).
    ///
    /// The follow-up messages carry `traceparent` (the delivery's), else the message's own.
    pub async fn erasure_checked(
        &self,
        message: &OutboxMessage,
        records: &[RetainedRecord],
        traceparent: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Only the first answer counts: a later one (after a redelivery) may list records
        // registered since, and would blur what was known when the request was judged.
        let first: Option<(String, bool)> = sqlx::query_as(
            "UPDATE subject_requests.subject_requests SET erasure_checked_at = now() \
             WHERE tenant_id = $1 AND subject_request_id = $2 AND erasure_checked_at IS NULL \
             RETURNING state, is_open",
        )
        .bind(message.tenant.as_str())
        .bind(message.subject_request.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((state, is_open)) = first {
            for r in records {
                sqlx::query(
                    "INSERT INTO subject_requests.erasure_retention \
                         (tenant_id, subject_request_id, record, record_class_code, system, \
                          external_id, must_keep, reasons) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(message.tenant.as_str())
                .bind(message.subject_request.as_uuid())
                .bind(&r.record)
                .bind(&r.record_class_code)
                .bind(&r.system)
                .bind(&r.external_id)
                .bind(r.must_keep)
                .bind(&r.reasons)
                .execute(&mut *tx)
                .await?;
            }
            // A request withdrawn (or refused) meanwhile keeps the answer, and nothing follows.
            if is_open {
                let state = RequestState::from_code(&state).ok_or(StoreError::Corrupt("state"))?;
                let traceparent = traceparent.or(message.traceparent.as_deref());
                self.act_on_erasure_check(&mut tx, message, state, records, traceparent)
                    .await?;
            }
        }
        mark_delivered(&mut tx, message).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn act_on_erasure_check(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        message: &OutboxMessage,
        state: RequestState,
        records: &[RetainedRecord],
        traceparent: Option<&str>,
    ) -> Result<(), StoreError> {
        let tenant = &message.tenant;
        let id = message.subject_request;
        let plan = erasure::plan(&id.to_string(), records);
        for (system, may_go) in &plan.erase {
            // One task per system and action: an erase task given at intake (every record of
            // the person there) is narrowed to the records that may go, if still pending.
            sqlx::query(
                "INSERT INTO subject_requests.fulfilment_tasks \
                     (tenant_id, task_id, subject_request_id, system, action, records) \
                 VALUES ($1, $2, $3, $4, 'erase', $5) \
                 ON CONFLICT ON CONSTRAINT fulfilment_tasks_system_action_key DO UPDATE \
                 SET records = EXCLUDED.records \
                 WHERE subject_requests.fulfilment_tasks.state = 'pending'",
            )
            .bind(tenant.as_str())
            .bind(TaskId::generate().as_uuid())
            .bind(id.as_uuid())
            .bind(system)
            .bind(may_go)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "UPDATE subject_requests.fulfilment_tasks \
             SET state = 'waived', waiver_reason = $4, done_by = $5, done_at = now() \
             WHERE tenant_id = $1 AND subject_request_id = $2 AND action = 'erase' \
               AND state = 'pending' AND system = ANY($3)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(&plan.kept_only)
        .bind(erasure::KEPT_WAIVER)
        .bind(message.caller.as_str())
        .execute(&mut **tx)
        .await?;
        if let Some(notice) = &plan.person_notice {
            insert_notice(tx, message, TaskAction::NotifyPerson, PERSON, notice).await?;
        }
        for effect in Effect::AFTER_ERASURE_CHECK {
            insert_effect(tx, message, effect, traceparent).await?;
        }
        let kept = records.iter().filter(|r| r.must_keep).count();
        let reason = format!(
            "retention answer: {} record(s) may be erased (erase tasks for {}), {kept} must be \
             kept{}",
            records.len() - kept,
            if plan.erase.is_empty() {
                "no system".to_owned()
            } else {
                plan.erase
                    .iter()
                    .map(|(s, _)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            if kept > 0 {
                " and are refused: the person is told why by a notice task"
            } else {
                ""
            }
        );
        super::insert_history(
            tx,
            tenant,
            id,
            "erasure_checked",
            Some(state),
            state,
            &message.caller,
            &reason,
        )
        .await
    }

    /// The consent service's disclosures of the person ([`Effect::ListDisclosures`]): a notice
    /// task per recipient, written with the delivered mark; a redelivery adds no second notice
    /// (one task per request, recipient and action).
    pub async fn disclosures_listed(
        &self,
        message: &OutboxMessage,
        disclosures: &[Disclosed],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let kind = request_kind(&mut tx, message).await?;
        if matches!(kind, RequestKind::Access | RequestKind::Portability) {
            let recipients = distinct(disclosures.iter().map(|d| d.recipient.clone()));
            keep_source(&mut tx, message, SourceField::Recipients, &recipients).await?;
        }
        for (recipient, notice) in
            notices::recipient_notices(kind, &message.subject_request.to_string(), disclosures)
        {
            insert_notice(
                &mut tx,
                message,
                TaskAction::NotifyRecipient,
                &recipient,
                &notice,
            )
            .await?;
        }
        mark_delivered(&mut tx, message).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The systems the retention service says may hold the person's data
    /// ([`Effect::FindSystems`]): each given the task the request's kind needs, written with the
    /// delivered mark; one task per system and action, so a redelivery or a task given at intake
    /// adds nothing. A request no longer open gets no tasks.
    pub async fn systems_found(
        &self,
        message: &OutboxMessage,
        systems: &[FoundSystem],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let (kind, state, is_open): (String, String, bool) = sqlx::query_as(
            "SELECT kind, state, is_open FROM subject_requests.subject_requests \
             WHERE tenant_id = $1 AND subject_request_id = $2 FOR UPDATE",
        )
        .bind(message.tenant.as_str())
        .bind(message.subject_request.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        let kind = RequestKind::from_code(&kind).ok_or(StoreError::Corrupt("kind"))?;
        let state = RequestState::from_code(&state).ok_or(StoreError::Corrupt("state"))?;
        if matches!(kind, RequestKind::Access | RequestKind::Portability) {
            for (field, entries) in [
                (
                    SourceField::Categories,
                    distinct(systems.iter().flat_map(|f| f.categories.clone())),
                ),
                (
                    SourceField::Recipients,
                    distinct(systems.iter().flat_map(|f| f.recipients.clone())),
                ),
                (
                    SourceField::InternationalTransferSafeguards,
                    distinct(systems.iter().flat_map(|f| f.transfers.clone())),
                ),
            ] {
                keep_source(&mut tx, message, field, &entries).await?;
            }
        }
        if let (Some(action), true) = (TaskAction::for_request(kind), is_open) {
            let mut added = Vec::new();
            for found in systems {
                let inserted = sqlx::query(
                    "INSERT INTO subject_requests.fulfilment_tasks \
                         (tenant_id, task_id, subject_request_id, system, action) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT ON CONSTRAINT fulfilment_tasks_system_action_key DO NOTHING",
                )
                .bind(message.tenant.as_str())
                .bind(TaskId::generate().as_uuid())
                .bind(message.subject_request.as_uuid())
                .bind(&found.system)
                .bind(action.code())
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 1 {
                    added.push(format!("{} ({})", found.system, found.reason));
                }
            }
            if !added.is_empty() {
                super::insert_history(
                    &mut tx,
                    &message.tenant,
                    message.subject_request,
                    "systems_found",
                    Some(state),
                    state,
                    &message.caller,
                    &format!(
                        "{} task(s) from the information asset register: {}",
                        action.code(),
                        added.join("; ")
                    ),
                )
                .await?;
            }
        }
        mark_delivered(&mut tx, message).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What another service said for the pack's `field` ([`Effect::ListPurposes`],
    /// [`Effect::ListRetention`]), kept with the delivered mark; the first answer counts.
    pub async fn sources_found(
        &self,
        message: &OutboxMessage,
        field: SourceField,
        entries: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        keep_source(&mut tx, message, field, entries).await?;
        mark_delivered(&mut tx, message).await?;
        tx.commit().await?;
        Ok(())
    }

    /// How the request reached us (e.g. `email`) and when: a consent withdrawn because of it is
    /// recorded as made the same way, and its record in the retention registry starts then.
    pub async fn request_facts(
        &self,
        message: &OutboxMessage,
    ) -> Result<(String, OffsetDateTime), StoreError> {
        sqlx::query_as(
            "SELECT channel, received_at FROM subject_requests.subject_requests \
             WHERE tenant_id = $1 AND subject_request_id = $2",
        )
        .bind(message.tenant.as_str())
        .bind(message.subject_request.as_uuid())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(message.subject_request.to_string()))
    }

    /// Whether the restriction the request recorded in the consent service (a restriction
    /// request's, or one while accuracy is checked) was delivered: a lift waits for it.
    pub async fn restriction_delivered(&self, message: &OutboxMessage) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM subject_requests.outbox \
             WHERE tenant_id = $1 AND subject_request_id = $2 AND effect = ANY($3) \
               AND delivered_at IS NOT NULL)",
        )
        .bind(message.tenant.as_str())
        .bind(message.subject_request.as_uuid())
        .bind([
            Effect::RecordRestriction.code(),
            Effect::RecordAccuracyRestriction.code(),
        ])
        .fetch_one(&self.pool)
        .await?)
    }

    /// The receiver refused the message for good: keep it for an operator, never retry.
    pub async fn failed(&self, message: &OutboxMessage, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE subject_requests.outbox SET failed_at = now(), last_error = $3 \
             WHERE tenant_id = $1 AND message_id = $2",
        )
        .bind(message.tenant.as_str())
        .bind(message.message_id)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The effects a request caused and where each stands, oldest first.
    pub async fn of_request(
        &self,
        tenant: &TenantId,
        id: SubjectRequestId,
    ) -> Result<Vec<OutboxStatus>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT effect, attempts, last_error, delivered_at, failed_at \
             FROM subject_requests.outbox \
             WHERE tenant_id = $1 AND subject_request_id = $2 ORDER BY message_id",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await?)
    }
}
