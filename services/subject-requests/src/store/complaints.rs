//! SQL for complaints (issue 17): `subject_requests.complaints` and its history. Every change is
//! one transaction that locks the complaint, checks the domain's rules against what is stored
//! and writes the change with its history row. A complaint about a subject request appeals or
//! annotates that request in the same transaction, through the request's own history.

use dps_crypto::{Opened, Sealed};
use dps_types::{CallerId, Masked, TenantId};
use sqlx::{Postgres, QueryBuilder, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Store, StoreError, insert_history, write_state};
use crate::domain::complaint::{
    About, Acknowledgement, AcknowledgementClock, Complaint, ComplaintDetails, ComplaintId,
    ComplaintOutcome, ComplaintState, ComplaintStep, Entry, IncidentRef, NewComplaint,
    RecordedAcknowledgement, RecordedResolution, Resolution, acknowledgement_clock,
    check_after_receipt, check_same_person,
};
use crate::domain::{
    Channel, Jurisdiction, Rejection, Relationship, RequestState, Step, SubjectRequestId,
};

/// Every column the store reads, in this order (a macro, so queries stay static strings).
macro_rules! complaint_columns {
    () => {
        "complaint_id, person_id, complainant_relationship, complainant_name, \
         complainant_contact, complainant_basis, subject, about_subject_request_id, \
         about_incident, about_processing_matter, channel, received_at, jurisdiction, state, \
         ack_due_on, ack_statutory, ack_explanation, ack_warnings, acknowledged_at, \
         acknowledged_channel, acknowledged_by, acknowledged_late, assignee, outcome, reply, \
         replied_at, reply_channel, outcome_by, days_to_outcome, created_at, \
         ack_due_sort::text AS ack_due_sort_text"
    };
}

/// The labels the sealed columns are bound to: the details in [`ComplaintDetails`] order, then
/// the reply.
const SEALED: [&str; 5] = [
    "complaints.complainant_name",
    "complaints.complainant_contact",
    "complaints.complainant_basis",
    "complaints.subject",
    "complaints.reply",
];
/// The label of a history entry's text.
const HISTORY_TEXT: &str = "complaint_history.text";

#[derive(sqlx::FromRow)]
struct ComplaintRow {
    complaint_id: Uuid,
    person_id: String,
    complainant_relationship: String,
    complainant_name: Option<Vec<u8>>,
    complainant_contact: Vec<u8>,
    complainant_basis: Option<Vec<u8>>,
    subject: Vec<u8>,
    about_subject_request_id: Option<Uuid>,
    about_incident: Option<String>,
    about_processing_matter: Option<String>,
    channel: String,
    received_at: OffsetDateTime,
    jurisdiction: String,
    state: String,
    ack_due_on: Option<Date>,
    ack_statutory: bool,
    ack_explanation: Vec<String>,
    ack_warnings: Vec<String>,
    acknowledged_at: Option<OffsetDateTime>,
    acknowledged_channel: Option<String>,
    acknowledged_by: Option<String>,
    acknowledged_late: Option<bool>,
    assignee: Option<String>,
    outcome: Option<String>,
    reply: Option<Vec<u8>>,
    replied_at: Option<OffsetDateTime>,
    reply_channel: Option<String>,
    outcome_by: Option<String>,
    days_to_outcome: Option<i32>,
    created_at: OffsetDateTime,
    // Not aliased `ack_due_sort`: ORDER BY would then sort by this text, not the indexed date.
    ack_due_sort_text: String,
}

impl ComplaintRow {
    fn sealed(&self) -> [Option<&Vec<u8>>; 5] {
        [
            self.complainant_name.as_ref(),
            Some(&self.complainant_contact),
            self.complainant_basis.as_ref(),
            Some(&self.subject),
            self.reply.as_ref(),
        ]
    }

