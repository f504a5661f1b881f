//! A rectification's accuracy check: the restriction while accuracy is checked, its lifting,
//! and the person's sealed statement of disputed accuracy.

use dps_crypto::{Opened, Sealed};
use dps_types::{CallerId, Masked, TenantId};
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;

use super::outbox::{self, Actor};
use super::{Store, StoreError, insert_history, tasks};
use crate::domain::SubjectRequestId;
use crate::domain::accuracy::{self, AccuracyCheck, Dispute, Lift};
use crate::domain::outbox::Effect;
use crate::domain::tasks::{TaskAction, TaskSpec};

/// The label the note's ciphertext is bound to.
const NOTE_LABEL: &str = "subject_requests.disputed_accuracy_note";

#[derive(sqlx::FromRow, Default)]
struct CheckRow {
    restricted_at: Option<OffsetDateTime>,
    restricted_by: Option<String>,
    lifted_at: Option<OffsetDateTime>,
    lifted_by: Option<String>,
    told_before_lift_at: Option<OffsetDateTime>,
    disputed_note: Option<Vec<u8>>,
    disputed_at: Option<OffsetDateTime>,
    disputed_by: Option<String>,
}

impl CheckRow {
    fn into_domain(self, note: Masked<String>) -> AccuracyCheck {
        AccuracyCheck {
            restricted: self.restricted_at.zip(self.restricted_by),
            lifted: match (self.lifted_at, self.told_before_lift_at) {
                (Some(at), Some(told_at)) => Some(Lift {
                    told_at,
                    at,
                    by: self.lifted_by.unwrap_or_default(),
                }),
                _ => None,
            },
            dispute: self.disputed_at.map(|at| Dispute {
                note,
                at,
                by: self.disputed_by.unwrap_or_default(),
            }),
        }
    }
}

async fn row_in(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
) -> Result<CheckRow, StoreError> {
    Ok(sqlx::query_as(
        "SELECT restricted_at, restricted_by, lifted_at, lifted_by, told_before_lift_at, \
                disputed_note, disputed_at, disputed_by \
         FROM subject_requests.accuracy_checks WHERE tenant_id = $1 AND subject_request_id = $2",
    )
    .bind(tenant.as_str())
    .bind(id.as_uuid())
    .fetch_optional(&mut **tx)
    .await?
    .unwrap_or_default())
}

/// The check as stored, without opening the note: for the rules of other changes.
pub(super) async fn check_in(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
) -> Result<AccuracyCheck, StoreError> {
    Ok(row_in(tx, tenant, id).await?.into_domain(Masked::default()))
}

