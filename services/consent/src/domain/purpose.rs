//! Purposes of processing and their lawful bases (DESIGN §3.4; 002 §2; 004 §7.1).

use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

use super::Jurisdiction;

dps_types::resource_id!(
    /// Identifies a purpose within its tenant.
    PurposeId,
    "purposes"
);

coded_enum!(
    /// The lawful basis for processing (UK GDPR and DPJL Art 6).
    LawfulBasis {
        /// Art 6(1)(a). Must be specific, informed, unambiguous and active (002 §1.2).
        Consent = "consent",
        /// Art 6(1)(b).
        Contract = "contract",
        /// Art 6(1)(c).
        LegalObligation = "legal_obligation",
        /// Art 6(1)(d).
        VitalInterests = "vital_interests",
        /// Art 6(1)(e).
        PublicTask = "public_task",
        /// Art 6(1)(f), with a balancing test (002 §2).
        LegitimateInterests = "legitimate_interests",
        /// UK GDPR Art 6(1)(ea), UK tenants, since 5 Feb 2026: an Annex 1 condition, no balancing
        /// test.
        RecognisedLegitimateInterests = "recognised_legitimate_interests",
    }
);

impl LawfulBasis {
    /// The bases a person may object to under Art 21(1).
    pub fn objectable(self) -> bool {
        matches!(
            self,
            Self::PublicTask | Self::LegitimateInterests | Self::RecognisedLegitimateInterests
        )
    }
}

coded_enum!(
    /// The Annex 1 conditions of UK GDPR Art 6(1)(ea).
    RecognisedCondition {
        /// Para 1: disclosure to a body for its public task.
        PublicTaskDisclosure = "public_task_disclosure",
        /// Para 2.
        NationalSecurity = "national_security",
        /// Para 3.
        Emergencies = "emergencies",
        /// Para 4.
        Crime = "crime",
        /// Para 5.
        Safeguarding = "safeguarding",
    }
);

coded_enum!(
    /// The Art 9(2) condition for special-category data.
    SpecialCategoryCondition {
        /// (a): consents must be explicit.
        ExplicitConsent = "explicit_consent",
        /// (b).
        Employment = "employment",
        /// (c).
        VitalInterests = "vital_interests",
        /// (f).
        LegalClaims = "legal_claims",
        /// (g).
        SubstantialPublicInterest = "substantial_public_interest",
        /// (h).
        HealthOrSocialCare = "health_or_social_care",
        /// (i).
        PublicHealth = "public_health",
        /// (j).
        Research = "research",
    }
);

coded_enum!(
    /// Why processing may continue while restricted (Art 18(2); 003 §11.7.2).
    RestrictionExemption {
        /// Legal claims.
        LegalClaims = "legal_claims",
        /// Protecting another person's rights.
        ProtectOthers = "protect_others",
        /// Important public interest.
        PublicInterest = "public_interest",
    }
);

coded_enum!(
    /// Who a privacy notice is written for (003 §16).
    Audience {
        /// People the tenant cares for.
        ServiceUsers = "service_users",
        /// Staff.
        Employees = "employees",
        /// Job applicants.
        Applicants = "applicants",
    }
);

/// Most characters in a purpose's display name.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Most characters in a purpose's description.
pub const MAX_DESCRIPTION: usize = 4000;
/// Most characters in a data category.
pub const MAX_CATEGORY: usize = 100;
/// Most data categories.
pub const MAX_CATEGORIES: usize = 50;

/// A purpose as a client sent it; enums are `None` when not given.
#[derive(Debug, Clone, Default)]
pub struct PurposeInput {
    /// Display name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Lawful basis.
    pub lawful_basis: Option<LawfulBasis>,
    /// Reference to the legitimate interests assessment.
    pub legitimate_interests_assessment: String,
    /// Annex 1 condition.
    pub recognised_condition: Option<RecognisedCondition>,
    /// Art 9 condition.
    pub special_category_condition: Option<SpecialCategoryCondition>,
    /// Data categories.
    pub data_categories: Vec<String>,
    /// Direct marketing.
    pub direct_marketing: bool,
    /// An online service offered directly to children.
    pub child_online_service: bool,
    /// Research or planning.
    pub research_planning: bool,
    /// Restriction exemption.
    pub restriction_exemption: Option<RestrictionExemption>,
    /// Notice audience.
    pub notice_audience: Option<Audience>,
}

