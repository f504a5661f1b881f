//! The record registry's rules: what a registered record must say, which event dates are
//! acceptable, and how its disposal-review date is worked out and explained.

use dps_types::{FieldViolation, Violations};
use time::Date;
use time::macros::format_description;

use super::class::RecordClass;
use super::required_text;
use super::rule::{Event, Facts};

dps_types::resource_id!(
    /// Identifies a registered record within its tenant.
    RecordId,
    "records"
);

coded_enum!(
    /// Where a record is in its life.
    RecordState {
        /// Kept; a review is raised on its review date.
        Active = "active",
        /// A disposal review is open.
        UnderReview = "under_review",
        /// Disposal approved; the holding system has a task.
        DisposalApproved = "disposal_approved",
        /// Destroyed, with a certificate.
        Destroyed = "destroyed",
        /// Transferred to a place of deposit, with a certificate.
        Transferred = "transferred",
    }
);

/// Most characters in a person id (the suite's opaque reference, never a name).
pub const MAX_PERSON_ID: usize = 200;
const MAX_SYSTEM: usize = 100;
const MAX_EXTERNAL_ID: usize = 200;
/// Earliest date accepted, so every computed date stays in range.
const EARLIEST: Date = time::macros::date!(1850 - 01 - 01);

/// Parses a `YYYY-MM-DD` date; empty is `None`.
pub fn parse_date(v: &mut Violations, field: &str, raw: &str) -> Option<Date> {
    if raw.is_empty() {
        return None;
    }
    match Date::parse(raw, format_description!("[year]-[month]-[day]")) {
        Ok(date) if date >= EARLIEST => Some(date),
        Ok(_) => {
            v.add(field, "must not be before 1850-01-01");
            None
        }
        Err(_) => {
            v.add(field, "must be a date YYYY-MM-DD");
            None
        }
    }
}

/// Checks an optional person id.
pub fn check_person_id(v: &mut Violations, field: &str, person_id: &str) {
    v.check(
        person_id.chars().count() <= MAX_PERSON_ID,
        field,
        "at most 200 characters",
    );
}

/// Whether an event date is acceptable for a record created on `created`: not before the
/// record's creation (the bad input) and not in the future.
pub fn check_event_date(date: Date, created: Date, today: Date) -> Result<(), &'static str> {
    if date < created {
        Err("must not be before the record's create_date")
    } else if date > today {
        Err("must not be in the future")
    } else {
        Ok(())
    }
}

/// A record as a platform sends it, with dates already parsed.
#[derive(Debug, Clone, Default)]
pub struct RecordInput {
    /// The class code.
    pub class_code: String,
    /// The person, or empty.
    pub person_id: String,
    /// The holding system.
    pub system: String,
    /// The record's id there.
    pub external_id: String,
    /// Creation date.
    pub created: Option<Date>,
    /// Birth date.
    pub born: Option<Date>,
    /// Later events, each with the field it came in.
    pub events: Vec<(Event, &'static str, Date)>,
    /// Died while receiving our services.
    pub died_in_care: bool,
}

/// A record to register, valid by construction (except for its class, which the store knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecord {
    /// The class code.
    pub class_code: String,
    /// The person, if any.
    pub person_id: Option<String>,
    /// The holding system.
    pub system: String,
    /// The record's id there.
    pub external_id: String,
    /// Its dates and facts (creation included).
    pub facts: Facts,
}

impl NewRecord {
    /// Checks every field; `v` may already hold the converter's violations.
    pub fn parse(
        mut v: Violations,
        input: RecordInput,
        today: Date,
    ) -> Result<Self, Vec<FieldViolation>> {
        let class_code = required_text(&mut v, "record_class_code", &input.class_code, 63);
        let person_id = input.person_id.trim().to_owned();
        check_person_id(&mut v, "person_id", &person_id);
        let system = required_text(&mut v, "system", &input.system, MAX_SYSTEM);
        let external_id = required_text(&mut v, "external_id", &input.external_id, MAX_EXTERNAL_ID);
        let mut facts = Facts {
            born: input.born,
            died_in_care: input.died_in_care,
            ..Facts::default()
        };
        match input.created {
            None => v.add("create_date", "required"),
            Some(created) if created > today => v.add("create_date", "must not be in the future"),
            Some(created) => {
                facts.set(Event::Created, Some(created));
                for (event, field, date) in &input.events {
                    match check_event_date(*date, created, today) {
                        Ok(()) => facts.set(*event, Some(*date)),
                        Err(e) => v.add(*field, e),
                    }
                }
            }
        }
        if input.born.is_some_and(|b| b > today) {
            v.add("birth_date", "must not be in the future");
        }
        if input.died_in_care && facts.date(Event::Died).is_none() {
            v.add("death_date", "required when died_in_care is set");
        }
        v.finish(Self {
            class_code,
            person_id: (!person_id.is_empty()).then_some(person_id),
            system,
            external_id,
            facts,
        })
    }

