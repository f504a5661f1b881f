//! The information asset register, and which systems may hold a person's data.

use dps_platform::db::{DbFault, classify};
use dps_types::{CallerId, TenantId};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Store, StoreError};
use crate::domain::{AssetId, Category, InformationAsset, NewAsset, Transfer};

/// The unique constraint on `(tenant_id, system)`: one register entry per system.
const SYSTEM_KEY: &str = "information_assets_system_key";

macro_rules! asset_columns {
    () => {
        "SELECT asset_id, system, display_name, owner, service_area, data_subjects, \
                category_names, category_special, protection_measures, retention, recipients, \
                transfer_destinations, transfer_safeguards, registers_records, created_at \
         FROM retention.information_assets "
    };
}

#[derive(sqlx::FromRow)]
struct AssetRow {
    asset_id: Uuid,
    system: String,
    display_name: String,
    owner: String,
    service_area: String,
    data_subjects: Vec<String>,
    category_names: Vec<String>,
    category_special: Vec<bool>,
    protection_measures: Vec<String>,
    retention: String,
    recipients: Vec<String>,
    transfer_destinations: Vec<String>,
    transfer_safeguards: Vec<String>,
    registers_records: bool,
    created_at: OffsetDateTime,
}

impl From<AssetRow> for InformationAsset {
    fn from(row: AssetRow) -> Self {
        InformationAsset {
            id: AssetId::from_uuid(row.asset_id),
            spec: NewAsset {
                system: row.system,
                display_name: row.display_name,
                owner: row.owner,
                service_area: row.service_area,
                data_subjects: row.data_subjects,
                categories: row
                    .category_names
                    .into_iter()
                    .zip(row.category_special)
                    .map(|(name, special)| Category { name, special })
                    .collect(),
                protection_measures: row.protection_measures,
                retention: row.retention,
                recipients: row.recipients,
                transfers: row
                    .transfer_destinations
                    .into_iter()
                    .zip(row.transfer_safeguards)
                    .map(|(destination, safeguard)| Transfer {
                        destination,
                        safeguard,
                    })
                    .collect(),
                registers_records: row.registers_records,
            },
            created_at: row.created_at,
        }
    }
}

impl Store {
    /// Adds an asset; idempotent on (caller, `request_id`); a system already in the register is
    /// [`StoreError::SystemTaken`].
    pub async fn create_asset(
        &self,
        tenant: &TenantId,
        caller: &CallerId,
        request_id: Option<Uuid>,
        asset: &NewAsset,
    ) -> Result<InformationAsset, StoreError> {
        let a = asset;
        let inserted: Option<AssetRow> = sqlx::query_as(
            "INSERT INTO retention.information_assets \
                 (tenant_id, asset_id, system, display_name, owner, service_area, data_subjects, \
                  category_names, category_special, protection_measures, retention, recipients, \
                  transfer_destinations, transfer_safeguards, registers_records, created_by, \
                  request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT ON CONSTRAINT information_assets_request_id_key DO NOTHING \
             RETURNING asset_id, system, display_name, owner, service_area, data_subjects, \
                       category_names, category_special, protection_measures, retention, \
                       recipients, transfer_destinations, transfer_safeguards, \
                       registers_records, created_at",
        )
        .bind(tenant.as_str())
        .bind(AssetId::generate().as_uuid())
        .bind(&a.system)
        .bind(&a.display_name)
        .bind(&a.owner)
        .bind(&a.service_area)
        .bind(&a.data_subjects)
        .bind(
            a.categories
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>(),
        )
        .bind(a.categories.iter().map(|c| c.special).collect::<Vec<_>>())
        .bind(&a.protection_measures)
        .bind(&a.retention)
        .bind(&a.recipients)
        .bind(
            a.transfers
                .iter()
                .map(|t| t.destination.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            a.transfers
                .iter()
                .map(|t| t.safeguard.clone())
                .collect::<Vec<_>>(),
        )
        .bind(a.registers_records)
        .bind(caller.as_str())
        .bind(request_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| match classify(&e) {
            DbFault::UniqueViolation(Some(constraint)) if constraint == SYSTEM_KEY => {
                StoreError::SystemTaken(a.system.clone())
            }
            _ => e.into(),
        })?;
        let row = match inserted {
            Some(row) => row,
            None => {
                sqlx::query_as(concat!(
                    asset_columns!(),
                    "WHERE tenant_id = $1 AND created_by = $2 AND request_id = $3"
                ))
                .bind(tenant.as_str())
                .bind(caller.as_str())
                .bind(request_id)
                .fetch_one(&self.pool)
                .await?
            }
        };
        Ok(row.into())
    }

    /// One asset.
    pub async fn get_asset(
        &self,
        tenant: &TenantId,
        id: AssetId,
    ) -> Result<Option<InformationAsset>, StoreError> {
        let row: Option<AssetRow> = sqlx::query_as(concat!(
            asset_columns!(),
            "WHERE tenant_id = $1 AND asset_id = $2"
        ))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(Into::into))
    }

    /// The whole register, by system.
    pub async fn list_assets(
        &self,
        tenant: &TenantId,
    ) -> Result<Vec<InformationAsset>, StoreError> {
        let rows: Vec<AssetRow> = sqlx::query_as(concat!(
            asset_columns!(),
            "WHERE tenant_id = $1 ORDER BY system"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// How many records of the person, not yet disposed of, each system holds.
    pub async fn person_systems(
        &self,
        tenant: &TenantId,
        person_id: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT system, count(*) FROM retention.records \
             WHERE tenant_id = $1 AND person_id = $2 \
               AND state NOT IN ('destroyed', 'transferred') \
             GROUP BY system ORDER BY system",
        )
        .bind(tenant.as_str())
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?)
    }
}
