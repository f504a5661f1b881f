//! The schedule: record classes, their versions, and re-dating a class's records when it changes.

use std::collections::HashMap;

use dps_platform::db::{DbFault, classify};
use dps_types::{CallerId, TenantId};
use sqlx::{PgConnection, PgPool};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::records::{self, RecordRow};
use super::{Store, StoreError};
use crate::domain::{ClassChange, NewRecordClass, RecordClass, RecordClassId, default_schedule};

/// The unique constraint on `(tenant_id, code)`: a code names one class in a tenant.
const CODE_KEY: &str = "record_classes_code_key";
/// Who the default schedule is recorded as changed by.
const SEEDER: &str = "dps-retention";

macro_rules! class_columns {
    () => {
        "SELECT record_class_id, code, display_name, description, triggers, rule, end_action, \
         note, schedule_version, created_at FROM retention.record_classes "
    };
}

#[derive(sqlx::FromRow)]
pub(super) struct ClassRow {
    record_class_id: Uuid,
    code: String,
    display_name: String,
    description: String,
    triggers: Vec<String>,
    rule: String,
    end_action: String,
    note: String,
    schedule_version: i32,
    created_at: OffsetDateTime,
}

impl TryFrom<ClassRow> for RecordClass {
    type Error = StoreError;
    fn try_from(row: ClassRow) -> Result<Self, StoreError> {
        RecordClass::from_stored(
            RecordClassId::from_uuid(row.record_class_id),
            row.code,
            &row.display_name,
            &row.description,
            &row.triggers,
            &row.rule,
            &row.end_action,
            &row.note,
            row.schedule_version,
            row.created_at,
        )
        .ok_or(StoreError::Corrupt("record class"))
    }
}

fn trigger_codes(change: &ClassChange) -> Vec<String> {
    change
        .triggers()
        .iter()
        .map(|t| t.code().to_owned())
        .collect()
}

/// Seeds the default schedule if the tenant has none (see [`Store::ensure_tenant`]).
pub(super) async fn seed_default(pool: &PgPool, tenant: &TenantId) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO retention.tenants (tenant_id, schedule_version) VALUES ($1, 1) \
         ON CONFLICT ON CONSTRAINT tenants_pkey DO NOTHING",
    )
    .bind(tenant.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        for class in default_schedule() {
            insert_class(
                &mut tx,
                tenant,
                SEEDER,
                None,
                &class,
                1,
                "the default schedule (003 §19)",
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Inserts a class and its first history row; `None` when the idempotency key was used before.
async fn insert_class(
    conn: &mut PgConnection,
    tenant: &TenantId,
    caller: &str,
    request_id: Option<Uuid>,
    class: &NewRecordClass,
    version: i32,
    reason: &str,
) -> Result<Option<ClassRow>, StoreError> {
    let change = class.change();
    let row: Option<ClassRow> = sqlx::query_as(
        "INSERT INTO retention.record_classes \
             (tenant_id, record_class_id, code, display_name, description, created_by, request_id, \
              triggers, rule, end_action, note, schedule_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT ON CONSTRAINT record_classes_request_id_key DO NOTHING \
         RETURNING record_class_id, code, display_name, description, triggers, rule, end_action, \
                   note, schedule_version, created_at",
    )
    .bind(tenant.as_str())
    .bind(RecordClassId::generate().as_uuid())
    .bind(class.code())
    .bind(change.display_name())
    .bind(change.description())
    .bind(caller)
    .bind(request_id)
    .bind(trigger_codes(change))
    .bind(change.rule().to_string())
    .bind(change.end_action().code())
    .bind(change.note())
    .bind(version)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| match classify(&e) {
        DbFault::UniqueViolation(Some(constraint)) if constraint == CODE_KEY => {
            StoreError::CodeTaken(class.code().to_owned())
        }
        _ => e.into(),
    })?;
    if let Some(row) = &row {
        record_change(
            conn,
            tenant,
            version,
            row.record_class_id,
            class.code(),
            change,
            reason,
            caller,
        )
        .await?;
    }
    Ok(row)
}

#[allow(clippy::too_many_arguments)]
async fn record_change(
    conn: &mut PgConnection,
    tenant: &TenantId,
    version: i32,
    class_id: Uuid,
    code: &str,
    change: &ClassChange,
    reason: &str,
    caller: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO retention.schedule_changes \
             (tenant_id, schedule_version, record_class_id, code, display_name, triggers, rule, \
              end_action, note, reason, changed_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tenant.as_str())
    .bind(version)
    .bind(class_id)
    .bind(code)
    .bind(change.display_name())
    .bind(trigger_codes(change))
    .bind(change.rule().to_string())
    .bind(change.end_action().code())
    .bind(change.note())
    .bind(reason)
    .bind(caller)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes the next schedule version, locking the tenant's row until the transaction ends.
async fn next_version(conn: &mut PgConnection, tenant: &TenantId) -> Result<i32, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE retention.tenants SET schedule_version = schedule_version + 1 \
         WHERE tenant_id = $1 RETURNING schedule_version",
    )
    .bind(tenant.as_str())
    .fetch_one(conn)
    .await?)
}

impl Store {
    /// Adds a record class as a new schedule version. With a `request_id` already used by this
    /// caller, returns the class that call created; a taken code is [`StoreError::CodeTaken`].
    pub async fn create_record_class(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        class: &NewRecordClass,
    ) -> Result<RecordClass, StoreError> {
        let mut tx = self.pool.begin().await?;
        let version = next_version(&mut tx, tenant).await?;
        let inserted = insert_class(
            &mut tx,
            tenant,
            caller.as_str(),
            request_id,
            class,
            version,
            "class added",
        )
        .await?;
        let row = match inserted {
            Some(row) => {
                tx.commit().await?;
                row
            }
            // A retry: the version taken above is rolled back with the transaction.
            None => {
                tx.rollback().await?;
                sqlx::query_as(concat!(
                    class_columns!(),
                    "WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3"
                ))
                .bind(tenant.as_str())
                .bind(caller.as_str())
                .bind(request_id)
                .fetch_one(&self.pool)
                .await?
            }
        };
        row.try_into()
    }

