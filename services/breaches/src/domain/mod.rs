//! Rules of the breaches domain. No sqlx, tonic or tokio here.
//!
//! DESIGN §3.2: "store occurrence, discovery, report-to-DPO and awareness times separately; the
//! 72-hour clock uses awareness" (Art 33(1)). So awareness is required and the others optional,
//! and they must be in order: occurrence, then discovery, then awareness.
//!
//! - [`severity`]: ENISA's score; [`assessment`]: the decision it leads to;
//! - [`regulator`]: reports and the ICO / Jersey documents; [`individuals`]: notices to people;
//! - [`followup`]: actions, the misdirected-email playbook, third parties, the review;
//! - [`settings`]: the tenant's law, DPO contact and band mapping.

pub mod assessment;
mod classification;
pub mod followup;
pub mod individuals;
mod record;
pub mod regulator;
pub mod retention;
pub mod settings;
pub mod severity;

pub use classification::{BreachKind, Classification};
pub use record::{Incident, IncidentDetails, IncidentText, OpenBreach};

use dps_types::{FieldViolation, Violations};
use time::{Duration, OffsetDateTime};

/// Most characters in a short text (a name, an owner, an organisation).
pub const MAX_SHORT: usize = 200;
/// Most characters in a reason or rationale.
pub const MAX_REASON: usize = 2000;
/// Most characters in a report's or notice's free text.
pub const MAX_TEXT: usize = 5000;

/// Why a change was refused: a rule of the domain, not a fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// INVALID_ARGUMENT: the input breaks a rule, field by field.
    #[error("{}", dps_types::describe_violations(.0))]
    Invalid(Vec<FieldViolation>),
    /// FAILED_PRECONDITION: the incident's state does not allow it now.
    #[error("{0}")]
    Precondition(String),
}

