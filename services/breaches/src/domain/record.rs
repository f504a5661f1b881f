//! An incident on the register, as recorded and as read back with everything done about it.

use dps_deadlines::BreachClock;
use dps_types::{FieldViolation, Masked, Violations};
use time::OffsetDateTime;

use super::assessment::{Assessment, Outcome};
use super::followup::{Action, Review, ThirdPartyNotice};
use super::individuals::IndividualNotice;
use super::regulator::RegulatorNotification;
use super::severity::Severity;
use super::{CLOCK_SKEW, Classification, IncidentId, MAX_SHORT, NewIncident};

/// Most characters in the description of what happened.
pub const MAX_DESCRIPTION: usize = 10_000;
/// Most systems involved, and characters in each.
pub const MAX_SYSTEMS: usize = 20;

/// The personal parts of an incident, sealed at rest: who reported it and what happened (which
/// may name people).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncidentText {
    /// Who reported it.
    pub reported_by: Masked<String>,
    /// What happened.
    pub description: Masked<String>,
}

/// What else is recorded about an incident beyond its times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentDetails {
    /// Sealed at rest; `None` once the key was shredded.
    pub text: Option<IncidentText>,
    /// When it was reported to the DPO.
    pub reported_to_dpo_at: Option<OffsetDateTime>,
    /// Systems involved.
    pub systems: Vec<String>,
}

impl IncidentDetails {
    /// Checks the details against the incident's times (fields as in the incident message).
    pub fn parse(
        reported_by: &str,
        description: &str,
        reported_to_dpo_at: Option<OffsetDateTime>,
        systems: Vec<String>,
        times: &NewIncident,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let reported_by = reported_by.trim();
        v.check(!reported_by.is_empty(), "reported_by", "required");
        v.check(
            reported_by.chars().count() <= MAX_SHORT,
            "reported_by",
            "at most 200 characters",
        );
        let description = description.trim();
        v.check(
            description.chars().count() <= MAX_DESCRIPTION,
            "description",
            "at most 10000 characters",
        );
        if let Some(at) = reported_to_dpo_at {
            // DESIGN §3.2 keeps report-to-DPO apart: it follows the event it reports.
            let earliest = times.discovered_at().or(times.occurred_at());
            if earliest.is_some_and(|e| at < e) {
                v.add(
                    "report_to_dpo_time",
                    "must not be before discover_time or occur_time",
                );
            } else {
                v.check(
                    at <= now + CLOCK_SKEW,
                    "report_to_dpo_time",
                    "must not be in the future",
                );
            }
        }
        let systems: Vec<String> = systems
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        v.check(
            systems.len() <= MAX_SYSTEMS && systems.iter().all(|s| s.chars().count() <= MAX_SHORT),
            "systems",
            "at most 20 entries of 200 characters",
        );
        v.finish(Self {
            text: Some(IncidentText {
                reported_by: reported_by.to_owned().into(),
                description: description.to_owned().into(),
            }),
            reported_to_dpo_at,
            systems,
        })
    }
}

/// An incident as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Its id.
    pub id: IncidentId,
    /// Title and times.
    pub spec: NewIncident,
    /// The rest of what was recorded.
    pub details: IncidentDetails,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// The classification, once made.
    pub classification: Option<Classification>,
    /// The latest assessment.
    pub assessment: Option<Assessment>,
    /// Reports to the regulator, oldest first.
    pub regulator_notifications: Vec<RegulatorNotification>,
    /// Notices to people, oldest first.
    pub individual_notifications: Vec<(uuid::Uuid, IndividualNotice)>,
    /// Actions by due time.
    pub actions: Vec<Action>,
    /// Third parties told.
    pub third_party_notices: Vec<ThirdPartyNotice>,
    /// The review.
    pub review: Option<Review>,
}

impl Incident {
    /// Whether it is classified as a personal-data breach.
    pub fn is_breach(&self) -> bool {
        self.classification
            .as_ref()
            .is_some_and(Classification::personal_data_breach)
    }

    /// The regulator's 72-hour clock from awareness (Art 33(1)).
    pub fn clock(&self) -> BreachClock {
        BreachClock::statutory(self.spec.aware_at())
    }

    /// When the first report was made.
    pub fn first_reported_at(&self) -> Option<OffsetDateTime> {
        self.regulator_notifications
            .first()
            .map(|n| n.spec.submitted_at)
    }

    /// Whether the clock still runs: a breach not yet reported and not decided not reportable.
    pub fn clock_running(&self) -> bool {
        self.is_breach()
            && self.first_reported_at().is_none()
            && self
                .assessment
                .as_ref()
                .is_none_or(|a| a.outcome != Outcome::NotReportable)
    }
}

/// A line of the DPO's alarm view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBreach {
    /// Its id.
    pub id: IncidentId,
    /// Its title.
    pub title: String,
    /// Awareness: the clock runs from here.
    pub aware_at: OffsetDateTime,
    /// Of the latest assessment.
    pub severity: Option<Severity>,
}

impl OpenBreach {
    /// Its clock.
    pub fn clock(&self) -> BreachClock {
        BreachClock::statutory(self.aware_at)
    }
}
