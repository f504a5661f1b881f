//! A tenant's breach settings: the law (which picks the regulator and its form), who to contact
//! (003 §12.2.2; Jersey box 1) and the band → outcome mapping (DESIGN §3.2).

use dps_deadlines::Zone;
use dps_types::{FieldViolation, Violations};

use super::assessment::BandMapping;
use super::{code_of, from_code};

/// The law a tenant is subject to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jurisdiction {
    /// UK GDPR; the ICO.
    EnglandAndWales,
    /// UK GDPR; the ICO.
    Scotland,
    /// UK GDPR; the ICO.
    NorthernIreland,
    /// Data Protection (Jersey) Law 2018; the Jersey Office of the Information Commissioner, on
    /// the form of 003 appendix c.
    Jersey,
}

impl Jurisdiction {
    /// Every jurisdiction with its stored code.
    pub const ALL: [(Self, &'static str); 4] = [
        (Self::EnglandAndWales, "england_and_wales"),
        (Self::Scotland, "scotland"),
        (Self::NorthernIreland, "northern_ireland"),
        (Self::Jersey, "jersey"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        from_code(&Self::ALL, code)
    }

    /// Whether the ICO is the regulator (rather than Jersey's).
    pub fn is_uk(self) -> bool {
        self != Self::Jersey
    }

    /// The zone local times are shown in.
    pub fn zone(self) -> Zone {
        if self.is_uk() {
            Zone::EuropeLondon
        } else {
            Zone::EuropeJersey
        }
    }
}

/// Most characters in a contact detail.
pub const MAX_CONTACT: usize = 200;

/// Who the regulator and the individuals contact (003 §12.2.2; Jersey box 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DpoContact {
    /// Name.
    pub name: String,
    /// Designation, e.g. "Compliance and Special Projects Manager".
    pub designation: String,
    /// Work address.
    pub work_address: String,
    /// Contact telephone number.
    pub telephone: String,
    /// Email.
    pub email: String,
}

/// A tenant's breach settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachSettings {
    /// The law.
    pub jurisdiction: Jurisdiction,
    /// The controller's name on reports.
    pub organisation: String,
    /// Who to contact.
    pub dpo: DpoContact,
    /// Band → outcome.
    pub mapping: BandMapping,
    /// False while the defaults apply.
    pub saved: bool,
}

impl Default for BreachSettings {
    fn default() -> Self {
        Self {
            jurisdiction: Jurisdiction::EnglandAndWales,
            organisation: String::new(),
            dpo: DpoContact::default(),
            mapping: BandMapping::default(),
            saved: false,
        }
    }
}

impl BreachSettings {
    /// Checks lengths (fields under `settings.`); the jurisdiction and mapping are parsed by the
    /// caller, which knows which were missing.
    pub fn parse(
        jurisdiction: Jurisdiction,
        organisation: &str,
        dpo: DpoContact,
        mapping: BandMapping,
    ) -> Result<Self, Vec<FieldViolation>> {
        let trim = |s: &str| s.trim().to_owned();
        let dpo = DpoContact {
            name: trim(&dpo.name),
            designation: trim(&dpo.designation),
            work_address: trim(&dpo.work_address),
            telephone: trim(&dpo.telephone),
            email: trim(&dpo.email),
        };
        let mut v = Violations::new();
        let long = |s: &str| s.chars().count() > MAX_CONTACT;
        v.check(
            !long(organisation.trim()),
            "organisation",
            "at most 200 characters",
        );
        for (field, value) in [
            ("dpo.name", &dpo.name),
            ("dpo.designation", &dpo.designation),
            ("dpo.work_address", &dpo.work_address),
            ("dpo.telephone", &dpo.telephone),
            ("dpo.email", &dpo.email),
        ] {
            v.check(!long(value), field, "at most 200 characters");
        }
        v.finish(Self {
            jurisdiction,
            organisation: trim(organisation),
            dpo,
            mapping,
            saved: true,
        })
    }
}