    /// Checks what the record's class needs of it: a birth date for birthday rules.
    pub fn check_class(&self, class: &RecordClass) -> Result<(), FieldViolation> {
        if class.spec.rule().needs_birth_date() && self.facts.born.is_none() {
            return Err(FieldViolation {
                field: "birth_date".into(),
                description: format!("required: the rule of {} counts birthdays", class.code),
            });
        }
        Ok(())
    }
}

/// A record's review date and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dating {
    /// The review date; `None` while retention has not started.
    pub review_on: Option<Date>,
    /// Why, in words.
    pub explanation: String,
}

/// Works out a record's review date under its class's current rule. A reviewer's extension is
/// a floor: a schedule change never brings a record back before the date a reviewer set.
pub fn date_record(class: &RecordClass, facts: &Facts, extended_until: Option<Date>) -> Dating {
    let head = format!("{} (schedule v{})", class.code, class.schedule_version);
    let triggers = class.spec.triggers();
    if !triggers.iter().any(|t| facts.date(*t).is_some()) {
        let phrases: Vec<&str> = triggers.iter().map(|t| t.phrase()).collect();
        return Dating {
            review_on: None,
            explanation: format!(
                "{head}: retention starts at {}, not yet recorded",
                phrases.join(" or ")
            ),
        };
    }
    let Some(dated) = class.spec.rule().evaluate(facts) else {
        return Dating {
            review_on: None,
            explanation: format!(
                "{head}: {} needs events not yet recorded",
                class.spec.rule()
            ),
        };
    };
    match extended_until {
        Some(until) if until > dated.date => Dating {
            review_on: Some(until),
            explanation: format!(
                "{head}: {}; extended by a reviewer to {until}",
                dated.explanation
            ),
        },
        _ => Dating {
            review_on: Some(dated.date),
            explanation: format!("{head}: {}", dated.explanation),
        },
    }
}

/// A registered record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its id.
    pub id: RecordId,
    /// Its class.
    pub class_id: super::class::RecordClassId,
    /// Its class's code.
    pub class_code: String,
    /// The person, if any.
    pub person_id: Option<String>,
    /// The holding system.
    pub system: String,
    /// The record's id there.
    pub external_id: String,
    /// Its dates and facts.
    pub facts: Facts,
    /// When its review falls, and why.
    pub dating: Dating,
    /// The schedule version it was dated under.
    pub schedule_version: i32,
    /// Where it is.
    pub state: RecordState,
    /// A reviewer's extension.
    pub extended_until: Option<Date>,
    /// When it was registered.
    pub created_at: time::OffsetDateTime,
}

/// An active legal hold, as the erasure check reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldNote {
    /// `legalHolds/{id}`.
    pub name: String,
    /// Why.
    pub reason: String,
    /// Who requires it.
    pub authority: String,
}

/// Whether `record` must be kept on `today`, and why (DESIGN §3.1: erasure is refused where
/// records must be kept — retention schedule, legal hold).
pub fn erasure_verdict(record: &Record, holds: &[HoldNote], today: Date) -> (bool, Vec<String>) {
    let mut reasons: Vec<String> = holds
        .iter()
        .map(|h| {
            format!(
                "on legal hold {} ({}; authority: {})",
                h.name, h.reason, h.authority
            )
        })
        .collect();
    let retention = match record.dating.review_on {
        None => Some(format!(
            "retention has not started: {}",
            record.dating.explanation
        )),
        Some(date) if date > today => Some(format!(
            "retention runs to {date}: {}",
            record.dating.explanation
        )),
        Some(date) => {
            reasons.push(format!(
                "retention ended on {date}: {}",
                record.dating.explanation
            ));
            None
        }
    };
    let must_keep = !holds.is_empty() || retention.is_some();
    reasons.extend(retention);
    (must_keep, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input() -> RecordInput {
        RecordInput {
            class_code: "complaint".into(),
            person_id: "p-1".into(),
            system: "care-records".into(),
            external_id: "c-1".into(),
            created: Some(date!(2020 - 01 - 10)),
            ..RecordInput::default()
        }
    }

    #[test]
    fn an_event_before_the_record_was_created_is_refused() {
        let today = date!(2026 - 12 - 05);
        let mut bad = input();
        bad.events = vec![(Event::Closed, "close_date", date!(2020 - 01 - 09))];
        let err = NewRecord::parse(Violations::new(), bad, today).expect_err("before");
        assert_eq!(err[0].field, "close_date");
        assert!(
            err[0]
                .description
                .contains("before the record's create_date")
        );
        let mut same_day = input();
        same_day.events = vec![(Event::Closed, "close_date", date!(2020 - 01 - 10))];
        assert!(NewRecord::parse(Violations::new(), same_day, today).is_ok());
        let mut future = input();
        future.events = vec![(Event::Closed, "close_date", date!(2026 - 12 - 06))];
        let err = NewRecord::parse(Violations::new(), future, today).expect_err("future");
        assert!(err[0].description.contains("future"));
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewRecord::parse(
            Violations::new(),
            RecordInput {
                died_in_care: true,
                ..RecordInput::default()
            },
            date!(2026 - 12 - 05),
        )
        .expect_err("empty");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "record_class_code",
                "system",
                "external_id",
                "create_date",
                "death_date"
            ]
        );
    }
}
