//! Review parts: recorded while a request is worked on, approved by a health professional.

use dps_types::{CallerId, TenantId};
use sqlx::{Postgres, Transaction};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{Store, StoreError, insert_history};
use crate::domain::review::{
    self, ApprovalError, Exemption, HealthOpinion, NewReviewPart, ReviewPart, ReviewPartId,
    ThirdParty, Withholding,
};
use crate::domain::{Rejection, Step, SubjectRequestId};

macro_rules! part_columns {
    () => {
        "part_id, subject_request_id, description, third_party, health_data, exemption, \
         withheld_what, opinion_by, opinion_on, approved_by, approved_at, created_by"
    };
}

#[derive(sqlx::FromRow)]
struct PartRow {
    part_id: Uuid,
    subject_request_id: Uuid,
    description: String,
    third_party: String,
    health_data: bool,
    exemption: Option<String>,
    withheld_what: Option<String>,
    opinion_by: Option<String>,
    opinion_on: Option<Date>,
    approved_by: Option<String>,
    approved_at: Option<OffsetDateTime>,
    created_by: String,
}

impl PartRow {
    fn into_domain(self) -> Result<ReviewPart, StoreError> {
        let withholding = match self.exemption {
            None => None,
            Some(code) => Some(Withholding {
                exemption: Exemption::from_code(&code).ok_or(StoreError::Corrupt("exemption"))?,
                what: self.withheld_what.unwrap_or_default(),
                opinion: self
                    .opinion_by
                    .zip(self.opinion_on)
                    .map(|(by, on)| HealthOpinion { by, on }),
            }),
        };
        Ok(ReviewPart {
            id: ReviewPartId::from_uuid(self.part_id),
            request: SubjectRequestId::from_uuid(self.subject_request_id),
            part: NewReviewPart {
                description: self.description,
                third_party: ThirdParty::from_code(&self.third_party)
                    .ok_or(StoreError::Corrupt("third party"))?,
                health_data: self.health_data,
                withholding,
            },
            approval: self.approved_by.zip(self.approved_at),
            created_by: self.created_by,
        })
    }
}

/// Released parts with health data nobody has approved yet.
pub(super) async fn unapproved_health_parts(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM subject_requests.review_parts \
         WHERE tenant_id = $1 AND subject_request_id = $2 AND health_data \
           AND exemption IS NULL AND approved_by IS NULL",
    )
    .bind(tenant.as_str())
    .bind(id.as_uuid())
    .fetch_one(&mut **tx)
    .await?)
}

/// How many parts of a request hold health data, released or withheld.
pub(super) async fn health_parts(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    id: SubjectRequestId,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM subject_requests.review_parts \
         WHERE tenant_id = $1 AND subject_request_id = $2 AND health_data",
    )
    .bind(tenant.as_str())
    .bind(id.as_uuid())
    .fetch_one(&mut **tx)
    .await?)
}

impl From<ApprovalError> for StoreError {
    fn from(e: ApprovalError) -> Self {
        match e {
            ApprovalError::Rejected(r) => Self::Rejected(r),
            forbidden => Self::Forbidden(forbidden.to_string()),
        }
    }
}

impl Store {
    async fn part(&self, tenant: &TenantId, id: ReviewPartId) -> Result<ReviewPart, StoreError> {
        let row: Option<PartRow> = sqlx::query_as(concat!(
            "SELECT ",
            part_columns!(),
            " FROM subject_requests.review_parts WHERE tenant_id = $1 AND part_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or_else(|| StoreError::NotFound(id.to_string()))?
            .into_domain()
    }

    /// Records a part of a request in progress or awaiting review.
    pub async fn add_review_part(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request: SubjectRequestId,
        part: &NewReviewPart,
    ) -> Result<ReviewPart, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, request).await?;
        let state = locked.state.after(Step::Review).map_err(Rejection::from)?;
        let id = ReviewPartId::generate();
        let withholding = part.withholding.as_ref();
        let opinion = withholding.and_then(|w| w.opinion.as_ref());
        sqlx::query(
            "INSERT INTO subject_requests.review_parts \
                 (tenant_id, part_id, subject_request_id, description, third_party, health_data, \
                  exemption, withheld_what, opinion_by, opinion_on, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(request.as_uuid())
        .bind(&part.description)
        .bind(part.third_party.code())
        .bind(part.health_data)
        .bind(withholding.map(|w| w.exemption.code()))
        .bind(withholding.map(|w| w.what.as_str()))
        .bind(opinion.map(|o| o.by.as_str()))
        .bind(opinion.map(|o| o.on))
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        let reason = match withholding {
            Some(w) => format!("{}: withheld ({})", part.description, w.exemption.code()),
            None => format!("{}: recorded for review", part.description),
        };
        insert_history(
            &mut tx,
            tenant,
            request,
            "review_part_added",
            Some(state),
            state,
            caller,
            &reason,
        )
        .await?;
        tx.commit().await?;
        self.part(tenant, id).await
    }

    /// Records a health professional's approval to release a part's health data.
    pub async fn approve_health_release(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        roles: &[String],
        id: ReviewPartId,
    ) -> Result<ReviewPart, StoreError> {
        let mut tx = self.pool.begin().await?;
        let request: Option<Uuid> = sqlx::query_scalar(
            "SELECT subject_request_id FROM subject_requests.review_parts \
             WHERE tenant_id = $1 AND part_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        let request = SubjectRequestId::from_uuid(
            request.ok_or_else(|| StoreError::NotFound(id.to_string()))?,
        );
        let locked = Self::lock(&mut tx, tenant, request).await?;
        let state = locked.state.after(Step::Review).map_err(Rejection::from)?;
        let current: PartRow = sqlx::query_as(concat!(
            "SELECT ",
            part_columns!(),
            " FROM subject_requests.review_parts WHERE tenant_id = $1 AND part_id = $2 FOR UPDATE"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_one(&mut *tx)
        .await?;
        let current = current.into_domain()?;
        review::check_approval(roles, &current.part, current.approval.is_some())?;
        sqlx::query(
            "UPDATE subject_requests.review_parts SET approved_by = $3, approved_at = now() \
             WHERE tenant_id = $1 AND part_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(caller.as_str())
        .execute(&mut *tx)
        .await?;
        insert_history(
            &mut tx,
            tenant,
            request,
            "health_release_approved",
            Some(state),
            state,
            caller,
            &current.part.description,
        )
        .await?;
        tx.commit().await?;
        self.part(tenant, id).await
    }

    /// The parts of a request, oldest first; NOT_FOUND outside the tenant.
    pub async fn review_parts(
        &self,
        tenant: &TenantId,
        request: SubjectRequestId,
    ) -> Result<Vec<ReviewPart>, StoreError> {
        let rows: Vec<PartRow> = sqlx::query_as(concat!(
            "SELECT ",
            part_columns!(),
            " FROM subject_requests.review_parts \
             WHERE tenant_id = $1 AND subject_request_id = $2 ORDER BY part_id"
        ))
        .bind(tenant.as_str())
        .bind(request.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(PartRow::into_domain).collect()
    }
}
