//! Capturing consent: who may give it and how (DESIGN §3.4; 002 §1; 004 §7).

use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

use super::{Audience, Jurisdiction, NewPurpose, Settings};

dps_types::resource_id!(
    /// Identifies an entry of the consent ledger (and its receipt).
    ConsentId,
    "consents"
);

coded_enum!(
    /// How a consent or acknowledgement was captured.
    CaptureMethod {
        /// On paper.
        Written = "written",
        /// Spoken (recorded by staff).
        Verbal = "verbal",
        /// Online or in an app.
        Electronic = "electronic",
    }
);

coded_enum!(
    /// How the person signalled consent.
    ConsentAction {
        /// A positive act.
        OptIn = "opt_in",
        /// An express statement: explicit consent.
        ExpressStatement = "express_statement",
        /// A pre-ticked box left ticked: never consent.
        PreTicked = "pre_ticked",
        /// Silence, inactivity, use of a service: never consent.
        Implied = "implied",
    }
);

coded_enum!(
    /// Who gave a consent.
    GiverRole {
        /// The person.
        Person = "self",
        /// A person with parental responsibility for a child.
        ParentalResponsibility = "parental_responsibility",
        /// A registered attorney.
        Attorney = "attorney",
        /// A court-appointed deputy.
        Deputy = "deputy",
        /// An advocate: supports, never consents.
        Advocate = "advocate",
    }
);

/// Age at which a child in Scotland is presumed competent (DPA 2018 s208).
const SCOTTISH_COMPETENCE_AGE: u32 = 12;
/// Below this the Mental Capacity Act does not apply and parental responsibility decides.
const CAPACITY_ACT_AGE: u32 = 16;
/// Most characters in a reference or name.
const MAX_REFERENCE: usize = 500;

/// A consent as the client described it; enums and times are `None` when not given.
#[derive(Debug, Clone, Default)]
pub struct ConsentCapture {
    /// How.
    pub method: Option<CaptureMethod>,
    /// The signal.
    pub action: Option<ConsentAction>,
    /// When it was given.
    pub consent_time: Option<OffsetDateTime>,
    /// When it lapses.
    pub expire_time: Option<OffsetDateTime>,
    /// Who gave it.
    pub giver_role: Option<GiverRole>,
    /// Their name, when not the person.
    pub giver_name: String,
    /// LPA registration or court order reference.
    pub authority_reference: String,
    /// The decision is within the authority's scope.
    pub within_scope: bool,
    /// When the authority ends.
    pub authority_expire_time: Option<OffsetDateTime>,
    /// Where the evidence is.
    pub evidence_reference: String,
    /// The service was made conditional on it.
    pub condition_of_service: bool,
    /// The person's age, for children.
    pub subject_age: Option<u32>,
    /// A child's competence assessment.
    pub competence_assessment: String,
    /// The person lacks capacity for this decision.
    pub lacks_capacity: bool,
}

/// The notice version shown when consent was captured.
#[derive(Debug, Clone, Copy)]
pub struct NoticeShown {
    /// Its audience.
    pub audience: Audience,
    /// When it was published.
    pub published_at: OffsetDateTime,
    /// When a later, materially changed version of the same audience's notice was published.
    pub superseded_materially_at: Option<OffsetDateTime>,
}

/// A consent that may be recorded.
#[derive(Debug, Clone)]
pub struct NewConsent {
    /// How.
    pub method: CaptureMethod,
    /// OptIn or ExpressStatement.
    pub action: ConsentAction,
    /// When.
    pub consent_time: OffsetDateTime,
    /// When it lapses.
    pub expire_time: Option<OffsetDateTime>,
    /// Who.
    pub giver_role: GiverRole,
    /// Giver's name (personal data).
    pub giver_name: String,
    /// Authority reference (personal data).
    pub authority_reference: String,
    /// When the authority ends.
    pub authority_expire_time: Option<OffsetDateTime>,
    /// Evidence reference (personal data).
    pub evidence_reference: String,
    /// Competence assessment reference (personal data).
    pub competence_assessment: String,
    /// The child's age.
    pub subject_age: Option<u8>,
}

impl NewConsent {
    /// Given by express statement.
    pub fn explicit(&self) -> bool {
        self.action == ConsentAction::ExpressStatement
    }

