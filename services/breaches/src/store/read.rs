//! Reading an incident back with everything recorded about it, its sealed text opened.

use dps_crypto::{Opened, Sealed};
use dps_types::TenantId;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{INCIDENT_SEALED, Store, StoreError};
use crate::domain::assessment::{Assessment, IndividualException, Likelihood, Outcome};
use crate::domain::followup::{Action, NewAction, Party, Playbook, Review, ThirdPartyNotice};
use crate::domain::individuals::{Audience, Channel, IndividualNotice, NoticeText};
use crate::domain::regulator::{
    NewRegulatorNotification, Phase, RegulatorNotification, ReportContent,
};
use crate::domain::settings::{DpoContact, Jurisdiction};
use crate::domain::severity::{Loss, SeverityInputs};
use crate::domain::{
    BreachKind, Classification, Incident, IncidentDetails, IncidentId, IncidentText, NewIncident,
};

/// The labels of a notice's sealed columns, in [`NoticeText`] order.
pub(super) const NOTICE_SEALED: [&str; NoticeText::COUNT] = [
    "breaches.individual_notifications.recipient",
    "breaches.individual_notifications.what_happened",
    "breaches.individual_notifications.likely_consequences",
    "breaches.individual_notifications.measures_taken",
    "breaches.individual_notifications.what_they_can_do",
];

