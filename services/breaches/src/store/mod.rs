//! SQL for the `breaches` schema. Every query names its schema and filters on the tenant. A
//! change locks its incident, checks the domain's rules against what is stored, and writes in
//! the same transaction.

mod dashboard;
mod outbox;
mod read;
mod register;
mod settings;

pub use dashboard::Figures;
pub use outbox::{Outbox, OutboxMessage, OutboxStatus};

use dps_crypto::{Sealed, Vault, VaultError};
use dps_platform::db::DbError;
use dps_types::{CallerId, TenantId};
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::assessment::Outcome;
use crate::domain::severity::Severity;
use crate::domain::{
    Classification, Incident, IncidentDetails, IncidentId, NewIncident, OpenBreach, Rejection,
};

/// A storage failure, or a change the domain's rules refuse.
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
    /// NOT_FOUND: no such resource in the tenant.
    #[error("{0} not found")]
    NotFound(String),
    /// INVALID_ARGUMENT or FAILED_PRECONDITION: nothing was changed.
    #[error(transparent)]
    Rejected(#[from] Rejection),
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
    vault: Vault,
}

/// The labels the incident's sealed columns are bound to.
const INCIDENT_SEALED: [&str; 2] = [
    "breaches.incidents.reported_by",
    "breaches.incidents.description",
];

/// The key that seals an incident's own text: the incident, so its text can be shredded with it.
fn incident_key(id: IncidentId) -> String {
    id.to_string()
}

/// Where a page of the alarm view starts: after this awareness and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey {
    /// Awareness of the last breach of the previous page.
    pub aware_at: OffsetDateTime,
    /// Its id.
    pub id: Uuid,
}

/// What a change reads from its locked incident.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Locked {
    pub aware_at: OffsetDateTime,
    pub breach: bool,
    pub outcome: Option<Outcome>,
    pub reported: bool,
}

#[derive(sqlx::FromRow)]
struct StoredTimes {
    occurred_at: Option<OffsetDateTime>,
    discovered_at: Option<OffsetDateTime>,
    aware_at: OffsetDateTime,
    reported_to_dpo_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct LockedRow {
    aware_at: OffsetDateTime,
    personal_data_breach: Option<bool>,
    outcome: Option<String>,
    first_reported_at: Option<OffsetDateTime>,
}

impl Store {
    /// Storage on the runtime pool, sealing personal text through `vault`.
    pub fn new(pool: PgPool, vault: Vault) -> Self {
        Self { pool, vault }
    }

