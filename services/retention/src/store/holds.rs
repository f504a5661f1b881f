//! Legal holds: placing one withdraws what was offering its records for disposal; releasing one
//! re-evaluates them with a sweep.

use dps_types::{CallerId, TenantId};
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Store, StoreError};
use crate::domain::{HoldId, HoldNote, HoldScope, NewHold, RecordId};

/// A hold as the contract shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HoldRow {
    /// Its id.
    pub hold_id: Uuid,
    /// The person held, if the scope is a person.
    pub person_id: Option<String>,
    /// The class code held, if the scope is a class.
    pub code: Option<String>,
    /// The records held, if the scope is records.
    pub records: Vec<Uuid>,
    /// Why.
    pub reason: String,
    /// Who requires it.
    pub authority: String,
    /// Who placed it.
    pub placed_by: String,
    /// When.
    pub placed_at: OffsetDateTime,
    /// Who released it.
    pub released_by: Option<String>,
    /// When.
    pub released_at: Option<OffsetDateTime>,
    /// Why.
    pub release_reason: Option<String>,
}

macro_rules! hold_columns {
    () => {
        "SELECT h.hold_id, h.person_id, c.code, \
                ARRAY(SELECT hr.record_id FROM retention.legal_hold_records hr \
                      WHERE hr.tenant_id = h.tenant_id AND hr.hold_id = h.hold_id \
                      ORDER BY hr.record_id) AS records, \
                h.reason, h.authority, h.placed_by, h.placed_at, h.released_by, h.released_at, \
                h.release_reason \
         FROM retention.legal_holds h \
         LEFT JOIN retention.record_classes c \
           ON c.tenant_id = h.tenant_id AND c.record_class_id = h.record_class_id "
    };
}

