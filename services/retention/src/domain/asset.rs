//! The information asset register (001 "Information Asset Register"; 003 §10) with what a
//! record of processing activities needs: recipients and international transfers.

use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

use super::required_text;

dps_types::resource_id!(
    /// Identifies an information asset within its tenant.
    AssetId,
    "informationAssets"
);

/// A category of personal data in an asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// e.g. "health".
    pub name: String,
    /// Special category data (Art 9).
    pub special: bool,
}

/// Personal data sent abroad, and under which safeguard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Country or organisation.
    pub destination: String,
    /// e.g. "adequacy regulations".
    pub safeguard: String,
}

/// An asset to add, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAsset {
    /// The system's name, as records give it.
    pub system: String,
    /// Human name.
    pub display_name: String,
    /// The Information Asset Owner.
    pub owner: String,
    /// The service area.
    pub service_area: String,
    /// Whom the data is about.
    pub data_subjects: Vec<String>,
    /// What data.
    pub categories: Vec<Category>,
    /// How it is protected.
    pub protection_measures: Vec<String>,
    /// How long it is kept.
    pub retention: String,
    /// Who receives it.
    pub recipients: Vec<String>,
    /// Transfers abroad.
    pub transfers: Vec<Transfer>,
    /// Whether the system registers its records in the registry.
    pub registers_records: bool,
}

/// A stored asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationAsset {
    /// Its id.
    pub id: AssetId,
    /// Its values.
    pub spec: NewAsset,
    /// When it was added.
    pub created_at: OffsetDateTime,
}

fn list(v: &mut Violations, field: &str, items: &[String], at_least_one: bool) -> Vec<String> {
    if at_least_one && items.iter().all(|i| i.trim().is_empty()) {
        v.add(field, "at least one");
        return Vec::new();
    }
    v.check(items.len() <= 100, field, "at most 100 entries");
    items
        .iter()
        .enumerate()
        .map(|(i, item)| required_text(v, &format!("{field}[{i}]"), item, 200))
        .collect()
}

impl NewAsset {
    /// Checks every field and reports all violations at once.
    pub fn parse(self) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let system = required_text(&mut v, "system", &self.system, 100);
        let display_name = required_text(&mut v, "display_name", &self.display_name, 200);
        let owner = required_text(&mut v, "owner", &self.owner, 200);
        let service_area = required_text(&mut v, "service_area", &self.service_area, 200);
        let data_subjects = list(&mut v, "data_subjects", &self.data_subjects, true);
        v.check(!self.categories.is_empty(), "categories", "at least one");
        let categories = self
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| Category {
                name: required_text(&mut v, &format!("categories[{i}].name"), &c.name, 200),
                special: c.special,
            })
            .collect();
        let protection_measures = list(
            &mut v,
            "protection_measures",
            &self.protection_measures,
            true,
        );
        let retention = required_text(&mut v, "retention", &self.retention, 1000);
        let recipients = list(&mut v, "recipients", &self.recipients, false);
        let transfers = self
            .transfers
            .iter()
            .enumerate()
            .map(|(i, t)| Transfer {
                destination: required_text(
                    &mut v,
                    &format!("international_transfers[{i}].destination"),
                    &t.destination,
                    200,
                ),
                safeguard: required_text(
                    &mut v,
                    &format!("international_transfers[{i}].safeguard"),
                    &t.safeguard,
                    500,
                ),
            })
            .collect();
        v.finish(Self {
            system,
            display_name,
            owner,
            service_area,
            data_subjects,
            categories,
            protection_measures,
            retention,
            recipients,
            transfers,
            registers_records: self.registers_records,
        })
    }

    /// Whether any category is special category data.
    pub fn holds_special_category(&self) -> bool {
        self.categories.iter().any(|c| c.special)
    }
}
