//! The record registry: registration one at a time or in `UNNEST` batches, later events, reads.

use dps_types::TenantId;
use sqlx::{PgConnection, Postgres, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Store, StoreError};
use crate::domain::{
    Dating, Event, Facts, NewRecord, Record, RecordClass, RecordClassId, RecordId, RecordState,
    check_event_date, date_record,
};

/// The columns of a record with its class code; queries append their `WHERE`. The stored state
/// stays `active` while a review is open (the sweep writes only the review); the state read is
/// `under_review` then, one probe of the open-review key per record.
macro_rules! record_columns {
    () => {
        "SELECT r.record_id, r.record_class_id, c.code, r.person_id, r.system, r.external_id, \
                r.created_on, r.born_on, r.discharged_on, r.died_on, r.died_in_care, \
                r.left_employment_on, r.closed_on, r.appeal_closed_on, r.training_completed_on, \
                r.recruitment_decided_on, r.organisation_ended_on, r.review_on, r.explanation, \
                r.schedule_version, \
                CASE WHEN r.state = 'active' AND EXISTS ( \
                    SELECT 1 FROM retention.disposal_reviews d \
                    WHERE d.tenant_id = r.tenant_id AND d.record_id = r.record_id \
                      AND d.state = 'open') \
                THEN 'under_review' ELSE r.state END AS state, \
                r.extended_until, r.created_at \
         FROM retention.records r \
         JOIN retention.record_classes c \
           ON c.tenant_id = r.tenant_id AND c.record_class_id = r.record_class_id "
    };
}
pub(super) use record_columns;

/// Records per `UNNEST` insert: large enough to amortise the round trip, small enough to keep
/// each statement's arrays modest.
const BATCH: usize = 5000;

#[derive(sqlx::FromRow)]
pub(super) struct RecordRow {
    record_id: Uuid,
    record_class_id: Uuid,
    code: String,
    person_id: Option<String>,
    system: String,
    external_id: String,
    created_on: Date,
    born_on: Option<Date>,
    discharged_on: Option<Date>,
    died_on: Option<Date>,
    died_in_care: bool,
    left_employment_on: Option<Date>,
    closed_on: Option<Date>,
    appeal_closed_on: Option<Date>,
    training_completed_on: Option<Date>,
    recruitment_decided_on: Option<Date>,
    organisation_ended_on: Option<Date>,
    review_on: Option<Date>,
    explanation: String,
    schedule_version: i32,
    state: String,
    extended_until: Option<Date>,
    created_at: OffsetDateTime,
}

impl RecordRow {
    /// Whether a review is open on it (it may be withdrawn when the record is re-dated).
    pub(super) fn under_review(&self) -> bool {
        self.state == RecordState::UnderReview.code()
    }

    /// The id, facts and extension: what re-dating needs.
    pub(super) fn facts(&self) -> (Uuid, Facts, Option<Date>) {
        let events = [
            Some(self.created_on),
            self.discharged_on,
            self.died_on,
            self.left_employment_on,
            self.closed_on,
            self.appeal_closed_on,
            self.training_completed_on,
            self.recruitment_decided_on,
            self.organisation_ended_on,
        ];
        let facts = Facts {
            born: self.born_on,
            events,
            died_in_care: self.died_in_care,
        };
        (self.record_id, facts, self.extended_until)
    }
}

impl TryFrom<RecordRow> for Record {
    type Error = StoreError;
    fn try_from(row: RecordRow) -> Result<Self, StoreError> {
        let (_, facts, _) = row.facts();
        Ok(Record {
            id: RecordId::from_uuid(row.record_id),
            class_id: RecordClassId::from_uuid(row.record_class_id),
            class_code: row.code,
            person_id: row.person_id,
            system: row.system,
            external_id: row.external_id,
            facts,
            dating: Dating {
                review_on: row.review_on,
                explanation: row.explanation,
            },
            schedule_version: row.schedule_version,
            state: RecordState::from_code(&row.state).ok_or(StoreError::Corrupt("record state"))?,
            extended_until: row.extended_until,
            created_at: row.created_at,
        })
    }
}

/// Column arrays of one insert batch.
#[derive(Default)]
struct Batch {
    ids: Vec<Uuid>,
    classes: Vec<Uuid>,
    persons: Vec<Option<String>>,
    systems: Vec<String>,
    external_ids: Vec<String>,
    born: Vec<Option<Date>>,
    events: [Vec<Option<Date>>; 9],
    died_in_care: Vec<bool>,
    review_on: Vec<Option<Date>>,
    explanations: Vec<String>,
    versions: Vec<i32>,
}