    /// `opened` is `None` once the person's key was shredded.
    fn into_domain(self, opened: Option<[Masked<String>; 5]>) -> Result<Complaint, StoreError> {
        let erased = opened.is_none();
        let [name, contact, basis, subject, reply] = opened.unwrap_or_default();
        let channel =
            |code: &str| Channel::from_code(code).ok_or(StoreError::Corrupt("complaint channel"));
        let about = match (
            self.about_subject_request_id,
            self.about_incident,
            self.about_processing_matter,
        ) {
            (Some(id), _, _) => Some(About::SubjectRequest(SubjectRequestId::from_uuid(id))),
            (_, Some(incident), _) => Some(About::Incident(
                IncidentRef::parse_name(&incident).ok_or(StoreError::Corrupt("incident"))?,
            )),
            (_, _, Some(matter)) => Some(About::ProcessingMatter(matter)),
            _ => None,
        };
        let acknowledgement = match (self.acknowledged_at, self.acknowledged_channel) {
            (Some(at), Some(code)) => Some(RecordedAcknowledgement {
                acknowledgement: Acknowledgement {
                    at,
                    channel: channel(&code)?,
                },
                by: self.acknowledged_by.unwrap_or_default(),
                late: self.acknowledged_late.unwrap_or_default(),
            }),
            _ => None,
        };
        let resolution = match (self.outcome, self.replied_at, self.reply_channel) {
            (Some(outcome), Some(replied_at), Some(code)) => Some(RecordedResolution {
                resolution: Resolution {
                    outcome: ComplaintOutcome::from_code(&outcome)
                        .ok_or(StoreError::Corrupt("complaint outcome"))?,
                    reply,
                    replied_at,
                    channel: channel(&code)?,
                },
                by: self.outcome_by.unwrap_or_default(),
                days_to_outcome: self.days_to_outcome.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(Complaint {
            id: ComplaintId::from_uuid(self.complaint_id),
            spec: NewComplaint {
                person_id: Masked::new(self.person_id),
                relationship: Relationship::from_code(&self.complainant_relationship)
                    .ok_or(StoreError::Corrupt("complainant relationship"))?,
                details: ComplaintDetails::from_values([name, contact, basis, subject]),
                about,
                received_at: self.received_at,
                channel: channel(&self.channel)?,
            },
            state: ComplaintState::from_code(&self.state)
                .ok_or(StoreError::Corrupt("complaint state"))?,
            jurisdiction: Jurisdiction::from_code(&self.jurisdiction)
                .ok_or(StoreError::Corrupt("jurisdiction"))?,
            clock: AcknowledgementClock {
                due: self.ack_due_on,
                statutory: self.ack_statutory,
                explanation: self.ack_explanation,
                warnings: self.ack_warnings,
            },
            acknowledgement,
            assignee: self.assignee,
            resolution,
            created_at: self.created_at,
            personal_data_erased: erased,
        })
    }
}

/// What locking a complaint for a change reads.
#[derive(sqlx::FromRow)]
struct Head {
    person_id: String,
    state: String,
    jurisdiction: String,
    received_at: OffsetDateTime,
    ack_due_on: Option<Date>,
    acknowledged: bool,
}

/// A locked complaint, parsed.
struct Locked {
    person_id: String,
    state: ComplaintState,
    jurisdiction: Jurisdiction,
    received_at: OffsetDateTime,
    ack_due: Option<Date>,
    acknowledged: bool,
}

/// One entry of a complaint's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintHistoryEntry {
    /// The step's code (`created`, `acknowledge`, `note`, ...).
    pub action: String,
    /// The state before; `None` for creation.
    pub from_state: Option<ComplaintState>,
    /// The state after.
    pub to_state: ComplaintState,
    /// Who.
    pub actor: String,
    /// The note, step or reason; empty when none, or once the person's key was shredded.
    pub text: Masked<String>,
    /// When.
    pub recorded_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    action: String,
    from_state: Option<String>,
    to_state: String,
    actor: String,
    text: Option<Vec<u8>>,
    recorded_at: OffsetDateTime,
}

/// Filters of a complaint listing, already checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComplaintFilter {
    /// Open complaints only.
    pub open_only: bool,
    /// Not acknowledged and due before this day (today): overdue.
    pub ack_overdue_on: Option<Date>,
}

/// Where a page starts: after this sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintPageKey {
    /// `ack_due_sort` as Postgres prints it (a date, or `infinity`).
    pub due_sort: String,
    /// The last id of the previous page.
    pub id: Uuid,
}

