//! The tenant's breach settings (defaults until saved).

use dps_types::TenantId;

use super::{Store, StoreError};
use crate::domain::assessment::BandMapping;
use crate::domain::settings::{BreachSettings, DpoContact, Jurisdiction};
use crate::domain::severity::Severity;

#[derive(sqlx::FromRow)]
struct SettingsRow {
    jurisdiction: String,
    organisation: String,
    dpo_name: String,
    dpo_designation: String,
    dpo_work_address: String,
    dpo_telephone: String,
    dpo_email: String,
    report_from: String,
    tell_individuals_from: String,
}

impl Store {
    /// The tenant's settings, or the defaults.
    pub async fn settings(&self, tenant: &TenantId) -> Result<BreachSettings, StoreError> {
        let row: Option<SettingsRow> = sqlx::query_as(
            "SELECT jurisdiction, organisation, dpo_name, dpo_designation, dpo_work_address, \
                    dpo_telephone, dpo_email, report_from, tell_individuals_from \
             FROM breaches.settings WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(BreachSettings::default());
        };
        let corrupt = || StoreError::Corrupt("breach settings");
        let mapping = BandMapping::new(
            Severity::from_code(&row.report_from).ok_or_else(corrupt)?,
            Severity::from_code(&row.tell_individuals_from).ok_or_else(corrupt)?,
        )
        .ok_or_else(corrupt)?;
        Ok(BreachSettings {
            jurisdiction: Jurisdiction::from_code(&row.jurisdiction).ok_or_else(corrupt)?,
            organisation: row.organisation,
            dpo: DpoContact {
                name: row.dpo_name,
                designation: row.dpo_designation,
                work_address: row.dpo_work_address,
                telephone: row.dpo_telephone,
                email: row.dpo_email,
            },
            mapping,
            saved: true,
        })
    }

    /// Saves the tenant's settings. Reports already made keep the contact they were made with.
    pub async fn save_settings(
        &self,
        tenant: &TenantId,
        settings: &BreachSettings,
    ) -> Result<(), StoreError> {
        let d = &settings.dpo;
        sqlx::query(
            "INSERT INTO breaches.settings \
                 (tenant_id, jurisdiction, organisation, dpo_name, dpo_designation, \
                  dpo_work_address, dpo_telephone, dpo_email, report_from, tell_individuals_from) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT ON CONSTRAINT settings_pkey DO UPDATE SET \
                 jurisdiction = EXCLUDED.jurisdiction, organisation = EXCLUDED.organisation, \
                 dpo_name = EXCLUDED.dpo_name, dpo_designation = EXCLUDED.dpo_designation, \
                 dpo_work_address = EXCLUDED.dpo_work_address, \
                 dpo_telephone = EXCLUDED.dpo_telephone, dpo_email = EXCLUDED.dpo_email, \
                 report_from = EXCLUDED.report_from, \
                 tell_individuals_from = EXCLUDED.tell_individuals_from",
        )
        .bind(tenant.as_str())
        .bind(settings.jurisdiction.code())
        .bind(&settings.organisation)
        .bind(&d.name)
        .bind(&d.designation)
        .bind(&d.work_address)
        .bind(&d.telephone)
        .bind(&d.email)
        .bind(settings.mapping.report_from().code())
        .bind(settings.mapping.tell_individuals_from().code())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
