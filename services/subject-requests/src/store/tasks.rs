//! Fulfilment tasks: created with their request, picked up by systems, completed or waived. A
//! change to a task locks its request first, so completing the request cannot race a task.

use dps_crypto::{Opened, Sealed};
use dps_types::{CallerId, Masked, TenantId};
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Store, StoreError, insert_history};
use crate::domain::tasks::{FulfilmentTask, TaskAction, TaskId, TaskOutcome, TaskSpec, TaskState};
use crate::domain::{Rejection, RequestKind, RequestState, SubjectRequestId};

/// The label an export's ciphertext is bound to.
const EXPORT_LABEL: &str = "fulfilment_tasks.export_json";

macro_rules! task_columns {
    () => {
        "t.task_id, t.subject_request_id, t.system, t.action, t.records, t.notice, t.state, \
         r.person_id, \
         t.export_json, t.affected_records, t.waiver_reason, t.disproportionate_justification, \
         t.done_by, t.done_at, t.created_at"
    };
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    task_id: Uuid,
    subject_request_id: Uuid,
    system: String,
    action: String,
    records: Option<Vec<String>>,
    notice: Option<String>,
    state: String,
    person_id: String,
    export_json: Option<Vec<u8>>,
    affected_records: Option<i64>,
    waiver_reason: Option<String>,
    disproportionate_justification: Option<String>,
    done_by: Option<String>,
    done_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

/// A task and its request, locked to finish the task.
#[derive(sqlx::FromRow)]
struct FinishHead {
    subject_request_id: Uuid,
    state: String,
    person_id: String,
    kind: String,
    retention_answered: bool,
    system: String,
    action: String,
    task_state: String,
}

/// Where a page of tasks starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPageKey {
    /// The last task's creation.
    pub created_at: OffsetDateTime,
    /// The last task's id.
    pub id: Uuid,
}

