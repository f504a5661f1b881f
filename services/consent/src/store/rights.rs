//! Restrictions, objections and disclosures of a person's data.

use dps_types::{CallerId, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::changes::{self, Kind};
use super::{Store, StoreError, code, ensure_person};
use crate::domain::{
    AuthoriserRole, ConsentId, DisclosureId, LawfulBasis, NewDisclosure, NewObjection,
    NewRestriction, ObjectionId, ObjectionKind, PurposeId, RestrictionGround, RestrictionId,
};

const RESTRICTION_REASON: &str = "consent.restrictions.reason";
const OBJECTION_SEALED: [&str; 2] = [
    "consent.objections.reason",
    "consent.objections.override_grounds",
];
const DISCLOSURE_REASON: &str = "consent.disclosures.reason";

/// A stored restriction.
#[derive(Debug, Clone)]
pub struct RestrictionRow {
    /// Its id.
    pub id: RestrictionId,
    /// Whose.
    pub person_id: String,
    /// Why.
    pub ground: RestrictionGround,
    /// Details (empty if erased).
    pub reason: String,
    /// From.
    pub starts_at: OffsetDateTime,
    /// Planned end.
    pub ends_at: Option<OffsetDateTime>,
    /// Source request.
    pub subject_request: String,
    /// When lifted.
    pub lifted_at: Option<OffsetDateTime>,
    /// When the person was told beforehand.
    pub person_told_at: Option<OffsetDateTime>,
}

/// A stored objection.
#[derive(Debug, Clone)]
pub struct ObjectionRow {
    /// Its id.
    pub id: ObjectionId,
    /// Whose.
    pub person_id: String,
    /// What to.
    pub kind: ObjectionKind,
    /// One purpose, or all.
    pub purpose: Option<PurposeId>,
    /// The person's grounds and the overriding grounds (empty if none or erased).
    pub sealed: [String; 2],
    /// From.
    pub starts_at: OffsetDateTime,
    /// Source request.
    pub subject_request: String,
    /// When overridden and by whom.
    pub overridden: Option<(OffsetDateTime, String)>,
    /// When withdrawn.
    pub withdrawn_at: Option<OffsetDateTime>,
}

/// A stored disclosure.
#[derive(Debug, Clone)]
pub struct DisclosureRow {
    /// Its id.
    pub id: DisclosureId,
    /// Whose data.
    pub person_id: String,
    /// To whom.
    pub recipient: String,
    /// What.
    pub data_categories: Vec<String>,
    /// Why (empty if erased).
    pub reason: String,
    /// On which basis.
    pub lawful_basis: LawfulBasis,
    /// The consent relied on.
    pub consent: Option<ConsentId>,
    /// Who authorised it.
    pub authorised_by: String,
    /// Their role.
    pub authoriser_role: AuthoriserRole,
    /// When disclosed.
    pub disclosed_at: OffsetDateTime,
    /// When recorded.
    pub recorded_at: OffsetDateTime,
    /// The person's key was shredded.
    pub erased: bool,
    /// Position in the log (page tokens).
    pub seq: i64,
}

/// The outcome of changing a restriction or objection.
#[derive(Debug)]
pub enum Update<T> {
    /// Changed (or already in the asked-for state, where that is harmless).
    Done(T),
    /// No such record in the tenant.
    NotFound,
    /// The change is not allowed: why.
    Refused(&'static str),
}

#[derive(sqlx::FromRow)]
struct RestrictionDbRow {
    restriction_id: Uuid,
    person_id: String,
    ground: String,
    reason: Option<Vec<u8>>,
    starts_at: OffsetDateTime,
    ends_at: Option<OffsetDateTime>,
    subject_request: String,
    lifted_at: Option<OffsetDateTime>,
    person_told_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct ObjectionDbRow {
    objection_id: Uuid,
    person_id: String,
    kind: String,
    purpose_id: Option<Uuid>,
    reason: Option<Vec<u8>>,
    override_grounds: Option<Vec<u8>>,
    starts_at: OffsetDateTime,
    subject_request: String,
    overridden_at: Option<OffsetDateTime>,
    overridden_by: Option<String>,
    withdrawn_at: Option<OffsetDateTime>,
}

#[derive(sqlx::FromRow)]
struct DisclosureDbRow {
    disclosure_id: Uuid,
    seq: i64,
    person_id: String,
    recipient: String,
    data_categories: Vec<String>,
    reason: Vec<u8>,
    lawful_basis: String,
    consent_id: Option<Uuid>,
    authorised_by: String,
    authoriser_role: String,
    disclosed_at: OffsetDateTime,
    recorded_at: OffsetDateTime,
}

macro_rules! restriction_columns {
    () => {
        "restriction_id, person_id, ground, reason, starts_at, ends_at, subject_request, \
         lifted_at, person_told_at"
    };
}
macro_rules! objection_columns {
    () => {
        "objection_id, person_id, kind, purpose_id, reason, override_grounds, starts_at, \
         subject_request, overridden_at, overridden_by, withdrawn_at"
    };
}
macro_rules! disclosure_columns {
    () => {
        "disclosure_id, seq, person_id, recipient, data_categories, reason, lawful_basis, \
         consent_id, authorised_by, authoriser_role, disclosed_at, recorded_at"
    };
}

impl Store {
    async fn restrictions(
        &self,
        tenant: &TenantId,
        rows: Vec<RestrictionDbRow>,
    ) -> Result<Vec<RestrictionRow>, StoreError> {
        let sealed = rows
            .iter()
            .map(|r| vec![(RESTRICTION_REASON, r.reason.clone())])
            .collect();
        let mut opened = self.open_rows(tenant, sealed).await?.into_iter();
        rows.into_iter()
            .map(|r| {
                let (texts, _) = opened.next().unwrap_or_default();
                Ok(RestrictionRow {
                    id: RestrictionId::from_uuid(r.restriction_id),
                    person_id: r.person_id,
                    ground: code(RestrictionGround::from_code, &r.ground, "ground")?,
                    reason: texts.into_iter().next().unwrap_or_default(),
                    starts_at: r.starts_at,
                    ends_at: r.ends_at,
                    subject_request: r.subject_request,
                    lifted_at: r.lifted_at,
                    person_told_at: r.person_told_at,
                })
            })
            .collect()
    }

    async fn objections(
        &self,
        tenant: &TenantId,
        rows: Vec<ObjectionDbRow>,
    ) -> Result<Vec<ObjectionRow>, StoreError> {
        let sealed = rows
            .iter()
            .map(|r| {
                vec![
                    (OBJECTION_SEALED[0], r.reason.clone()),
                    (OBJECTION_SEALED[1], r.override_grounds.clone()),
                ]
            })
            .collect();
        let mut opened = self.open_rows(tenant, sealed).await?.into_iter();
        rows.into_iter()
            .map(|r| {
                let (texts, _) = opened.next().unwrap_or_default();
                let mut sealed: [String; 2] = Default::default();
                for (slot, text) in sealed.iter_mut().zip(texts) {
                    *slot = text;
                }
                Ok(ObjectionRow {
                    id: ObjectionId::from_uuid(r.objection_id),
                    person_id: r.person_id,
                    kind: code(ObjectionKind::from_code, &r.kind, "objection kind")?,
                    purpose: r.purpose_id.map(PurposeId::from_uuid),
                    sealed,
                    starts_at: r.starts_at,
                    subject_request: r.subject_request,
                    overridden: r.overridden_at.zip(r.overridden_by),
                    withdrawn_at: r.withdrawn_at,
                })
            })
            .collect()
    }

    async fn restriction(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Option<RestrictionRow>, StoreError> {
        let row: Option<RestrictionDbRow> = sqlx::query_as(concat!(
            "SELECT ",
            restriction_columns!(),
            " FROM consent.restrictions WHERE tenant_id = $1 AND restriction_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(self
            .restrictions(tenant, row.into_iter().collect())
            .await?
            .pop())
    }

    async fn objection(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Option<ObjectionRow>, StoreError> {
        let row: Option<ObjectionDbRow> = sqlx::query_as(concat!(
            "SELECT ",
            objection_columns!(),
            " FROM consent.objections WHERE tenant_id = $1 AND objection_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(self
            .objections(tenant, row.into_iter().collect())
            .await?
            .pop())
    }

    /// Records a restriction; a retried `request_id` returns the original.
    pub async fn record_restriction(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        r: &NewRestriction,
    ) -> Result<RestrictionRow, StoreError> {
        let sealed = self
            .seal(tenant, &r.person_id, &[(RESTRICTION_REASON, &r.reason)])
            .await?;
        let mut tx = self.pool.begin().await?;
        ensure_person(&mut tx, tenant, &r.person_id).await?;
        let id = RestrictionId::generate();
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO consent.restrictions \
                 (tenant_id, restriction_id, person_id, ground, reason, starts_at, ends_at, \
                  subject_request, created_by, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT ON CONSTRAINT restrictions_request_id_key DO NOTHING \
             RETURNING restriction_id",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(&r.person_id)
        .bind(r.ground.code())
        .bind(&sealed[0])
        .bind(r.starts_at)
        .bind(r.ends_at)
        .bind(&r.subject_request)
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let id = match inserted {
            Some(id) => {
                changes::log(
                    &mut tx,
                    tenant,
                    Kind::RestrictionStarted,
                    Some(&r.person_id),
                    None,
                    &RestrictionId::from_uuid(id).to_string(),
                )
                .await?;
                id
            }
            None => {
                sqlx::query_scalar(
                    "SELECT restriction_id FROM consent.restrictions \
                     WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
                )
                .bind(tenant.as_str())
                .bind(caller.as_str())
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        self.restriction(tenant, id)
            .await?
            .ok_or(StoreError::Corrupt("restriction"))
    }

    /// Lifts a restriction, recording when the person was told.
    pub async fn lift_restriction(
        &self,
        tenant: &TenantId,
        id: RestrictionId,
        told_at: OffsetDateTime,
    ) -> Result<Update<RestrictionRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let current: Option<(String, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT person_id, lifted_at FROM consent.restrictions \
             WHERE tenant_id = $1 AND restriction_id = $2 FOR UPDATE",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        match current {
            None => return Ok(Update::NotFound),
            Some((_, Some(_))) => return Ok(Update::Refused("the restriction is already lifted")),
            Some((person, None)) => {
                sqlx::query(
                    "UPDATE consent.restrictions SET lifted_at = now(), person_told_at = $3 \
                     WHERE tenant_id = $1 AND restriction_id = $2",
                )
                .bind(tenant.as_str())
                .bind(id.as_uuid())
                .bind(told_at)
                .execute(&mut *tx)
                .await?;
                changes::log(
                    &mut tx,
                    tenant,
                    Kind::RestrictionLifted,
                    Some(&person),
                    None,
                    &id.to_string(),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Update::Done(
            self.restriction(tenant, id.as_uuid())
                .await?
                .ok_or(StoreError::Corrupt("restriction"))?,
        ))
    }

    /// Records an objection; a retried `request_id` returns the original.
    pub async fn record_objection(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        o: &NewObjection,
        purpose: Option<PurposeId>,
    ) -> Result<ObjectionRow, StoreError> {
        let sealed = self
            .seal(tenant, &o.person_id, &[(OBJECTION_SEALED[0], &o.reason)])
            .await?;
        let mut tx = self.pool.begin().await?;
        ensure_person(&mut tx, tenant, &o.person_id).await?;
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO consent.objections \
                 (tenant_id, objection_id, person_id, kind, purpose_id, reason, starts_at, \
                  subject_request, created_by, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT ON CONSTRAINT objections_request_id_key DO NOTHING \
             RETURNING objection_id",
        )
        .bind(tenant.as_str())
        .bind(ObjectionId::generate().as_uuid())
        .bind(&o.person_id)
        .bind(o.kind.code())
        .bind(purpose.map(|p| p.as_uuid()))
        .bind(&sealed[0])
        .bind(o.starts_at)
        .bind(&o.subject_request)
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let id = match inserted {
            Some(id) => {
                changes::log(
                    &mut tx,
                    tenant,
                    Kind::ObjectionRecorded,
                    Some(&o.person_id),
                    purpose.map(|p| p.as_uuid()),
                    &ObjectionId::from_uuid(id).to_string(),
                )
                .await?;
                id
            }
            None => {
                sqlx::query_scalar(
                    "SELECT objection_id FROM consent.objections \
                     WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
                )
                .bind(tenant.as_str())
                .bind(caller.as_str())
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        self.objection(tenant, id)
            .await?
            .ok_or(StoreError::Corrupt("objection"))
    }

    /// Records grounds overriding a general objection.
    pub async fn override_objection(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: ObjectionId,
        grounds: &str,
    ) -> Result<Update<ObjectionRow>, StoreError> {
        let Some(current) = self.objection(tenant, id.as_uuid()).await? else {
            return Ok(Update::NotFound);
        };
        match current.kind {
            ObjectionKind::DirectMarketing => {
                return Ok(Update::Refused(
                    "a direct-marketing objection is absolute (Art 21(3)) and cannot be overridden",
                ));
            }
            ObjectionKind::NationalDataOptOut => {
                return Ok(Update::Refused(
                    "the national data opt-out cannot be overridden here; it applies unless an exemption in the opt-out policy does",
                ));
            }
            ObjectionKind::General => {}
        }
        let sealed = self
            .seal(
                tenant,
                &current.person_id,
                &[(OBJECTION_SEALED[1], grounds)],
            )
            .await?;
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE consent.objections \
             SET override_grounds = $3, overridden_at = now(), overridden_by = $4 \
             WHERE tenant_id = $1 AND objection_id = $2 \
               AND withdrawn_at IS NULL AND overridden_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(&sealed[0])
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(Update::Refused(
                "the objection was withdrawn or is already overridden",
            ));
        }
        changes::log(
            &mut tx,
            tenant,
            Kind::ObjectionOverridden,
            Some(&current.person_id),
            current.purpose.map(|p| p.as_uuid()),
            &id.to_string(),
        )
        .await?;
        tx.commit().await?;
        Ok(Update::Done(
            self.objection(tenant, id.as_uuid())
                .await?
                .ok_or(StoreError::Corrupt("objection"))?,
        ))
    }

    /// The person withdrew their objection; withdrawing again changes nothing.
    pub async fn withdraw_objection(
        &self,
        tenant: &TenantId,
        id: ObjectionId,
    ) -> Result<Update<ObjectionRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let person: Option<(String, Option<Uuid>)> = sqlx::query_as(
            "UPDATE consent.objections SET withdrawn_at = now() \
             WHERE tenant_id = $1 AND objection_id = $2 AND withdrawn_at IS NULL \
             RETURNING person_id, purpose_id",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((person, purpose)) = person {
            changes::log(
                &mut tx,
                tenant,
                Kind::ObjectionWithdrawn,
                Some(&person),
                purpose,
                &id.to_string(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(match self.objection(tenant, id.as_uuid()).await? {
            Some(row) => Update::Done(row),
            None => Update::NotFound,
        })
    }

    /// The person's restrictions and objections, oldest first.
    pub async fn list_rights(
        &self,
        tenant: &TenantId,
        person: &str,
    ) -> Result<(Vec<RestrictionRow>, Vec<ObjectionRow>), StoreError> {
        let restrictions: Vec<RestrictionDbRow> = sqlx::query_as(concat!(
            "SELECT ",
            restriction_columns!(),
            " FROM consent.restrictions WHERE tenant_id = $1 AND person_id = $2 \
             ORDER BY restriction_id"
        ))
        .bind(tenant.as_str())
        .bind(person)
        .fetch_all(&self.pool)
        .await?;
        let objections: Vec<ObjectionDbRow> = sqlx::query_as(concat!(
            "SELECT ",
            objection_columns!(),
            " FROM consent.objections WHERE tenant_id = $1 AND person_id = $2 \
             ORDER BY objection_id"
        ))
        .bind(tenant.as_str())
        .bind(person)
        .fetch_all(&self.pool)
        .await?;
        Ok((
            self.restrictions(tenant, restrictions).await?,
            self.objections(tenant, objections).await?,
        ))
    }

    async fn disclosures(
        &self,
        tenant: &TenantId,
        rows: Vec<DisclosureDbRow>,
    ) -> Result<Vec<DisclosureRow>, StoreError> {
        let sealed = rows
            .iter()
            .map(|r| vec![(DISCLOSURE_REASON, Some(r.reason.clone()))])
            .collect();
        let mut opened = self.open_rows(tenant, sealed).await?.into_iter();
        rows.into_iter()
            .map(|r| {
                let (texts, erased) = opened.next().unwrap_or_default();
                Ok(DisclosureRow {
                    id: DisclosureId::from_uuid(r.disclosure_id),
                    person_id: r.person_id,
                    recipient: r.recipient,
                    data_categories: r.data_categories,
                    reason: texts.into_iter().next().unwrap_or_default(),
                    lawful_basis: code(LawfulBasis::from_code, &r.lawful_basis, "lawful basis")?,
                    consent: r.consent_id.map(ConsentId::from_uuid),
                    authorised_by: r.authorised_by,
                    authoriser_role: code(
                        AuthoriserRole::from_code,
                        &r.authoriser_role,
                        "authoriser role",
                    )?,
                    disclosed_at: r.disclosed_at,
                    recorded_at: r.recorded_at,
                    erased,
                    seq: r.seq,
                })
            })
            .collect()
    }

    /// Records a disclosure; a retried `request_id` returns the original.
    pub async fn record_disclosure(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        d: &NewDisclosure,
        consent: Option<ConsentId>,
    ) -> Result<DisclosureRow, StoreError> {
        let sealed = self
            .seal(tenant, &d.person_id, &[(DISCLOSURE_REASON, &d.reason)])
            .await?;
        let mut tx = self.pool.begin().await?;
        ensure_person(&mut tx, tenant, &d.person_id).await?;
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO consent.disclosures \
                 (tenant_id, disclosure_id, person_id, recipient, data_categories, reason, \
                  lawful_basis, consent_id, authorised_by, authoriser_role, disclosed_at, \
                  created_by, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT ON CONSTRAINT disclosures_request_id_key DO NOTHING \
             RETURNING disclosure_id",
        )
        .bind(tenant.as_str())
        .bind(DisclosureId::generate().as_uuid())
        .bind(&d.person_id)
        .bind(&d.recipient)
        .bind(&d.data_categories)
        .bind(&sealed[0])
        .bind(d.lawful_basis.code())
        .bind(consent.map(|c| c.as_uuid()))
        .bind(&d.authorised_by)
        .bind(d.authoriser_role.code())
        .bind(d.disclosed_at)
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let row: DisclosureDbRow = sqlx::query_as(concat!(
            "SELECT ",
            disclosure_columns!(),
            " FROM consent.disclosures WHERE tenant_id = $1 \
               AND (disclosure_id = $2 OR ($2::uuid IS NULL AND created_by = $3 AND request_id = $4))"
        ))
        .bind(tenant.as_str())
        .bind(inserted)
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.disclosures(tenant, vec![row])
            .await?
            .pop()
            .ok_or(StoreError::Corrupt("disclosure"))
    }

    /// The person's disclosures after `after` (a seq), oldest first.
    pub async fn list_disclosures(
        &self,
        tenant: &TenantId,
        person: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<DisclosureRow>, StoreError> {
        let rows: Vec<DisclosureDbRow> = sqlx::query_as(concat!(
            "SELECT ",
            disclosure_columns!(),
            " FROM consent.disclosures WHERE tenant_id = $1 AND person_id = $2 AND seq > $3 \
             ORDER BY seq LIMIT $4"
        ))
        .bind(tenant.as_str())
        .bind(person)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        self.disclosures(tenant, rows).await
    }
}