/// A purpose to register, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPurpose {
    /// Display name, trimmed.
    pub display_name: String,
    /// Description, trimmed.
    pub description: String,
    /// Lawful basis.
    pub lawful_basis: LawfulBasis,
    /// Set exactly for legitimate interests.
    pub legitimate_interests_assessment: String,
    /// Set exactly for recognised legitimate interests.
    pub recognised_condition: Option<RecognisedCondition>,
    /// Art 9 condition, for special-category data.
    pub special_category_condition: Option<SpecialCategoryCondition>,
    /// At least one.
    pub data_categories: Vec<String>,
    /// Direct marketing.
    pub direct_marketing: bool,
    /// An online service offered directly to children.
    pub child_online_service: bool,
    /// Research or planning.
    pub research_planning: bool,
    /// Restriction exemption.
    pub restriction_exemption: Option<RestrictionExemption>,
    /// Notice audience.
    pub notice_audience: Audience,
}

impl NewPurpose {
    /// Checks every field against the tenant's law and reports all violations at once (field
    /// names as in the resource).
    pub fn parse(
        input: PurposeInput,
        jurisdiction: Jurisdiction,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let display_name = super::text(
            &mut v,
            "display_name",
            &input.display_name,
            MAX_DISPLAY_NAME,
            false,
        );
        let description = super::text(
            &mut v,
            "description",
            &input.description,
            MAX_DESCRIPTION,
            true,
        );
        let assessment = super::text(
            &mut v,
            "legitimate_interests_assessment",
            &input.legitimate_interests_assessment,
            500,
            true,
        );
        let basis = input.lawful_basis;
        v.check(
            basis.is_some(),
            "lawful_basis",
            "required: the lawful basis for this processing (Art 6)",
        );
        match basis {
            Some(LawfulBasis::LegitimateInterests) => v.check(
                !assessment.is_empty(),
                "legitimate_interests_assessment",
                "required with legitimate interests: reference the balancing test (002 §2)",
            ),
            _ => v.check(
                assessment.is_empty(),
                "legitimate_interests_assessment",
                "only for the legitimate-interests basis",
            ),
        }
        if basis == Some(LawfulBasis::RecognisedLegitimateInterests) {
            v.check(
                jurisdiction.is_uk(),
                "lawful_basis",
                "recognised legitimate interests exist only in UK GDPR (Art 6(1)(ea)); not for this tenant's jurisdiction",
            );
            v.check(
                input.recognised_condition.is_some(),
                "recognised_condition",
                "required with recognised legitimate interests: the Annex 1 condition relied on",
            );
        } else {
            v.check(
                input.recognised_condition.is_none(),
                "recognised_condition",
                "only for the recognised-legitimate-interests basis",
            );
        }
        if input.data_categories.is_empty() {
            v.add("data_categories", "at least one category of personal data");
        }
        if input.data_categories.len() > MAX_CATEGORIES {
            v.add("data_categories", "at most 50 categories");
        }
        let mut categories = Vec::with_capacity(input.data_categories.len());
        for category in &input.data_categories {
            let c = category.trim();
            if c.is_empty() || c.chars().count() > MAX_CATEGORY {
                v.add("data_categories", "each category: 1 to 100 characters");
            } else if !categories.iter().any(|k: &String| k == c) {
                categories.push(c.to_owned());
            }
        }
        v.check(
            input.notice_audience.is_some(),
            "notice_audience",
            "required: whose privacy notice covers this purpose",
        );
        let parsed = Self {
            display_name,
            description,
            lawful_basis: basis.unwrap_or(LawfulBasis::Consent),
            legitimate_interests_assessment: assessment,
            recognised_condition: input.recognised_condition,
            special_category_condition: input.special_category_condition,
            data_categories: categories,
            direct_marketing: input.direct_marketing,
            child_online_service: input.child_online_service,
            research_planning: input.research_planning,
            restriction_exemption: input.restriction_exemption,
            notice_audience: input.notice_audience.unwrap_or(Audience::ServiceUsers),
        };
        v.finish(parsed)
    }

