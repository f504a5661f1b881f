//! SQL for the `subject_requests` schema. Every query names its schema and filters on the tenant.

use dps_platform::db::DbError;
use dps_types::{CallerId, TenantId};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{NewSubjectRequest, RequestState, SubjectRequest, SubjectRequestId};

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

/// The subject-requests service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

#[derive(sqlx::FromRow)]
struct SubjectRequestRow {
    subject_request_id: Uuid,
    kind: String,
    channel: String,
    person_id: String,
    state: String,
    received_at: OffsetDateTime,
    created_at: OffsetDateTime,
}

impl TryFrom<SubjectRequestRow> for SubjectRequest {
    type Error = StoreError;
    fn try_from(row: SubjectRequestRow) -> Result<Self, StoreError> {
        SubjectRequest::from_stored(
            SubjectRequestId::from_uuid(row.subject_request_id),
            &row.kind,
            &row.channel,
            row.person_id,
            &row.state,
            row.received_at,
            row.created_at,
        )
        .ok_or(StoreError::Corrupt("kind, channel or state"))
    }
}

impl Store {
    /// Storage on the runtime pool.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records a request as received. With a `request_id` already used by this caller in this
    /// tenant, returns the request that call recorded instead of a duplicate.
    pub async fn create_subject_request(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        request: &NewSubjectRequest,
    ) -> Result<SubjectRequest, StoreError> {
        let inserted: Option<SubjectRequestRow> = sqlx::query_as(
            "INSERT INTO subject_requests.subject_requests \
                 (tenant_id, subject_request_id, kind, channel, person_id, state, received_at, \
                  created_by, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT ON CONSTRAINT subject_requests_request_id_key DO NOTHING \
             RETURNING subject_request_id, kind, channel, person_id, state, received_at, created_at",
        )
        .bind(tenant.as_str())
        .bind(SubjectRequestId::generate().as_uuid())
        .bind(request.kind().code())
        .bind(request.channel().code())
        .bind(request.person_id().expose())
        // Every request starts as received (DESIGN §3.1); `state` is output only.
        .bind(RequestState::Received.code())
        .bind(request.received_at())
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        let row = match inserted {
            Some(row) => row,
            // The conflict can only be on the idempotency key, which is then not null.
            None => sqlx::query_as(
                "SELECT subject_request_id, kind, channel, person_id, state, received_at, created_at \
                 FROM subject_requests.subject_requests \
                 WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
            )
            .bind(tenant.as_str())
            .bind(caller.as_str())
            .bind(request_id)
            .fetch_one(&self.pool)
            .await?,
        };
        row.try_into()
    }

    /// One request of `tenant`, if it exists there.
    pub async fn get_subject_request(
        &self,
        tenant: &TenantId,
        id: SubjectRequestId,
    ) -> Result<Option<SubjectRequest>, StoreError> {
        let row: Option<SubjectRequestRow> = sqlx::query_as(
            "SELECT subject_request_id, kind, channel, person_id, state, received_at, created_at \
             FROM subject_requests.subject_requests \
             WHERE tenant_id = $1 AND subject_request_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(SubjectRequest::try_from).transpose()
    }
}
