//! Review before release (issue 16 §5; DESIGN §3.1): parts of a response holding third-party or
//! health data, what is withheld under which exemption, and the health professional's approval
//! the group's policy asks before health records go out (003 §11.4, stricter than the law).

use dps_types::{FieldViolation, Violations};
use time::{Date, OffsetDateTime};

use super::{MAX_REASON, Rejection};

dps_types::resource_id!(
    /// Identifies a part of a response under review, within its tenant.
    ReviewPartId,
    "reviewParts"
);

/// The role whose approval releases health data (DESIGN §3.5).
pub const HEALTH_PROFESSIONAL: &str = "health_professional";

/// Whether a part holds someone else's data, and how that was dealt with (003 §13.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThirdParty {
    /// Only the person's data.
    None,
    /// Others' data redacted.
    Redacted,
    /// The others consented to disclosure.
    Consented,
}

/// Exemptions a part may be withheld under (DPA 2018 Sch 2-4; 004).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exemption {
    /// Legal professional privilege.
    LegalPrivilege,
    /// Serious harm to the person's or another's physical or mental health: needs a health
    /// professional's dated opinion.
    SeriousHarm,
    /// A child at risk.
    ChildAtRisk,
    /// Adoption or court records.
    AdoptionOrCourtRecords,
    /// Another exemption, named in `withheld_what`.
    Other,
}

macro_rules! codes {
    ($ty:ty, [$(($v:expr, $c:literal)),* $(,)?]) => {
        impl $ty {
            /// Every value with its stored code.
            pub const ALL: &'static [(Self, &'static str)] = &[$(($v, $c)),*];

            /// The stored code.
            pub fn code(self) -> &'static str {
                Self::ALL.iter().find(|(v, _)| *v == self).map_or("", |(_, c)| c)
            }

            /// Parses a stored code.
            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().find(|(_, c)| *c == code).map(|(v, _)| *v)
            }
        }
    };
}

codes!(
    ThirdParty,
    [
        (ThirdParty::None, "none"),
        (ThirdParty::Redacted, "redacted"),
        (ThirdParty::Consented, "consented"),
    ]
);
codes!(
    Exemption,
    [
        (Exemption::LegalPrivilege, "legal_privilege"),
        (Exemption::SeriousHarm, "serious_harm"),
        (Exemption::ChildAtRisk, "child_at_risk"),
        (
            Exemption::AdoptionOrCourtRecords,
            "adoption_or_court_records"
        ),
        (Exemption::Other, "other"),
    ]
);

/// A health professional's opinion that disclosure would cause serious harm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthOpinion {
    /// Who gave it (name or registration).
    pub by: String,
    /// When.
    pub on: Date,
}

/// What is withheld and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withholding {
    /// The exemption.
    pub exemption: Exemption,
    /// What was withheld.
    pub what: String,
    /// The opinion, for serious harm.
    pub opinion: Option<HealthOpinion>,
}

/// A part of a response under review, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReviewPart {
    /// Which records, as a reference (no personal data: e.g. "care notes 2024, pp 3-9").
    pub description: String,
    /// Third-party data and how it was dealt with.
    pub third_party: ThirdParty,
    /// Whether it holds health data.
    pub health_data: bool,
    /// Withheld, if it is.
    pub withholding: Option<Withholding>,
}

/// A review part's fields as received.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReviewPartInput<'a> {
    /// As given.
    pub description: &'a str,
    /// `None` when not given.
    pub third_party: Option<ThirdParty>,
    /// As given.
    pub health_data: bool,
    /// `None` when nothing is withheld.
    pub exemption: Option<Exemption>,
    /// As given.
    pub withheld_what: &'a str,
    /// As given.
    pub opinion_by: &'a str,
    /// As given.
    pub opinion_on: Option<Date>,
}

