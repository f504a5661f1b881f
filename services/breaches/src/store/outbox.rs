//! The breaches service's transactional outbox (issue 10, flow 5): the registration of a closed
//! incident as a record, written with the review that closed it, then claimed, delivered and
//! marked by the dispatcher (`crate::outbox`). The queue spans tenants: every row carries its
//! tenant and the caller to act as.

use std::time::Duration;

use dps_platform::CallContext;
use dps_types::{CallerId, TenantId};
use sqlx::{PgPool, Postgres, Transaction};
use time::Date;
use uuid::Uuid;

use super::StoreError;
use crate::domain::IncidentId;
use crate::domain::retention::Effect;

/// A registration to deliver, as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The tenant to act in.
    pub tenant: TenantId,
    /// Unique per message.
    pub message_id: Uuid,
    /// The incident that was closed.
    pub incident: IncidentId,
    /// What to do.
    pub effect: Effect,
    /// The retention class to register it under.
    pub record_class_code: String,
    /// When the incident was recorded, and closed.
    pub created_on: Date,
    /// The review's date.
    pub closed_on: Date,
    /// Who closed it: the receiver acts for them.
    pub caller: CallerId,
    /// Their roles.
    pub roles: Vec<String>,
    /// The review's trace context.
    pub traceparent: Option<String>,
    /// Deliveries tried so far, this one included.
    pub attempts: u32,
}

impl OutboxMessage {
    /// The record's id in the registry's [`crate::domain::retention::OWN_SYSTEM`]: the incident's resource name.
    pub fn external_id(&self) -> String {
        self.incident.to_string()
    }

    /// The caller the delivery acts as.
    pub fn context(&self) -> CallContext {
        CallContext {
            tenant: self.tenant.clone(),
            caller: self.caller.clone(),
            roles: self.roles.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    tenant_id: String,
    message_id: Uuid,
    incident_id: Uuid,
    effect: String,
    record_class_code: String,
    created_on: Date,
    closed_on: Date,
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
            incident: IncidentId::from_uuid(self.incident_id),
            effect: Effect::from_code(&self.effect).ok_or(StoreError::Corrupt("outbox effect"))?,
            record_class_code: self.record_class_code,
            created_on: self.created_on,
            closed_on: self.closed_on,
            caller: CallerId::parse(&self.caller).map_err(|_| StoreError::Corrupt("caller"))?,
            roles: self.roles,
            traceparent: self.traceparent,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
        })
    }
}

/// Where a message stands, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxStatus {
    /// The effect's code.
    pub effect: String,
    /// The class it registers.
    pub record_class_code: String,
    /// Deliveries tried.
    pub attempts: i32,
    /// When it was delivered.
    pub delivered_at: Option<time::OffsetDateTime>,
}

/// Owes the retention service the closed incident's registration, once per incident, inside the
/// transaction that closes it.
pub(super) async fn owe_registration(
    tx: &mut Transaction<'_, Postgres>,
    actor: &CallContext,
    traceparent: Option<&str>,
    incident: IncidentId,
    record_class_code: &str,
    created_on: Date,
    closed_on: Date,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO breaches.outbox \
             (tenant_id, message_id, incident_id, effect, record_class_code, created_on, \
              closed_on, caller, roles, traceparent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT ON CONSTRAINT outbox_effect_key DO NOTHING",
    )
    .bind(actor.tenant.as_str())
    .bind(Uuid::now_v7())
    .bind(incident.as_uuid())
    .bind(Effect::RegisterClosedIncident.code())
    .bind(record_class_code)
    .bind(created_on)
    .bind(closed_on)
    .bind(actor.caller.as_str())
    .bind(&actor.roles)
    .bind(traceparent)
    .execute(&mut **tx)
    .await?;
    Ok(())
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

    /// Claims up to `limit` due messages for `lease` (another dispatcher skips them until it
    /// ends; a dispatcher that dies mid-delivery leaves them to be retried). Each claim counts
    /// as an attempt.
    pub async fn claim(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let rows: Vec<MessageRow> = sqlx::query_as(
            "WITH w_due AS ( \
                 SELECT tenant_id, message_id FROM breaches.outbox \
                 WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() \
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
             UPDATE breaches.outbox o \
             SET attempts = o.attempts + 1, \
                 next_attempt_at = now() + make_interval(secs => $2::double precision / 1000) \
             FROM w_due WHERE o.tenant_id = w_due.tenant_id AND o.message_id = w_due.message_id \
             RETURNING o.tenant_id, o.message_id, o.incident_id, o.effect, o.record_class_code, \
                 o.created_on, o.closed_on, o.caller, o.roles, o.traceparent, o.attempts",
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
            "UPDATE breaches.outbox SET delivered_at = now(), last_error = NULL \
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
            "UPDATE breaches.outbox \
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

    /// The receiver refused the message for good: keep it for an operator, never retry.
    pub async fn failed(&self, message: &OutboxMessage, error: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE breaches.outbox SET failed_at = now(), last_error = $3 \
             WHERE tenant_id = $1 AND message_id = $2",
        )
        .bind(message.tenant.as_str())
        .bind(message.message_id)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What an incident's closure owes and where it stands.
    pub async fn of_incident(
        &self,
        tenant: &TenantId,
        incident: IncidentId,
    ) -> Result<Vec<OutboxStatus>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT effect, record_class_code, attempts, delivered_at FROM breaches.outbox \
             WHERE tenant_id = $1 AND incident_id = $2 ORDER BY message_id",
        )
        .bind(tenant.as_str())
        .bind(incident.as_uuid())
        .fetch_all(&self.pool)
        .await?)
    }
}