/// Complaint figures for one tenant, or the group when `tenant` is `None`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ComplaintFigures {
    /// The tenant; `None` for the group total.
    pub tenant: Option<String>,
    /// Not closed.
    pub open: i64,
    /// Not yet acknowledged.
    pub awaiting_acknowledgement: i64,
    /// Not acknowledged by the due date, as of today.
    pub acknowledgement_overdue: i64,
    /// Acknowledged after the due date.
    pub acknowledged_late: i64,
    /// Closed.
    pub closed: i64,
    /// `(outcome code, count)`.
    #[sqlx(skip)]
    pub by_outcome: Vec<(String, i64)>,
    /// Median local days from receipt to the reply, closed and not withdrawn.
    pub median_days: Option<f64>,
}

/// One query for both scopes: `$1` NULL means every tenant; grouping sets give each tenant and the
/// total in one pass.
const FIGURES: &str = "\
    SELECT tenant_id AS tenant, \
           count(*) FILTER (WHERE is_open) AS open, \
           count(*) FILTER (WHERE state = 'received') AS awaiting_acknowledgement, \
           count(*) FILTER (WHERE state = 'received' AND ack_due_on < $2) \
               AS acknowledgement_overdue, \
           count(*) FILTER (WHERE acknowledged_late) AS acknowledged_late, \
           count(*) FILTER (WHERE NOT is_open) AS closed, \
           percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_outcome) \
               FILTER (WHERE outcome <> 'withdrawn') AS median_days \
    FROM subject_requests.complaints \
    WHERE ($1::text IS NULL OR tenant_id = $1) \
    GROUP BY GROUPING SETS ((tenant_id), ()) \
    ORDER BY tenant_id NULLS LAST";

const BY_OUTCOME: &str = "\
    SELECT tenant_id, outcome, count(*) FROM subject_requests.complaints \
    WHERE ($1::text IS NULL OR tenant_id = $1) AND outcome IS NOT NULL \
    GROUP BY tenant_id, outcome ORDER BY tenant_id, outcome";

fn rejected(violations: Vec<dps_types::FieldViolation>) -> StoreError {
    StoreError::Rejected(Rejection::Invalid(violations))
}