/// The stored code of `value` in a `(value, code)` table.
pub(crate) fn code_of<T: PartialEq + Copy>(all: &[(T, &'static str)], value: T) -> &'static str {
    all.iter().find(|(v, _)| *v == value).map_or("", |(_, c)| c)
}

/// The value of a stored code in a `(value, code)` table.
pub(crate) fn from_code<T: Copy>(all: &[(T, &'static str)], code: &str) -> Option<T> {
    all.iter().find(|(_, c)| *c == code).map(|(v, _)| *v)
}

dps_types::resource_id!(
    /// Identifies an incident within its tenant.
    IncidentId,
    "incidents"
);

/// Most characters in an incident's title.
pub const MAX_TITLE: usize = 200;
/// How far ahead of our clock an awareness time may be, for the sender's clock skew.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// An incident to record, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    title: String,
    occurred_at: Option<OffsetDateTime>,
    discovered_at: Option<OffsetDateTime>,
    aware_at: OffsetDateTime,
}

impl NewIncident {
    /// Checks every field against `now` and reports all violations at once (field names as in the
    /// resource, at most one per field).
    pub fn parse(
        title: &str,
        occurred_at: Option<OffsetDateTime>,
        discovered_at: Option<OffsetDateTime>,
        aware_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let title = title.trim();
        let mut v = Violations::new();
        v.check(!title.is_empty(), "title", "required");
        v.check(
            title.chars().count() <= MAX_TITLE,
            "title",
            "at most 200 characters",
        );
        // Occurrence, discovery, awareness (DESIGN §3.2). Occurrence is checked against its
        // nearest known successor, so a field is named once.
        if let Some(occurred) = occurred_at {
            match (discovered_at, aware_at) {
                (Some(discovered), _) if occurred > discovered => {
                    v.add("occur_time", "must not be after discover_time");
                }
                (_, Some(aware)) if occurred > aware => {
                    v.add("occur_time", "must not be after aware_time");
                }
                _ => {}
            }
        }
        if let (Some(discovered), Some(aware)) = (discovered_at, aware_at) {
            v.check(
                discovered <= aware,
                "discover_time",
                "must not be after aware_time",
            );
        }
        match aware_at {
            // Art 33(1): the 72-hour clock cannot run without it.
            None => v.add("aware_time", "required"),
            Some(aware) => v.check(
                aware <= now + CLOCK_SKEW,
                "aware_time",
                "must not be in the future",
            ),
        }
        v.finish(Self {
            title: title.to_owned(),
            occurred_at,
            discovered_at,
            aware_at: aware_at.unwrap_or(now),
        })
    }

    /// Rebuilds a stored incident's title and times; the table's CHECK constraints keep the
    /// times in order.
    pub fn from_stored(
        title: String,
        occurred_at: Option<OffsetDateTime>,
        discovered_at: Option<OffsetDateTime>,
        aware_at: OffsetDateTime,
    ) -> Self {
        Self {
            title,
            occurred_at,
            discovered_at,
            aware_at,
        }
    }

    /// The short label.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// When it happened, if known.
    pub fn occurred_at(&self) -> Option<OffsetDateTime> {
        self.occurred_at
    }

    /// When someone first noticed it, if known.
    pub fn discovered_at(&self) -> Option<OffsetDateTime> {
        self.discovered_at
    }

    /// When the controller became aware of it: the 72-hour clock starts here (Art 33(1)).
    pub fn aware_at(&self) -> OffsetDateTime {
        self.aware_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn fields(err: &[FieldViolation]) -> Vec<(&str, &str)> {
        err.iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect()
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewIncident::parse(" ", None, None, None, NOW).expect_err("invalid");
        assert_eq!(
            fields(&err),
            [("title", "required"), ("aware_time", "required")]
        );
    }

    #[test]
    fn only_awareness_is_required() {
        let ok = NewIncident::parse(
            " Care plan emailed to wrong family ",
            None,
            None,
            Some(datetime!(2026-11-24 17:00 UTC)),
            NOW,
        )
        .expect("valid");
        assert_eq!(ok.title(), "Care plan emailed to wrong family");
        assert_eq!(ok.occurred_at(), None);
        assert_eq!(ok.discovered_at(), None);
        assert_eq!(ok.aware_at(), datetime!(2026-11-24 17:00 UTC));
    }

    #[test]
    fn times_in_order_are_kept_apart() {
        let ok = NewIncident::parse(
            "Laptop stolen",
            Some(datetime!(2026-11-20 22:00 UTC)),
            Some(datetime!(2026-11-21 08:30 UTC)),
            Some(datetime!(2026-11-21 11:00 UTC)),
            NOW,
        )
        .expect("valid");
        assert_eq!(ok.occurred_at(), Some(datetime!(2026-11-20 22:00 UTC)));
        assert_eq!(ok.discovered_at(), Some(datetime!(2026-11-21 08:30 UTC)));
        let same = datetime!(2026-11-21 11:00 UTC);
        assert!(NewIncident::parse("t", Some(same), Some(same), Some(same), NOW).is_ok());
    }

    #[test]
    fn awareness_before_discovery_is_refused() {
        let err = NewIncident::parse(
            "t",
            None,
            Some(datetime!(2026-11-22 09:00 UTC)),
            Some(datetime!(2026-11-21 09:00 UTC)),
            NOW,
        )
        .expect_err("out of order");
        assert_eq!(
            fields(&err),
            [("discover_time", "must not be after aware_time")]
        );
    }

    #[test]
    fn occurrence_after_discovery_or_awareness_is_refused() {
        let err = NewIncident::parse(
            "t",
            Some(datetime!(2026-11-21 10:00 UTC)),
            Some(datetime!(2026-11-21 09:00 UTC)),
            Some(datetime!(2026-11-22 09:00 UTC)),
            NOW,
        )
        .expect_err("after discovery");
        assert_eq!(
            fields(&err),
            [("occur_time", "must not be after discover_time")]
        );
        let err = NewIncident::parse(
            "t",
            Some(datetime!(2026-11-23 10:00 UTC)),
            None,
            Some(datetime!(2026-11-22 09:00 UTC)),
            NOW,
        )
        .expect_err("after awareness");
        assert_eq!(
            fields(&err),
            [("occur_time", "must not be after aware_time")]
        );
    }

    #[test]
    fn every_ordering_fault_is_reported_at_once() {
        let err = NewIncident::parse(
            "t",
            Some(datetime!(2026-11-23 10:00 UTC)),
            Some(datetime!(2026-11-23 09:00 UTC)),
            Some(datetime!(2026-11-22 09:00 UTC)),
            NOW,
        )
        .expect_err("all out of order");
        assert_eq!(
            fields(&err),
            [
                ("occur_time", "must not be after discover_time"),
                ("discover_time", "must not be after aware_time"),
            ]
        );
    }

    #[test]
    fn awareness_in_the_future_is_refused_beyond_clock_skew() {
        assert!(NewIncident::parse("t", None, None, Some(NOW + CLOCK_SKEW), NOW).is_ok());
        let err = NewIncident::parse(
            "t",
            None,
            None,
            Some(datetime!(2026-11-25 09:05:01 UTC)),
            NOW,
        )
        .expect_err("future");
        assert_eq!(fields(&err), [("aware_time", "must not be in the future")]);
    }

    #[test]
    fn titles_are_bounded_in_characters() {
        let aware = Some(NOW);
        assert!(NewIncident::parse(&"é".repeat(MAX_TITLE), None, None, aware, NOW).is_ok());
        let err = NewIncident::parse(&"x".repeat(MAX_TITLE + 1), None, None, aware, NOW)
            .expect_err("long");
        assert_eq!(fields(&err), [("title", "at most 200 characters")]);
    }

    #[test]
    fn resource_names_parse_only_with_their_collection() {
        let id = IncidentId::generate();
        assert_eq!(IncidentId::parse_name(&id.to_string()), Some(id));
        assert_eq!(
            IncidentId::parse_name(&format!("purposes/{}", id.as_uuid())),
            None
        );
        assert_eq!(IncidentId::parse_name("incidents/not-a-uuid"), None);
    }
}
