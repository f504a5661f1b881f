//! What a person asks of a solely automated significant decision. The remedies differ by law:
//! UK GDPR Art 22C (as substituted by the Data (Use and Access) Act 2025) gives safeguards —
//! information about the decision, making representations, human intervention, contesting it —
//! while the Data Protection (Jersey) Law 2018 keeps the older right to object to such a decision
//! (DESIGN §3.1). The tenant's jurisdiction decides which ones a request may ask for.

use dps_types::Violations;

use super::{Jurisdiction, RequestKind};

/// One remedy asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Remedy {
    /// UK Art 22C(2)(a): information about the decision taken about them.
    Information,
    /// UK Art 22C(2)(b): to make representations about it.
    Representations,
    /// UK Art 22C(2)(c): human intervention on the controller's part.
    HumanIntervention,
    /// UK Art 22C(2)(d): to contest it.
    Contest,
    /// Jersey: objection to a decision based solely on automated processing.
    Objection,
}

impl Remedy {
    /// Every remedy with its stored code.
    pub const ALL: [(Self, &'static str); 5] = [
        (Self::Information, "information"),
        (Self::Representations, "representations"),
        (Self::HumanIntervention, "human_intervention"),
        (Self::Contest, "contest"),
        (Self::Objection, "objection"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(r, _)| *r)
    }

    /// Whether the law of `jurisdiction` gives this remedy.
    fn given_by(self, jurisdiction: Jurisdiction) -> bool {
        (self == Self::Objection) != jurisdiction.is_uk()
    }
}

/// The field the remedies are named by in errors.
const FIELD: &str = "automated_decision_remedies";

/// Checks the remedies asked for and returns them sorted without repeats. Only an
/// automated-decision request carries remedies, and it needs at least one the tenant's law gives.
pub(super) fn check(
    v: &mut Violations,
    kind: Option<RequestKind>,
    remedies: &[Remedy],
    jurisdiction: Jurisdiction,
) -> Vec<Remedy> {
    let mut remedies = remedies.to_vec();
    remedies.sort_unstable();
    remedies.dedup();
    if kind != Some(RequestKind::AutomatedDecisionReview) {
        v.check(
            remedies.is_empty(),
            FIELD,
            "only for automated_decision_review requests",
        );
        return remedies;
    }
    let expected = if jurisdiction.is_uk() {
        "information, representations, human_intervention or contest (UK GDPR Art 22C)"
    } else {
        "objection (Data Protection (Jersey) Law 2018)"
    };
    if remedies.is_empty() {
        v.add(
            FIELD,
            format!("required: what the person asks of the decision: {expected}"),
        );
    } else if let Some(wrong) = remedies.iter().find(|r| !r.given_by(jurisdiction)) {
        v.add(
            FIELD,
            format!(
                "{} is not a remedy under this tenant's law; expected {expected}",
                wrong.code()
            ),
        );
    }
    remedies
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        kind: RequestKind,
        remedies: &[Remedy],
        jurisdiction: Jurisdiction,
    ) -> Result<Vec<Remedy>, String> {
        let mut v = Violations::new();
        let out = check(&mut v, Some(kind), remedies, jurisdiction);
        v.finish(out)
            .map_err(|e| format!("{}: {}", e[0].field, e[0].description))
    }

    #[test]
    fn uk_tenants_get_the_art_22c_safeguards_sorted_once_each() {
        let got = run(
            RequestKind::AutomatedDecisionReview,
            &[Remedy::Contest, Remedy::HumanIntervention, Remedy::Contest],
            Jurisdiction::Scotland,
        );
        assert_eq!(got, Ok(vec![Remedy::HumanIntervention, Remedy::Contest]));
    }

    #[test]
    fn jersey_tenants_object_and_uk_tenants_cannot() {
        let jersey = run(
            RequestKind::AutomatedDecisionReview,
            &[Remedy::Objection],
            Jurisdiction::Jersey,
        );
        assert_eq!(jersey, Ok(vec![Remedy::Objection]));
        let err = run(
            RequestKind::AutomatedDecisionReview,
            &[Remedy::Objection],
            Jurisdiction::EnglandAndWales,
        )
        .expect_err("objection is the Jersey remedy");
        assert!(
            err.starts_with("automated_decision_remedies: objection is not"),
            "{err}"
        );
        let err = run(
            RequestKind::AutomatedDecisionReview,
            &[Remedy::HumanIntervention],
            Jurisdiction::Jersey,
        )
        .expect_err("Art 22C is UK law");
        assert!(err.contains("expected objection"), "{err}");
    }

    #[test]
    fn remedies_are_required_for_and_only_for_automated_decision_requests() {
        let err = run(
            RequestKind::AutomatedDecisionReview,
            &[],
            Jurisdiction::NorthernIreland,
        )
        .expect_err("none asked");
        assert!(err.contains("required"), "{err}");
        let err = run(
            RequestKind::Access,
            &[Remedy::Contest],
            Jurisdiction::EnglandAndWales,
        )
        .expect_err("access has no remedies");
        assert!(err.contains("only for automated_decision_review"), "{err}");
        assert_eq!(
            run(RequestKind::Erasure, &[], Jurisdiction::Jersey),
            Ok(vec![])
        );
    }

    #[test]
    fn codes_round_trip() {
        for (remedy, code) in Remedy::ALL {
            assert_eq!(Remedy::from_code(code), Some(remedy));
            assert_eq!(remedy.code(), code);
        }
        assert_eq!(Remedy::from_code("appeal"), None);
    }
}