async fn fetch_hold(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: Uuid,
) -> Result<Option<HoldRow>, StoreError> {
    Ok(sqlx::query_as(concat!(
        hold_columns!(),
        "WHERE h.tenant_id = $1 AND h.hold_id = $2"
    ))
    .bind(tenant.as_str())
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

impl Store {
    /// Places a hold. Open reviews and unclaimed tasks of the records it now holds are
    /// withdrawn and the records return to active. Idempotent on (caller, `request_id`).
    pub async fn place_hold(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        hold: &NewHold,
    ) -> Result<HoldRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        if request_id.is_some() {
            let earlier: Option<Uuid> = sqlx::query_scalar(
                "SELECT hold_id FROM retention.legal_holds \
                 WHERE tenant_id = $1 AND placed_by = $2 AND request_id = $3",
            )
            .bind(tenant.as_str())
            .bind(caller.as_str())
            .bind(request_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(id) = earlier {
                return fetch_hold(&mut tx, tenant, id)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(HoldId::from_uuid(id).to_string()));
            }
        }
        let (person, class, records) = match &hold.scope {
            HoldScope::Person(p) => (Some(p.clone()), None, Vec::new()),
            HoldScope::Class(code) => {
                let class: Option<Uuid> = sqlx::query_scalar(
                    "SELECT record_class_id FROM retention.record_classes \
                     WHERE tenant_id = $1 AND code = $2",
                )
                .bind(tenant.as_str())
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
                let class = class.ok_or_else(|| {
                    StoreError::invalid("record_class_code", format!("no record class {code}"))
                })?;
                (None, Some(class), Vec::new())
            }
            HoldScope::Records(ids) => {
                let ids: Vec<Uuid> = ids.iter().map(RecordId::as_uuid).collect();
                let known: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT record_id FROM retention.records \
                     WHERE tenant_id = $1 AND record_id = ANY($2)",
                )
                .bind(tenant.as_str())
                .bind(&ids)
                .fetch_all(&mut *tx)
                .await?;
                if let Some(missing) = ids.iter().find(|id| !known.contains(id)) {
                    return Err(StoreError::NotFound(
                        RecordId::from_uuid(*missing).to_string(),
                    ));
                }
                (None, None, ids)
            }
        };
        let id = HoldId::generate().as_uuid();
        sqlx::query(
            "INSERT INTO retention.legal_holds \
                 (tenant_id, hold_id, person_id, record_class_id, reason, authority, placed_by, \
                  request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(&person)
        .bind(class)
        .bind(&hold.reason)
        .bind(&hold.authority)
        .bind(caller.as_str())
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO retention.legal_hold_records (tenant_id, hold_id, record_id) \
             SELECT $1, $2, UNNEST($3::uuid[]) ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(id)
        .bind(&records)
        .execute(&mut *tx)
        .await?;
        // Held records are never offered for disposal: withdraw open reviews and cancel tasks
        // the holding system has not yet taken. A claimed task may already be carried out. The
        // tenant's review lock first, so a sweep cannot commit a review this withdrawal missed.
        super::disposal::lock_reviews(&mut tx, tenant).await?;
        sqlx::query(
            "UPDATE retention.disposal_reviews d SET state = 'withdrawn' \
             FROM retention.records r \
             WHERE d.tenant_id = $1 AND d.state = 'open' \
               AND r.tenant_id = d.tenant_id AND r.record_id = d.record_id \
               AND retention.is_held(r.tenant_id, r.record_id, r.person_id, r.record_class_id)",
        )
        .bind(tenant.as_str())
        .execute(&mut *tx)
        .await?;
        let cancelled: Vec<Uuid> = sqlx::query_scalar(
            "UPDATE retention.disposal_tasks t SET state = 'cancelled' \
             FROM retention.records r \
             WHERE t.tenant_id = $1 AND t.state = 'pending' \
               AND r.tenant_id = t.tenant_id AND r.record_id = t.record_id \
               AND retention.is_held(r.tenant_id, r.record_id, r.person_id, r.record_class_id) \
             RETURNING t.record_id",
        )
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        super::disposal::reactivate(&mut tx, tenant, &cancelled).await?;
        let row = fetch_hold(&mut tx, tenant, id)
            .await?
            .ok_or(StoreError::Corrupt("hold vanished"))?;
        tx.commit().await?;
        Ok(row)
    }

    /// Releases an active hold and re-evaluates at once: a sweep raises reviews for records
    /// that are due and no longer held. Returns the hold and the reviews raised.
    pub async fn release_hold(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: HoldId,
        reason: &str,
        today: Date,
    ) -> Result<(HoldRow, u64), StoreError> {
        let mut tx = self.pool.begin().await?;
        let released: Option<Option<OffsetDateTime>> = sqlx::query_scalar(
            "SELECT released_at FROM retention.legal_holds \
             WHERE tenant_id = $1 AND hold_id = $2 FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        match released {
            None => return Err(StoreError::NotFound(id.to_string())),
            Some(Some(_)) => {
                return Err(StoreError::Precondition(format!(
                    "{id} was already released"
                )));
            }
            Some(None) => {}
        }
        sqlx::query(
            "UPDATE retention.legal_holds SET released_at = now(), released_by = $3, \
                 release_reason = $4 \
             WHERE tenant_id = $1 AND hold_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(caller.as_str())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
        let raised = super::disposal::sweep(&mut tx, tenant, today, self.sweep_chunk).await?;
        let row = fetch_hold(&mut tx, tenant, id.as_uuid())
            .await?
            .ok_or(StoreError::Corrupt("hold vanished"))?;
        tx.commit().await?;
        Ok((row, raised))
    }

    /// The active holds on each of a person's records, by record.
    pub async fn person_holds(
        &self,
        tenant: &TenantId,
        person_id: &str,
    ) -> Result<Vec<(Uuid, HoldNote)>, StoreError> {
        let rows: Vec<(Uuid, Uuid, String, String)> = sqlx::query_as(
            "SELECT r.record_id, h.hold_id, h.reason, h.authority \
             FROM retention.records r \
             JOIN retention.legal_holds h ON h.tenant_id = r.tenant_id AND h.released_at IS NULL \
              AND (h.person_id = r.person_id OR h.record_class_id = r.record_class_id \
                   OR EXISTS (SELECT 1 FROM retention.legal_hold_records hr \
                              WHERE hr.tenant_id = h.tenant_id AND hr.hold_id = h.hold_id \
                                AND hr.record_id = r.record_id)) \
             WHERE r.tenant_id = $1 AND r.person_id = $2 ORDER BY h.placed_at",
        )
        .bind(tenant.as_str())
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(record, hold, reason, authority)| {
                (
                    record,
                    HoldNote {
                        name: HoldId::from_uuid(hold).to_string(),
                        reason,
                        authority,
                    },
                )
            })
            .collect())
    }
}