impl Batch {
    fn push(&mut self, record: NewRecord, class: &RecordClass) {
        let dating = date_record(class, &record.facts, None);
        self.ids.push(RecordId::generate().as_uuid());
        self.classes.push(class.id.as_uuid());
        self.persons.push(record.person_id);
        self.systems.push(record.system);
        self.external_ids.push(record.external_id);
        self.born.push(record.facts.born);
        for (column, date) in self.events.iter_mut().zip(record.facts.events) {
            column.push(date);
        }
        self.died_in_care.push(record.facts.died_in_care);
        self.review_on.push(dating.review_on);
        self.explanations.push(dating.explanation);
        self.versions.push(class.schedule_version);
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Inserts the batch; registrations of an already registered (system, external id) are
    /// skipped. Returns the ids inserted.
    async fn flush(
        &mut self,
        conn: &mut PgConnection,
        tenant: &TenantId,
    ) -> Result<Vec<Uuid>, StoreError> {
        if self.ids.is_empty() {
            return Ok(Vec::new());
        }
        let batch = std::mem::take(self);
        let [
            created,
            discharged,
            died,
            left,
            closed,
            appeal,
            training,
            decided,
            ended,
        ] = batch.events;
        let created: Vec<Date> = created
            .into_iter()
            .map(|d| d.ok_or(StoreError::Corrupt("record without a creation date")))
            .collect::<Result<_, _>>()?;
        Ok(sqlx::query_scalar(
            "INSERT INTO retention.records \
                 (tenant_id, record_id, record_class_id, person_id, system, external_id, \
                  created_on, born_on, discharged_on, died_on, died_in_care, left_employment_on, \
                  closed_on, appeal_closed_on, training_completed_on, recruitment_decided_on, \
                  organisation_ended_on, review_on, explanation, schedule_version) \
             SELECT $1, * FROM UNNEST($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], \
                  $7::date[], $8::date[], $9::date[], $10::date[], $11::boolean[], $12::date[], \
                  $13::date[], $14::date[], $15::date[], $16::date[], $17::date[], $18::date[], \
                  $19::text[], $20::integer[]) \
             ON CONFLICT ON CONSTRAINT records_external_key DO NOTHING \
             RETURNING record_id",
        )
        .bind(tenant.as_str())
        .bind(&batch.ids)
        .bind(&batch.classes)
        .bind(&batch.persons)
        .bind(&batch.systems)
        .bind(&batch.external_ids)
        .bind(&created)
        .bind(&batch.born)
        .bind(&discharged)
        .bind(&died)
        .bind(&batch.died_in_care)
        .bind(&left)
        .bind(&closed)
        .bind(&appeal)
        .bind(&training)
        .bind(&decided)
        .bind(&ended)
        .bind(&batch.review_on)
        .bind(&batch.explanations)
        .bind(&batch.versions)
        .fetch_all(conn)
        .await?)
    }
}

/// A bulk registration in one transaction: all or nothing.
#[derive(Debug)]
pub struct BulkRegistration {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
    batch: Batch,
    received: u64,
    registered: u64,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").field("len", &self.len()).finish()
    }
}

impl BulkRegistration {
    /// Adds a valid record of `class`; writes a batch when full.
    pub async fn add(&mut self, record: NewRecord, class: &RecordClass) -> Result<(), StoreError> {
        self.received += 1;
        self.batch.push(record, class);
        if self.batch.len() >= BATCH {
            self.registered += self.batch.flush(&mut self.tx, &self.tenant).await?.len() as u64;
        }
        Ok(())
    }

    /// Writes the rest and commits. Returns (registered, already registered).
    pub async fn commit(mut self) -> Result<(u64, u64), StoreError> {
        self.registered += self.batch.flush(&mut self.tx, &self.tenant).await?.len() as u64;
        self.tx.commit().await?;
        Ok((self.registered, self.received - self.registered))
    }
}

impl Store {
    /// Starts a bulk registration; dropping it unfinished stores nothing.
    pub async fn bulk_registration(
        &self,
        tenant: &TenantId,
    ) -> Result<BulkRegistration, StoreError> {
        Ok(BulkRegistration {
            tx: self.pool.begin().await?,
            tenant: tenant.clone(),
            batch: Batch::default(),
            received: 0,
            registered: 0,
        })
    }

