//! SQL for the `subject_requests` schema. Every query names its schema and filters on the tenant.

use dps_crypto::{Opened, Sealed, ShredReport, Vault, VaultError};
use dps_platform::db::DbError;
use dps_types::{CallerId, Masked, TenantId};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{
    NewSubjectRequest, PersonalDetails, RequestState, StoredRequest, SubjectRequest,
    SubjectRequestId,
};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (UNAVAILABLE, ABORTED or INTERNAL).
    #[error(transparent)]
    Db(#[from] DbError),
    /// A stored row no longer satisfies the domain's rules (INTERNAL).
    #[error("stored {0} is not valid")]
    Corrupt(&'static str),
    /// The key store failed or a sealed field did not authenticate (code per the vault).
    #[error(transparent)]
    Vault(#[from] VaultError),
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
    vault: Vault,
}

/// Every column the store reads, in this order (a macro, so queries stay static strings).
macro_rules! columns {
    () => {
        "subject_request_id, kind, channel, person_id, state, received_at, created_at, \
         requester_name, requester_contact, details"
    };
}

/// The sealed columns: the label each ciphertext is bound to.
const SEALED: [&str; 3] = [
    "subject_requests.requester_name",
    "subject_requests.requester_contact",
    "subject_requests.details",
];

#[derive(sqlx::FromRow)]
struct SubjectRequestRow {
    subject_request_id: Uuid,
    kind: String,
    channel: String,
    person_id: String,
    state: String,
    received_at: OffsetDateTime,
    created_at: OffsetDateTime,
    requester_name: Option<Vec<u8>>,
    requester_contact: Option<Vec<u8>>,
    details: Option<Vec<u8>>,
}

impl Store {
    /// Storage on the runtime pool, sealing personal details through `vault`.
    pub fn new(pool: PgPool, vault: Vault) -> Self {
        Self { pool, vault }
    }

    /// Opens a row's sealed details; `None` when the person's key was shredded.
    async fn decode(
        &self,
        tenant: &TenantId,
        row: SubjectRequestRow,
    ) -> Result<SubjectRequest, StoreError> {
        let sealed: Vec<(usize, Sealed)> = [row.requester_name, row.requester_contact, row.details]
            .into_iter()
            .enumerate()
            .filter_map(|(i, bytes)| Some((i, Sealed::from(bytes?))))
            .collect();
        let fields: Vec<(&str, &Sealed)> = sealed.iter().map(|(i, s)| (SEALED[*i], s)).collect();
        let opened = self.vault.open(tenant, &fields).await?;
        let personal = if opened.contains(&Opened::Erased) {
            None
        } else {
            let mut values: [Masked<String>; 3] = Default::default();
            for ((i, _), opened) in sealed.iter().zip(opened) {
                if let Opened::Value(value) = opened {
                    values[*i] = value;
                }
            }
            let [requester_name, requester_contact, details] = values;
            Some(PersonalDetails {
                requester_name,
                requester_contact,
                details,
            })
        };
        let stored = StoredRequest {
            id: SubjectRequestId::from_uuid(row.subject_request_id),
            kind: &row.kind,
            channel: &row.channel,
            state: &row.state,
            person_id: row.person_id,
            received_at: row.received_at,
            created_at: row.created_at,
        };
        SubjectRequest::from_stored(stored, personal)
            .ok_or(StoreError::Corrupt("kind, channel or state"))
    }

    /// Seals the details given (empty ones are stored as NULL).
    async fn seal(
        &self,
        tenant: &TenantId,
        request: &NewSubjectRequest,
    ) -> Result<[Option<Vec<u8>>; 3], StoreError> {
        let given: Vec<(usize, (&str, &str))> = request
            .personal()
            .values()
            .into_iter()
            .enumerate()
            .filter(|(_, value)| !value.is_empty())
            .map(|(i, value)| (i, (SEALED[i], value)))
            .collect();
        let mut out: [Option<Vec<u8>>; 3] = Default::default();
        if given.is_empty() {
            return Ok(out);
        }
        let fields: Vec<(&str, &str)> = given.iter().map(|(_, f)| *f).collect();
        let sealed = self
            .vault
            .seal(tenant, request.person_id().expose(), &fields)
            .await?;
        for ((i, _), sealed) in given.iter().zip(sealed) {
            out[*i] = Some(sealed.into_bytes());
        }
        Ok(out)
    }

    /// Destroys the person's data key: their details in every request read as erased from now on.
    pub async fn shred(
        &self,
        tenant: &TenantId,
        person_id: &str,
        caller: &CallerId,
    ) -> Result<ShredReport, StoreError> {
        Ok(self.vault.shred(tenant, person_id, caller.as_str()).await?)
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
        let [requester_name, requester_contact, details] = self.seal(tenant, request).await?;
        let inserted: Option<SubjectRequestRow> = sqlx::query_as(concat!(
            "INSERT INTO subject_requests.subject_requests \
                 (tenant_id, subject_request_id, kind, channel, person_id, state, received_at, \
                  created_by, request_id, requester_name, requester_contact, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT ON CONSTRAINT subject_requests_request_id_key DO NOTHING \
             RETURNING ",
            columns!()
        ))
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
        .bind(requester_name)
        .bind(requester_contact)
        .bind(details)
        .fetch_optional(&self.pool)
        .await?;
        let row = match inserted {
            Some(row) => row,
            // The conflict can only be on the idempotency key, which is then not null.
            None => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM subject_requests.subject_requests \
                     WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3"
                ))
                .bind(tenant.as_str())
                .bind(caller.as_str())
                .bind(request_id)
                .fetch_one(&self.pool)
                .await?
            }
        };
        self.decode(tenant, row).await
    }

    /// One request of `tenant`, if it exists there.
    pub async fn get_subject_request(
        &self,
        tenant: &TenantId,
        id: SubjectRequestId,
    ) -> Result<Option<SubjectRequest>, StoreError> {
        let row: Option<SubjectRequestRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM subject_requests.subject_requests \
             WHERE tenant_id = $1 AND subject_request_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.decode(tenant, row).await?)),
            None => Ok(None),
        }
    }
}