    /// One record class of `tenant`, if it exists there.
    pub async fn get_record_class(
        &self,
        tenant: &TenantId,
        id: RecordClassId,
    ) -> Result<Option<RecordClass>, StoreError> {
        let row: Option<ClassRow> = sqlx::query_as(concat!(
            class_columns!(),
            "WHERE tenant_id = $1 AND record_class_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(RecordClass::try_from).transpose()
    }

    /// The tenant's schedule version and classes, by code.
    pub async fn schedule(&self, tenant: &TenantId) -> Result<(i32, Vec<RecordClass>), StoreError> {
        let version: i32 = sqlx::query_scalar(
            "SELECT schedule_version FROM retention.tenants WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_one(&self.pool)
        .await?;
        let rows: Vec<ClassRow> = sqlx::query_as(concat!(
            class_columns!(),
            "WHERE tenant_id = $1 ORDER BY code"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        let classes = rows
            .into_iter()
            .map(RecordClass::try_from)
            .collect::<Result<_, _>>()?;
        Ok((version, classes))
    }

    /// The tenant's classes by code.
    pub async fn classes_by_code(
        &self,
        tenant: &TenantId,
    ) -> Result<HashMap<String, RecordClass>, StoreError> {
        let (_, classes) = self.schedule(tenant).await?;
        Ok(classes.into_iter().map(|c| (c.code.clone(), c)).collect())
    }

    /// Changes a class as a new schedule version and re-dates its records that are not yet
    /// disposed of, in one transaction. A review left open on a record whose new date has not
    /// come is withdrawn. Returns the class and how many records were re-dated.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_record_class(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: RecordClassId,
        code: &str,
        change: &ClassChange,
        reason: &str,
        today: Date,
    ) -> Result<(RecordClass, u64), StoreError> {
        let mut tx = self.pool.begin().await?;
        let version = next_version(&mut tx, tenant).await?;
        let current: Option<ClassRow> = sqlx::query_as(concat!(
            class_columns!(),
            "WHERE tenant_id = $1 AND record_class_id = $2 FOR UPDATE"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let current = current.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        if current.code != code {
            return Err(StoreError::invalid(
                "record_class.code",
                format!("cannot be changed (is {})", current.code),
            ));
        }
        let row: ClassRow = sqlx::query_as(
            "UPDATE retention.record_classes SET display_name = $3, description = $4, \
                 triggers = $5, rule = $6, end_action = $7, note = $8, schedule_version = $9, \
                 updated_at = now() \
             WHERE tenant_id = $1 AND record_class_id = $2 \
             RETURNING record_class_id, code, display_name, description, triggers, rule, \
                       end_action, note, schedule_version, created_at",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(change.display_name())
        .bind(change.description())
        .bind(trigger_codes(change))
        .bind(change.rule().to_string())
        .bind(change.end_action().code())
        .bind(change.note())
        .bind(version)
        .fetch_one(&mut *tx)
        .await?;
        record_change(
            &mut tx,
            tenant,
            version,
            id.as_uuid(),
            code,
            change,
            reason,
            caller.as_str(),
        )
        .await?;
        let class = RecordClass::try_from(row)?;
        let redated = redate_class(&mut tx, tenant, &class, today).await?;
        tx.commit().await?;
        Ok((class, redated))
    }
}

/// Re-dates every record of `class` not yet disposed of: one read, the rule applied in memory,
/// one `UNNEST` update; then withdraws the reviews of records under review that are no longer
/// due, by id.
async fn redate_class(
    conn: &mut PgConnection,
    tenant: &TenantId,
    class: &RecordClass,
    today: Date,
) -> Result<u64, StoreError> {
    // A sweep must not raise reviews on the old dates while this moves them.
    super::disposal::lock_reviews(conn, tenant).await?;
    let rows: Vec<RecordRow> = sqlx::query_as(concat!(
        records::record_columns!(),
        "WHERE r.tenant_id = $1 AND r.record_class_id = $2 \
           AND r.state = 'active'"
    ))
    .bind(tenant.as_str())
    .bind(class.id.as_uuid())
    .fetch_all(&mut *conn)
    .await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut dates = Vec::with_capacity(rows.len());
    let mut explanations = Vec::with_capacity(rows.len());
    // Records under review that are no longer due: their reviews are withdrawn.
    let mut not_due = Vec::new();
    for row in rows {
        let (id, facts, extended_until) = row.facts();
        let dating = crate::domain::date_record(class, &facts, extended_until);
        if row.under_review() && dating.review_on.is_none_or(|d| d > today) {
            not_due.push(id);
        }
        ids.push(id);
        dates.push(dating.review_on);
        explanations.push(dating.explanation);
    }
    let redated = sqlx::query(
        "UPDATE retention.records r SET review_on = u.review_on, explanation = u.explanation, \
             schedule_version = $2 \
         FROM UNNEST($3::uuid[], $4::date[], $5::text[]) AS u(record_id, review_on, explanation) \
         WHERE r.tenant_id = $1 AND r.record_id = u.record_id",
    )
    .bind(tenant.as_str())
    .bind(class.schedule_version)
    .bind(&ids)
    .bind(&dates)
    .bind(&explanations)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    super::disposal::withdraw_reviews(conn, tenant, &not_due).await?;
    Ok(redated)
}