    /// Applies every rule on valid consent; all violations at once, named as in
    /// `RecordConsentRequest`.
    pub fn parse(
        c: ConsentCapture,
        purpose: &NewPurpose,
        notice: &NoticeShown,
        settings: &Settings,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let giver_name = super::text(&mut v, "giver.name", &c.giver_name, 200, true);
        let authority_reference = super::text(
            &mut v,
            "giver.authority_reference",
            &c.authority_reference,
            200,
            true,
        );
        let evidence_reference = super::text(
            &mut v,
            "evidence_reference",
            &c.evidence_reference,
            MAX_REFERENCE,
            true,
        );
        let competence_assessment = super::text(
            &mut v,
            "competence_assessment",
            &c.competence_assessment,
            MAX_REFERENCE,
            true,
        );
        v.check(c.method.is_some(), "method", "required");
        match c.action {
            None => v.add("action", "required"),
            Some(ConsentAction::PreTicked) => v.add(
                "action",
                "a pre-ticked box is not consent (002 §1.2): the person must actively opt in",
            ),
            Some(ConsentAction::Implied) => v.add(
                "action",
                "consent cannot be implied from silence, inactivity or use of the service (002 §1.2)",
            ),
            Some(ConsentAction::OptIn) if purpose.needs_explicit_consent() => v.add(
                "action",
                "special-category data on explicit consent (Art 9(2)(a)) needs an express statement",
            ),
            Some(_) => {}
        }
        v.check(
            !c.condition_of_service,
            "condition_of_service",
            "consent made a condition of the service is not freely given (Art 7(4); 002 §1.5): uncouple it or use another basis",
        );
        match c.consent_time {
            None => v.add("consent_time", "required"),
            Some(t) if t > now => v.add("consent_time", "must not be in the future"),
            Some(t) => {
                if let Some(expiry) = c.expire_time {
                    v.check(
                        expiry > t,
                        "expire_time",
                        "must be after consent_time: this consent would never have been valid",
                    );
                }
                if t < notice.published_at {
                    v.add("notice", "was not yet published when consent was given");
                }
                if notice.superseded_materially_at.is_some_and(|s| s <= t) {
                    v.add(
                        "notice",
                        "a materially changed version had already been published: consent must be informed by the current notice",
                    );
                }
                if let Some(end) = c.authority_expire_time {
                    v.check(
                        end > t,
                        "giver.authority_expire_time",
                        "the authority had ended when consent was given",
                    );
                }
            }
        }
        if notice.audience != purpose.notice_audience {
            v.add(
                "notice",
                format!(
                    "must be a version of the {} notice, which covers this purpose",
                    purpose.notice_audience.code().replace('_', " ")
                ),
            );
        }
        let age = c.subject_age;
        if age.is_some_and(|a| a >= 18) {
            v.add(
                "subject_age",
                "only for children (under 18); leave unset for adults",
            );
        }
        let child = age.filter(|a| *a < 18);
        match c.giver_role {
            None => v.add("giver.role", "required"),
            Some(GiverRole::Advocate) => v.add(
                "giver.role",
                "an advocate supports the person's decision but cannot consent for them: only a registered attorney or court-appointed deputy acting within scope may, otherwise use a non-consent basis",
            ),
            Some(GiverRole::Attorney | GiverRole::Deputy) => {
                v.check(
                    c.lacks_capacity,
                    "giver.role",
                    "an attorney or deputy consents only for a person who lacks capacity for this decision; the person consents themselves",
                );
                v.check(
                    !authority_reference.is_empty(),
                    "giver.authority_reference",
                    "required: the LPA registration or court order reference",
                );
                v.check(
                    c.within_scope,
                    "giver.within_scope",
                    "an attorney or deputy may consent only within the scope of their registered authority",
                );
                v.check(
                    !giver_name.is_empty(),
                    "giver.name",
                    "required when someone consents for the person",
                );
            }
            Some(GiverRole::ParentalResponsibility) => {
                v.check(
                    child.is_some(),
                    "subject_age",
                    "required and under 18: parental responsibility is for children",
                );
                v.check(
                    !giver_name.is_empty(),
                    "giver.name",
                    "required when someone consents for the person",
                );
            }
            Some(GiverRole::Person) => {
                if c.lacks_capacity && child.is_none_or(|a| a >= CAPACITY_ACT_AGE) {
                    v.add(
                        "giver.role",
                        "the person lacks capacity for this decision: only a registered attorney or court-appointed deputy acting within scope may consent, otherwise use a non-consent basis",
                    );
                }
                if let Some(a) = child {
                    let threshold = u32::from(settings.child_consent_age);
                    if purpose.child_online_service && a < threshold {
                        v.add(
                            "giver.role",
                            format!(
                                "below {threshold} a child cannot consent to an online service offered directly to children: a person with parental responsibility must (Art 8)"
                            ),
                        );
                    } else if !(purpose.child_online_service
                        || settings.jurisdiction == Jurisdiction::Scotland
                            && a >= SCOTTISH_COMPETENCE_AGE)
                    {
                        v.check(
                            !competence_assessment.is_empty(),
                            "competence_assessment",
                            "a child consenting for themselves needs a recorded competence assessment (in Scotland presumed from 12)",
                        );
                    }
                }
            }
        }
        if c.lacks_capacity
            && matches!(c.giver_role, Some(GiverRole::ParentalResponsibility))
            && child.is_some_and(|a| a >= CAPACITY_ACT_AGE)
        {
            v.add(
                "giver.role",
                "from 16 the Mental Capacity Act applies: an attorney or deputy acting within scope may consent, not a parent",
            );
        }
        let parsed = Self {
            method: c.method.unwrap_or(CaptureMethod::Written),
            action: c.action.unwrap_or(ConsentAction::OptIn),
            consent_time: c.consent_time.unwrap_or(now),
            expire_time: c.expire_time,
            giver_role: c.giver_role.unwrap_or(GiverRole::Person),
            giver_name,
            authority_reference,
            authority_expire_time: c.authority_expire_time,
            evidence_reference,
            competence_assessment,
            subject_age: child.map(|a| a as u8),
        };
        v.finish(parsed)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::domain::{LawfulBasis, PurposeInput};

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    fn purpose(f: impl FnOnce(&mut PurposeInput)) -> NewPurpose {
        let mut input = PurposeInput {
            display_name: "Photographs in the newsletter".into(),
            lawful_basis: Some(LawfulBasis::Consent),
            data_categories: vec!["images".into()],
            notice_audience: Some(Audience::ServiceUsers),
            ..Default::default()
        };
        f(&mut input);
        NewPurpose::parse(input, Jurisdiction::EnglandAndWales).expect("valid purpose")
    }

    fn notice() -> NoticeShown {
        NoticeShown {
            audience: Audience::ServiceUsers,
            published_at: datetime!(2026-01-01 0:00 UTC),
            superseded_materially_at: None,
        }
    }

    fn capture() -> ConsentCapture {
        ConsentCapture {
            method: Some(CaptureMethod::Written),
            action: Some(ConsentAction::OptIn),
            consent_time: Some(datetime!(2026-11-20 10:00 UTC)),
            giver_role: Some(GiverRole::Person),
            ..Default::default()
        }
    }

    fn parse(c: ConsentCapture, p: &NewPurpose, s: &Settings) -> Result<NewConsent, Vec<String>> {
        NewConsent::parse(c, p, &notice(), s, NOW)
            .map_err(|e| e.into_iter().map(|v| v.field).collect())
    }

    #[test]
    fn a_person_opting_in_consents() {
        let ok = parse(capture(), &purpose(|_| {}), &Settings::default()).expect("valid");
        assert!(!ok.explicit());
    }

    #[test]
    fn pre_ticked_implied_and_conditional_consent_are_refused() {
        let p = purpose(|_| {});
        for action in [ConsentAction::PreTicked, ConsentAction::Implied] {
            let mut c = capture();
            c.action = Some(action);
            assert_eq!(
                parse(c, &p, &Settings::default()).expect_err("refused"),
                ["action"]
            );
        }
        let mut c = capture();
        c.condition_of_service = true;
        assert_eq!(
            parse(c, &p, &Settings::default()).expect_err("refused"),
            ["condition_of_service"]
        );
    }

    #[test]
    fn special_category_consent_must_be_explicit() {
        let p = purpose(|i| {
            i.special_category_condition =
                Some(super::super::SpecialCategoryCondition::ExplicitConsent)
        });
        assert_eq!(
            parse(capture(), &p, &Settings::default()).expect_err("refused"),
            ["action"]
        );
        let mut c = capture();
        c.action = Some(ConsentAction::ExpressStatement);
        assert!(
            parse(c, &p, &Settings::default())
                .expect("explicit")
                .explicit()
        );
    }

    #[test]
    fn an_advocate_cannot_consent_but_an_attorney_within_scope_can() {
        let p = purpose(|_| {});
        let mut advocate = capture();
        advocate.giver_role = Some(GiverRole::Advocate);
        advocate.lacks_capacity = true;
        advocate.giver_name = "IMCA".into();
        assert_eq!(
            parse(advocate.clone(), &p, &Settings::default()).expect_err("refused"),
            ["giver.role"]
        );
        let mut attorney = advocate;
        attorney.giver_role = Some(GiverRole::Attorney);
        assert_eq!(
            parse(attorney.clone(), &p, &Settings::default()).expect_err("refused"),
            ["giver.authority_reference", "giver.within_scope"]
        );
        attorney.authority_reference = "LPA 7000-1234-5678".into();
        attorney.within_scope = true;
        assert!(parse(attorney.clone(), &p, &Settings::default()).is_ok());
        attorney.lacks_capacity = false;
        assert_eq!(
            parse(attorney, &p, &Settings::default()).expect_err("refused"),
            ["giver.role"]
        );
        let mut person = capture();
        person.lacks_capacity = true;
        assert_eq!(
            parse(person, &p, &Settings::default()).expect_err("refused"),
            ["giver.role"]
        );
    }

    #[test]
    fn a_child_below_the_threshold_needs_a_parent_for_a_child_online_service() {
        let online = purpose(|i| i.child_online_service = true);
        let mut child = capture();
        child.subject_age = Some(12);
        assert_eq!(
            parse(child.clone(), &online, &Settings::default()).expect_err("refused"),
            ["giver.role"]
        );
        child.subject_age = Some(13);
        assert!(parse(child.clone(), &online, &Settings::default()).is_ok());
        let eu = Settings {
            child_consent_age: 16,
            ..Settings::default()
        };
        assert_eq!(
            parse(child.clone(), &online, &eu).expect_err("refused"),
            ["giver.role"]
        );
        child.giver_role = Some(GiverRole::ParentalResponsibility);
        child.giver_name = "A. Parent".into();
        assert!(parse(child, &online, &eu).is_ok());
    }

    #[test]
    fn a_child_consenting_elsewhere_needs_a_competence_assessment_except_in_scotland_from_12() {
        let p = purpose(|_| {});
        let mut child = capture();
        child.subject_age = Some(14);
        assert_eq!(
            parse(child.clone(), &p, &Settings::default()).expect_err("refused"),
            ["competence_assessment"]
        );
        let scotland = Settings {
            jurisdiction: Jurisdiction::Scotland,
            ..Settings::default()
        };
        assert!(parse(child.clone(), &p, &scotland).is_ok());
        child.subject_age = Some(11);
        assert!(parse(child.clone(), &p, &scotland).is_err());
        child.competence_assessment = "Gillick assessment 2026-11-19, Dr Rao".into();
        assert!(parse(child, &p, &Settings::default()).is_ok());
    }

    #[test]
    fn times_must_make_sense() {
        let p = purpose(|_| {});
        let mut c = capture();
        c.expire_time = Some(datetime!(2026-11-19 0:00 UTC));
        assert_eq!(
            parse(c, &p, &Settings::default()).expect_err("refused"),
            ["expire_time"]
        );
        let mut c = capture();
        c.consent_time = Some(datetime!(2026-11-26 0:00 UTC));
        assert_eq!(
            parse(c, &p, &Settings::default()).expect_err("refused"),
            ["consent_time"]
        );
    }

    #[test]
    fn the_notice_shown_must_be_current_and_of_the_purposes_audience() {
        let p = purpose(|_| {});
        let superseded = NoticeShown {
            superseded_materially_at: Some(datetime!(2026-11-01 0:00 UTC)),
            ..notice()
        };
        let err = NewConsent::parse(capture(), &p, &superseded, &Settings::default(), NOW)
            .expect_err("refused");
        assert_eq!(err[0].field, "notice");
        let staff = NoticeShown {
            audience: Audience::Employees,
            ..notice()
        };
        let err = NewConsent::parse(capture(), &p, &staff, &Settings::default(), NOW)
            .expect_err("refused");
        assert_eq!(err[0].field, "notice");
    }
}
