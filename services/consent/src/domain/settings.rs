//! A tenant's consent settings.

use dps_types::{FieldViolation, Violations};

coded_enum!(
    /// The law a tenant is subject to.
    Jurisdiction {
        /// UK GDPR, England and Wales.
        EnglandAndWales = "england_and_wales",
        /// UK GDPR, Scotland.
        Scotland = "scotland",
        /// UK GDPR, Northern Ireland.
        NorthernIreland = "northern_ireland",
        /// Data Protection (Jersey) Law 2018.
        Jersey = "jersey",
    }
);

impl Jurisdiction {
    /// Subject to UK GDPR.
    pub fn is_uk(self) -> bool {
        !matches!(self, Self::Jersey)
    }
}

/// The age below which a child cannot consent to an online service offered directly to
/// children: UK GDPR Art 8 with DPA 2018 s9, and Jersey, both 13.
pub const DEFAULT_CHILD_CONSENT_AGE: u8 = 13;

/// A tenant's consent settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The tenant's law.
    pub jurisdiction: Jurisdiction,
    /// 13 to 16 (GDPR Art 8(1): member states may lower 16 to no less than 13).
    pub child_consent_age: u8,
    /// Research and planning purposes respect the national data opt-out.
    pub national_data_opt_out: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            jurisdiction: Jurisdiction::EnglandAndWales,
            child_consent_age: DEFAULT_CHILD_CONSENT_AGE,
            national_data_opt_out: true,
        }
    }
}

impl Settings {
    /// Validates settings as sent; age 0 means the default.
    pub fn parse(
        jurisdiction: Option<Jurisdiction>,
        child_consent_age: u32,
        national_data_opt_out: bool,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        v.check(jurisdiction.is_some(), "jurisdiction", "required");
        let age = match child_consent_age {
            0 => DEFAULT_CHILD_CONSENT_AGE,
            13..=16 => child_consent_age as u8,
            _ => {
                v.add(
                    "child_consent_age",
                    "13 to 16 (UK and Jersey: 13; an EU profile: 16 unless lowered)",
                );
                DEFAULT_CHILD_CONSENT_AGE
            }
        };
        v.finish(Self {
            jurisdiction: jurisdiction.unwrap_or(Jurisdiction::EnglandAndWales),
            child_consent_age: age,
            national_data_opt_out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_age_is_bounded_by_article_8() {
        let s = Settings::parse(Some(Jurisdiction::Jersey), 0, false).expect("default");
        assert_eq!(s.child_consent_age, 13);
        assert_eq!(
            Settings::parse(Some(Jurisdiction::EnglandAndWales), 16, true)
                .expect("EU profile")
                .child_consent_age,
            16
        );
        for bad in [12, 17] {
            let err = Settings::parse(Some(Jurisdiction::Scotland), bad, true).expect_err("bad");
            assert_eq!(err[0].field, "child_consent_age");
        }
        assert_eq!(
            Settings::parse(None, 13, true).expect_err("missing")[0].field,
            "jurisdiction"
        );
    }
}