#[derive(sqlx::FromRow)]
struct IncidentRow {
    title: String,
    occurred_at: Option<OffsetDateTime>,
    discovered_at: Option<OffsetDateTime>,
    aware_at: OffsetDateTime,
    created_at: OffsetDateTime,
    reported_by: Option<Vec<u8>>,
    description: Option<Vec<u8>>,
    reported_to_dpo_at: Option<OffsetDateTime>,
    systems: Vec<String>,
    personal_data_breach: Option<bool>,
    serious: Option<bool>,
    kinds: Vec<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct AssessmentRow {
    data_processing_context: f64,
    ease_of_identification: f64,
    confidentiality: String,
    integrity: String,
    availability: String,
    malicious: bool,
    likelihood: String,
    approximate_subjects: i64,
    approximate_records: i64,
    computed_outcome: String,
    outcome: String,
    rationale: String,
    individual_exception: Option<String>,
    exception_detail: String,
    assessed_by: String,
    assessed_at: OffsetDateTime,
}

impl AssessmentRow {
    pub(super) fn into_domain(self) -> Option<Assessment> {
        let inputs = SeverityInputs::parse(
            self.data_processing_context,
            self.ease_of_identification,
            Loss::from_code(&self.confidentiality),
            Loss::from_code(&self.integrity),
            Loss::from_code(&self.availability),
            self.malicious,
        )
        .ok()?;
        let exception = match self.individual_exception {
            None => None,
            Some(code) => Some((
                IndividualException::from_code(&code)?,
                self.exception_detail,
            )),
        };
        Some(Assessment {
            inputs,
            likelihood: Likelihood::from_code(&self.likelihood)?,
            approximate_subjects: self.approximate_subjects,
            approximate_records: self.approximate_records,
            computed: Outcome::from_code(&self.computed_outcome)?,
            outcome: Outcome::from_code(&self.outcome)?,
            rationale: self.rationale,
            exception,
            assessed_by: self.assessed_by,
            assessed_at: self.assessed_at,
        })
    }
}

/// The latest assessment's columns.
pub(super) const LATEST_ASSESSMENT: &str = "\
    SELECT data_processing_context, ease_of_identification, confidentiality, integrity, \
           availability, malicious, likelihood, approximate_subjects, approximate_records, \
           computed_outcome, outcome, rationale, individual_exception, exception_detail, \
           assessed_by, assessed_at \
    FROM breaches.assessments WHERE tenant_id = $1 AND incident_id = $2 \
    ORDER BY assessed_at DESC, assessment_id DESC LIMIT 1";

#[derive(sqlx::FromRow)]
struct RegulatorRow {
    notification_id: Uuid,
    phase: String,
    submitted_at: OffsetDateTime,
    data_categories: Vec<String>,
    subject_categories: Vec<String>,
    approximate_subjects: i64,
    approximate_records: i64,
    nature: String,
    likely_consequences: String,
    measures: String,
    delay_reason: String,
    further_information: String,
    financial_services_commission: Option<bool>,
    signed_by: String,
    jurisdiction: String,
    organisation: String,
    dpo_name: String,
    dpo_designation: String,
    dpo_work_address: String,
    dpo_telephone: String,
    dpo_email: String,
    severity: String,
    individuals_told: String,
    late: bool,
}

impl RegulatorRow {
    fn into_domain(self) -> Option<RegulatorNotification> {
        Some(RegulatorNotification {
            id: self.notification_id,
            spec: NewRegulatorNotification {
                phase: Phase::from_code(&self.phase)?,
                submitted_at: self.submitted_at,
                content: ReportContent {
                    data_categories: self.data_categories,
                    subject_categories: self.subject_categories,
                    approximate_subjects: self.approximate_subjects,
                    approximate_records: self.approximate_records,
                    nature: self.nature,
                    likely_consequences: self.likely_consequences,
                    measures: self.measures,
                },
                delay_reason: self.delay_reason,
                further_information: self.further_information,
                financial_services_commission: self.financial_services_commission,
                signed_by: self.signed_by,
            },
            jurisdiction: Jurisdiction::from_code(&self.jurisdiction)?,
            organisation: self.organisation,
            dpo: DpoContact {
                name: self.dpo_name,
                designation: self.dpo_designation,
                work_address: self.dpo_work_address,
                telephone: self.dpo_telephone,
                email: self.dpo_email,
            },
            severity: self.severity,
            individuals_told: self.individuals_told,
            late: self.late,
        })
    }
}

pub(super) const REGULATOR_COLUMNS: &str = "\
    notification_id, phase, submitted_at, data_categories, subject_categories, \
    approximate_subjects, approximate_records, nature, likely_consequences, measures, \
    delay_reason, further_information, financial_services_commission, signed_by, jurisdiction, \
    organisation, dpo_name, dpo_designation, dpo_work_address, dpo_telephone, dpo_email, \
    severity, individuals_told, late";

#[derive(sqlx::FromRow)]
struct NoticeRow {
    notification_id: Uuid,
    audience: String,
    person_id: Option<String>,
    recipient: Vec<u8>,
    what_happened: Vec<u8>,
    likely_consequences: Vec<u8>,
    measures_taken: Vec<u8>,
    what_they_can_do: Vec<u8>,
    channel: String,
    sent_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
pub(super) struct ActionRow {
    action_id: Uuid,
    description: String,
    owner: String,
    due_at: OffsetDateTime,
    playbook: Option<String>,
    completed_at: Option<OffsetDateTime>,
    outcome: String,
}

impl ActionRow {
    pub(super) fn into_domain(self) -> Result<Action, StoreError> {
        let playbook = match self.playbook {
            None => None,
            Some(code) => Some(Playbook::from_code(&code).ok_or(StoreError::Corrupt("playbook"))?),
        };
        Ok(Action {
            id: self.action_id,
            spec: NewAction {
                description: self.description,
                owner: self.owner,
                due_at: self.due_at,
                playbook,
            },
            completed: self.completed_at.map(|at| (at, self.outcome)),
        })
    }
}

pub(super) const ACTION_COLUMNS: &str =
    "action_id, description, owner, due_at, playbook, completed_at, outcome";

fn opened(value: &Opened) -> Option<String> {
    value.value().map(str::to_owned)
}

impl Store {
    /// One incident of `tenant` with everything recorded about it, if it exists there.
    pub async fn get_incident(
        &self,
        tenant: &TenantId,
        id: IncidentId,
    ) -> Result<Option<Incident>, StoreError> {
        let t = tenant.as_str();
        let u = id.as_uuid();
        let row: Option<IncidentRow> = sqlx::query_as(
            "SELECT title, occurred_at, discovered_at, aware_at, created_at, reported_by, \
                    description, reported_to_dpo_at, systems, personal_data_breach, serious, kinds \
             FROM breaches.incidents WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(t)
        .bind(u)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let assessment: Option<AssessmentRow> = sqlx::query_as(LATEST_ASSESSMENT)
            .bind(t)
            .bind(u)
            .fetch_optional(&self.pool)
            .await?;
        let assessment = match assessment {
            None => None,
            Some(a) => Some(a.into_domain().ok_or(StoreError::Corrupt("assessment"))?),
        };
        let regulator: Vec<RegulatorRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REGULATOR_COLUMNS} FROM breaches.regulator_notifications \
             WHERE tenant_id = $1 AND incident_id = $2 ORDER BY submitted_at, notification_id"
        )))
        .bind(t)
        .bind(u)
        .fetch_all(&self.pool)
        .await?;
        let regulator_notifications = regulator
            .into_iter()
            .map(|r| {
                r.into_domain()
                    .ok_or(StoreError::Corrupt("regulator notification"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let notices: Vec<NoticeRow> = sqlx::query_as(
            "SELECT notification_id, audience, person_id, recipient, what_happened, \
                    likely_consequences, measures_taken, what_they_can_do, channel, sent_at \
             FROM breaches.individual_notifications \
             WHERE tenant_id = $1 AND incident_id = $2 ORDER BY sent_at, notification_id",
        )
        .bind(t)
        .bind(u)
        .fetch_all(&self.pool)
        .await?;
        let actions: Vec<ActionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTION_COLUMNS} FROM breaches.actions \
             WHERE tenant_id = $1 AND incident_id = $2 ORDER BY due_at, action_id"
        )))
        .bind(t)
        .bind(u)
        .fetch_all(&self.pool)
        .await?;
        let third: Vec<(String, String, String, OffsetDateTime)> = sqlx::query_as(
            "SELECT party, organisation, reference, notified_at FROM breaches.third_party_notices \
             WHERE tenant_id = $1 AND incident_id = $2 ORDER BY notified_at, notice_id",
        )
        .bind(t)
        .bind(u)
        .fetch_all(&self.pool)
        .await?;
        let review: Option<(String, String, String, OffsetDateTime, String)> = sqlx::query_as(
            "SELECT facts_and_cause, effects, lessons_learned, reviewed_at, reviewed_by \
             FROM breaches.reviews WHERE tenant_id = $1 AND incident_id = $2",
        )
        .bind(t)
        .bind(u)
        .fetch_optional(&self.pool)
        .await?;