    /// Registers one record of `class`, or returns the record already registered under the same
    /// system and external id.
    pub async fn register_record(
        &self,
        tenant: &TenantId,
        record: NewRecord,
        class: &RecordClass,
    ) -> Result<Record, StoreError> {
        let (system, external_id) = (record.system.clone(), record.external_id.clone());
        let mut batch = Batch::default();
        batch.push(record, class);
        let mut conn = self.pool.acquire().await?;
        batch.flush(&mut conn, tenant).await?;
        let row: RecordRow = sqlx::query_as(concat!(
            record_columns!(),
            "WHERE r.tenant_id = $1 AND r.system = $2 AND r.external_id = $3"
        ))
        .bind(tenant.as_str())
        .bind(&system)
        .bind(&external_id)
        .fetch_one(&mut *conn)
        .await?;
        row.try_into()
    }

    /// One record of `tenant`, if it exists there.
    pub async fn get_record(
        &self,
        tenant: &TenantId,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError> {
        let row: Option<RecordRow> = sqlx::query_as(concat!(
            record_columns!(),
            "WHERE r.tenant_id = $1 AND r.record_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Record::try_from).transpose()
    }

    /// The records about a person, not yet disposed of.
    pub async fn person_records(
        &self,
        tenant: &TenantId,
        person_id: &str,
    ) -> Result<Vec<Record>, StoreError> {
        let rows: Vec<RecordRow> = sqlx::query_as(concat!(
            record_columns!(),
            "WHERE r.tenant_id = $1 AND r.person_id = $2 \
               AND r.state NOT IN ('destroyed', 'transferred') ORDER BY r.created_on, r.record_id"
        ))
        .bind(tenant.as_str())
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Record::try_from).collect()
    }

    /// Records a later event and re-dates the record under its class's current rule. A record
    /// under review whose new date has not come goes back to active, its review withdrawn.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_event(
        &self,
        tenant: &TenantId,
        id: RecordId,
        event: Event,
        date: Date,
        died_in_care: bool,
        class: &RecordClass,
        today: Date,
    ) -> Result<Record, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A sweep must not raise a review on the old date while this moves it.
        super::disposal::lock_reviews(&mut tx, tenant).await?;
        let row: Option<RecordRow> = sqlx::query_as(concat!(
            record_columns!(),
            "WHERE r.tenant_id = $1 AND r.record_id = $2 FOR UPDATE OF r"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let row = row.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        if row.record_class_id != class.id.as_uuid() {
            return Err(StoreError::Corrupt("record class changed under an event"));
        }
        let record = Record::try_from(row)?;
        if !matches!(record.state, RecordState::Active | RecordState::UnderReview) {
            return Err(StoreError::Precondition(format!(
                "{id} is {}: events can no longer change it",
                record.state.code()
            )));
        }
        let created = record
            .facts
            .date(Event::Created)
            .ok_or(StoreError::Corrupt("record without a creation date"))?;
        check_event_date(date, created, today).map_err(|e| StoreError::invalid("date", e))?;
        let mut facts = record.facts.clone();
        facts.set(event, Some(date));
        if event == Event::Died {
            facts.died_in_care = died_in_care;
        }
        let dating = date_record(class, &facts, record.extended_until);
        let [
            _,
            discharged,
            died,
            left,
            closed,
            appeal,
            training,
            decided,
            ended,
        ] = facts.events;
        sqlx::query(
            "UPDATE retention.records SET discharged_on = $3, died_on = $4, died_in_care = $5, \
                 left_employment_on = $6, closed_on = $7, appeal_closed_on = $8, \
                 training_completed_on = $9, recruitment_decided_on = $10, \
                 organisation_ended_on = $11, review_on = $12, explanation = $13, \
                 schedule_version = $14 \
             WHERE tenant_id = $1 AND record_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(discharged)
        .bind(died)
        .bind(facts.died_in_care)
        .bind(left)
        .bind(closed)
        .bind(appeal)
        .bind(training)
        .bind(decided)
        .bind(ended)
        .bind(dating.review_on)
        .bind(&dating.explanation)
        .bind(class.schedule_version)
        .execute(&mut *tx)
        .await?;
        if record.state == RecordState::UnderReview && dating.review_on.is_none_or(|d| d > today) {
            super::disposal::withdraw_reviews(&mut tx, tenant, &[id.as_uuid()]).await?;
        }
        tx.commit().await?;
        self.get_record(tenant, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }
}
