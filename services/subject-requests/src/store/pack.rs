//! Response packs: assembled from the request's completed exports, stored sealed.

use dps_crypto::{Opened, Sealed};
use dps_types::{CallerId, Masked, TenantId};
use time::OffsetDateTime;

use super::{Store, StoreError, insert_history};
use crate::domain::pack::{self, SourceField, Supplementary};
use crate::domain::{Rejection, Step, SubjectRequestId};

/// The label a pack's ciphertext is bound to.
const PACK_LABEL: &str = "response_packs.pack";

/// A stored pack's description.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PackInfo {
    /// Bytes of JSON.
    pub size_bytes: i64,
    /// Who built it.
    pub built_by: String,
    /// When.
    pub built_at: OffsetDateTime,
}

impl Store {
    /// What the other services said for a request's pack, by field, oldest answer first.
    pub async fn pack_sources(
        &self,
        tenant: &TenantId,
        id: SubjectRequestId,
    ) -> Result<Vec<(SourceField, Vec<String>)>, StoreError> {
        let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT field, entries FROM subject_requests.pack_sources \
             WHERE tenant_id = $1 AND subject_request_id = $2 ORDER BY created_at, origin",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(field, entries)| {
                Ok((
                    SourceField::from_code(&field).ok_or(StoreError::Corrupt("pack field"))?,
                    entries,
                ))
            })
            .collect()
    }

    /// Builds (or rebuilds) the pack of an access or portability request whose tasks are all done
    /// or waived.
    pub async fn build_pack(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        id: SubjectRequestId,
        supplementary: &Supplementary,
    ) -> Result<PackInfo, StoreError> {
        // Read first, then lock and check nothing moved, so one call holds one connection at a
        // time. Finished tasks never change, so with none pending the exports read stay true.
        let request = self.get_existing(tenant, id).await?;
        let tasks = self.request_tasks(tenant, id).await?;
        pack::check_buildable(&request, &tasks)?;
        // Lists left empty come from what the other services said (issue 10 flow 4).
        let sources = self.pack_sources(tenant, id).await?;
        let supplementary = Supplementary::parse(supplementary.clone().filled_from(&sources))
            .map_err(|v| {
                Rejection::Invalid(dps_types::prefixed("supplementary_information", v).collect())
            })?;
        let supplementary = &supplementary;
        let document = pack::assemble(&request, supplementary, &tasks).to_string();
        let sealed = self
            .vault
            .seal(
                tenant,
                request.spec.person_id().expose(),
                &[(PACK_LABEL, &document)],
            )
            .await?
            .into_iter()
            .next()
            .map(Sealed::into_bytes)
            .ok_or(StoreError::Corrupt("sealed pack"))?;
        let mut tx = self.pool.begin().await?;
        let locked = Self::lock(&mut tx, tenant, id).await?;
        if locked.state != request.state {
            return Err(Rejection::Precondition(format!(
                "the request became {} while the pack was built; build it again",
                locked.state
            ))
            .into());
        }
        let info: PackInfo = sqlx::query_as(
            "INSERT INTO subject_requests.response_packs \
                 (tenant_id, subject_request_id, pack, size_bytes, built_by) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT ON CONSTRAINT response_packs_pkey DO UPDATE \
             SET pack = EXCLUDED.pack, size_bytes = EXCLUDED.size_bytes, \
                 built_by = EXCLUDED.built_by, built_at = now() \
             RETURNING size_bytes, built_by, built_at",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(sealed)
        .bind(i64::try_from(document.len()).unwrap_or(i64::MAX))
        .bind(caller.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let state = locked.state.after(Step::Review).map_err(Rejection::from)?;
        insert_history(
            &mut tx,
            tenant,
            id,
            "response_pack_built",
            Some(state),
            state,
            caller,
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// The stored pack's JSON; NOT_FOUND when none was built (or outside the tenant); empty once
    /// the person's key was shredded.
    pub async fn pack(
        &self,
        tenant: &TenantId,
        id: SubjectRequestId,
    ) -> Result<Masked<String>, StoreError> {
        let bytes: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT pack FROM subject_requests.response_packs \
             WHERE tenant_id = $1 AND subject_request_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        let sealed = Sealed::from(
            bytes.ok_or_else(|| StoreError::NotFound(format!("response pack of {id}")))?,
        );
        let opened = self.vault.open(tenant, &[(PACK_LABEL, &sealed)]).await?;
        Ok(match opened.into_iter().next() {
            Some(Opened::Value(v)) => v,
            _ => Masked::default(),
        })
    }
}