        // Every sealed field of the incident and its notices, opened in one key-store query.
        let reported_by = row.reported_by.clone().map(Sealed::from);
        let description = row.description.clone().map(Sealed::from);
        let mut fields: Vec<(&str, Sealed)> = Vec::new();
        if let Some(s) = &reported_by {
            fields.push((INCIDENT_SEALED[0], s.clone()));
        }
        if let Some(s) = &description {
            fields.push((INCIDENT_SEALED[1], s.clone()));
        }
        for n in &notices {
            for (label, bytes) in NOTICE_SEALED.iter().zip([
                &n.recipient,
                &n.what_happened,
                &n.likely_consequences,
                &n.measures_taken,
                &n.what_they_can_do,
            ]) {
                fields.push((label, Sealed::from(bytes.clone())));
            }
        }
        let refs: Vec<(&str, &Sealed)> = fields.iter().map(|(l, s)| (*l, s)).collect();
        let values = self.open(tenant, &refs).await?;
        let mut values = values.into_iter();
        let reported_by = match reported_by {
            Some(_) => values.next().as_ref().and_then(opened),
            None => Some(String::new()),
        };
        let description = match description {
            Some(_) => values.next().as_ref().and_then(opened),
            None => Some(String::new()),
        };
        let text = match (reported_by, description) {
            (Some(r), Some(d)) => Some(IncidentText {
                reported_by: r.into(),
                description: d.into(),
            }),
            _ => None,
        };
        let mut individual_notifications = Vec::with_capacity(notices.len());
        for n in notices {
            let parts: Vec<Option<String>> = (0..NoticeText::COUNT)
                .map(|_| values.next().as_ref().and_then(opened))
                .collect();
            let text = parts
                .into_iter()
                .collect::<Option<Vec<String>>>()
                .and_then(|v| <[String; NoticeText::COUNT]>::try_from(v).ok())
                .map(NoticeText::from_values);
            individual_notifications.push((
                n.notification_id,
                IndividualNotice {
                    audience: Audience::from_code(&n.audience)
                        .ok_or(StoreError::Corrupt("audience"))?,
                    person_id: n.person_id,
                    text,
                    channel: Channel::from_code(&n.channel)
                        .ok_or(StoreError::Corrupt("channel"))?,
                    sent_at: n.sent_at,
                },
            ));
        }

        let classification = match (row.personal_data_breach, row.serious) {
            (Some(breach), Some(serious)) => {
                let kinds = row
                    .kinds
                    .iter()
                    .map(|k| BreachKind::from_code(k))
                    .collect::<Option<Vec<_>>>()
                    .ok_or(StoreError::Corrupt("kinds"))?;
                Some(
                    Classification::parse(breach, serious, kinds)
                        .map_err(|_| StoreError::Corrupt("classification"))?,
                )
            }
            _ => None,
        };
        Ok(Some(Incident {
            id,
            spec: NewIncident::from_stored(
                row.title,
                row.occurred_at,
                row.discovered_at,
                row.aware_at,
            ),
            details: IncidentDetails {
                text,
                reported_to_dpo_at: row.reported_to_dpo_at,
                systems: row.systems,
            },
            created_at: row.created_at,
            classification,
            assessment,
            regulator_notifications,
            individual_notifications,
            actions: actions
                .into_iter()
                .map(ActionRow::into_domain)
                .collect::<Result<_, _>>()?,
            third_party_notices: third
                .into_iter()
                .map(|(party, organisation, reference, notified_at)| {
                    Ok(ThirdPartyNotice {
                        party: Party::from_code(&party).ok_or(StoreError::Corrupt("party"))?,
                        organisation,
                        reference,
                        notified_at,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            review: review.map(
                |(facts_and_cause, effects, lessons_learned, reviewed_at, reviewed_by)| Review {
                    facts_and_cause,
                    effects,
                    lessons_learned,
                    reviewed_at,
                    reviewed_by,
                },
            ),
        }))
    }
}