impl NewReviewPart {
    /// Checks a part against `now`, reporting every violation at once.
    pub fn parse(
        input: ReviewPartInput<'_>,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let description = input.description.trim();
        let what = input.withheld_what.trim();
        let opinion_by = input.opinion_by.trim();
        let mut v = Violations::new();
        v.check(!description.is_empty(), "description", "required");
        for (field, value) in [
            ("description", description),
            ("withheld_what", what),
            ("health_opinion_by", opinion_by),
        ] {
            v.check(
                value.chars().count() <= MAX_REASON,
                field,
                "at most 2000 characters",
            );
        }
        v.check(
            input.third_party.is_some(),
            "third_party",
            "required: none, redacted, or the third party consented (003 §13.5)",
        );
        let withholding = match input.exemption {
            None => {
                v.check(what.is_empty(), "withheld_what", "only with an exemption");
                None
            }
            Some(exemption) => {
                v.check(
                    !what.is_empty(),
                    "withheld_what",
                    "required: what is withheld under the exemption",
                );
                let opinion = match (opinion_by.is_empty(), input.opinion_on) {
                    (false, Some(on)) => Some(HealthOpinion {
                        by: opinion_by.to_owned(),
                        on,
                    }),
                    _ => None,
                };
                // DESIGN §3.1: withholding on serious-harm grounds needs a health professional's
                // dated opinion; a non-professional must not refuse on those grounds.
                if exemption == Exemption::SeriousHarm {
                    v.check(
                        !opinion_by.is_empty(),
                        "health_opinion_by",
                        "required for serious harm: the health professional whose opinion it is",
                    );
                    match input.opinion_on {
                        None => v.add("health_opinion_date", "required for serious harm"),
                        Some(on) => v.check(
                            on <= now.date(),
                            "health_opinion_date",
                            "must not be in the future",
                        ),
                    }
                }
                Some(Withholding {
                    exemption,
                    what: what.to_owned(),
                    opinion,
                })
            }
        };
        v.finish(Self {
            description: description.to_owned(),
            third_party: input.third_party.unwrap_or(ThirdParty::None),
            health_data: input.health_data,
            withholding,
        })
    }
}

/// A part as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPart {
    /// Its id.
    pub id: ReviewPartId,
    /// The request.
    pub request: super::SubjectRequestId,
    /// What was recorded.
    pub part: NewReviewPart,
    /// Who approved releasing its health data, and when.
    pub approval: Option<(String, OffsetDateTime)>,
    /// Who recorded it.
    pub created_by: String,
}

/// Only a health professional approves releasing health data, and only for a part that holds
/// health data and is released at all.
pub fn check_approval(
    roles: &[String],
    part: &NewReviewPart,
    approved: bool,
) -> Result<(), ApprovalError> {
    if !roles.iter().any(|r| r == HEALTH_PROFESSIONAL) {
        return Err(ApprovalError::NotHealthProfessional);
    }
    if !part.health_data {
        return Err(ApprovalError::Rejected(Rejection::Precondition(
            "the part holds no health data: there is nothing to approve".into(),
        )));
    }
    if part.withholding.is_some() {
        return Err(ApprovalError::Rejected(Rejection::Precondition(
            "the part is withheld: it is not released".into(),
        )));
    }
    if approved {
        return Err(ApprovalError::Rejected(Rejection::Precondition(
            "the part is already approved".into(),
        )));
    }
    Ok(())
}

/// Why an approval is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// PERMISSION_DENIED.
    #[error("only a health professional may approve releasing health data (003 §11.4)")]
    NotHealthProfessional,
    /// PERMISSION_DENIED.
    #[error(
        "only a health professional may refuse an access request whose response holds health \
         data (003 §11.4.1)"
    )]
    NotHealthProfessionalToRefuse,
    /// FAILED_PRECONDITION.
    #[error(transparent)]
    Rejected(Rejection),
}