impl Store {
    /// Opens the sealed fields of many rows with one key-store query; `None` for a row whose
    /// person's key was shredded.
    async fn open_complaints(
        &self,
        tenant: &TenantId,
        rows: Vec<ComplaintRow>,
    ) -> Result<Vec<Complaint>, StoreError> {
        let mut owners: Vec<(usize, usize)> = Vec::new();
        let mut sealed: Vec<Sealed> = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            for (i, bytes) in row.sealed().into_iter().enumerate() {
                if let Some(bytes) = bytes {
                    owners.push((r, i));
                    sealed.push(Sealed::from(bytes.clone()));
                }
            }
        }
        let fields: Vec<(&str, &Sealed)> = owners
            .iter()
            .zip(&sealed)
            .map(|((_, i), s)| (SEALED[*i], s))
            .collect();
        let opened = if fields.is_empty() {
            Vec::new()
        } else {
            self.vault.open(tenant, &fields).await?
        };
        let mut out: Vec<Option<[Masked<String>; 5]>> =
            rows.iter().map(|_| Some(Default::default())).collect();
        for ((r, i), opened) in owners.into_iter().zip(opened) {
            match opened {
                Opened::Erased => out[r] = None,
                Opened::Value(value) => {
                    if let Some(values) = out[r].as_mut() {
                        values[i] = value;
                    }
                }
            }
        }
        rows.into_iter()
            .zip(out)
            .map(|(row, opened)| row.into_domain(opened))
            .collect()
    }

    /// Seals `values` (label, value) with the person's key; empty values stay `None`.
    async fn seal_for(
        &self,
        tenant: &TenantId,
        person_id: &str,
        values: &[(&'static str, &str)],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let given: Vec<(usize, (&str, &str))> = values
            .iter()
            .enumerate()
            .filter(|(_, (_, v))| !v.is_empty())
            .map(|(i, f)| (i, *f))
            .collect();
        let mut out: Vec<Option<Vec<u8>>> = vec![None; values.len()];
        if given.is_empty() {
            return Ok(out);
        }
        let fields: Vec<(&str, &str)> = given.iter().map(|(_, f)| *f).collect();
        let sealed = self.vault.seal(tenant, person_id, &fields).await?;
        for ((i, _), sealed) in given.iter().zip(sealed) {
            out[*i] = Some(sealed.into_bytes());
        }
        Ok(out)
    }

    /// Records a complaint as received under `jurisdiction`, with its acknowledgement clock and
    /// a history entry, in one transaction; a linked subject request is appealed (when completed
    /// or refused) or annotated in the same transaction. With a `request_id` already used by this
    /// caller in this tenant, returns the complaint that call recorded instead of a duplicate.
    pub async fn create_complaint(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        complaint: &NewComplaint,
        jurisdiction: Jurisdiction,
    ) -> Result<Complaint, StoreError> {
        let clock = acknowledgement_clock(jurisdiction, complaint.received_at);
        let person = complaint.person_id.expose();
        let details = complaint.details.values();
        let sealed = self
            .seal_for(
                tenant,
                person,
                &[
                    (SEALED[0], details[0]),
                    (SEALED[1], details[1]),
                    (SEALED[2], details[2]),
                    (SEALED[3], details[3]),
                ],
            )
            .await?;
        let (about_request, about_incident, about_matter) = match &complaint.about {
            Some(About::SubjectRequest(id)) => (Some(*id), None, None),
            Some(About::Incident(incident)) => (None, Some(incident.to_string()), None),
            Some(About::ProcessingMatter(matter)) => (None, None, Some(matter.clone())),
            None => (None, None, None),
        };
        let id = ComplaintId::generate();
        let mut tx = self.pool.begin().await?;
        // The linked request is locked before the complaint is written, so its state cannot move
        // between the check and the appeal.
        let linked = match about_request {
            Some(request) => Some((
                request,
                lock_linked(&mut tx, tenant, request, person).await?,
            )),
            None => None,
        };
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO subject_requests.complaints \
                 (tenant_id, complaint_id, person_id, complainant_relationship, complainant_name, \
                  complainant_contact, complainant_basis, subject, about_subject_request_id, \
                  about_incident, about_processing_matter, channel, received_at, jurisdiction, \
                  state, ack_due_on, ack_statutory, ack_explanation, ack_warnings, created_by, \
                  request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     $18, $19, $20, $21) \
             ON CONFLICT ON CONSTRAINT complaints_request_id_key DO NOTHING \
             RETURNING complaint_id",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(person)
        .bind(complaint.relationship.code())
        .bind(&sealed[0])
        .bind(&sealed[1])
        .bind(&sealed[2])
        .bind(&sealed[3])
        .bind(about_request.map(|r| r.as_uuid()))
        .bind(about_incident)
        .bind(about_matter)
        .bind(complaint.channel.code())
        .bind(complaint.received_at)
        .bind(jurisdiction.code())
        // Every complaint starts as received; `state` is output only.
        .bind(ComplaintState::Received.code())
        .bind(clock.due)
        .bind(clock.statutory)
        .bind(&clock.explanation)
        .bind(&clock.warnings)
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let id = match inserted {
            Some(_) => {
                insert_complaint_history(
                    &mut tx,
                    tenant,
                    id,
                    "created",
                    None,
                    ComplaintState::Received,
                    caller,
                    None,
                )
                .await?;
                if let Some((request, state)) = linked {
                    link_request(&mut tx, tenant, caller, request, state, id).await?;
                }
                tx.commit().await?;
                id
            }
            // The conflict can only be on the idempotency key, which is then not null.
            None => {
                tx.rollback().await?;
                let original: Uuid = sqlx::query_scalar(
                    "SELECT complaint_id FROM subject_requests.complaints \
                     WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
                )
                .bind(tenant.as_str())
                .bind(caller.as_str())
                .bind(request_id)
                .fetch_one(&self.pool)
                .await?;
                ComplaintId::from_uuid(original)
            }
        };
        self.existing_complaint(tenant, id).await
    }

    /// One complaint of `tenant`, if it exists there.
    pub async fn get_complaint(
        &self,
        tenant: &TenantId,
        id: ComplaintId,
    ) -> Result<Option<Complaint>, StoreError> {
        let row: Option<ComplaintRow> = sqlx::query_as(concat!(
            "SELECT ",
            complaint_columns!(),
            " FROM subject_requests.complaints WHERE tenant_id = $1 AND complaint_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        Ok(self
            .open_complaints(tenant, row.into_iter().collect())
            .await?
            .pop())
    }

    async fn existing_complaint(
        &self,
        tenant: &TenantId,
        id: ComplaintId,
    ) -> Result<Complaint, StoreError> {
        self.get_complaint(tenant, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// A page of complaints by acknowledgement due date (undated last), then id, after `after`;
    /// with the key of the next page when there may be one.
    pub async fn list_complaints(
        &self,
        tenant: &TenantId,
        filter: &ComplaintFilter,
        page_size: i64,
        after: Option<&ComplaintPageKey>,
    ) -> Result<(Vec<Complaint>, Option<ComplaintPageKey>), StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(concat!(
            "SELECT ",
            complaint_columns!(),
            " FROM subject_requests.complaints WHERE tenant_id = "
        ));
        q.push_bind(tenant.as_str());
        // A literal `is_open`, so the planner can use the partial index of open complaints.
        if filter.open_only || filter.ack_overdue_on.is_some() {
            q.push(" AND is_open");
        }
        if let Some(today) = filter.ack_overdue_on {
            q.push(" AND state = 'received' AND ack_due_sort < ")
                .push_bind(today);
        }
        if let Some(after) = after {
            q.push(" AND (ack_due_sort, complaint_id) > (")
                .push_bind(after.due_sort.clone())
                .push("::date, ")
                .push_bind(after.id)
                .push(")");
        }
        q.push(" ORDER BY ack_due_sort, complaint_id LIMIT ")
            .push_bind(page_size + 1);
        let mut rows: Vec<ComplaintRow> = q.build_query_as().fetch_all(&self.pool).await?;
        let more = usize::try_from(page_size).is_ok_and(|n| rows.len() > n);
        if more {
            rows.pop();
        }
        let next = rows.last().filter(|_| more).map(|row| ComplaintPageKey {
            due_sort: row.ack_due_sort_text.clone(),
            id: row.complaint_id,
        });
        Ok((self.open_complaints(tenant, rows).await?, next))
    }

    /// Locks a complaint for a change; NOT_FOUND outside the tenant.
    async fn lock_complaint(
        tx: &mut Transaction<'_, Postgres>,
        tenant: &TenantId,
        id: ComplaintId,
    ) -> Result<Locked, StoreError> {
        let head: Head = sqlx::query_as(
            "SELECT person_id, state, jurisdiction, received_at, ack_due_on, \
                    acknowledged_at IS NOT NULL AS acknowledged \
             FROM subject_requests.complaints \
             WHERE tenant_id = $1 AND complaint_id = $2 FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        Ok(Locked {
            person_id: head.person_id,
            state: ComplaintState::from_code(&head.state)
                .ok_or(StoreError::Corrupt("complaint state"))?,
            jurisdiction: Jurisdiction::from_code(&head.jurisdiction)
                .ok_or(StoreError::Corrupt("jurisdiction"))?,
            received_at: head.received_at,
            ack_due: head.ack_due_on,
            acknowledged: head.acknowledged,
        })
    }

    /// Records the acknowledgement (s164A(3)). Acknowledging an acknowledged complaint changes
    /// nothing and returns it as it is.
    pub async fn acknowledge_complaint(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: ComplaintId,
        acknowledgement: Acknowledgement,
    ) -> Result<Complaint, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock_complaint(&mut tx, tenant, id).await?;
        if locked.acknowledged {
            tx.rollback().await?;
            return self.existing_complaint(tenant, id).await;
        }
        let next = locked
            .state
            .after(ComplaintStep::Acknowledge)
            .map_err(Rejection::Precondition)?;
        check_after_receipt(
            "acknowledgement.acknowledge_time",
            acknowledgement.at,
            locked.received_at,
        )
        .map_err(rejected)?;
        let late = acknowledgement.is_late(locked.jurisdiction.zone(), locked.ack_due);
        sqlx::query(
            "UPDATE subject_requests.complaints \
             SET state = $3, acknowledged_at = $4, acknowledged_channel = $5, \
                 acknowledged_by = $6, acknowledged_late = $7, updated_at = now() \
             WHERE tenant_id = $1 AND complaint_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(next.code())
        .bind(acknowledgement.at)
        .bind(acknowledgement.channel.code())
        .bind(caller.as_str())
        .bind(late)
        .execute(&mut *tx)
        .await?;
        insert_complaint_history(
            &mut tx,
            tenant,
            id,
            ComplaintStep::Acknowledge.code(),
            Some(locked.state),
            next,
            caller,
            None,
        )
        .await?;
        tx.commit().await?;
        self.existing_complaint(tenant, id).await
    }

    /// Assigns (or, with `None`, unassigns) the handler of an open complaint.
    pub async fn assign_complaint(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: ComplaintId,
        assignee: Option<&str>,
    ) -> Result<Complaint, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock_complaint(&mut tx, tenant, id).await?;
        let next = locked
            .state
            .after(ComplaintStep::Assign)
            .map_err(Rejection::Precondition)?;
        sqlx::query(
            "UPDATE subject_requests.complaints SET assignee = $3, updated_at = now() \
             WHERE tenant_id = $1 AND complaint_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(assignee)
        .execute(&mut *tx)
        .await?;
        let reason =
            assignee.map_or_else(|| "unassigned".to_owned(), |a| format!("assigned to {a}"));
        let text = self
            .seal_for(tenant, &locked.person_id, &[(HISTORY_TEXT, &reason)])
            .await?;
        insert_complaint_history(
            &mut tx,
            tenant,
            id,
            ComplaintStep::Assign.code(),
            Some(locked.state),
            next,
            caller,
            text[0].as_deref(),
        )
        .await?;
        tx.commit().await?;
        self.existing_complaint(tenant, id).await
    }

    /// Adds a note or a step taken; a step moves an acknowledged complaint to investigating.
    pub async fn add_complaint_entry(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: ComplaintId,
        entry: &Entry,
    ) -> Result<Complaint, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock_complaint(&mut tx, tenant, id).await?;
        let next = locked
            .state
            .after(entry.step)
            .map_err(Rejection::Precondition)?;
        let text = self
            .seal_for(
                tenant,
                &locked.person_id,
                &[(HISTORY_TEXT, entry.text.expose())],
            )
            .await?;
        if next != locked.state {
            sqlx::query(
                "UPDATE subject_requests.complaints SET state = $3, updated_at = now() \
                 WHERE tenant_id = $1 AND complaint_id = $2",
            )
            .bind(tenant.as_str())
            .bind(id.as_uuid())
            .bind(next.code())
            .execute(&mut *tx)
            .await?;
        }
        insert_complaint_history(
            &mut tx,
            tenant,
            id,
            entry.step.code(),
            Some(locked.state),
            next,
            caller,
            text[0].as_deref(),
        )
        .await?;
        tx.commit().await?;
        self.existing_complaint(tenant, id).await
    }

    /// Records the outcome with the reply that told the complainant (s164A(4)(b)), closing the
    /// complaint.
    pub async fn record_complaint_outcome(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: ComplaintId,
        resolution: &Resolution,
    ) -> Result<Complaint, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock_complaint(&mut tx, tenant, id).await?;
        let next = locked
            .state
            .after(ComplaintStep::Outcome(resolution.outcome))
            .map_err(Rejection::Precondition)?;
        check_after_receipt("reply_time", resolution.replied_at, locked.received_at)
            .map_err(rejected)?;
        let days = resolution.days_to_outcome(locked.jurisdiction.zone(), locked.received_at);
        let sealed = self
            .seal_for(
                tenant,
                &locked.person_id,
                &[(SEALED[4], resolution.reply.expose())],
            )
            .await?;
        sqlx::query(
            "UPDATE subject_requests.complaints \
             SET state = $3, outcome = $4, reply = $5, replied_at = $6, reply_channel = $7, \
                 outcome_by = $8, days_to_outcome = $9, updated_at = now() \
             WHERE tenant_id = $1 AND complaint_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(next.code())
        .bind(resolution.outcome.code())
        .bind(&sealed[0])
        .bind(resolution.replied_at)
        .bind(resolution.channel.code())
        .bind(caller.as_str())
        .bind(days)
        .execute(&mut *tx)
        .await?;
        insert_complaint_history(
            &mut tx,
            tenant,
            id,
            ComplaintStep::Outcome(resolution.outcome).code(),
            Some(locked.state),
            next,
            caller,
            None,
        )
        .await?;
        tx.commit().await?;
        self.existing_complaint(tenant, id).await
    }

    /// A complaint's history, oldest first, texts opened; NOT_FOUND outside the tenant.
    pub async fn complaint_history(
        &self,
        tenant: &TenantId,
        id: ComplaintId,
    ) -> Result<Vec<ComplaintHistoryEntry>, StoreError> {
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT action, from_state, to_state, actor, text, recorded_at \
             FROM subject_requests.complaint_history \
             WHERE tenant_id = $1 AND complaint_id = $2 ORDER BY entry_id",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let sealed: Vec<(usize, Sealed)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.text.clone().map(|t| (i, Sealed::from(t))))
            .collect();
        let fields: Vec<(&str, &Sealed)> = sealed.iter().map(|(_, s)| (HISTORY_TEXT, s)).collect();
        let opened = if fields.is_empty() {
            Vec::new()
        } else {
            self.vault.open(tenant, &fields).await?
        };
        let mut texts: Vec<Masked<String>> = rows.iter().map(|_| Masked::default()).collect();
        for ((i, _), opened) in sealed.iter().zip(opened) {
            if let Opened::Value(value) = opened {
                texts[*i] = value;
            }
        }
        let state = |code: &str| {
            ComplaintState::from_code(code).ok_or(StoreError::Corrupt("complaint history state"))
        };
        rows.into_iter()
            .zip(texts)
            .map(|(row, text)| {
                Ok(ComplaintHistoryEntry {
                    action: row.action,
                    from_state: row.from_state.as_deref().map(state).transpose()?,
                    to_state: state(&row.to_state)?,
                    actor: row.actor,
                    text,
                    recorded_at: row.recorded_at,
                })
            })
            .collect()
    }

    /// Figures per tenant and in total, for `tenant` or (with `None`) the whole group. The caller
    /// decides who may see the group: with the request dashboard, the only query without a
    /// tenant filter.
    pub async fn complaint_figures(
        &self,
        tenant: Option<&TenantId>,
        today: Date,
    ) -> Result<(Vec<ComplaintFigures>, ComplaintFigures), StoreError> {
        let tenant = tenant.map(TenantId::as_str);
        let mut rows: Vec<ComplaintFigures> = sqlx::query_as(FIGURES)
            .bind(tenant)
            .bind(today)
            .fetch_all(&self.pool)
            .await?;
        let outcomes: Vec<(String, String, i64)> = sqlx::query_as(BY_OUTCOME)
            .bind(tenant)
            .fetch_all(&self.pool)
            .await?;
        // With no rows at all, the grouping set still yields the (empty) total.
        let mut total = rows.pop().unwrap_or(ComplaintFigures {
            tenant: None,
            open: 0,
            awaiting_acknowledgement: 0,
            acknowledgement_overdue: 0,
            acknowledged_late: 0,
            closed: 0,
            by_outcome: Vec::new(),
            median_days: None,
        });
        for (t, outcome, n) in outcomes {
            if let Some(row) = rows.iter_mut().find(|r| r.tenant.as_deref() == Some(&t)) {
                row.by_outcome.push((outcome.clone(), n));
            }
            match total.by_outcome.iter_mut().find(|(o, _)| *o == outcome) {
                Some((_, sum)) => *sum += n,
                None => total.by_outcome.push((outcome, n)),
            }
        }
        Ok((rows, total))
    }
}

/// Locks the subject request a complaint is about and checks it concerns the same person:
/// NOT_FOUND outside the tenant, naming the field.
async fn lock_linked(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    request: SubjectRequestId,
    person_id: &str,
) -> Result<RequestState, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT state, person_id FROM subject_requests.subject_requests \
         WHERE tenant_id = $1 AND subject_request_id = $2 FOR UPDATE",
    )
    .bind(tenant.as_str())
    .bind(request.as_uuid())
    .fetch_optional(&mut **tx)
    .await?;
    let (state, request_person) =
        row.ok_or_else(|| StoreError::NotFound(format!("complaint.subject_request {request}")))?;
    check_same_person("complaint.subject_request", person_id, &request_person).map_err(rejected)?;
    RequestState::from_code(&state).ok_or(StoreError::Corrupt("state"))
}

