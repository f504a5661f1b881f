//! Rules of the retention domain. No sqlx, tonic or tokio here.

use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

dps_types::resource_id!(
    /// Identifies a record class within its tenant.
    RecordClassId,
    "recordClasses"
);

/// Most characters in a record class's code.
pub const MAX_CODE: usize = 63;
/// Most characters in a record class's display name.
pub const MAX_DISPLAY_NAME: usize = 200;
/// Most characters in a record class's description.
pub const MAX_DESCRIPTION: usize = 4000;

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

/// A record class to add to the retention schedule, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecordClass {
    code: String,
    display_name: String,
    description: String,
}

impl NewRecordClass {
    /// Checks every field and reports all violations at once (field names as in the resource).
    /// The code is taken as given: it is an identifier, so it is not trimmed.
    pub fn parse(
        code: &str,
        display_name: &str,
        description: &str,
    ) -> Result<Self, Vec<FieldViolation>> {
        let display_name = display_name.trim();
        let description = description.trim();
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
        v.finish(Self {
            code: code.to_owned(),
            display_name: display_name.to_owned(),
            description: description.to_owned(),
        })
    }

    /// The stable code, unique in the tenant.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }
}

/// A record class in the retention schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordClass {
    /// Its id.
    pub id: RecordClassId,
    /// What was registered.
    pub spec: NewRecordClass,
    /// When it was registered.
    pub created_at: OffsetDateTime,
}

impl RecordClass {
    /// Rebuilds a stored record class; `None` if the stored code is not a valid code.
    pub fn from_stored(
        id: RecordClassId,
        code: String,
        display_name: String,
        description: String,
        created_at: OffsetDateTime,
    ) -> Option<Self> {
        is_valid_code(&code).then_some(Self {
            id,
            spec: NewRecordClass {
                code,
                display_name,
                description,
            },
            created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewRecordClass::parse("", " ", "").expect_err("invalid");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["code", "display_name"]);
        assert_eq!(err[0].description, "required");
    }

    #[test]
    fn codes_are_lowercase_letters_digits_and_inner_hyphens() {
        let longest = "a".repeat(MAX_CODE);
        for ok in ["adult-care-record", "hr-2", "0", longest.as_str()] {
            assert!(NewRecordClass::parse(ok, "Name", "").is_ok(), "{ok}");
        }
        let too_long = "a".repeat(MAX_CODE + 1);
        for bad in [
            "Adult",
            "adult_care",
            "-adult",
            "adult-",
            "adult care",
            " adult",
            "é",
            too_long.as_str(),
        ] {
            let err = NewRecordClass::parse(bad, "Name", "").expect_err(bad);
            assert_eq!(err[0].field, "code", "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let ok = NewRecordClass::parse("adult-care-record", "  Adult care record ", " Notes ")
            .expect("valid");
        assert_eq!(ok.display_name(), "Adult care record");
        assert_eq!(ok.description(), "Notes");
        let long = "x".repeat(MAX_DISPLAY_NAME + 1);
        assert!(NewRecordClass::parse("a", &long, "").is_err());
        let exact = "é".repeat(MAX_DISPLAY_NAME);
        assert!(
            NewRecordClass::parse("a", &exact, "").is_ok(),
            "limit counts characters, not bytes"
        );
        let err = NewRecordClass::parse("a", "Name", &"x".repeat(MAX_DESCRIPTION + 1))
            .expect_err("long description");
        assert_eq!(err[0].field, "description");
    }

    #[test]
    fn a_stored_class_with_an_invalid_code_is_not_rebuilt() {
        let at = datetime!(2026-11-25 09:00 UTC);
        let id = RecordClassId::generate();
        let ok = RecordClass::from_stored(id, "hr-file".into(), "HR file".into(), "".into(), at);
        assert_eq!(ok.map(|c| c.spec.code().to_owned()), Some("hr-file".into()));
        assert!(RecordClass::from_stored(id, "HR".into(), "HR".into(), "".into(), at).is_none());
    }

    #[test]
    fn resource_names_parse_only_with_their_collection() {
        let id = RecordClassId::generate();
        assert_eq!(RecordClassId::parse_name(&id.to_string()), Some(id));
        assert_eq!(
            RecordClassId::parse_name(&format!("incidents/{}", id.as_uuid())),
            None
        );
        assert_eq!(RecordClassId::parse_name("recordClasses/not-a-uuid"), None);
    }
}
