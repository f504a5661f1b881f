//! Changes to an incident after it is recorded: the assessment, reports and notices, actions,
//! third parties and the review. Each locks the incident and checks the rules in one
//! transaction.

use dps_platform::CallContext;
use dps_platform::db::DbError;
use dps_types::{CallerId, TenantId};
use sqlx::Postgres;
use time::OffsetDateTime;
use uuid::Uuid;

use super::read::{ACTION_COLUMNS, ActionRow, AssessmentRow, LATEST_ASSESSMENT, NOTICE_SEALED};
use super::{Store, StoreError};
use crate::domain::assessment::{Assessment, AssessmentInput, Outcome};
use crate::domain::followup::{Action, NewAction, Playbook, Review, ThirdPartyNotice};
use crate::domain::individuals::{Audience, IndividualNotice};
use crate::domain::regulator::{NewRegulatorNotification, RegulatorNotification, ReportFacts};
use crate::domain::{IncidentId, Rejection};

/// The individuals-told line of the ICO report, from the latest assessment.
fn individuals_told(assessment: Option<&Assessment>, notices: i64) -> String {
    match assessment {
        None => "not yet assessed".into(),
        Some(a) if a.outcome != Outcome::TellIndividuals => "not required".into(),
        Some(a) => match &a.exception {
            Some((e, _)) => format!("no: {}", e.words()),
            None if notices > 0 => "yes".into(),
            None => "not yet".into(),
        },
    }
}