    /// Records an incident. With a `request_id` already used by this caller in this tenant,
    /// returns the incident that call recorded instead of a duplicate.
    pub async fn create_incident(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        incident: &NewIncident,
        details: &IncidentDetails,
        classification: Option<&Classification>,
    ) -> Result<Incident, StoreError> {
        let id = IncidentId::generate();
        let text = details.text.clone().unwrap_or_default();
        let description = text.description.expose().as_str();
        let sealed = self
            .vault
            .seal(
                tenant,
                &incident_key(id),
                &[
                    (INCIDENT_SEALED[0], text.reported_by.expose().as_str()),
                    (INCIDENT_SEALED[1], description),
                ],
            )
            .await?;
        let kinds: Vec<&str> = classification
            .map(|c| c.kinds().iter().map(|k| k.code()).collect())
            .unwrap_or_default();
        // Times come back as stored (to the microsecond), so a read later returns the same.
        let inserted: Option<StoredTimes> = sqlx::query_as(
            "INSERT INTO breaches.incidents \
                 (tenant_id, incident_id, title, occurred_at, discovered_at, aware_at, created_by, \
                  request_id, reported_by, description, reported_to_dpo_at, systems, \
                  personal_data_breach, serious, kinds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT ON CONSTRAINT incidents_request_id_key DO NOTHING \
             RETURNING occurred_at, discovered_at, aware_at, reported_to_dpo_at, created_at",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(incident.title())
        .bind(incident.occurred_at())
        .bind(incident.discovered_at())
        .bind(incident.aware_at())
        .bind(caller.as_str())
        .bind(request_id)
        .bind(sealed[0].as_bytes())
        .bind((!description.is_empty()).then(|| sealed[1].as_bytes()))
        .bind(details.reported_to_dpo_at)
        .bind(&details.systems)
        .bind(classification.map(Classification::personal_data_breach))
        .bind(classification.map(Classification::serious))
        .bind(&kinds)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(t) = inserted {
            // New: nothing else is recorded about it yet, so there is nothing more to read back.
            return Ok(Incident {
                id,
                spec: NewIncident::from_stored(
                    incident.title().to_owned(),
                    t.occurred_at,
                    t.discovered_at,
                    t.aware_at,
                ),
                details: IncidentDetails {
                    reported_to_dpo_at: t.reported_to_dpo_at,
                    ..details.clone()
                },
                created_at: t.created_at,
                classification: classification.cloned(),
                assessment: None,
                regulator_notifications: Vec::new(),
                individual_notifications: Vec::new(),
                actions: Vec::new(),
                third_party_notices: Vec::new(),
                review: None,
            });
        }
        // The conflict can only be on the idempotency key, which is then not null.
        let id: Uuid = sqlx::query_scalar(
            "SELECT incident_id FROM breaches.incidents \
                     WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
        )
        .bind(tenant.as_str())
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_one(&self.pool)
        .await?;
        let id = IncidentId::from_uuid(id);
        self.get_incident(tenant, id)
            .await?
            .ok_or(StoreError::NotFound(id.to_string()))
    }

    /// Locks an incident for a change; NOT_FOUND outside the tenant.
    pub(crate) async fn lock(
        tx: &mut Transaction<'_, Postgres>,
        tenant: &TenantId,
        id: IncidentId,
    ) -> Result<Locked, StoreError> {
        let row: LockedRow = sqlx::query_as(
            "SELECT aware_at, personal_data_breach, outcome, first_reported_at \
             FROM breaches.incidents WHERE tenant_id = $1 AND incident_id = $2 FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        let outcome = match row.outcome.as_deref() {
            None => None,
            Some(code) => Some(Outcome::from_code(code).ok_or(StoreError::Corrupt("outcome"))?),
        };
        Ok(Locked {
            aware_at: row.aware_at,
            breach: row.personal_data_breach.unwrap_or(false),
            outcome,
            reported: row.first_reported_at.is_some(),
        })
    }

    /// Awareness of an incident (it never changes once recorded), to check times against.
    pub async fn aware_at(
        &self,
        tenant: &TenantId,
        id: IncidentId,
    ) -> Result<OffsetDateTime, StoreError> {
        sqlx::query_scalar(
            "SELECT aware_at FROM breaches.incidents WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// Classifies an incident; a reported breach stays a breach.
    pub async fn classify(
        &self,
        tenant: &TenantId,
        id: IncidentId,
        classification: &Classification,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        classification.check_change(locked.breach, locked.reported)?;
        let kinds: Vec<&str> = classification.kinds().iter().map(|k| k.code()).collect();
        sqlx::query(
            "UPDATE breaches.incidents SET personal_data_breach = $3, serious = $4, kinds = $5 \
             WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(classification.personal_data_breach())
        .bind(classification.serious())
        .bind(&kinds)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of open breaches, least time left first (the due time is awareness + 72 hours),
    /// with the key of the next page when there may be one. `page_size` is bounded by the
    /// caller (at most 200) and pushed as a literal: with a bound LIMIT, Postgres may choose a
    /// generic plan that sorts every open breach instead of walking the partial index.
    pub async fn list_open(
        &self,
        tenant: &TenantId,
        page_size: u8,
        after: Option<PageKey>,
    ) -> Result<(Vec<OpenBreach>, Option<PageKey>), StoreError> {
        let mut q = sqlx::QueryBuilder::<Postgres>::new(
            "SELECT incident_id, title, aware_at, severity FROM breaches.incidents \
             WHERE tenant_id = ",
        );
        q.push_bind(tenant.as_str()).push(" AND clock_running");
        if let Some(after) = after {
            q.push(" AND (aware_at, incident_id) > (")
                .push_bind(after.aware_at)
                .push(", ")
                .push_bind(after.id)
                .push(")");
        }
        q.push(" ORDER BY aware_at, incident_id LIMIT ");
        q.push(u16::from(page_size) + 1);
        let mut rows: Vec<(Uuid, String, OffsetDateTime, Option<String>)> =
            q.build_query_as().fetch_all(&self.pool).await?;
        let more = rows.len() > usize::from(page_size);
        if more {
            rows.pop();
        }
        let next = rows.last().filter(|_| more).map(|r| PageKey {
            aware_at: r.2,
            id: r.0,
        });
        let breaches = rows
            .into_iter()
            .map(|(id, title, aware_at, severity)| {
                let severity = match severity.as_deref() {
                    None => None,
                    Some(s) => Some(Severity::from_code(s).ok_or(StoreError::Corrupt("severity"))?),
                };
                Ok(OpenBreach {
                    id: IncidentId::from_uuid(id),
                    title,
                    aware_at,
                    severity,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((breaches, next))
    }

    /// Opens sealed fields of `tenant`.
    async fn open(
        &self,
        tenant: &TenantId,
        fields: &[(&str, &Sealed)],
    ) -> Result<Vec<dps_crypto::Opened>, StoreError> {
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.vault.open(tenant, fields).await?)
    }
}