/// 003 §11.4.1, where the tenant's policy requires health review: an access request whose
/// response holds health data is refused only by a health professional.
pub fn check_refuser(
    kind: super::RequestKind,
    health_parts: i64,
    review_required: bool,
    roles: &[String],
) -> Result<(), ApprovalError> {
    let access = matches!(
        kind,
        super::RequestKind::Access | super::RequestKind::Portability
    );
    if access
        && review_required
        && health_parts > 0
        && !roles.iter().any(|r| r == HEALTH_PROFESSIONAL)
    {
        Err(ApprovalError::NotHealthProfessionalToRefuse)
    } else {
        Ok(())
    }
}

/// 003 §11.4.2, where the tenant's policy requires it: no health data goes out unapproved.
pub fn check_release(
    unapproved_health_parts: i64,
    approval_required: bool,
) -> Result<(), Rejection> {
    if approval_required && unapproved_health_parts > 0 {
        Err(Rejection::Precondition(format!(
            "{unapproved_health_parts} part(s) with health data await a health professional's \
             approval before release (003 §11.4)"
        )))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn input() -> ReviewPartInput<'static> {
        ReviewPartInput {
            description: "care notes 2024, pages 3-9",
            third_party: Some(ThirdParty::Redacted),
            health_data: true,
            ..ReviewPartInput::default()
        }
    }

    #[test]
    fn only_a_health_professional_refuses_access_to_health_records() {
        use crate::domain::RequestKind::{Access, Erasure};
        let staff = ["dpo".to_owned()];
        let professional = ["health_professional".to_owned()];
        assert_eq!(
            check_refuser(Access, 1, true, &staff),
            Err(ApprovalError::NotHealthProfessionalToRefuse)
        );
        assert_eq!(check_refuser(Access, 1, true, &professional), Ok(()));
        // No health data, a tenant without the policy, or another right: anyone handling it.
        assert_eq!(check_refuser(Access, 0, true, &staff), Ok(()));
        assert_eq!(check_refuser(Access, 1, false, &staff), Ok(()));
        assert_eq!(check_refuser(Erasure, 1, true, &staff), Ok(()));
    }

    #[test]
    fn withholding_for_serious_harm_needs_a_dated_health_opinion() {
        let err = NewReviewPart::parse(
            ReviewPartInput {
                exemption: Some(Exemption::SeriousHarm),
                withheld_what: "psychiatric assessment of 3 May",
                ..input()
            },
            NOW,
        )
        .expect_err("no opinion");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["health_opinion_by", "health_opinion_date"]);
        let ok = NewReviewPart::parse(
            ReviewPartInput {
                exemption: Some(Exemption::SeriousHarm),
                withheld_what: "psychiatric assessment of 3 May",
                opinion_by: "Dr A Patel, consultant psychiatrist",
                opinion_on: Some(date!(2026 - 11 - 20)),
                ..input()
            },
            NOW,
        )
        .expect("opinion given");
        assert_eq!(
            ok.withholding.and_then(|w| w.opinion).map(|o| o.on),
            Some(date!(2026 - 11 - 20))
        );
    }

    #[test]
    fn a_part_says_how_third_party_data_was_handled_and_what_is_withheld() {
        let err = NewReviewPart::parse(
            ReviewPartInput {
                third_party: None,
                exemption: Some(Exemption::LegalPrivilege),
                ..input()
            },
            NOW,
        )
        .expect_err("incomplete");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["third_party", "withheld_what"]);
    }

    #[test]
    fn only_a_health_professional_approves_health_data() {
        let part = NewReviewPart::parse(input(), NOW).expect("valid");
        assert_eq!(
            check_approval(&["dpo".into()], &part, false),
            Err(ApprovalError::NotHealthProfessional)
        );
        assert!(check_approval(&[HEALTH_PROFESSIONAL.into()], &part, false).is_ok());
        assert!(check_approval(&[HEALTH_PROFESSIONAL.into()], &part, true).is_err());
        assert!(check_release(1, true).is_err());
        assert!(check_release(1, false).is_ok());
        assert!(check_release(0, true).is_ok());
    }
}
