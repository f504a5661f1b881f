//! The consent ledger: append-only gives and withdrawals.

use dps_types::{CallerId, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::changes::{self, Kind};
use super::{Store, StoreError, code, ensure_person, opt_code};
use crate::domain::{
    CaptureMethod, ConsentAction, ConsentId, GiverRole, LawfulBasis, NewConsent, NoticeId,
    PurposeId,
};

/// Sealed columns of the ledger, in [`ConsentRow`]'s order.
const SEALED: [&str; 4] = [
    "consent.consent_events.giver_name",
    "consent.consent_events.authority_reference",
    "consent.consent_events.evidence_reference",
    "consent.consent_events.competence_assessment",
];

/// A ledger entry with what its receipt shows of the purpose and notice.
#[derive(Debug, Clone)]
pub struct ConsentRow {
    /// The entry (receipt id).
    pub id: ConsentId,
    /// Whose.
    pub person_id: String,
    /// For what.
    pub purpose_id: PurposeId,
    /// The purpose's name.
    pub purpose_display_name: String,
    /// The purpose's basis.
    pub lawful_basis: LawfulBasis,
    /// The purpose's data categories.
    pub data_categories: Vec<String>,
    /// Special-category data.
    pub special_category: bool,
    /// The notice shown (gives only).
    pub notice: Option<(NoticeId, u32, String)>,
    /// Given, else withdrawn.
    pub given: bool,
    /// When the person gave or withdrew it.
    pub occurred_at: OffsetDateTime,
    /// How.
    pub method: CaptureMethod,
    /// The signal (gives only).
    pub action: Option<ConsentAction>,
    /// When it lapses.
    pub expires_at: Option<OffsetDateTime>,
    /// Who gave it (gives only).
    pub giver_role: Option<GiverRole>,
    /// Giver's name, authority reference, evidence, competence assessment (empty if none or
    /// erased).
    pub sealed: [String; 4],
    /// When the authority ends.
    pub authority_expires_at: Option<OffsetDateTime>,
    /// When recorded.
    pub recorded_at: OffsetDateTime,
    /// The person's key was shredded.
    pub erased: bool,
}

/// What a withdrawal found.
#[derive(Debug)]
pub enum Withdrawal {
    /// Recorded now.
    Withdrawn(ConsentRow),
    /// Already withdrawn: the existing withdrawal.
    AlreadyWithdrawn(ConsentRow),
    /// Nothing to withdraw.
    NeverGiven,
}

#[derive(sqlx::FromRow)]
struct Row {
    consent_id: Uuid,
    person_id: String,
    purpose_id: Uuid,
    display_name: String,
    lawful_basis: String,
    data_categories: Vec<String>,
    special_category_condition: Option<String>,
    notice_id: Option<Uuid>,
    version: Option<i32>,
    uri: Option<String>,
    event: String,
    occurred_at: OffsetDateTime,
    method: String,
    action: Option<String>,
    expires_at: Option<OffsetDateTime>,
    giver_role: Option<String>,
    giver_name: Option<Vec<u8>>,
    authority_reference: Option<Vec<u8>>,
    evidence_reference: Option<Vec<u8>>,
    competence_assessment: Option<Vec<u8>>,
    authority_expires_at: Option<OffsetDateTime>,
    recorded_at: OffsetDateTime,
}

macro_rules! consent_select {
    () => {
        "SELECT e.consent_id, e.person_id, e.purpose_id, p.display_name, p.lawful_basis, \
                p.data_categories, p.special_category_condition, e.notice_id, n.version, n.uri, \
                e.event, e.occurred_at, e.method, e.action, e.expires_at, e.giver_role, \
                e.giver_name, e.authority_reference, e.evidence_reference, \
                e.competence_assessment, e.authority_expires_at, e.recorded_at \
         FROM consent.consent_events e \
         JOIN consent.purposes p ON p.tenant_id = e.tenant_id AND p.purpose_id = e.purpose_id \
         LEFT JOIN consent.notices n ON n.tenant_id = e.tenant_id AND n.notice_id = e.notice_id "
    };
}

impl Store {
    async fn consent_rows(
        &self,
        tenant: &TenantId,
        rows: Vec<Row>,
    ) -> Result<Vec<ConsentRow>, StoreError> {
        let sealed = rows
            .iter()
            .map(|r| {
                SEALED
                    .iter()
                    .copied()
                    .zip([
                        r.giver_name.clone(),
                        r.authority_reference.clone(),
                        r.evidence_reference.clone(),
                        r.competence_assessment.clone(),
                    ])
                    .collect()
            })
            .collect();
        let mut opened = self.open_rows(tenant, sealed).await?.into_iter();
        rows.into_iter()
            .map(|r| {
                let (texts, erased) = opened.next().unwrap_or_default();
                let mut values: [String; 4] = Default::default();
                for (slot, text) in values.iter_mut().zip(texts) {
                    *slot = text;
                }
                Ok(ConsentRow {
                    id: ConsentId::from_uuid(r.consent_id),
                    person_id: r.person_id,
                    purpose_id: PurposeId::from_uuid(r.purpose_id),
                    purpose_display_name: r.display_name,
                    lawful_basis: code(LawfulBasis::from_code, &r.lawful_basis, "lawful basis")?,
                    data_categories: r.data_categories,
                    special_category: r.special_category_condition.is_some(),
                    notice: match (r.notice_id, r.version, r.uri) {
                        (Some(id), Some(version), Some(uri)) => Some((
                            NoticeId::from_uuid(id),
                            u32::try_from(version).map_err(|_| StoreError::Corrupt("version"))?,
                            uri,
                        )),
                        _ => None,
                    },
                    given: r.event == "given",
                    occurred_at: r.occurred_at,
                    method: code(CaptureMethod::from_code, &r.method, "method")?,
                    action: opt_code(ConsentAction::from_code, r.action.as_deref(), "action")?,
                    expires_at: r.expires_at,
                    giver_role: opt_code(GiverRole::from_code, r.giver_role.as_deref(), "giver")?,
                    sealed: if erased { Default::default() } else { values },
                    authority_expires_at: r.authority_expires_at,
                    recorded_at: r.recorded_at,
                    erased,
                })
            })
            .collect()
    }

    async fn consent_by_id(&self, tenant: &TenantId, id: Uuid) -> Result<ConsentRow, StoreError> {
        let row: Row = sqlx::query_as(concat!(
            consent_select!(),
            "WHERE e.tenant_id = $1 AND e.consent_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        self.consent_rows(tenant, vec![row])
            .await?
            .pop()
            .ok_or(StoreError::Corrupt("consent"))
    }

    async fn consent_by_request(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
    ) -> Result<Option<Uuid>, StoreError> {
        let Some(request_id) = request_id else {
            return Ok(None);
        };
        Ok(sqlx::query_scalar(
            "SELECT consent_id FROM consent.consent_events \
             WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
        )
        .bind(tenant.as_str())
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Appends a consent. A retried `request_id` returns the original entry.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_consent(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        person: &str,
        purpose: PurposeId,
        notice: NoticeId,
        c: &NewConsent,
    ) -> Result<ConsentRow, StoreError> {
        if let Some(id) = self.consent_by_request(tenant, caller, request_id).await? {
            return self.consent_by_id(tenant, id).await;
        }
        let sealed = self
            .seal(
                tenant,
                person,
                &[
                    (SEALED[0], &c.giver_name),
                    (SEALED[1], &c.authority_reference),
                    (SEALED[2], &c.evidence_reference),
                    (SEALED[3], &c.competence_assessment),
                ],
            )
            .await?;
        let id = ConsentId::generate();
        let mut tx = self.pool.begin().await?;
        ensure_person(&mut tx, tenant, person).await?;
        let inserted = sqlx::query(
            "INSERT INTO consent.consent_events \
                 (tenant_id, consent_id, person_id, purpose_id, event, occurred_at, method, \
                  action, notice_id, expires_at, giver_role, giver_name, authority_reference, \
                  authority_expires_at, evidence_reference, competence_assessment, subject_age, \
                  created_by, request_id) \
             VALUES ($1, $2, $3, $4, 'given', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                     $16, $17, $18) \
             ON CONFLICT ON CONSTRAINT consent_events_request_id_key DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(person)
        .bind(purpose.as_uuid())
        .bind(c.consent_time)
        .bind(c.method.code())
        .bind(c.action.code())
        .bind(notice.as_uuid())
        .bind(c.expire_time)
        .bind(c.giver_role.code())
        .bind(&sealed[0])
        .bind(&sealed[1])
        .bind(c.authority_expire_time)
        .bind(&sealed[2])
        .bind(&sealed[3])
        .bind(c.subject_age.map(i16::from))
        .bind(caller.as_str())
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            // A concurrent retry with the same request id won.
            drop(tx);
            let id = self
                .consent_by_request(tenant, caller, request_id)
                .await?
                .ok_or(StoreError::Corrupt("consent request id"))?;
            return self.consent_by_id(tenant, id).await;
        }
        changes::log(
            &mut tx,
            tenant,
            Kind::ConsentGiven,
            Some(person),
            Some(purpose.as_uuid()),
            &id.to_string(),
        )
        .await?;
        tx.commit().await?;
        self.consent_by_id(tenant, id.as_uuid()).await
    }

    /// Withdraws the person's consent for `purpose`, effective on commit.
    pub async fn withdraw_consent(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        person: &str,
        purpose: PurposeId,
        method: CaptureMethod,
        at: OffsetDateTime,
    ) -> Result<Withdrawal, StoreError> {
        let id = ConsentId::generate();
        let mut tx = self.pool.begin().await?;
        // The counter lock first: concurrent withdrawals of the same consent then see each other.
        changes::log(
            &mut tx,
            tenant,
            Kind::ConsentWithdrawn,
            Some(person),
            Some(purpose.as_uuid()),
            &id.to_string(),
        )
        .await?;
        let latest: Option<(Uuid, String)> = sqlx::query_as(
            "SELECT consent_id, event FROM consent.consent_events \
             WHERE tenant_id = $1 AND person_id = $2 AND purpose_id = $3 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(tenant.as_str())
        .bind(person)
        .bind(purpose.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        match latest {
            None => return Ok(Withdrawal::NeverGiven),
            Some((existing, event)) if event == "withdrawn" => {
                drop(tx);
                return Ok(Withdrawal::AlreadyWithdrawn(
                    self.consent_by_id(tenant, existing).await?,
                ));
            }
            Some(_) => {}
        }
        sqlx::query(
            "INSERT INTO consent.consent_events \
                 (tenant_id, consent_id, person_id, purpose_id, event, occurred_at, method, \
                  created_by) \
             VALUES ($1, $2, $3, $4, 'withdrawn', $5, $6, $7)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(person)
        .bind(purpose.as_uuid())
        .bind(at)
        .bind(method.code())
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Withdrawal::Withdrawn(
            self.consent_by_id(tenant, id.as_uuid()).await?,
        ))
    }

    /// People of the tenant after `after` (by id), at most `limit`, whose latest ledger entry
    /// for every purpose they ever consented to is a withdrawal: (person, purposes withdrawn,
    /// latest withdrawal). Candidates for erasure (issue 10 flow 6); whether another basis
    /// still allows processing is for the processing check to say.
    pub async fn withdrawn_everything(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, Vec<Uuid>, OffsetDateTime)>, StoreError> {
        Ok(sqlx::query_as(
            "WITH w_latest AS ( \
                 SELECT DISTINCT ON (person_id, purpose_id) person_id, purpose_id, event, \
                        occurred_at \
                 FROM consent.consent_events \
                 WHERE tenant_id = $1 AND ($2::text IS NULL OR person_id > $2) \
                 ORDER BY person_id, purpose_id, seq DESC) \
             SELECT person_id, array_agg(purpose_id ORDER BY purpose_id), max(occurred_at) \
             FROM w_latest GROUP BY person_id HAVING bool_and(event = 'withdrawn') \
             ORDER BY person_id LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The person's ledger, oldest first, optionally for one purpose.
    pub async fn list_consents(
        &self,
        tenant: &TenantId,
        person: &str,
        purpose: Option<PurposeId>,
    ) -> Result<Vec<ConsentRow>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(concat!(
            consent_select!(),
            "WHERE e.tenant_id = $1 AND e.person_id = $2 \
               AND ($3::uuid IS NULL OR e.purpose_id = $3) ORDER BY e.seq"
        ))
        .bind(tenant.as_str())
        .bind(person)
        .bind(purpose.map(|p| p.as_uuid()))
        .fetch_all(&self.pool)
        .await?;
        self.consent_rows(tenant, rows).await
    }

    /// Whether `consent` is a give of `person` that is still current at `now` (`None`: no such
    /// give of theirs).
    pub async fn consent_is_current(
        &self,
        tenant: &TenantId,
        person: &str,
        consent: ConsentId,
        now: OffsetDateTime,
    ) -> Result<Option<bool>, StoreError> {
        let row: Option<(bool, bool)> = sqlx::query_as(
            "SELECT NOT EXISTS (SELECT 1 FROM consent.consent_events later \
                                WHERE later.tenant_id = e.tenant_id \
                                  AND later.person_id = e.person_id \
                                  AND later.purpose_id = e.purpose_id AND later.seq > e.seq), \
                    e.expires_at IS NULL OR e.expires_at > $4 \
             FROM consent.consent_events e \
             WHERE e.tenant_id = $1 AND e.person_id = $2 AND e.consent_id = $3 \
               AND e.event = 'given'",
        )
        .bind(tenant.as_str())
        .bind(person)
        .bind(consent.as_uuid())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(latest, unexpired)| latest && unexpired))
    }
}
