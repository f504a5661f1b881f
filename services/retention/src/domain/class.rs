//! Record classes: the rows of a tenant's retention schedule (003 §19), each a trigger, a rule
//! and an end action.

use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

use super::rule::{Event, Rule};

dps_types::resource_id!(
    /// Identifies a record class within its tenant.
    RecordClassId,
    "recordClasses"
);

/// Most characters in a record class's code.
pub const MAX_CODE: usize = 63;
/// Most characters in a record class's display name.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Most characters in a record class's description or note.
pub const MAX_DESCRIPTION: usize = 4000;

coded_enum!(
    /// What happens when retention ends (002 "Disposal schedule").
    EndAction {
        /// Review, and destroy if no longer needed.
        ReviewThenDestroy = "review_then_destroy",
        /// Review, and transfer to a place of deposit (permanent preservation).
        ReviewThenTransfer = "review_then_transfer",
    }
);

/// Whether `code` is a stable code: 1-63 lowercase letters, digits and hyphens, not starting or
/// ending with a hyphen, as `RecordClass.code` is defined in the contract (the tenant-slug rule).
pub fn is_valid_code(code: &str) -> bool {
    (1..=MAX_CODE).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-')
        && !code.ends_with('-')
}

/// What can change in a class: everything but its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassChange {
    display_name: String,
    description: String,
    triggers: Vec<Event>,
    rule: Rule,
    end_action: EndAction,
    note: String,
}

/// A record class to add to the retention schedule, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecordClass {
    code: String,
    change: ClassChange,
}

impl ClassChange {
    /// Checks every field and reports all violations at once (field names as in the resource).
    /// `triggers` and `end_action` arrive already mapped from the contract; `None` entries are
    /// values the converter could not map and has reported.
    pub fn parse(
        display_name: &str,
        description: &str,
        triggers: &[Event],
        rule: &str,
        end_action: Option<EndAction>,
        note: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let display_name = display_name.trim();
        v.check(!display_name.is_empty(), "display_name", "required");
        v.check(
            display_name.chars().count() <= MAX_DISPLAY_NAME,
            "display_name",
            "at most 200 characters",
        );
        let description = description.trim();
        v.check(
            description.chars().count() <= MAX_DESCRIPTION,
            "description",
            "at most 4000 characters",
        );
        v.check(
            !triggers.is_empty(),
            "triggers",
            "at least one trigger event",
        );
        let rule = if rule.trim().is_empty() {
            v.add("rule", "required");
            None
        } else {
            Rule::parse(rule).map_err(|e| v.add("rule", e)).ok()
        };
        v.check(end_action.is_some(), "end_action", "required");
        let note = note.trim();
        v.check(
            note.chars().count() <= MAX_DESCRIPTION,
            "note",
            "at most 4000 characters",
        );
        let mut unique = triggers.to_vec();
        unique.dedup();
        match (rule, end_action) {
            (Some(rule), Some(end_action)) => v.finish(Self {
                display_name: display_name.to_owned(),
                description: description.to_owned(),
                triggers: unique,
                rule,
                end_action,
                note: note.to_owned(),
            }),
            _ => Err(v.finish(()).err().unwrap_or_default()),
        }
    }

    /// The display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Events any of which starts retention.
    pub fn triggers(&self) -> &[Event] {
        &self.triggers
    }

    /// The period rule.
    pub fn rule(&self) -> &Rule {
        &self.rule
    }

    /// The end action.
    pub fn end_action(&self) -> EndAction {
        self.end_action
    }

    /// The note kept with the rule.
    pub fn note(&self) -> &str {
        &self.note
    }

    /// Warnings about the rule.
    pub fn warnings(&self) -> Vec<String> {
        self.rule.warnings()
    }
}

