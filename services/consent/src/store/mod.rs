//! SQL for the `consent` schema. Every query names its schema and filters on the tenant.

use dps_platform::db::DbError;
use dps_types::{CallerId, TenantId};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{NewPurpose, Purpose, PurposeId};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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

/// The consent service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct PurposeRow {
    purpose_id: Uuid,
    display_name: String,
    description: String,
    lawful_basis: String,
    created_at: OffsetDateTime,
}

impl TryFrom<PurposeRow> for Purpose {
    type Error = StoreError;
    fn try_from(row: PurposeRow) -> Result<Self, StoreError> {
        Purpose::from_stored(
            PurposeId::from_uuid(row.purpose_id),
            row.display_name,
            row.description,
            &row.lawful_basis,
            row.created_at,
        )
        .ok_or(StoreError::Corrupt("lawful basis"))
    }
}

impl Store {
    /// Storage on the runtime pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Registers a purpose. With a `request_id` already used by this caller in this tenant, returns
    /// the purpose that request created instead of a duplicate.
    pub async fn create_purpose(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        purpose: &NewPurpose,
    ) -> Result<Purpose, StoreError> {
        let inserted: Option<PurposeRow> = sqlx::query_as(
            "INSERT INTO consent.purposes \
                 (tenant_id, purpose_id, display_name, description, lawful_basis, created_by, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT ON CONSTRAINT purposes_request_id_key DO NOTHING \
             RETURNING purpose_id, display_name, description, lawful_basis, created_at",
        )
        .bind(tenant.as_str())
        .bind(PurposeId::generate().as_uuid())
        .bind(purpose.display_name())
        .bind(purpose.description())
        .bind(purpose.lawful_basis().code())
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        let row = match inserted {
            Some(row) => row,
            // The conflict can only be on the idempotency key, which is then not null.
            None => sqlx::query_as(
                "SELECT purpose_id, display_name, description, lawful_basis, created_at \
                 FROM consent.purposes WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
            )
            .bind(tenant.as_str())
            .bind(caller.as_str())
            .bind(request_id)
            .fetch_one(&self.pool)
            .await?,
        };
        row.try_into()
    }

    /// One purpose of `tenant`, if it exists there.
    pub async fn get_purpose(
        &self,
        tenant: &TenantId,
        id: PurposeId,
    ) -> Result<Option<Purpose>, StoreError> {
        let row: Option<PurposeRow> = sqlx::query_as(
            "SELECT purpose_id, display_name, description, lawful_basis, created_at \
             FROM consent.purposes WHERE tenant_id = $1 AND purpose_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Purpose::try_from).transpose()
    }
}
