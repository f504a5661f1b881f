//! SQL for the `breaches` schema. Every query names its schema and filters on the tenant.

use dps_platform::db::DbError;
use dps_types::{CallerId, TenantId};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{Incident, IncidentId, NewIncident};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (UNAVAILABLE, ABORTED or INTERNAL).
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// The breaches service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct IncidentRow {
    incident_id: Uuid,
    title: String,
    occurred_at: Option<OffsetDateTime>,
    discovered_at: Option<OffsetDateTime>,
    aware_at: OffsetDateTime,
    created_at: OffsetDateTime,
}

impl From<IncidentRow> for Incident {
    fn from(row: IncidentRow) -> Self {
        Incident::from_stored(
            IncidentId::from_uuid(row.incident_id),
            row.title,
            row.occurred_at,
            row.discovered_at,
            row.aware_at,
            row.created_at,
        )
    }
}

impl Store {
    /// Storage on the runtime pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records an incident. With a `request_id` already used by this caller in this tenant,
    /// returns the incident that call recorded instead of a duplicate.
    pub async fn create_incident(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        incident: &NewIncident,
    ) -> Result<Incident, StoreError> {
        let inserted: Option<IncidentRow> = sqlx::query_as(
            "INSERT INTO breaches.incidents \
                 (tenant_id, incident_id, title, occurred_at, discovered_at, aware_at, created_by, \
                  request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT ON CONSTRAINT incidents_request_id_key DO NOTHING \
             RETURNING incident_id, title, occurred_at, discovered_at, aware_at, created_at",
        )
        .bind(tenant.as_str())
        .bind(IncidentId::generate().as_uuid())
        .bind(incident.title())
        .bind(incident.occurred_at())
        .bind(incident.discovered_at())
        .bind(incident.aware_at())
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        let row = match inserted {
            Some(row) => row,
            // The conflict can only be on the idempotency key, which is then not null.
            None => sqlx::query_as(
                "SELECT incident_id, title, occurred_at, discovered_at, aware_at, created_at \
                 FROM breaches.incidents WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
            )
            .bind(tenant.as_str())
            .bind(caller.as_str())
            .bind(request_id)
            .fetch_one(&self.pool)
            .await?,
        };
        Ok(row.into())
    }

    /// One incident of `tenant`, if it exists there.
    pub async fn get_incident(
        &self,
        tenant: &TenantId,
        id: IncidentId,
    ) -> Result<Option<Incident>, StoreError> {
        let row: Option<IncidentRow> = sqlx::query_as(
            "SELECT incident_id, title, occurred_at, discovered_at, aware_at, created_at \
             FROM breaches.incidents WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Incident::from))
    }
}
