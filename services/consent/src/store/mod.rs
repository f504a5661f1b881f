//! SQL for the `consent` schema. Every query names its schema and filters on the tenant. Writes
//! that can change a processing decision append to the change log in the same transaction
//! ([`changes`]).

mod changes;
mod ledger;
mod rights;

pub use changes::{ChangeRow, CheckSnapshot, Kind as ChangeKind, TenantSnapshot};
pub use ledger::{ConsentRow, Withdrawal};
pub use rights::{DisclosureRow, ObjectionRow, RestrictionRow, Update};

use dps_crypto::{Opened, Sealed, Vault, VaultError};
use dps_platform::db::DbError;
use dps_types::{CallerId, TenantId};
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::{
    AcknowledgementId, Audience, CaptureMethod, Jurisdiction, LawfulBasis, NewNotice, NewPurpose,
    NoticeId, Purpose, PurposeId, RecognisedCondition, RestrictionExemption, Settings,
    SpecialCategoryCondition,
};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (UNAVAILABLE, ABORTED or INTERNAL).
    #[error(transparent)]
    Db(#[from] DbError),
    /// A stored row no longer satisfies the domain's rules (INTERNAL).
    #[error("stored {0} is not valid")]
    Corrupt(&'static str),
    /// The key store failed or a sealed field did not authenticate (code per the vault).
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

/// The consent service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    vault: Vault,
}

/// One row's sealed columns: label and ciphertext (`None` for NULL).
type SealedRow = Vec<(&'static str, Option<Vec<u8>>)>;

/// A published notice version.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Its id.
    pub id: NoticeId,
    /// Audience.
    pub audience: Audience,
    /// Version within the audience.
    pub version: u32,
    /// Title.
    pub title: String,
    /// Where published.
    pub uri: String,
    /// Material change.
    pub material_change: bool,
    /// When.
    pub published_at: OffsetDateTime,
    /// When a later material version of the audience's notice was published.
    pub superseded_materially_at: Option<OffsetDateTime>,
}

/// A stored acknowledgement.
#[derive(Debug, Clone)]
pub struct Acknowledgement {
    /// Its id.
    pub id: AcknowledgementId,
    /// Whose.
    pub person_id: String,
    /// Of which notice.
    pub notice_id: NoticeId,
    /// Its version.
    pub notice_version: u32,
    /// How.
    pub method: CaptureMethod,
    /// When.
    pub acknowledged_at: OffsetDateTime,
}

fn code<T>(parse: fn(&str) -> Option<T>, value: &str, what: &'static str) -> Result<T, StoreError> {
    parse(value).ok_or(StoreError::Corrupt(what))
}

fn opt_code<T>(
    parse: fn(&str) -> Option<T>,
    value: Option<&str>,
    what: &'static str,
) -> Result<Option<T>, StoreError> {
    value.map(|v| code(parse, v, what)).transpose()
}

/// Every purpose column, in [`PurposeRow`]'s order.
macro_rules! purpose_columns {
    () => {
        "purpose_id, display_name, description, lawful_basis, legitimate_interests_assessment, \
         recognised_condition, special_category_condition, data_categories, direct_marketing, \
         child_online_service, research_planning, restriction_exemption, notice_audience, \
         created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct PurposeRow {
    purpose_id: Uuid,
    display_name: String,
    description: String,
    lawful_basis: String,
    legitimate_interests_assessment: String,
    recognised_condition: Option<String>,
    special_category_condition: Option<String>,
    data_categories: Vec<String>,
    direct_marketing: bool,
    child_online_service: bool,
    research_planning: bool,
    restriction_exemption: Option<String>,
    notice_audience: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<PurposeRow> for Purpose {
    type Error = StoreError;
    fn try_from(row: PurposeRow) -> Result<Self, StoreError> {
        Ok(Purpose {
            id: PurposeId::from_uuid(row.purpose_id),
            spec: NewPurpose {
                display_name: row.display_name,
                description: row.description,
                lawful_basis: code(LawfulBasis::from_code, &row.lawful_basis, "lawful basis")?,
                legitimate_interests_assessment: row.legitimate_interests_assessment,
                recognised_condition: opt_code(
                    RecognisedCondition::from_code,
                    row.recognised_condition.as_deref(),
                    "recognised condition",
                )?,
                special_category_condition: opt_code(
                    SpecialCategoryCondition::from_code,
                    row.special_category_condition.as_deref(),
                    "special category condition",
                )?,
                data_categories: row.data_categories,
                direct_marketing: row.direct_marketing,
                child_online_service: row.child_online_service,
                research_planning: row.research_planning,
                restriction_exemption: opt_code(
                    RestrictionExemption::from_code,
                    row.restriction_exemption.as_deref(),
                    "restriction exemption",
                )?,
                notice_audience: code(Audience::from_code, &row.notice_audience, "audience")?,
            },
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    notice_id: Uuid,
    audience: String,
    version: i32,
    title: String,
    uri: String,
    material_change: bool,
    published_at: OffsetDateTime,
    superseded_materially_at: Option<OffsetDateTime>,
}

impl TryFrom<NoticeRow> for Notice {
    type Error = StoreError;
    fn try_from(row: NoticeRow) -> Result<Self, StoreError> {
        Ok(Notice {
            id: NoticeId::from_uuid(row.notice_id),
            audience: code(Audience::from_code, &row.audience, "audience")?,
            version: u32::try_from(row.version).map_err(|_| StoreError::Corrupt("version"))?,
            title: row.title,
            uri: row.uri,
            material_change: row.material_change,
            published_at: row.published_at,
            superseded_materially_at: row.superseded_materially_at,
        })
    }
}

/// Notice columns with the time a later material version superseded it.
macro_rules! notice_select {
    () => {
        "SELECT n.notice_id, n.audience, n.version, n.title, n.uri, n.material_change, \
                n.published_at, \
                (SELECT min(m.published_at) FROM consent.notices m \
                 WHERE m.tenant_id = n.tenant_id AND m.audience = n.audience \
                   AND m.version > n.version AND m.material_change) AS superseded_materially_at \
         FROM consent.notices n "
    };
}

/// Makes sure the person is known, inside a write.
async fn ensure_person(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &TenantId,
    person: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consent.persons (tenant_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(person)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Storage on the runtime pool, sealing personal free text through `vault`.
    pub fn new(pool: PgPool, vault: Vault) -> Self {
        Self { pool, vault }
    }

    /// The pool (the change stream listens on it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Seals the non-empty values with the person's key; empty values stay `None`.
    async fn seal(
        &self,
        tenant: &TenantId,
        person: &str,
        fields: &[(&'static str, &str)],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let given: Vec<(&str, &str)> = fields
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .copied()
            .collect();
        let mut sealed = if given.is_empty() {
            Vec::new()
        } else {
            self.vault.seal(tenant, person, &given).await?
        }
        .into_iter();
        Ok(fields
            .iter()
            .map(|(_, value)| {
                if value.is_empty() {
                    None
                } else {
                    sealed.next().map(Sealed::into_bytes)
                }
            })
            .collect())
    }

    /// Opens rows of sealed columns with one key-store query: per row, the texts (empty for
    /// NULL) and whether the person's key was shredded.
    async fn open_rows(
        &self,
        tenant: &TenantId,
        rows: Vec<SealedRow>,
    ) -> Result<Vec<(Vec<String>, bool)>, StoreError> {
        let sealed: Vec<(usize, usize, &'static str, Sealed)> = rows
            .into_iter()
            .enumerate()
            .flat_map(|(r, fields)| {
                fields
                    .into_iter()
                    .enumerate()
                    .filter_map(move |(f, (label, bytes))| {
                        Some((r, f, label, Sealed::from(bytes?)))
                    })
            })
            .collect();
        let fields: Vec<(&str, &Sealed)> = sealed.iter().map(|(_, _, l, s)| (*l, s)).collect();
        let opened = if fields.is_empty() {
            Vec::new()
        } else {
            self.vault.open(tenant, &fields).await?
        };
        let mut out: Vec<(Vec<String>, bool)> = Vec::new();
        for ((r, f, _, _), opened) in sealed.iter().zip(opened) {
            while out.len() <= *r {
                out.push((Vec::new(), false));
            }
            let row = &mut out[*r];
            while row.0.len() <= *f {
                row.0.push(String::new());
            }
            match opened {
                Opened::Value(v) => row.0[*f] = v.expose().clone(),
                Opened::Erased => row.1 = true,
            }
        }
        Ok(out)
    }

    /// The tenant's settings and when they were last set (`None`: defaults).
    pub async fn settings(
        &self,
        tenant: &TenantId,
    ) -> Result<(Settings, Option<OffsetDateTime>), StoreError> {
        let row: Option<(String, i16, bool, OffsetDateTime)> = sqlx::query_as(
            "SELECT jurisdiction, child_consent_age, national_data_opt_out, updated_at \
             FROM consent.settings WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some((jurisdiction, age, opt_out, at)) = row else {
            return Ok((Settings::default(), None));
        };
        Ok((
            Settings {
                jurisdiction: code(Jurisdiction::from_code, &jurisdiction, "jurisdiction")?,
                child_consent_age: u8::try_from(age).map_err(|_| StoreError::Corrupt("age"))?,
                national_data_opt_out: opt_out,
            },
            Some(at),
        ))
    }

    /// Replaces the tenant's settings.
    pub async fn update_settings(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        settings: &Settings,
    ) -> Result<OffsetDateTime, StoreError> {
        let mut tx = self.pool.begin().await?;
        let at: OffsetDateTime = sqlx::query_scalar(
            "INSERT INTO consent.settings \
                 (tenant_id, jurisdiction, child_consent_age, national_data_opt_out, updated_by) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id) DO UPDATE SET jurisdiction = $2, child_consent_age = $3, \
                 national_data_opt_out = $4, updated_by = $5, updated_at = now() \
             RETURNING updated_at",
        )
        .bind(tenant.as_str())
        .bind(settings.jurisdiction.code())
        .bind(i16::from(settings.child_consent_age))
        .bind(settings.national_data_opt_out)
        .bind(caller.as_str())
        .fetch_one(&mut *tx)
        .await?;
        changes::log(&mut tx, tenant, changes::Kind::Settings, None, None, "").await?;
        tx.commit().await?;
        Ok(at)
    }

    /// Registers a purpose. With a `request_id` already used by this caller in this tenant,
    /// returns the purpose that request created instead of a duplicate.
    pub async fn create_purpose(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        p: &NewPurpose,
    ) -> Result<Purpose, StoreError> {
        let mut tx = self.pool.begin().await?;
        let inserted: Option<PurposeRow> = sqlx::query_as(concat!(
            "INSERT INTO consent.purposes \
                 (tenant_id, purpose_id, display_name, description, lawful_basis, \
                  legitimate_interests_assessment, recognised_condition, \
                  special_category_condition, data_categories, direct_marketing, \
                  child_online_service, research_planning, restriction_exemption, \
                  notice_audience, created_by, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT ON CONSTRAINT purposes_request_id_key DO NOTHING RETURNING ",
            purpose_columns!()
        ))
        .bind(tenant.as_str())
        .bind(PurposeId::generate().as_uuid())
        .bind(&p.display_name)
        .bind(&p.description)
        .bind(p.lawful_basis.code())
        .bind(&p.legitimate_interests_assessment)
        .bind(p.recognised_condition.map(|c| c.code()))
        .bind(p.special_category_condition.map(|c| c.code()))
        .bind(&p.data_categories)
        .bind(p.direct_marketing)
        .bind(p.child_online_service)
        .bind(p.research_planning)
        .bind(p.restriction_exemption.map(|c| c.code()))
        .bind(p.notice_audience.code())
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let row = match inserted {
            Some(row) => {
                changes::log(
                    &mut tx,
                    tenant,
                    changes::Kind::Purpose,
                    None,
                    Some(row.purpose_id),
                    "",
                )
                .await?;
                row
            }
            // The conflict can only be on the idempotency key, which is then not null.
            None => {
                sqlx::query_as(concat!(
                    "SELECT ",
                    purpose_columns!(),
                    " FROM consent.purposes \
                     WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3"
                ))
                .bind(tenant.as_str())
                .bind(caller.as_str())
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        tx.commit().await?;
        row.try_into()
    }

    /// One purpose of `tenant`, if it exists there.
    pub async fn get_purpose(
        &self,
        tenant: &TenantId,
        id: PurposeId,
    ) -> Result<Option<Purpose>, StoreError> {
        let row: Option<PurposeRow> = sqlx::query_as(concat!(
            "SELECT ",
            purpose_columns!(),
            " FROM consent.purposes WHERE tenant_id = $1 AND purpose_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Purpose::try_from).transpose()
    }

    /// Replaces a purpose's mutable fields; `None` if it does not exist. The caller has checked
    /// the basis did not change.
    pub async fn update_purpose(
        &self,
        tenant: &TenantId,
        id: PurposeId,
        p: &NewPurpose,
    ) -> Result<Option<Purpose>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<PurposeRow> = sqlx::query_as(concat!(
            "UPDATE consent.purposes SET display_name = $3, description = $4, \
                 legitimate_interests_assessment = $5, recognised_condition = $6, \
                 special_category_condition = $7, data_categories = $8, direct_marketing = $9, \
                 child_online_service = $10, research_planning = $11, \
                 restriction_exemption = $12, notice_audience = $13, updated_at = now() \
             WHERE tenant_id = $1 AND purpose_id = $2 AND lawful_basis = $14 RETURNING ",
            purpose_columns!()
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(&p.display_name)
        .bind(&p.description)
        .bind(&p.legitimate_interests_assessment)
        .bind(p.recognised_condition.map(|c| c.code()))
        .bind(p.special_category_condition.map(|c| c.code()))
        .bind(&p.data_categories)
        .bind(p.direct_marketing)
        .bind(p.child_online_service)
        .bind(p.research_planning)
        .bind(p.restriction_exemption.map(|c| c.code()))
        .bind(p.notice_audience.code())
        .bind(p.lawful_basis.code())
        .fetch_optional(&mut *tx)
        .await?;
        if row.is_some() {
            changes::log(
                &mut tx,
                tenant,
                changes::Kind::Purpose,
                None,
                Some(id.as_uuid()),
                "",
            )
            .await?;
        }
        tx.commit().await?;
        row.map(Purpose::try_from).transpose()
    }

    /// Purposes after `after` in id (creation) order.
    pub async fn list_purposes(
        &self,
        tenant: &TenantId,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Purpose>, StoreError> {
        let rows: Vec<PurposeRow> = sqlx::query_as(concat!(
            "SELECT ",
            purpose_columns!(),
            " FROM consent.purposes WHERE tenant_id = $1 AND ($2::uuid IS NULL OR purpose_id > $2) \
             ORDER BY purpose_id LIMIT $3"
        ))
        .bind(tenant.as_str())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Purpose::try_from).collect()
    }

    /// Publishes the audience's next notice version; `None` if it would predate the previous one.
    pub async fn publish_notice(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        n: &NewNotice,
    ) -> Result<Option<Notice>, StoreError> {
        if let Some(existing) = self.notice_by_request(tenant, caller, request_id).await? {
            return Ok(Some(existing));
        }
        let mut tx = self.pool.begin().await?;
        let id = NoticeId::generate();
        // The change-log counter serialises the tenant's writers, so versions cannot collide.
        changes::log(
            &mut tx,
            tenant,
            changes::Kind::Notice,
            None,
            None,
            &id.to_string(),
        )
        .await?;
        // Versions are published in order: none before the previous one's publication.
        let inserted = sqlx::query(
            "INSERT INTO consent.notices \
                 (tenant_id, notice_id, audience, version, title, uri, material_change, \
                  created_by, request_id, published_at) \
             SELECT $1, $2, $3, coalesce(max(version), 0) + 1, $4, $5, $6, $7, $8, \
                    coalesce($9, now()) \
             FROM consent.notices WHERE tenant_id = $1 AND audience = $3 \
             HAVING coalesce(max(published_at), '-infinity') <= coalesce($9, now())",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(n.audience.code())
        .bind(&n.title)
        .bind(&n.uri)
        .bind(n.material_change)
        .bind(caller.as_str())
        .bind(request_id)
        .bind(n.published_at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(
            self.notice(tenant, id)
                .await?
                .ok_or(StoreError::Corrupt("notice"))?,
        ))
    }

    async fn notice_by_request(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
    ) -> Result<Option<Notice>, StoreError> {
        let Some(request_id) = request_id else {
            return Ok(None);
        };
        let row: Option<NoticeRow> = sqlx::query_as(concat!(
            notice_select!(),
            "WHERE n.tenant_id = $1 AND n.created_by = $2 AND n.request_id = $3"
        ))
        .bind(tenant.as_str())
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Notice::try_from).transpose()
    }

    /// One notice version.
    pub async fn notice(
        &self,
        tenant: &TenantId,
        id: NoticeId,
    ) -> Result<Option<Notice>, StoreError> {
        let row: Option<NoticeRow> = sqlx::query_as(concat!(
            notice_select!(),
            "WHERE n.tenant_id = $1 AND n.notice_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Notice::try_from).transpose()
    }

    /// An audience's notice versions, newest first.
    pub async fn list_notices(
        &self,
        tenant: &TenantId,
        audience: Audience,
    ) -> Result<Vec<Notice>, StoreError> {
        let rows: Vec<NoticeRow> = sqlx::query_as(concat!(
            notice_select!(),
            "WHERE n.tenant_id = $1 AND n.audience = $2 ORDER BY n.version DESC"
        ))
        .bind(tenant.as_str())
        .bind(audience.code())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Notice::try_from).collect()
    }

    /// Records an acknowledgement (idempotent on the request id).
    #[allow(clippy::too_many_arguments)]
    pub async fn acknowledge(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        person: &str,
        notice: &Notice,
        method: CaptureMethod,
        at: OffsetDateTime,
    ) -> Result<Acknowledgement, StoreError> {
        let mut tx = self.pool.begin().await?;
        ensure_person(&mut tx, tenant, person).await?;
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO consent.acknowledgements \
                 (tenant_id, acknowledgement_id, person_id, notice_id, method, acknowledged_at, \
                  created_by, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT ON CONSTRAINT acknowledgements_request_id_key DO NOTHING \
             RETURNING acknowledgement_id",
        )
        .bind(tenant.as_str())
        .bind(AcknowledgementId::generate().as_uuid())
        .bind(person)
        .bind(notice.id.as_uuid())
        .bind(method.code())
        .bind(at)
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&mut *tx)
        .await?;
        let id: Uuid = match inserted {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "SELECT acknowledgement_id FROM consent.acknowledgements \
                     WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3",
                )
                .bind(tenant.as_str())
                .bind(caller.as_str())
                .bind(request_id)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let row: (String, Uuid, String, OffsetDateTime, i32) = sqlx::query_as(
            "SELECT a.person_id, a.notice_id, a.method, a.acknowledged_at, n.version \
             FROM consent.acknowledgements a JOIN consent.notices n USING (tenant_id, notice_id) \
             WHERE a.tenant_id = $1 AND a.acknowledgement_id = $2",
        )
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Acknowledgement {
            id: AcknowledgementId::from_uuid(id),
            person_id: row.0,
            notice_id: NoticeId::from_uuid(row.1),
            method: code(CaptureMethod::from_code, &row.2, "method")?,
            acknowledged_at: row.3,
            notice_version: u32::try_from(row.4).map_err(|_| StoreError::Corrupt("version"))?,
        })
    }

    /// Registers a person (idempotent); when they were first known.
    pub async fn register_person(
        &self,
        tenant: &TenantId,
        person: &str,
    ) -> Result<OffsetDateTime, StoreError> {
        let at: OffsetDateTime = sqlx::query_scalar(
            "INSERT INTO consent.persons (tenant_id, person_id) VALUES ($1, $2) \
             ON CONFLICT (tenant_id, person_id) DO UPDATE SET person_id = excluded.person_id \
             RETURNING created_at",
        )
        .bind(tenant.as_str())
        .bind(person)
        .fetch_one(&self.pool)
        .await?;
        Ok(at)
    }

    /// Whether the person is known.
    pub async fn person_exists(&self, tenant: &TenantId, person: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM consent.persons WHERE tenant_id = $1 AND person_id = $2)",
        )
        .bind(tenant.as_str())
        .bind(person)
        .fetch_one(&self.pool)
        .await?)
    }
}
