//! Rules of the consent domain. No sqlx, tonic or tokio here.

use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

dps_types::resource_id!(
    /// Identifies a purpose within its tenant.
    PurposeId,
    "purposes"
);

/// The lawful basis for processing (UK GDPR and DPJL Art 6; DESIGN §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LawfulBasis {
    /// Art 6(1)(a). Must be specific, informed, unambiguous and active (002 §1.2).
    Consent,
    /// Art 6(1)(b).
    Contract,
    /// Art 6(1)(c).
    LegalObligation,
    /// Art 6(1)(d).
    VitalInterests,
    /// Art 6(1)(e).
    PublicTask,
    /// Art 6(1)(f), with a balancing test (002 §2).
    LegitimateInterests,
    /// UK GDPR Art 6(1)(ea), UK tenants, since 5 Feb 2026: an Annex 1 condition, no balancing test.
    RecognisedLegitimateInterests,
}

impl LawfulBasis {
    /// Every basis with its stored code.
    pub const ALL: [(Self, &'static str); 7] = [
        (Self::Consent, "consent"),
        (Self::Contract, "contract"),
        (Self::LegalObligation, "legal_obligation"),
        (Self::VitalInterests, "vital_interests"),
        (Self::PublicTask, "public_task"),
        (Self::LegitimateInterests, "legitimate_interests"),
        (
            Self::RecognisedLegitimateInterests,
            "recognised_legitimate_interests",
        ),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(b, _)| *b == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(b, _)| *b)
    }
}

/// Most characters in a purpose's display name.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Most characters in a purpose's description.
pub const MAX_DESCRIPTION: usize = 4000;

/// A purpose to register, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPurpose {
    display_name: String,
    description: String,
    lawful_basis: LawfulBasis,
}

impl NewPurpose {
    /// Checks every field and reports all violations at once (field names as in the resource).
    pub fn parse(
        display_name: &str,
        description: &str,
        lawful_basis: Option<LawfulBasis>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let display_name = display_name.trim();
        let description = description.trim();
        let mut v = Violations::new();
        v.check(!display_name.is_empty(), "display_name", "required");
        v.check(
            display_name.chars().count() <= MAX_DISPLAY_NAME,
            "display_name",
            "at most 200 characters",
        );
        v.check(
            description.chars().count() <= MAX_DESCRIPTION,
            "description",
            "at most 4000 characters",
        );
        v.check(
            lawful_basis.is_some(),
            "lawful_basis",
            "required: the lawful basis for this processing (Art 6)",
        );
        let lawful_basis = lawful_basis.unwrap_or(LawfulBasis::Consent);
        v.finish(Self {
            display_name: display_name.to_owned(),
            description: description.to_owned(),
            lawful_basis,
        })
    }

    /// The display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The lawful basis.
    pub fn lawful_basis(&self) -> LawfulBasis {
        self.lawful_basis
    }
}

/// A registered purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    /// Its id.
    pub id: PurposeId,
    /// What was registered.
    pub spec: NewPurpose,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

impl Purpose {
    /// Rebuilds a stored purpose; `None` if the stored basis is unknown to this version.
    pub fn from_stored(
        id: PurposeId,
        display_name: String,
        description: String,
        basis: &str,
        created_at: OffsetDateTime,
    ) -> Option<Self> {
        let lawful_basis = LawfulBasis::from_code(basis)?;
        Some(Self {
            id,
            spec: NewPurpose {
                display_name,
                description,
                lawful_basis,
            },
            created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewPurpose::parse("  ", "", None).expect_err("invalid");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["display_name", "lawful_basis"]);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let ok = NewPurpose::parse("  Care planning ", "", Some(LawfulBasis::PublicTask))
            .expect("valid");
        assert_eq!(ok.display_name(), "Care planning");
        let long = "x".repeat(MAX_DISPLAY_NAME + 1);
        assert!(NewPurpose::parse(&long, "", Some(LawfulBasis::Contract)).is_err());
        let exact = "é".repeat(MAX_DISPLAY_NAME);
        assert!(
            NewPurpose::parse(&exact, "", Some(LawfulBasis::Contract)).is_ok(),
            "limit counts characters, not bytes"
        );
    }

    #[test]
    fn basis_codes_round_trip() {
        for (basis, code) in LawfulBasis::ALL {
            assert_eq!(LawfulBasis::from_code(code), Some(basis));
            assert_eq!(basis.code(), code);
        }
        assert_eq!(LawfulBasis::from_code("implied"), None);
    }

    #[test]
    fn resource_names_parse_only_with_their_collection() {
        let id = PurposeId::generate();
        assert_eq!(PurposeId::parse_name(&id.to_string()), Some(id));
        assert_eq!(
            PurposeId::parse_name(&format!("incidents/{}", id.as_uuid())),
            None
        );
        assert_eq!(PurposeId::parse_name("purposes/not-a-uuid"), None);
    }
}
