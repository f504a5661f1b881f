//! Legal holds (DESIGN §3.3): while active, the records they cover are never offered for
//! disposal, whatever their review date.

use dps_types::{FieldViolation, Violations};

use super::record::{RecordId, check_person_id};
use super::{MAX_REASON, required_text};

dps_types::resource_id!(
    /// Identifies a legal hold within its tenant.
    HoldId,
    "legalHolds"
);

/// Most records one hold may name.
const MAX_HOLD_RECORDS: usize = 1000;

/// What a hold covers: exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldScope {
    /// Every record about a person.
    Person(String),
    /// Every record of a class, by code.
    Class(String),
    /// These records.
    Records(Vec<RecordId>),
}

/// A hold to place, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHold {
    /// What it covers.
    pub scope: HoldScope,
    /// Why.
    pub reason: String,
    /// Who requires it.
    pub authority: String,
}

impl NewHold {
    /// Checks every field. `records` are the parsed record names; `None` entries are names the
    /// converter reported as malformed.
    pub fn parse(
        mut v: Violations,
        person_id: &str,
        class_code: &str,
        records: Vec<RecordId>,
        reason: &str,
        authority: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let person_id = person_id.trim();
        let class_code = class_code.trim();
        check_person_id(&mut v, "person_id", person_id);
        v.check(
            records.len() <= MAX_HOLD_RECORDS,
            "records",
            "at most 1000 records",
        );
        let set = [
            !person_id.is_empty(),
            !class_code.is_empty(),
            !records.is_empty(),
        ];
        let scope = match set {
            [true, false, false] => Some(HoldScope::Person(person_id.to_owned())),
            [false, true, false] => Some(HoldScope::Class(class_code.to_owned())),
            [false, false, true] => Some(HoldScope::Records(records)),
            _ => {
                v.add(
                    "person_id",
                    "set exactly one of person_id, record_class_code and records",
                );
                None
            }
        };
        let reason = required_text(&mut v, "reason", reason, MAX_REASON);
        let authority = required_text(&mut v, "authority", authority, 500);
        match scope {
            Some(scope) => v.finish(Self {
                scope,
                reason,
                authority,
            }),
            None => Err(v.finish(()).err().unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_covers_exactly_one_scope_and_says_why_and_on_whose_authority() {
        let err = NewHold::parse(Violations::new(), "p-1", "complaint", vec![], "", "")
            .expect_err("two scopes");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["person_id", "reason", "authority"]);
        let ok = NewHold::parse(
            Violations::new(),
            " p-1 ",
            "",
            vec![],
            "claim",
            "solicitors",
        )
        .expect("valid");
        assert_eq!(ok.scope, HoldScope::Person("p-1".into()));
    }
}
