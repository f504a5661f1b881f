//! SQL for the `retention` schema. Every query names its schema and filters on the tenant.

use dps_platform::db::{DbError, DbFault, classify};
use dps_types::{CallerId, TenantId};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{NewRecordClass, RecordClass, RecordClassId};

/// The unique constraint on `(tenant_id, code)`: a code names one class in a tenant.
const CODE_KEY: &str = "record_classes_code_key";

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tenant already has a class with this code (ALREADY_EXISTS).
    #[error("a record class with code {0} already exists")]
    CodeTaken(String),
    /// The database failed (UNAVAILABLE, ABORTED or INTERNAL).
    #[error(transparent)]
    Db(#[from] DbError),
    /// A stored row no longer satisfies the domain's rules (INTERNAL).
    #[error("stored {0} is not valid")]
    Corrupt(&'static str),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// The retention service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct RecordClassRow {
    record_class_id: Uuid,
    code: String,
    display_name: String,
    description: String,
    created_at: OffsetDateTime,
}

impl TryFrom<RecordClassRow> for RecordClass {
    type Error = StoreError;
    fn try_from(row: RecordClassRow) -> Result<Self, StoreError> {
        RecordClass::from_stored(
            RecordClassId::from_uuid(row.record_class_id),
            row.code,
            row.display_name,
            row.description,
            row.created_at,
        )
        .ok_or(StoreError::Corrupt("record class code"))
    }
}

impl Store {
    /// Storage on the runtime pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Adds a record class. With a `request_id` already used by this caller in this tenant,
    /// returns the class that call created instead of a duplicate; otherwise a code the tenant
    /// already uses is [`StoreError::CodeTaken`].
    pub async fn create_record_class(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        class: &NewRecordClass,
    ) -> Result<RecordClass, StoreError> {
        // Only the idempotency key is an arbiter: a retry finds its original before the code is
        // checked, and a code conflict raises a unique violation.
        let inserted: Option<RecordClassRow> = sqlx::query_as(
            "INSERT INTO retention.record_classes \
                 (tenant_id, record_class_id, code, display_name, description, created_by, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT ON CONSTRAINT record_classes_request_id_key DO NOTHING \
             RETURNING record_class_id, code, display_name, description, created_at",
        )
        .bind(tenant.as_str())
        .bind(RecordClassId::generate().as_uuid())
        .bind(class.code())
        .bind(class.display_name())
        .bind(class.description())
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| match classify(&e) {
            DbFault::UniqueViolation(Some(constraint)) if constraint == CODE_KEY => {
                StoreError::CodeTaken(class.code().to_owned())
            }
            _ => e.into(),
        })?;
        let row = match inserted {
            Some(row) => row,
            // The conflict can only be on the idempotency key, which is then not null.
            None => {
                sqlx::query_as(
                    "SELECT record_class_id, code, display_name, description, created_at \
                 FROM retention.record_classes \
                 WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
                )
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
        let row: Option<RecordClassRow> = sqlx::query_as(
            "SELECT record_class_id, code, display_name, description, created_at \
             FROM retention.record_classes WHERE tenant_id = $1 AND record_class_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(RecordClass::try_from).transpose()
    }
}