pub(super) async fn insert_specs(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
    specs: &[TaskSpec],
) -> Result<(), StoreError> {
    for spec in specs {
        sqlx::query(
            "INSERT INTO subject_requests.fulfilment_tasks \
                 (tenant_id, task_id, subject_request_id, system, action) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.as_str())
        .bind(TaskId::generate().as_uuid())
        .bind(id.as_uuid())
        .bind(&spec.system)
        .bind(spec.action.code())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn pending_count(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM subject_requests.fulfilment_tasks \
         WHERE tenant_id = $1 AND subject_request_id = $2 AND state = 'pending'",
    )
    .bind(tenant.as_str())
    .bind(id.as_uuid())
    .fetch_one(&mut **tx)
    .await?)
}

impl Store {
    async fn decode_tasks(
        &self,
        tenant: &TenantId,
        rows: Vec<TaskRow>,
    ) -> Result<Vec<FulfilmentTask>, StoreError> {
        let sealed: Vec<(usize, Sealed)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, Sealed::from(r.export_json.clone()?))))
            .collect();
        let fields: Vec<(&str, &Sealed)> = sealed.iter().map(|(_, s)| (EXPORT_LABEL, s)).collect();
        let mut exports: Vec<Masked<String>> = rows.iter().map(|_| Masked::default()).collect();
        if !fields.is_empty() {
            let opened = self.vault.open(tenant, &fields).await?;
            for ((i, _), opened) in sealed.iter().zip(opened) {
                // A shredded key leaves the export empty, as the other personal fields.
                if let Opened::Value(value) = opened {
                    exports[*i] = value;
                }
            }
        }
        rows.into_iter()
            .zip(exports)
            .map(|(row, export_json)| {
                Ok(FulfilmentTask {
                    id: TaskId::from_uuid(row.task_id),
                    request: SubjectRequestId::from_uuid(row.subject_request_id),
                    system: row.system,
                    action: TaskAction::from_code(&row.action)
                        .ok_or(StoreError::Corrupt("task action"))?,
                    records: row.records.unwrap_or_default(),
                    notice: row.notice,
                    state: TaskState::from_code(&row.state)
                        .ok_or(StoreError::Corrupt("task state"))?,
                    person_id: Masked::new(row.person_id),
                    export_json,
                    affected_records: row.affected_records,
                    waiver_reason: row.waiver_reason,
                    justification: row.disproportionate_justification,
                    done_by: row.done_by,
                    done_at: row.done_at,
                    created_at: row.created_at,
                })
            })
            .collect()
    }

    /// Pending tasks of open requests for `system`, oldest first.
    pub async fn pending_tasks(
        &self,
        tenant: &TenantId,
        system: &str,
        page_size: i64,
        after: Option<&TaskPageKey>,
    ) -> Result<(Vec<FulfilmentTask>, Option<TaskPageKey>), StoreError> {
        let (after_at, after_id) = after.map_or((None, None), |k| (Some(k.created_at), Some(k.id)));
        let mut rows: Vec<TaskRow> = sqlx::query_as(concat!(
            "SELECT ",
            task_columns!(),
            " FROM subject_requests.fulfilment_tasks t \
             JOIN subject_requests.subject_requests r \
               ON r.tenant_id = t.tenant_id AND r.subject_request_id = t.subject_request_id \
             WHERE t.tenant_id = $1 AND t.system = $2 AND t.state = 'pending' AND r.is_open \
               AND ($3::timestamptz IS NULL OR (t.created_at, t.task_id) > ($3, $4)) \
             ORDER BY t.created_at, t.task_id LIMIT $5"
        ))
        .bind(tenant.as_str())
        .bind(system)
        .bind(after_at)
        .bind(after_id)
        .bind(page_size + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = usize::try_from(page_size).is_ok_and(|n| rows.len() > n);
        if more {
            rows.pop();
        }
        let next = rows.last().filter(|_| more).map(|r| TaskPageKey {
            created_at: r.created_at,
            id: r.task_id,
        });
        Ok((self.decode_tasks(tenant, rows).await?, next))
    }

    async fn get_task(&self, tenant: &TenantId, id: TaskId) -> Result<FulfilmentTask, StoreError> {
        let rows: Vec<TaskRow> = sqlx::query_as(concat!(
            "SELECT ",
            task_columns!(),
            " FROM subject_requests.fulfilment_tasks t \
             JOIN subject_requests.subject_requests r \
               ON r.tenant_id = t.tenant_id AND r.subject_request_id = t.subject_request_id \
             WHERE t.tenant_id = $1 AND t.task_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        self.decode_tasks(tenant, rows)
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Completes or waives a pending task of an open request, with a history entry on the
    /// request. `outcome_for` checks the outcome against the task's action.
    pub async fn finish_task(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: TaskId,
        outcome_for: impl FnOnce(TaskAction) -> Result<TaskOutcome, Rejection>,
    ) -> Result<FulfilmentTask, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The request first, then the task: the same order as completing the request.
        let head: Option<FinishHead> = sqlx::query_as(
            "SELECT r.subject_request_id, r.state, r.person_id, r.kind, \
                    r.erasure_checked_at IS NOT NULL AS retention_answered, \
                    t.system, t.action, t.state AS task_state \
             FROM subject_requests.subject_requests r \
             JOIN subject_requests.fulfilment_tasks t \
               ON t.tenant_id = r.tenant_id AND t.subject_request_id = r.subject_request_id \
             WHERE t.tenant_id = $1 AND t.task_id = $2 \
             FOR UPDATE OF r, t",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(FinishHead {
            subject_request_id: request,
            state,
            person_id,
            kind,
            retention_answered,
            system,
            action,
            task_state,
        }) = head
        else {
            return Err(StoreError::NotFound(id.to_string()));
        };
        let request = SubjectRequestId::from_uuid(request);
        let state = RequestState::from_code(&state).ok_or(StoreError::Corrupt("state"))?;
        let action = TaskAction::from_code(&action).ok_or(StoreError::Corrupt("task action"))?;
        TaskState::from_code(&task_state)
            .ok_or(StoreError::Corrupt("task state"))?
            .check_pending()?;
        if !state.is_open() {
            return Err(Rejection::Precondition(format!(
                "the request is {state}: its tasks can no longer change"
            ))
            .into());
        }
        let outcome = outcome_for(action)?;
        if matches!(outcome, TaskOutcome::Completed { .. }) {
            let kind = RequestKind::from_code(&kind).ok_or(StoreError::Corrupt("kind"))?;
            crate::domain::erasure::check_erase_after_retention(kind, action, retention_answered)?;
        }
        let history_reason = match &outcome {
            TaskOutcome::Completed {
                export_json,
                affected_records,
            } => {
                let export = if export_json.expose().is_empty() {
                    None
                } else {
                    let sealed = self
                        .vault
                        .seal(tenant, &person_id, &[(EXPORT_LABEL, export_json.expose())])
                        .await?;
                    sealed.into_iter().next().map(Sealed::into_bytes)
                };
                let affected = (action != TaskAction::Export).then_some(*affected_records);
                sqlx::query(
                    "UPDATE subject_requests.fulfilment_tasks \
                     SET state = 'completed', export_json = $3, affected_records = $4, \
                         done_by = $5, done_at = now() \
                     WHERE tenant_id = $1 AND task_id = $2",
                )
                .bind(tenant.as_str())
                .bind(id.as_uuid())
                .bind(export)
                .bind(affected)
                .bind(caller.as_str())
                .execute(&mut *tx)
                .await?;
                format!("{system}: {} completed", action.code())
            }
            TaskOutcome::Waived {
                reason,
                justification,
            } => {
                sqlx::query(
                    "UPDATE subject_requests.fulfilment_tasks \
                     SET state = 'waived', waiver_reason = $3, \
                         disproportionate_justification = $4, done_by = $5, done_at = now() \
                     WHERE tenant_id = $1 AND task_id = $2",
                )
                .bind(tenant.as_str())
                .bind(id.as_uuid())
                .bind(reason)
                .bind(justification)
                .bind(caller.as_str())
                .execute(&mut *tx)
                .await?;
                format!("{system}: {} waived: {reason}", action.code())
            }
        };
        let step = match outcome {
            TaskOutcome::Completed { .. } => "task_completed",
            TaskOutcome::Waived { .. } => "task_waived",
        };
        insert_history(
            &mut tx,
            tenant,
            request,
            step,
            Some(state),
            state,
            caller,
            &history_reason,
        )
        .await?;
        tx.commit().await?;
        self.get_task(tenant, id).await
    }

    /// Every task of a request, oldest first.
    pub async fn request_tasks(
        &self,
        tenant: &TenantId,
        request: SubjectRequestId,
    ) -> Result<Vec<FulfilmentTask>, StoreError> {
        let rows: Vec<TaskRow> = sqlx::query_as(concat!(
            "SELECT ",
            task_columns!(),
            " FROM subject_requests.fulfilment_tasks t \
             JOIN subject_requests.subject_requests r \
               ON r.tenant_id = t.tenant_id AND r.subject_request_id = t.subject_request_id \
             WHERE t.tenant_id = $1 AND t.subject_request_id = $2 \
             ORDER BY t.created_at, t.task_id"
        ))
        .bind(tenant.as_str())
        .bind(request.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        self.decode_tasks(tenant, rows).await
    }
}
