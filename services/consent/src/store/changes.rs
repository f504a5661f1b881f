//! The change log: the tenant's counter row serialises writers so changes commit in `seq` order.
//! The processing check's cache catches up on it, and the change stream replays it.

use std::collections::HashMap;

use dps_types::TenantId;
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Store, StoreError, code, opt_code};
use crate::domain::{
    Audience, ConsentState, LawfulBasis, ObjectionKind, ObjectionState, PersonState, PurposeId,
    PurposeRules, RestrictionExemption, RestrictionState, Settings, TenantRules,
};

/// What changed. The first three only refresh caches; the rest are streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Tenant settings.
    Settings,
    /// A purpose.
    Purpose,
    /// A notice version.
    Notice,
    /// Consent given.
    ConsentGiven,
    /// Consent withdrawn.
    ConsentWithdrawn,
    /// Restriction recorded.
    RestrictionStarted,
    /// Restriction lifted.
    RestrictionLifted,
    /// Objection recorded.
    ObjectionRecorded,
    /// Objection overridden.
    ObjectionOverridden,
    /// Objection withdrawn.
    ObjectionWithdrawn,
}

impl Kind {
    const CODES: [(Self, &'static str); 10] = [
        (Self::Settings, "settings"),
        (Self::Purpose, "purpose"),
        (Self::Notice, "notice"),
        (Self::ConsentGiven, "consent_given"),
        (Self::ConsentWithdrawn, "consent_withdrawn"),
        (Self::RestrictionStarted, "restriction_started"),
        (Self::RestrictionLifted, "restriction_lifted"),
        (Self::ObjectionRecorded, "objection_recorded"),
        (Self::ObjectionOverridden, "objection_overridden"),
        (Self::ObjectionWithdrawn, "objection_withdrawn"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::CODES
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::CODES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(k, _)| *k)
    }

    /// Changes about one person (the rest are tenant-wide).
    pub fn is_personal(self) -> bool {
        !matches!(self, Self::Settings | Self::Purpose | Self::Notice)
    }
}

/// Appends a change and bumps the tenant's counter. Call it last in the transaction: the counter
/// row stays locked until commit.
pub(super) async fn log(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    kind: Kind,
    person: Option<&str>,
    purpose: Option<Uuid>,
    record: &str,
) -> Result<i64, StoreError> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO consent.change_counters (tenant_id, seq) VALUES ($1, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET seq = consent.change_counters.seq + 1 \
         RETURNING seq",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO consent.changes (tenant_id, seq, kind, person_id, purpose_id, record) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant.as_str())
    .bind(seq)
    .bind(kind.code())
    .bind(person)
    .bind(purpose)
    .bind(record)
    .execute(&mut **tx)
    .await?;
    Ok(seq)
}

/// A logged change.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangeRow {
    /// Position in the tenant's log.
    pub seq: i64,
    /// [`Kind`] code.
    pub kind: String,
    /// About whom.
    pub person_id: Option<String>,
    /// Which purpose.
    pub purpose_id: Option<Uuid>,
    /// The record's resource name.
    pub record: String,
    /// When.
    pub changed_at: OffsetDateTime,
}

/// The tenant-wide state the check needs, as of `seq`.
#[derive(Debug, Clone)]
pub struct TenantSnapshot {
    /// Every change up to here is included.
    pub seq: i64,
    /// The rules.
    pub rules: TenantRules,
    /// Every purpose.
    pub purposes: HashMap<PurposeId, PurposeRules>,
}

/// One person's state, as of `seq`; `None` state when the person is unknown.
#[derive(Debug, Clone)]
pub struct CheckSnapshot {
    /// Every change up to here is included.
    pub seq: i64,
    /// The person's state, if known.
    pub person: Option<PersonState>,
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    seq: i64,
    known: bool,
    c_ids: Option<Vec<Uuid>>,
    c_purposes: Option<Vec<Uuid>>,
    c_given: Option<Vec<bool>>,
    c_expires: Option<Vec<Option<OffsetDateTime>>>,
    c_audiences: Option<Vec<Option<String>>>,
    c_versions: Option<Vec<Option<i32>>>,
    c_authority: Option<Vec<Option<OffsetDateTime>>>,
    r_ids: Option<Vec<Uuid>>,
    r_starts: Option<Vec<OffsetDateTime>>,
    r_ends: Option<Vec<Option<OffsetDateTime>>>,
    o_ids: Option<Vec<Uuid>>,
    o_kinds: Option<Vec<String>>,
    o_purposes: Option<Vec<Option<Uuid>>>,
    o_starts: Option<Vec<OffsetDateTime>>,
    o_overridden: Option<Vec<bool>>,
}

