//! The response pack of an access or portability request (issue 16 §7; Art 15(1)-(3), Art 20):
//! the person's data as the systems exported it, with the supplementary information, the systems
//! searched and those not searched with why, as one machine-readable JSON document.

use dps_types::{FieldViolation, Violations};
use serde_json::{Value, json};

use super::tasks::{FulfilmentTask, TaskAction, TaskState};
use super::{Jurisdiction, Rejection, RequestKind, RequestState, SubjectRequest};

/// The supplementary information, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Supplementary {
    /// Art 15(1)(a).
    pub purposes: Vec<String>,
    /// Art 15(1)(b).
    pub categories: Vec<String>,
    /// Art 15(1)(c).
    pub recipients: Vec<String>,
    /// Art 15(1)(d).
    pub retention: Vec<String>,
    /// Art 15(1)(g).
    pub sources: Vec<String>,
    /// Art 15(1)(h); empty: none.
    pub automated_decision_making: Vec<String>,
    /// Art 15(2); empty: no transfers.
    pub international_transfer_safeguards: Vec<String>,
}

impl Supplementary {
    /// Each required list has at least one non-blank entry.
    pub fn parse(input: Supplementary) -> Result<Self, Vec<FieldViolation>> {
        let clean = |list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let s = Supplementary {
            purposes: clean(input.purposes),
            categories: clean(input.categories),
            recipients: clean(input.recipients),
            retention: clean(input.retention),
            sources: clean(input.sources),
            automated_decision_making: clean(input.automated_decision_making),
            international_transfer_safeguards: clean(input.international_transfer_safeguards),
        };
        let mut v = Violations::new();
        for (field, list) in [
            ("purposes", &s.purposes),
            ("categories", &s.categories),
            ("recipients", &s.recipients),
            ("retention", &s.retention),
            ("sources", &s.sources),
        ] {
            v.check(
                !list.is_empty(),
                field,
                "required: at least one entry (Art 15(1))",
            );
        }
        v.finish(s)
    }
}

/// A pack field the other services can fill (issue 10, flow 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceField {
    /// Purposes and their lawful bases: the consent service.
    Purposes,
    /// Categories of data: the asset register.
    Categories,
    /// Recipients: consent's disclosures log and the asset register.
    Recipients,
    /// Retention periods: the retention schedule, per record of the person.
    Retention,
    /// Safeguards of international transfers: the asset register.
    InternationalTransferSafeguards,
}

impl SourceField {
    /// Every field with its stored code (the proto field's name).
    pub const ALL: [(Self, &'static str); 5] = [
        (Self::Purposes, "purposes"),
        (Self::Categories, "categories"),
        (Self::Recipients, "recipients"),
        (Self::Retention, "retention"),
        (
            Self::InternationalTransferSafeguards,
            "international_transfer_safeguards",
        ),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(f, _)| *f)
    }
}

impl Supplementary {
    /// Fills each list the handler left empty from what the other services said, in the order
    /// they said it, without repeats. A list the handler gave is theirs: never mixed.
    pub fn filled_from(mut self, sources: &[(SourceField, Vec<String>)]) -> Self {
        for (field, list) in [
            (SourceField::Purposes, &mut self.purposes),
            (SourceField::Categories, &mut self.categories),
            (SourceField::Recipients, &mut self.recipients),
            (SourceField::Retention, &mut self.retention),
            (
                SourceField::InternationalTransferSafeguards,
                &mut self.international_transfer_safeguards,
            ),
        ] {
            if list.iter().any(|s| !s.trim().is_empty()) {
                continue;
            }
            list.clear();
            for entry in sources
                .iter()
                .filter(|(f, _)| *f == field)
                .flat_map(|(_, entries)| entries)
            {
                if !list.contains(entry) {
                    list.push(entry.clone());
                }
            }
        }
        self
    }
}

/// Only access and portability responses are packs, built while the request is worked on and
/// once every task is done or waived.
pub fn check_buildable(
    request: &SubjectRequest,
    tasks: &[FulfilmentTask],
) -> Result<(), Rejection> {
    if !matches!(
        request.spec.kind(),
        RequestKind::Access | RequestKind::Portability
    ) {
        return Err(Rejection::Precondition(
            "a response pack is for access and portability requests".into(),
        ));
    }
    if !matches!(
        request.state,
        RequestState::InProgress | RequestState::AwaitingReview
    ) {
        return Err(Rejection::Precondition(format!(
            "cannot build the response of a request that is {}",
            request.state
        )));
    }
    let pending = tasks
        .iter()
        .filter(|t| t.state == TaskState::Pending)
        .count();
    super::tasks::check_all_done(i64::try_from(pending).unwrap_or(i64::MAX))
}