    /// Consents for this purpose must be explicit (special-category data on Art 9(2)(a)).
    pub fn needs_explicit_consent(&self) -> bool {
        self.special_category_condition == Some(SpecialCategoryCondition::ExplicitConsent)
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
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(basis: LawfulBasis) -> PurposeInput {
        PurposeInput {
            display_name: "Care planning".into(),
            lawful_basis: Some(basis),
            data_categories: vec!["health".into()],
            notice_audience: Some(Audience::ServiceUsers),
            ..Default::default()
        }
    }

    fn fields(err: Vec<FieldViolation>) -> Vec<String> {
        err.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewPurpose::parse(PurposeInput::default(), Jurisdiction::EnglandAndWales)
            .expect_err("invalid");
        assert_eq!(
            fields(err),
            [
                "display_name",
                "lawful_basis",
                "data_categories",
                "notice_audience"
            ]
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded_in_characters() {
        let mut ok = input(LawfulBasis::PublicTask);
        ok.display_name = "  Care planning ".into();
        let ok = NewPurpose::parse(ok, Jurisdiction::EnglandAndWales).expect("valid");
        assert_eq!(ok.display_name, "Care planning");
        let mut long = input(LawfulBasis::Contract);
        long.display_name = "x".repeat(MAX_DISPLAY_NAME + 1);
        assert!(NewPurpose::parse(long, Jurisdiction::EnglandAndWales).is_err());
        let mut exact = input(LawfulBasis::Contract);
        exact.display_name = "é".repeat(MAX_DISPLAY_NAME);
        assert!(NewPurpose::parse(exact, Jurisdiction::EnglandAndWales).is_ok());
    }

    #[test]
    fn legitimate_interests_need_their_balancing_test() {
        let err = NewPurpose::parse(
            input(LawfulBasis::LegitimateInterests),
            Jurisdiction::EnglandAndWales,
        )
        .expect_err("no assessment");
        assert_eq!(fields(err), ["legitimate_interests_assessment"]);
        let mut with = input(LawfulBasis::LegitimateInterests);
        with.legitimate_interests_assessment = "LIA-2026-04".into();
        assert!(NewPurpose::parse(with, Jurisdiction::EnglandAndWales).is_ok());
    }

    #[test]
    fn recognised_legitimate_interests_are_uk_only_and_need_a_condition() {
        let err = NewPurpose::parse(
            input(LawfulBasis::RecognisedLegitimateInterests),
            Jurisdiction::Scotland,
        )
        .expect_err("no condition");
        assert_eq!(fields(err), ["recognised_condition"]);
        let mut safeguarding = input(LawfulBasis::RecognisedLegitimateInterests);
        safeguarding.recognised_condition = Some(RecognisedCondition::Safeguarding);
        assert!(NewPurpose::parse(safeguarding.clone(), Jurisdiction::Scotland).is_ok());
        let err = NewPurpose::parse(safeguarding, Jurisdiction::Jersey).expect_err("Jersey");
        assert_eq!(fields(err), ["lawful_basis"]);
        let mut stray = input(LawfulBasis::PublicTask);
        stray.recognised_condition = Some(RecognisedCondition::Crime);
        assert_eq!(
            fields(NewPurpose::parse(stray, Jurisdiction::EnglandAndWales).expect_err("stray")),
            ["recognised_condition"]
        );
    }

    #[test]
    fn codes_round_trip() {
        for basis in LawfulBasis::ALL {
            assert_eq!(LawfulBasis::from_code(basis.code()), Some(*basis));
        }
        assert_eq!(LawfulBasis::from_code("implied"), None);
        assert!(LawfulBasis::LegitimateInterests.objectable());
        assert!(!LawfulBasis::Contract.objectable());
    }

    #[test]
    fn resource_names_parse_only_with_their_collection() {
        let id = PurposeId::generate();
        assert_eq!(PurposeId::parse_name(&id.to_string()), Some(id));
        assert_eq!(
            PurposeId::parse_name(&format!("incidents/{}", id.as_uuid())),
            None
        );
    }
}