impl NewRecordClass {
    /// Checks the code and the rest; violations of both are reported together.
    pub fn parse(
        code: &str,
        change: Result<ClassChange, Vec<FieldViolation>>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        if code.is_empty() {
            v.add("code", "required");
        } else {
            v.check(
                is_valid_code(code),
                "code",
                "1-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen",
            );
        }
        match (v.finish(()), change) {
            (Ok(()), Ok(change)) => Ok(Self {
                code: code.to_owned(),
                change,
            }),
            (code, change) => {
                let mut all = code.err().unwrap_or_default();
                all.extend(change.err().unwrap_or_default());
                Err(all)
            }
        }
    }

    /// The stable code, unique in the tenant.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Everything but the code.
    pub fn change(&self) -> &ClassChange {
        &self.change
    }
}

/// A record class in the retention schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordClass {
    /// Its id.
    pub id: RecordClassId,
    /// Its code.
    pub code: String,
    /// Its current values.
    pub spec: ClassChange,
    /// The schedule version that last changed it.
    pub schedule_version: i32,
    /// When it was added.
    pub created_at: OffsetDateTime,
}

impl RecordClass {
    /// Rebuilds a stored record class; `None` if a stored value no longer parses.
    #[allow(clippy::too_many_arguments)]
    pub fn from_stored(
        id: RecordClassId,
        code: String,
        display_name: &str,
        description: &str,
        triggers: &[String],
        rule: &str,
        end_action: &str,
        note: &str,
        schedule_version: i32,
        created_at: OffsetDateTime,
    ) -> Option<Self> {
        let triggers: Option<Vec<Event>> = triggers.iter().map(|t| Event::from_code(t)).collect();
        let spec = ClassChange::parse(
            display_name,
            description,
            &triggers?,
            rule,
            EndAction::from_code(end_action),
            note,
        )
        .ok()?;
        is_valid_code(&code).then_some(Self {
            id,
            code,
            spec,
            schedule_version,
            created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(rule: &str) -> Result<ClassChange, Vec<FieldViolation>> {
        ClassChange::parse(
            "Complaints",
            "",
            &[Event::Closed],
            rule,
            Some(EndAction::ReviewThenDestroy),
            "",
        )
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewRecordClass::parse("", ClassChange::parse(" ", "", &[], "", None, ""))
            .expect_err("invalid");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["code", "display_name", "triggers", "rule", "end_action"]
        );
    }

    #[test]
    fn codes_are_lowercase_letters_digits_and_inner_hyphens() {
        let longest = "a".repeat(MAX_CODE);
        for ok in ["adult-health-record", "hr-2", "0", longest.as_str()] {
            assert!(
                NewRecordClass::parse(ok, change("after(closed, 10y)")).is_ok(),
                "{ok}"
            );
        }
        let too_long = "a".repeat(MAX_CODE + 1);
        for bad in [
            "Adult",
            "adult_care",
            "-adult",
            "adult-",
            " adult",
            "é",
            too_long.as_str(),
        ] {
            let err = NewRecordClass::parse(bad, change("after(closed, 10y)")).expect_err(bad);
            assert_eq!(err[0].field, "code", "{bad}");
        }
    }

    #[test]
    fn a_rule_that_does_not_parse_is_named_with_the_reason() {
        let err = change("after(shut, 10y)").expect_err("unknown trigger");
        assert_eq!(err[0].field, "rule");
        assert!(err[0].description.contains("unknown trigger event 'shut'"));
        let err = change("after(closed, -1y)").expect_err("negative");
        assert!(err[0].description.contains("negative"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let ok = ClassChange::parse(
            "  Complaints ",
            " Notes ",
            &[Event::Closed],
            "after(closed, 10y)",
            Some(EndAction::ReviewThenDestroy),
            "",
        )
        .expect("valid");
        assert_eq!(ok.display_name(), "Complaints");
        assert_eq!(ok.description(), "Notes");
        let long = "é".repeat(MAX_DISPLAY_NAME + 1);
        let err = ClassChange::parse(
            &long,
            "",
            &[Event::Closed],
            "after(closed, 10y)",
            Some(EndAction::ReviewThenDestroy),
            "",
        )
        .expect_err("long");
        assert_eq!(err[0].field, "display_name");
    }
}