/// The regulator the person may complain to.
fn regulator(jurisdiction: Jurisdiction) -> &'static str {
    if jurisdiction.is_uk() {
        "the Information Commissioner's Office (ico.org.uk)"
    } else {
        "the Jersey Office of the Information Commissioner (jerseyoic.org)"
    }
}

/// The pack as a JSON document. Exports are embedded as the systems sent them (they were checked
/// to be JSON when the task completed).
pub fn assemble(
    request: &SubjectRequest,
    supplementary: &Supplementary,
    tasks: &[FulfilmentTask],
) -> Value {
    let searched: Vec<Value> = tasks
        .iter()
        .filter(|t| t.state == TaskState::Completed && t.action == TaskAction::Export)
        .map(|t| {
            json!({
                "system": t.system,
                "data": serde_json::from_str::<Value>(t.export_json.expose())
                    .unwrap_or(Value::Null),
            })
        })
        .collect();
    let not_searched: Vec<Value> = tasks
        .iter()
        .filter(|t| t.state == TaskState::Waived)
        .map(|t| {
            json!({
                "system": t.system,
                "reason": t.waiver_reason,
                "disproportionate_search_justification": t.justification,
            })
        })
        .collect();
    let uk = request.jurisdiction.is_uk();
    json!({
        "format": "dps.subject_requests.response_pack.v1",
        "request": {
            "name": request.id.to_string(),
            "kind": request.spec.kind().code(),
            "received": request.spec.received_at().date().to_string(),
            "person_id": request.spec.person_id().expose(),
        },
        "personal_data": searched,
        "systems_not_searched": not_searched,
        "supplementary_information": {
            "purposes": supplementary.purposes,
            "categories": supplementary.categories,
            "recipients": supplementary.recipients,
            "retention": supplementary.retention,
            "sources": supplementary.sources,
            "automated_decision_making": supplementary.automated_decision_making,
            "international_transfer_safeguards": supplementary.international_transfer_safeguards,
            "your_rights": [
                "rectification", "erasure", "restriction of processing",
                "objection to processing", "data portability",
                if uk { "human intervention in, or contesting, a solely automated decision" }
                else { "objection to automated decisions" },
            ],
            "how_to_complain": {
                "controller": "to us, the controller, first (DPA 2018 s164A for UK tenants)",
                "regulator": regulator(request.jurisdiction),
                "court": "you may also apply to a court",
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplementary_information_needs_each_required_list() {
        let err = Supplementary::parse(Supplementary {
            purposes: vec!["care".into()],
            categories: vec![" ".into()],
            ..Supplementary::default()
        })
        .expect_err("incomplete");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["categories", "recipients", "retention", "sources"]);
    }

    #[test]
    fn empty_lists_come_from_the_other_services_and_given_ones_stay_the_handlers() {
        let given = Supplementary {
            purposes: vec!["as the handler wrote".into()],
            recipients: vec![" ".into()],
            sources: vec!["the person".into()],
            ..Supplementary::default()
        };
        let filled = given.filled_from(&[
            (
                SourceField::Purposes,
                vec!["Care planning (public task)".into()],
            ),
            (SourceField::Recipients, vec!["St Mary's GP".into()]),
            (
                SourceField::Recipients,
                vec!["County council".into(), "St Mary's GP".into()],
            ),
            (
                SourceField::Retention,
                vec!["care-records a-1: 20 years".into()],
            ),
        ]);
        assert_eq!(filled.purposes, ["as the handler wrote"]);
        assert_eq!(filled.recipients, ["St Mary's GP", "County council"]);
        assert_eq!(filled.retention, ["care-records a-1: 20 years"]);
        assert!(filled.categories.is_empty(), "nothing said: still required");
        let err = Supplementary::parse(filled).expect_err("categories missing");
        assert_eq!(err[0].field, "categories");
    }

    #[test]
    fn the_regulator_follows_the_jurisdiction() {
        assert!(regulator(Jurisdiction::Scotland).contains("ico.org.uk"));
        assert!(regulator(Jurisdiction::Jersey).contains("Jersey"));
    }
}