/// A complaint about a completed or refused request appeals it; about any other, it is noted in
/// the request's history. Either way a new history entry, never an edit of an old one.
async fn link_request(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    caller: &CallerId,
    request: SubjectRequestId,
    state: RequestState,
    complaint: ComplaintId,
) -> Result<(), StoreError> {
    let reason = format!("complaint {complaint} (DPA 2018 s164A)");
    match state.after(Step::Appeal) {
        Ok(next) => {
            write_state(tx, tenant, request, next, None).await?;
            insert_history(
                tx,
                tenant,
                request,
                Step::Appeal.code(),
                Some(state),
                next,
                caller,
                &reason,
            )
            .await
        }
        Err(_) => {
            insert_history(
                tx,
                tenant,
                request,
                "complaint",
                Some(state),
                state,
                caller,
                &reason,
            )
            .await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn insert_complaint_history(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: ComplaintId,
    action: &str,
    from: Option<ComplaintState>,
    to: ComplaintState,
    actor: &CallerId,
    text: Option<&[u8]>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO subject_requests.complaint_history \
             (tenant_id, entry_id, complaint_id, action, from_state, to_state, actor, text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tenant.as_str())
    .bind(Uuid::now_v7())
    .bind(id.as_uuid())
    .bind(action)
    .bind(from.map(ComplaintState::code))
    .bind(to.code())
    .bind(actor.as_str())
    .bind(text)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