impl Store {
    /// A request's accuracy check, with the note opened; NOT_FOUND outside the tenant.
    pub async fn accuracy_check(
        &self,
        tenant: &TenantId,
        id: SubjectRequestId,
    ) -> Result<AccuracyCheck, StoreError> {
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx, tenant, id).await?;
        let row = row_in(&mut tx, tenant, id).await?;
        tx.rollback().await?;
        let note = match &row.disputed_note {
            None => Masked::default(),
            Some(bytes) => {
                let sealed = Sealed::from(bytes.clone());
                match self
                    .vault
                    .open(tenant, &[(NOTE_LABEL, &sealed)])
                    .await?
                    .pop()
                {
                    Some(Opened::Value(note)) => note,
                    // Shredded: the statement is gone with the person's other details.
                    _ => Masked::default(),
                }
            }
        };
        Ok(row.into_domain(note))
    }

    /// Restricts processing while accuracy is checked: a restrict task for every system that
    /// was given a task for this request, and the restriction owed to the consent service (so
    /// the processing check denies). Restricting again changes nothing.
    pub async fn restrict_for_accuracy(
        &self,
        tenant: &TenantId,
        actor: &Actor<'_>,
        id: SubjectRequestId,
    ) -> Result<AccuracyCheck, StoreError> {
        let caller = actor.caller;
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        let current = check_in(&mut tx, tenant, id).await?;
        accuracy::check_restrict(locked.kind, locked.state, &current)?;
        if current.restricted.is_none() {
            sqlx::query(
                "INSERT INTO subject_requests.accuracy_checks \
                     (tenant_id, subject_request_id, restricted_at, restricted_by) \
                 VALUES ($1, $2, now(), $3) \
                 ON CONFLICT ON CONSTRAINT accuracy_checks_pkey DO UPDATE \
                 SET restricted_at = now(), restricted_by = EXCLUDED.restricted_by",
            )
            .bind(tenant.as_str())
            .bind(id.as_uuid())
            .bind(caller.as_str())
            .execute(&mut *tx)
            .await?;
            let systems: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT system FROM subject_requests.fulfilment_tasks \
                 WHERE tenant_id = $1 AND subject_request_id = $2 \
                   AND action NOT IN ('notify_recipient', 'notify_person') \
                 EXCEPT SELECT system FROM subject_requests.fulfilment_tasks \
                 WHERE tenant_id = $1 AND subject_request_id = $2 AND action = $3 \
                 ORDER BY system",
            )
            .bind(tenant.as_str())
            .bind(id.as_uuid())
            .bind(TaskAction::Restrict.code())
            .fetch_all(&mut *tx)
            .await?;
            let specs: Vec<TaskSpec> = systems
                .into_iter()
                .map(|system| TaskSpec {
                    system,
                    action: TaskAction::Restrict,
                })
                .collect();
            tasks::insert_specs(&mut tx, tenant, id, &specs).await?;
            insert_history(
                &mut tx,
                tenant,
                id,
                "accuracy_restricted",
                Some(locked.state),
                locked.state,
                caller,
                "processing restricted while accuracy is checked (Art 18(1)(a))",
            )
            .await?;
            outbox::owe(
                &mut tx,
                tenant,
                id,
                &locked.person_id,
                Effect::RecordAccuracyRestriction,
                OffsetDateTime::now_utc(),
                actor,
            )
            .await?;
        }
        tx.commit().await?;
        self.accuracy_check(tenant, id).await
    }

    /// Lifts the restriction, the person having been told at `told_at` (Art 18(3)); the lift,
    /// with that time, is owed to the consent service.
    pub async fn lift_accuracy_restriction(
        &self,
        tenant: &TenantId,
        actor: &Actor<'_>,
        id: SubjectRequestId,
        told_at: Option<OffsetDateTime>,
    ) -> Result<AccuracyCheck, StoreError> {
        let caller = actor.caller;
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        let current = check_in(&mut tx, tenant, id).await?;
        let told_at = accuracy::check_lift(&current, told_at, OffsetDateTime::now_utc())?;
        sqlx::query(
            "UPDATE subject_requests.accuracy_checks \
             SET lifted_at = greatest(now(), $3), lifted_by = $4, told_before_lift_at = $3 \
             WHERE tenant_id = $1 AND subject_request_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(told_at)
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        insert_history(
            &mut tx,
            tenant,
            id,
            "accuracy_restriction_lifted",
            Some(locked.state),
            locked.state,
            caller,
            "the person was told before the restriction was lifted (Art 18(3))",
        )
        .await?;
        // The time the person was told travels as the step's time: consent records it.
        outbox::owe(
            &mut tx,
            tenant,
            id,
            &locked.person_id,
            Effect::LiftRestriction,
            told_at,
            actor,
        )
        .await?;
        tx.commit().await?;
        self.accuracy_check(tenant, id).await
    }

    /// Lifts the restriction a restriction request put in place, the person told at `told_at`
    /// (Art 18(3)); the lift, with that time, is owed to the consent service. Returns when the
    /// person was told, when it was lifted and by whom.
    pub async fn lift_requested_restriction(
        &self,
        tenant: &TenantId,
        actor: &Actor<'_>,
        id: SubjectRequestId,
        told_at: Option<OffsetDateTime>,
    ) -> Result<(OffsetDateTime, OffsetDateTime, String), StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        let (restricted, lifted): (bool, bool) = sqlx::query_as(
            "SELECT EXISTS (SELECT 1 FROM subject_requests.outbox \
                     WHERE tenant_id = $1 AND subject_request_id = $2 AND effect = $3), \
                    (SELECT restriction_lifted_at IS NOT NULL \
                     FROM subject_requests.subject_requests \
                     WHERE tenant_id = $1 AND subject_request_id = $2)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(Effect::RecordRestriction.code())
        .fetch_one(&mut *tx)
        .await?;
        let told_at = crate::domain::restriction::check_lift(
            crate::domain::restriction::LiftInput {
                kind: locked.kind,
                received_at: locked.received_at,
                restricted,
                lifted,
            },
            told_at,
            OffsetDateTime::now_utc(),
        )?;
        let lifted_at: OffsetDateTime = sqlx::query_scalar(
            "UPDATE subject_requests.subject_requests \
             SET restriction_told_at = $3, restriction_lifted_at = greatest(now(), $3), \
                 restriction_lifted_by = $4 \
             WHERE tenant_id = $1 AND subject_request_id = $2 RETURNING restriction_lifted_at",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(told_at)
        .bind(actor.caller.as_str())
        .fetch_one(&mut *tx)
        .await?;
        insert_history(
            &mut tx,
            tenant,
            id,
            "restriction_lifted",
            Some(locked.state),
            locked.state,
            actor.caller,
            "the person was told before the restriction was lifted (Art 18(3))",
        )
        .await?;
        outbox::owe(
            &mut tx,
            tenant,
            id,
            &locked.person_id,
            Effect::LiftRestriction,
            told_at,
            actor,
        )
        .await?;
        tx.commit().await?;
        Ok((told_at, lifted_at, actor.caller.as_str().to_owned()))
    }

    /// Keeps the person's statement that they dispute the accuracy, sealed with their key; a
    /// later statement replaces it (the history keeps that it was recorded).
    pub async fn record_dispute(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: SubjectRequestId,
        note: &str,
    ) -> Result<AccuracyCheck, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        let note = accuracy::parse_dispute(locked.kind, locked.state, note)?;
        let person_id: String = sqlx::query_scalar(
            "SELECT person_id FROM subject_requests.subject_requests \
             WHERE tenant_id = $1 AND subject_request_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        let sealed = self
            .vault
            .seal(tenant, &person_id, &[(NOTE_LABEL, &note)])
            .await?
            .pop()
            .ok_or(StoreError::Corrupt("sealed note"))?;
        sqlx::query(
            "INSERT INTO subject_requests.accuracy_checks \
                 (tenant_id, subject_request_id, disputed_note, disputed_at, disputed_by) \
             VALUES ($1, $2, $3, now(), $4) \
             ON CONFLICT ON CONSTRAINT accuracy_checks_pkey DO UPDATE \
             SET disputed_note = EXCLUDED.disputed_note, disputed_at = now(), \
                 disputed_by = EXCLUDED.disputed_by",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(sealed.into_bytes())
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        insert_history(
            &mut tx,
            tenant,
            id,
            "accuracy_disputed",
            Some(locked.state),
            locked.state,
            caller,
            "the person's statement of disputed accuracy is kept with the request",
        )
        .await?;
        tx.commit().await?;
        self.accuracy_check(tenant, id).await
    }
}