impl Store {
    /// Records an assessment under the tenant's band mapping and makes it the incident's latest.
    pub async fn assess(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: IncidentId,
        input: AssessmentInput,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let settings = self.settings(tenant).await?;
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        if !locked.breach {
            return Err(Rejection::Precondition(
                "only a personal-data breach is assessed for risk: classify it first".into(),
            )
            .into());
        }
        let a = Assessment::decide(input, settings.mapping, caller.as_str(), now)
            .map_err(|v| Rejection::Invalid(dps_types::prefixed("assessment", v).collect()))?;
        if locked.reported && a.outcome == Outcome::NotReportable {
            return Err(Rejection::Precondition(
                "the regulator has already been told: the breach cannot be decided not reportable"
                    .into(),
            )
            .into());
        }
        let exception = a.exception.as_ref().map(|(e, _)| e.code());
        let detail = a.exception.as_ref().map_or("", |(_, d)| d.as_str());
        sqlx::query(
            "INSERT INTO breaches.assessments \
                 (tenant_id, incident_id, assessment_id, data_processing_context, \
                  ease_of_identification, confidentiality, integrity, availability, malicious, \
                  score, severity, explanation, likelihood, approximate_subjects, \
                  approximate_records, computed_outcome, outcome, rationale, \
                  individual_exception, exception_detail, assessed_by, assessed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     $18, $19, $20, $21, $22)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(Uuid::now_v7())
        .bind(a.inputs.data_processing_context())
        .bind(a.inputs.ease_of_identification())
        .bind(a.inputs.confidentiality.code())
        .bind(a.inputs.integrity.code())
        .bind(a.inputs.availability.code())
        .bind(a.inputs.malicious)
        .bind(a.inputs.score())
        .bind(a.inputs.severity().code())
        .bind(a.inputs.explanation())
        .bind(a.likelihood.code())
        .bind(a.approximate_subjects)
        .bind(a.approximate_records)
        .bind(a.computed.code())
        .bind(a.outcome.code())
        .bind(&a.rationale)
        .bind(exception)
        .bind(detail)
        .bind(&a.assessed_by)
        .bind(a.assessed_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE breaches.incidents SET severity = $3, outcome = $4 \
             WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(a.inputs.severity().code())
        .bind(a.outcome.code())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a report to the regulator, fixing the contact, severity and individuals-told line
    /// as they stand, and stops the clock on the first.
    pub async fn notify_regulator(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: IncidentId,
        report: NewRegulatorNotification,
    ) -> Result<RegulatorNotification, StoreError> {
        let settings = self.settings(tenant).await?;
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        let assessment: Option<AssessmentRow> = sqlx::query_as(LATEST_ASSESSMENT)
            .bind(tenant.as_str())
            .bind(id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
        let assessment = assessment.and_then(AssessmentRow::into_domain);
        let notices: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM breaches.individual_notifications \
             WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        let facts = ReportFacts {
            personal_data_breach: locked.breach,
            decided_not_reportable: locked.outcome == Some(Outcome::NotReportable),
            has_initial: locked.reported,
            dpo_missing: settings.dpo.name.is_empty(),
            aware_at: locked.aware_at,
        };
        report.check(&facts, settings.jurisdiction)?;
        let clock = dps_deadlines::BreachClock::statutory(locked.aware_at);
        let initial = !locked.reported;
        let late = initial && clock.is_late(report.submitted_at);
        let severity = assessment
            .as_ref()
            .map(|a| format!("{} ({})", a.inputs.severity().words(), a.inputs.score()))
            .unwrap_or_default();
        let notification = RegulatorNotification {
            id: Uuid::now_v7(),
            spec: report,
            jurisdiction: settings.jurisdiction,
            organisation: settings.organisation.clone(),
            dpo: settings.dpo.clone(),
            severity,
            individuals_told: individuals_told(assessment.as_ref(), notices),
            late,
        };
        let s = &notification.spec;
        let c = &s.content;
        let d = &notification.dpo;
        sqlx::query(
            "INSERT INTO breaches.regulator_notifications \
                 (tenant_id, incident_id, notification_id, phase, submitted_at, data_categories, \
                  subject_categories, approximate_subjects, approximate_records, nature, \
                  likely_consequences, measures, delay_reason, further_information, \
                  financial_services_commission, signed_by, jurisdiction, organisation, dpo_name, \
                  dpo_designation, dpo_work_address, dpo_telephone, dpo_email, severity, \
                  individuals_told, late, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(notification.id)
        .bind(s.phase.code())
        .bind(s.submitted_at)
        .bind(&c.data_categories)
        .bind(&c.subject_categories)
        .bind(c.approximate_subjects)
        .bind(c.approximate_records)
        .bind(&c.nature)
        .bind(&c.likely_consequences)
        .bind(&c.measures)
        .bind(&s.delay_reason)
        .bind(&s.further_information)
        .bind(s.financial_services_commission)
        .bind(&s.signed_by)
        .bind(notification.jurisdiction.code())
        .bind(&notification.organisation)
        .bind(&d.name)
        .bind(&d.designation)
        .bind(&d.work_address)
        .bind(&d.telephone)
        .bind(&d.email)
        .bind(&notification.severity)
        .bind(&notification.individuals_told)
        .bind(late)
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        if initial {
            sqlx::query(
                "UPDATE breaches.incidents SET first_reported_at = $3, reported_late = $4 \
                 WHERE tenant_id = $1 AND incident_id = $2",
            )
            .bind(tenant.as_str())
            .bind(id.as_uuid())
            .bind(notification.spec.submitted_at)
            .bind(late)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(notification)
    }

    /// Records a notice to people affected, sealing its text with the person's key (or the
    /// incident's, for a group or the public).
    pub async fn notify_individuals(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: IncidentId,
        notice: &IndividualNotice,
    ) -> Result<Uuid, StoreError> {
        let text = notice.text.clone().unwrap_or_default();
        let key = match (&notice.audience, &notice.person_id) {
            (Audience::Person, Some(person)) => person.clone(),
            _ => super::incident_key(id),
        };
        let fields: Vec<(&str, &str)> = NOTICE_SEALED.iter().copied().zip(text.values()).collect();
        let sealed = self.vault.seal(tenant, &key, &fields).await?;
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        if !locked.breach {
            return Err(Rejection::Precondition(
                "only the people affected by a personal-data breach are told: classify it first"
                    .into(),
            )
            .into());
        }
        let notification_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO breaches.individual_notifications \
                 (tenant_id, incident_id, notification_id, audience, person_id, recipient, \
                  what_happened, likely_consequences, measures_taken, what_they_can_do, channel, \
                  sent_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(notification_id)
        .bind(notice.audience.code())
        .bind(notice.person_id.as_deref())
        .bind(sealed[0].as_bytes())
        .bind(sealed[1].as_bytes())
        .bind(sealed[2].as_bytes())
        .bind(sealed[3].as_bytes())
        .bind(sealed[4].as_bytes())
        .bind(notice.channel.code())
        .bind(notice.sent_at)
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(notification_id)
    }

    async fn insert_actions(
        tx: &mut sqlx::Transaction<'_, Postgres>,
        tenant: &TenantId,
        caller: &CallerId,
        id: IncidentId,
        actions: &[NewAction],
    ) -> Result<Vec<Action>, StoreError> {
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            let row: ActionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO breaches.actions \
                     (tenant_id, incident_id, action_id, description, owner, due_at, playbook, \
                      created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ACTION_COLUMNS}"
            )))
            .bind(tenant.as_str())
            .bind(id.as_uuid())
            .bind(Uuid::now_v7())
            .bind(&a.description)
            .bind(&a.owner)
            .bind(a.due_at)
            .bind(a.playbook.map(Playbook::code))
            .bind(caller.as_str())
            .fetch_one(&mut **tx)
            .await?;
            out.push(row.into_domain()?);
        }
        Ok(out)
    }

    /// Adds an action.
    pub async fn add_action(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: IncidentId,
        action: &NewAction,
    ) -> Result<Action, StoreError> {
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx, tenant, id).await?;
        let mut created =
            Self::insert_actions(&mut tx, tenant, caller, id, std::slice::from_ref(action)).await?;
        tx.commit().await?;
        created.pop().ok_or(StoreError::Corrupt("action"))
    }

    /// Marks an action done.
    pub async fn complete_action(
        &self,
        tenant: &TenantId,
        id: IncidentId,
        action_id: Uuid,
        outcome: &str,
        now: OffsetDateTime,
    ) -> Result<Action, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: ActionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTION_COLUMNS} FROM breaches.actions \
             WHERE tenant_id = $1 AND incident_id = $2 AND action_id = $3 FOR UPDATE"
        )))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(action_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("{id}/actions/{action_id}")))?;
        let outcome = row.into_domain()?.complete(outcome)?;
        let row: ActionRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE breaches.actions SET completed_at = $4, outcome = $5 \
             WHERE tenant_id = $1 AND incident_id = $2 AND action_id = $3 \
             RETURNING {ACTION_COLUMNS}"
        )))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(action_id)
        .bind(now)
        .bind(outcome)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        row.into_domain()
    }

    /// Creates a playbook's actions, once per incident.
    pub async fn apply_playbook(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: IncidentId,
        playbook: Playbook,
        owner: &str,
    ) -> Result<Vec<Action>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        let claimed = sqlx::query(
            "INSERT INTO breaches.playbooks_applied (tenant_id, incident_id, playbook) \
             VALUES ($1, $2, $3) ON CONFLICT ON CONSTRAINT playbooks_applied_pkey DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(playbook.code())
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Err(Rejection::Precondition(format!(
                "the {} playbook was already applied to this incident",
                playbook.code().replace('_', " ")
            ))
            .into());
        }
        let actions = playbook.actions(owner, locked.aware_at);
        let created = Self::insert_actions(&mut tx, tenant, caller, id, &actions).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Records a third party told.
    pub async fn record_third_party(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: IncidentId,
        notice: &ThirdPartyNotice,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx, tenant, id).await?;
        sqlx::query(
            "INSERT INTO breaches.third_party_notices \
                 (tenant_id, incident_id, notice_id, party, organisation, reference, notified_at, \
                  created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(Uuid::now_v7())
        .bind(notice.party.code())
        .bind(&notice.organisation)
        .bind(&notice.reference)
        .bind(notice.notified_at)
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records the post-incident review, once.
    ///
    /// The review closes the incident: in the same transaction, its registration as a record of
    /// its class is owed to the retention service (issue 10 flow 5; 003 §19), written to the
    /// outbox as `actor`, in the trace `traceparent`. An unclassified incident is refused.
    pub async fn record_review(
        &self,
        actor: &CallContext,
        traceparent: Option<&str>,
        id: IncidentId,
        review: &Review,
    ) -> Result<(), StoreError> {
        let tenant = &actor.tenant;
        let mut tx = self.pool.begin().await?;
        Self::lock(&mut tx, tenant, id).await?;
        let (serious, created_at): (Option<bool>, OffsetDateTime) = sqlx::query_as(
            "SELECT serious, created_at FROM breaches.incidents \
             WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        let class = crate::domain::retention::record_class(serious)?;
        let inserted = sqlx::query(
            "INSERT INTO breaches.reviews \
                 (tenant_id, incident_id, facts_and_cause, effects, lessons_learned, reviewed_at, \
                  reviewed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT ON CONSTRAINT reviews_pkey DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(&review.facts_and_cause)
        .bind(&review.effects)
        .bind(&review.lessons_learned)
        .bind(review.reviewed_at)
        .bind(&review.reviewed_by)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::Db(DbError::from(e)))?;
        if inserted.rows_affected() == 0 {
            return Err(Rejection::Precondition(
                "the post-incident review was already recorded".into(),
            )
            .into());
        }
        super::outbox::owe_registration(
            &mut tx,
            actor,
            traceparent,
            id,
            class,
            created_at.date(),
            review.reviewed_at.date(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