impl Store {
    /// The tenant's latest change; every change up to it is committed.
    pub async fn change_seq(&self, tenant: &TenantId) -> Result<i64, StoreError> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM consent.change_counters WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(seq.unwrap_or(0))
    }

    /// Changes in `(after, upto]`: what they were and about whom.
    pub async fn changes_between(
        &self,
        tenant: &TenantId,
        after: i64,
        upto: i64,
    ) -> Result<Vec<(Kind, Option<String>)>, StoreError> {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT kind, person_id FROM consent.changes \
             WHERE tenant_id = $1 AND seq > $2 AND seq <= $3",
        )
        .bind(tenant.as_str())
        .bind(after)
        .bind(upto)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(kind, person)| Ok((code(Kind::from_code, &kind, "change kind")?, person)))
            .collect()
    }

    /// Streamed (personal) changes after `after`, oldest first.
    pub async fn public_changes_after(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ChangeRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT seq, kind, person_id, purpose_id, record, changed_at FROM consent.changes \
             WHERE tenant_id = $1 AND seq > $2 AND person_id IS NOT NULL \
             ORDER BY seq LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Settings, purposes and material notice versions in one snapshot.
    pub async fn tenant_snapshot(&self, tenant: &TenantId) -> Result<TenantSnapshot, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM consent.change_counters WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let opt_out: Option<bool> = sqlx::query_scalar(
            "SELECT national_data_opt_out FROM consent.settings WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let purposes: Vec<(Uuid, String, bool, bool, Option<String>, String)> = sqlx::query_as(
            "SELECT purpose_id, lawful_basis, direct_marketing, research_planning, \
                    restriction_exemption, notice_audience \
             FROM consent.purposes WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let material: Vec<(String, i32)> = sqlx::query_as(
            "SELECT audience, max(version) FROM consent.notices \
             WHERE tenant_id = $1 AND material_change AND version > 1 GROUP BY audience",
        )
        .bind(tenant.as_str())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut rules = TenantRules {
            national_data_opt_out: opt_out.unwrap_or(Settings::default().national_data_opt_out),
            latest_material_notice: HashMap::new(),
        };
        for (audience, version) in material {
            rules.latest_material_notice.insert(
                code(Audience::from_code, &audience, "audience")?,
                u32::try_from(version).map_err(|_| StoreError::Corrupt("version"))?,
            );
        }
        let purposes = purposes
            .into_iter()
            .map(|(id, basis, dm, research, exemption, audience)| {
                let id = PurposeId::from_uuid(id);
                Ok((
                    id,
                    PurposeRules {
                        id,
                        basis: code(LawfulBasis::from_code, &basis, "lawful basis")?,
                        direct_marketing: dm,
                        research_planning: research,
                        restriction_exemption: opt_code(
                            RestrictionExemption::from_code,
                            exemption.as_deref(),
                            "restriction exemption",
                        )?,
                        audience: code(Audience::from_code, &audience, "audience")?,
                    },
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(TenantSnapshot {
            seq: seq.unwrap_or(0),
            rules,
            purposes,
        })
    }

    /// One person's latest consent per purpose, restrictions not lifted and objections not
    /// withdrawn, with the counter, in one statement (one snapshot, one round trip).
    pub async fn person_snapshot(
        &self,
        tenant: &TenantId,
        person: &str,
    ) -> Result<CheckSnapshot, StoreError> {
        let row: PersonRow = sqlx::query_as(
            "SELECT coalesce((SELECT seq FROM consent.change_counters WHERE tenant_id = $1), 0) \
                        AS seq, \
                    EXISTS (SELECT 1 FROM consent.persons \
                            WHERE tenant_id = $1 AND person_id = $2) AS known, \
                    c.*, r.*, o.* \
             FROM (SELECT array_agg(consent_id) AS c_ids, array_agg(purpose_id) AS c_purposes, \
                          array_agg(event = 'given') AS c_given, \
                          array_agg(expires_at) AS c_expires, array_agg(audience) AS c_audiences, \
                          array_agg(version) AS c_versions, \
                          array_agg(authority_expires_at) AS c_authority \
                   FROM (SELECT DISTINCT ON (e.purpose_id) e.consent_id, e.purpose_id, e.event, \
                                e.expires_at, e.authority_expires_at, n.audience, n.version \
                         FROM consent.consent_events e \
                         LEFT JOIN consent.notices n \
                                ON n.tenant_id = e.tenant_id AND n.notice_id = e.notice_id \
                         WHERE e.tenant_id = $1 AND e.person_id = $2 \
                         ORDER BY e.purpose_id, e.seq DESC) AS latest) AS c, \
                  (SELECT array_agg(restriction_id) AS r_ids, array_agg(starts_at) AS r_starts, \
                          array_agg(ends_at) AS r_ends \
                   FROM consent.restrictions \
                   WHERE tenant_id = $1 AND person_id = $2 AND lifted_at IS NULL) AS r, \
                  (SELECT array_agg(objection_id) AS o_ids, array_agg(kind) AS o_kinds, \
                          array_agg(purpose_id) AS o_purposes, array_agg(starts_at) AS o_starts, \
                          array_agg(overridden_at IS NOT NULL) AS o_overridden \
                   FROM consent.objections \
                   WHERE tenant_id = $1 AND person_id = $2 AND withdrawn_at IS NULL) AS o",
        )
        .bind(tenant.as_str())
        .bind(person)
        .fetch_one(&self.pool)
        .await?;
        if !row.known {
            return Ok(CheckSnapshot {
                seq: row.seq,
                person: None,
            });
        }
        let mut state = PersonState::default();
        let ids = row.c_ids.unwrap_or_default();
        let n = ids.len();
        let purposes = row.c_purposes.unwrap_or_default();
        let given = row.c_given.unwrap_or_default();
        let expires = row.c_expires.unwrap_or_default();
        let audiences = row.c_audiences.unwrap_or_default();
        let versions = row.c_versions.unwrap_or_default();
        let authority = row.c_authority.unwrap_or_default();
        if [
            purposes.len(),
            given.len(),
            expires.len(),
            audiences.len(),
            versions.len(),
            authority.len(),
        ]
        .iter()
        .any(|l| *l != n)
        {
            return Err(StoreError::Corrupt("consent snapshot"));
        }
        for i in 0..n {
            state.consents.insert(
                PurposeId::from_uuid(purposes[i]),
                ConsentState {
                    id: ids[i],
                    given: given[i],
                    expires_at: expires[i],
                    notice_audience: opt_code(
                        Audience::from_code,
                        audiences[i].as_deref(),
                        "audience",
                    )?,
                    notice_version: versions[i]
                        .map_or(Ok(0), u32::try_from)
                        .map_err(|_| StoreError::Corrupt("version"))?,
                    authority_expires_at: authority[i],
                },
            );
        }
        let r_ids = row.r_ids.unwrap_or_default();
        let r_starts = row.r_starts.unwrap_or_default();
        let r_ends = row.r_ends.unwrap_or_default();
        for ((id, starts_at), ends_at) in r_ids.into_iter().zip(r_starts).zip(r_ends) {
            state.restrictions.push(RestrictionState {
                id,
                starts_at,
                ends_at,
            });
        }
        let o_ids = row.o_ids.unwrap_or_default();
        let o_kinds = row.o_kinds.unwrap_or_default();
        let o_purposes = row.o_purposes.unwrap_or_default();
        let o_starts = row.o_starts.unwrap_or_default();
        let o_overridden = row.o_overridden.unwrap_or_default();
        for ((((id, kind), purpose), starts_at), overridden) in o_ids
            .into_iter()
            .zip(o_kinds)
            .zip(o_purposes)
            .zip(o_starts)
            .zip(o_overridden)
        {
            state.objections.push(ObjectionState {
                id,
                kind: code(ObjectionKind::from_code, &kind, "objection kind")?,
                purpose: purpose.map(PurposeId::from_uuid),
                starts_at,
                overridden,
            });
        }
        Ok(CheckSnapshot {
            seq: row.seq,
            person: Some(state),
        })
    }
}
