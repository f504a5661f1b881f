//! Data-protection complaints made to the controller (DPA 2018 s164A, inserted by the Data (Use
//! and Access) Act 2025, in force 19 Jun 2026; DESIGN §3.1; issue 17): intake, the acknowledgement
//! clock from the shared engine, the handling state machine and the outcome. Jersey has no such
//! duty; its tenants get the same 30-day period as good practice, labelled as not statutory.

use dps_deadlines::{
    Clock, ClockError, Event, EventKind, PauseRule, Period, Profile, RuleSet, StartRule, Zone,
};
use dps_types::{FieldViolation, Masked, Violations};
use time::{Date, OffsetDateTime, macros::date};

use super::clock::check_past_instant;
use super::{
    Channel, Jurisdiction, MAX_DETAILS, MAX_PERSON_ID, MAX_REASON, MAX_REQUESTER_CONTACT,
    MAX_REQUESTER_NAME, Relationship, SubjectRequestId, check_person_id,
};

dps_types::resource_id!(
    /// Identifies a complaint within its tenant.
    ComplaintId,
    "complaints"
);

dps_types::resource_id!(
    /// A breach on the breaches service's register, referenced by name only.
    IncidentRef,
    "incidents"
);

/// Most characters in a processing-matter reference.
pub const MAX_PROCESSING_MATTER: usize = MAX_PERSON_ID;

/// What a complaint concerns, when the complainant or handler knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// A subject request of the same tenant: linking it appeals or annotates the request.
    SubjectRequest(SubjectRequestId),
    /// A breach on the register (the breaches service owns it; only its name is kept).
    Incident(IncidentRef),
    /// A consent or processing matter: a reference such as `purposes/{id}`, or a short label.
    ProcessingMatter(String),
}

/// Where a complaint is in its handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplaintState {
    /// Recorded; the acknowledgement is owed (s164A(3)).
    Received,
    /// The complainant was acknowledged.
    Acknowledged,
    /// Steps are being taken to respond (s164A(4)(a)).
    Investigating,
    /// The outcome was recorded and the complainant told (s164A(4)(b)). Kept 10 years (003 §19).
    Closed,
}

impl ComplaintState {
    /// Every state with its stored code.
    pub const ALL: [(Self, &'static str); 4] = [
        (Self::Received, "received"),
        (Self::Acknowledged, "acknowledged"),
        (Self::Investigating, "investigating"),
        (Self::Closed, "closed"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(s, _)| *s)
    }

    /// Still being handled. Kept in step with the `is_open` column of the migration.
    pub fn is_open(self) -> bool {
        self != Self::Closed
    }

    /// The state after `step`, or why the step is not allowed now (FAILED_PRECONDITION).
    pub fn after(self, step: ComplaintStep) -> Result<Self, String> {
        use ComplaintState::*;
        use ComplaintStep::*;
        let next = match (step, self) {
            (Acknowledge, Received) => Acknowledged,
            (Assign | Note, state) if state.is_open() => state,
            (StepTaken, Acknowledged | Investigating) => Investigating,
            // The complainant may withdraw at any time, even before being acknowledged.
            (Outcome(ComplaintOutcome::Withdrawn), state) if state.is_open() => Closed,
            (Outcome(_), Acknowledged | Investigating) => Closed,
            (StepTaken | Outcome(_), Received) => {
                return Err(format!(
                    "cannot {} a complaint that is not yet acknowledged: acknowledge it first \
                     (DPA 2018 s164A(3))",
                    step.verb()
                ));
            }
            (step, state) => {
                return Err(format!(
                    "cannot {} a complaint that is {}",
                    step.verb(),
                    state.code()
                ));
            }
        };
        Ok(next)
    }
}

/// How a complaint ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplaintOutcome {
    /// The complaint was upheld.
    Upheld,
    /// Upheld in part.
    PartlyUpheld,
    /// Not upheld.
    NotUpheld,
    /// The complainant withdrew it.
    Withdrawn,
}

impl ComplaintOutcome {
    /// Every outcome with its stored code.
    pub const ALL: [(Self, &'static str); 4] = [
        (Self::Upheld, "upheld"),
        (Self::PartlyUpheld, "partly_upheld"),
        (Self::NotUpheld, "not_upheld"),
        (Self::Withdrawn, "withdrawn"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(o, _)| *o == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(o, _)| *o)
    }
}

/// A move in a complaint's handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplaintStep {
    /// The complainant is acknowledged.
    Acknowledge,
    /// A handler is assigned or unassigned.
    Assign,
    /// An internal note.
    Note,
    /// A step taken to respond.
    StepTaken,
    /// The outcome is recorded and the complainant told.
    Outcome(ComplaintOutcome),
}

impl ComplaintStep {
    /// The history's name for the step.
    pub fn code(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Assign => "assign",
            Self::Note => "note",
            Self::StepTaken => "step_taken",
            Self::Outcome(_) => "outcome",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Assign => "assign",
            Self::Note => "add a note to",
            Self::StepTaken => "record a step taken on",
            Self::Outcome(_) => "record the outcome of",
        }
    }
}

/// The fields of a complaint at intake, as received (proto3 zero values already `None`).
#[derive(Debug, Clone, Default)]
pub struct ComplaintInput<'a> {
    /// The person whose data it is about.
    pub person_id: &'a str,
    /// Who complained.
    pub complainant_name: &'a str,
    /// How to reach them.
    pub complainant_contact: &'a str,
    /// `None`: the person themselves.
    pub relationship: Option<Relationship>,
    /// Authority to act, when not the person.
    pub complainant_basis: &'a str,
    /// What it is about, in their words.
    pub subject: &'a str,
    /// What it concerns; names already parsed at the edge (a processing matter is checked here).
    pub about: Option<About>,
    /// When it arrived.
    pub received_at: Option<OffsetDateTime>,
    /// How it arrived.
    pub channel: Option<Channel>,
}

/// The sealed details of a complaint: stored only sealed with the person's key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComplaintDetails {
    /// Who complained.
    pub complainant_name: Masked<String>,
    /// How to reach them.
    pub complainant_contact: Masked<String>,
    /// Their authority to act for the person.
    pub complainant_basis: Masked<String>,
    /// What the complaint is about.
    pub subject: Masked<String>,
}

impl ComplaintDetails {
    /// How many details there are.
    pub const COUNT: usize = 4;

    /// Each detail's value, in declaration order, for sealing.
    pub fn values(&self) -> [&str; Self::COUNT] {
        [
            self.complainant_name.expose(),
            self.complainant_contact.expose(),
            self.complainant_basis.expose(),
            self.subject.expose(),
        ]
    }

    /// Details from values in declaration order.
    pub fn from_values(values: [Masked<String>; Self::COUNT]) -> Self {
        let [
            complainant_name,
            complainant_contact,
            complainant_basis,
            subject,
        ] = values;
        Self {
            complainant_name,
            complainant_contact,
            complainant_basis,
            subject,
        }
    }
}

/// A complaint to record, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComplaint {
    /// The person whose data it is about (personal data: masked in logs).
    pub person_id: Masked<String>,
    /// Who complained, in relation to the person.
    pub relationship: Relationship,
    /// The sealed details.
    pub details: ComplaintDetails,
    /// What it concerns.
    pub about: Option<About>,
    /// When it reached the controller.
    pub received_at: OffsetDateTime,
    /// How it arrived.
    pub channel: Channel,
}

impl NewComplaint {
    /// Checks every field against `now`, reporting all violations at once (field names as in
    /// the resource).
    pub fn parse(
        input: ComplaintInput<'_>,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let person_id = input.person_id.trim();
        let [name, contact, basis, subject] = [
            input.complainant_name,
            input.complainant_contact,
            input.complainant_basis,
            input.subject,
        ]
        .map(str::trim);
        let mut v = Violations::new();
        check_person_id(&mut v, person_id);
        v.check(
            !contact.is_empty(),
            "complainant_contact",
            "required: how to acknowledge the complainant and tell them the outcome (s164A)",
        );
        let relationship = input.relationship.unwrap_or(Relationship::Subject);
        if relationship == Relationship::Subject {
            v.check(
                basis.is_empty(),
                "complainant_basis",
                "only when the complainant is not the person",
            );
        } else {
            v.check(
                !basis.is_empty(),
                "complainant_basis",
                "required when the complainant is not the person: their authority to act",
            );
        }
        v.check(
            !subject.is_empty(),
            "subject",
            "required: what the complaint is about",
        );
        for (field, value, max) in [
            ("complainant_name", name, MAX_REQUESTER_NAME),
            ("complainant_contact", contact, MAX_REQUESTER_CONTACT),
            ("complainant_basis", basis, MAX_REASON),
            ("subject", subject, MAX_DETAILS),
        ] {
            if value.chars().count() > max {
                v.add(field, format!("at most {max} characters"));
            }
        }
        let about = match input.about {
            Some(About::ProcessingMatter(matter)) => {
                let matter = matter.trim();
                v.check(!matter.is_empty(), "processing_matter", "must not be blank");
                v.check(
                    matter.chars().count() <= MAX_PROCESSING_MATTER,
                    "processing_matter",
                    "at most 200 characters",
                );
                Some(About::ProcessingMatter(matter.to_owned()))
            }
            other => other,
        };
        v.check(input.channel.is_some(), "channel", "required");
        // s164A(3): the acknowledgement period runs from receipt, which cannot be later than now.
        check_past_instant(&mut v, "receive_time", input.received_at, now);
        v.finish(Self {
            person_id: Masked::new(person_id.to_owned()),
            relationship,
            details: ComplaintDetails {
                complainant_name: Masked::new(name.to_owned()),
                complainant_contact: Masked::new(contact.to_owned()),
                complainant_basis: Masked::new(basis.to_owned()),
                subject: Masked::new(subject.to_owned()),
            },
            about,
            received_at: input.received_at.unwrap_or(now),
            channel: input.channel.unwrap_or(Channel::Letter),
        })
    }
}

/// The acknowledgement clock as the engine gives it at receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementClock {
    /// The last day to acknowledge; `None` when no period applies.
    pub due: Option<Date>,
    /// Whether the period is the law's (UK) or good practice (Jersey).
    pub statutory: bool,
    /// The engine's explanation, line by line.
    pub explanation: Vec<String>,
    /// What a DPO must look at.
    pub warnings: Vec<String>,
}

impl AcknowledgementClock {
    /// Still awaiting its acknowledgement (`awaiting`: received, neither acknowledged nor
    /// withdrawn) after the due date, as of `today` (the tenant's local date).
    pub fn overdue(&self, awaiting: bool, today: Date) -> bool {
        awaiting && self.due.is_some_and(|due| due < today)
    }
}

/// Jersey has no s164A; a tenant there runs the same 30-day period as good practice.
const JERSEY_GOOD_PRACTICE_FROM: Date = date!(2018 - 05 - 25);

/// The engine's profile for acknowledging a complaint under `jurisdiction`.
fn acknowledgement_profile(jurisdiction: Jurisdiction) -> Profile {
    if jurisdiction.is_uk() {
        return Profile::uk_complaint_acknowledgement();
    }
    Profile {
        name: "complaint acknowledgement".to_owned(),
        rule_sets: vec![RuleSet {
            effective_from: JERSEY_GOOD_PRACTICE_FROM,
            label: "good practice in Jersey, as DPA 2018 s164A(3) in the UK (not statutory)"
                .to_owned(),
            statutory: false,
            period: Period::DaysBeginningWith(30),
            start: StartRule::Receipt,
            pause: PauseRule::None,
            extension: None,
            roll_forward: false,
        }],
    }
}

/// s164A(3): acknowledge "within the period of 30 days beginning with the day on which the
/// complaint is received" — the day of receipt is day 1, a weekend or bank holiday is not skipped.
/// A UK complaint received before s164A was in force has no statutory period; it is recorded with
/// that said, not refused.
pub fn acknowledgement_clock(
    jurisdiction: Jurisdiction,
    received_at: OffsetDateTime,
) -> AcknowledgementClock {
    let clock = Clock::new(
        acknowledgement_profile(jurisdiction),
        jurisdiction.calendar(),
        jurisdiction.zone(),
    );
    match clock.evaluate(&[Event::new(received_at, EventKind::Received)]) {
        Ok(d) => AcknowledgementClock {
            due: d.due.map(|due| due.date),
            statutory: d.statutory,
            explanation: d.explanation,
            warnings: d.warnings,
        },
        Err(ClockError::NotInForce { received, .. }) => AcknowledgementClock {
            due: None,
            statutory: false,
            explanation: vec![format!(
                "received on {received}, before DPA 2018 s164A came into force on 19 Jun 2026: \
                 no statutory acknowledgement period"
            )],
            warnings: Vec::new(),
        },
        // One receipt and nothing else: the engine has no other objection to make.
        Err(other) => AcknowledgementClock {
            due: None,
            statutory: false,
            explanation: vec![other.to_string()],
            warnings: Vec::new(),
        },
    }
}

/// An acknowledgement to record, valid by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acknowledgement {
    /// When the complainant was acknowledged.
    pub at: OffsetDateTime,
    /// How.
    pub channel: Channel,
}

impl Acknowledgement {
    /// Checks the fields against `now` (the receipt is checked
    /// once the complaint is read: [`check_after_receipt`]).
    pub fn parse(
        at: Option<OffsetDateTime>,
        channel: Option<Channel>,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        check_past_instant(&mut v, "acknowledgement.acknowledge_time", at, now);
        v.check(channel.is_some(), "acknowledgement.channel", "required");
        match (at, channel) {
            (Some(at), Some(channel)) => v.finish(Self { at, channel }),
            _ => Err(v.finish(()).err().unwrap_or_default()),
        }
    }

    /// Whether it came after the due date, counted in the tenant's local days.
    pub fn is_late(&self, zone: Zone, due: Option<Date>) -> bool {
        due.is_some_and(|due| zone.local_date(self.at) > due)
    }
}

/// Nothing happens to a complaint before it arrives (INVALID_ARGUMENT on `field`).
pub fn check_after_receipt(
    field: &str,
    at: OffsetDateTime,
    received_at: OffsetDateTime,
) -> Result<(), Vec<FieldViolation>> {
    let mut v = Violations::new();
    v.check(
        at >= received_at,
        field,
        "must not be before the complaint was received",
    );
    v.finish(())
}

/// A note or a step taken, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// A note or a step.
    pub step: ComplaintStep,
    /// What was done or noted (sealed).
    pub text: Masked<String>,
}

impl Entry {
    /// Checks the kind (`Some(true)` for a step taken, `Some(false)` for a note) and the text.
    pub fn parse(step_taken: Option<bool>, text: &str) -> Result<Self, Vec<FieldViolation>> {
        let text = text.trim();
        let mut v = Violations::new();
        v.check(
            step_taken.is_some(),
            "kind",
            "required: a note or a step taken",
        );
        v.check(!text.is_empty(), "text", "required");
        v.check(
            text.chars().count() <= MAX_REASON,
            "text",
            "at most 2000 characters",
        );
        v.finish(Self {
            step: if step_taken == Some(true) {
                ComplaintStep::StepTaken
            } else {
                ComplaintStep::Note
            },
            text: Masked::new(text.to_owned()),
        })
    }
}

/// The outcome and the reply telling the complainant, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// How it ended.
    pub outcome: ComplaintOutcome,
    /// The reply (sealed).
    pub reply: Masked<String>,
    /// When the reply was sent.
    pub replied_at: OffsetDateTime,
    /// How.
    pub channel: Channel,
}

impl Resolution {
    /// Checks every field against `now`; s164A(4)(b): no outcome without telling the complainant.
    pub fn parse(
        outcome: Option<ComplaintOutcome>,
        reply: &str,
        replied_at: Option<OffsetDateTime>,
        channel: Option<Channel>,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let reply = reply.trim();
        let mut v = Violations::new();
        v.check(outcome.is_some(), "outcome", "required");
        v.check(
            !reply.is_empty(),
            "reply",
            "required: the reply telling the complainant the outcome (s164A(4)(b))",
        );
        v.check(
            reply.chars().count() <= MAX_DETAILS,
            "reply",
            "at most 10000 characters",
        );
        check_past_instant(&mut v, "reply_time", replied_at, now);
        v.check(channel.is_some(), "reply_channel", "required");
        match (outcome, replied_at, channel) {
            (Some(outcome), Some(replied_at), Some(channel)) => v.finish(Self {
                outcome,
                reply: Masked::new(reply.to_owned()),
                replied_at,
                channel,
            }),
            _ => Err(v.finish(()).err().unwrap_or_default()),
        }
    }

    /// Local days from the day of receipt to the day of the reply.
    pub fn days_to_outcome(&self, zone: Zone, received_at: OffsetDateTime) -> i32 {
        let days = (zone.local_date(self.replied_at) - zone.local_date(received_at)).whole_days();
        i32::try_from(days).unwrap_or(i32::MAX)
    }
}

/// A recorded acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAcknowledgement {
    /// What was recorded.
    pub acknowledgement: Acknowledgement,
    /// Who recorded it.
    pub by: String,
    /// After the due date.
    pub late: bool,
}

/// A recorded outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedResolution {
    /// What was recorded (the reply empty once the person's key was shredded).
    pub resolution: Resolution,
    /// Who recorded it.
    pub by: String,
    /// Local days from receipt to the reply.
    pub days_to_outcome: i32,
}

/// A recorded complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complaint {
    /// Its id.
    pub id: ComplaintId,
    /// What was recorded at intake (details empty once the person's key was shredded).
    pub spec: NewComplaint,
    /// Where it is.
    pub state: ComplaintState,
    /// The rules it runs under, fixed at receipt.
    pub jurisdiction: Jurisdiction,
    /// When to acknowledge by.
    pub clock: AcknowledgementClock,
    /// Once acknowledged.
    pub acknowledgement: Option<RecordedAcknowledgement>,
    /// Who handles it.
    pub assignee: Option<String>,
    /// Once closed.
    pub resolution: Option<RecordedResolution>,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// Whether the person's key was shredded.
    pub personal_data_erased: bool,
}

/// A complaint about a subject request is about that request's person; anything else is a
/// mistaken link (INVALID_ARGUMENT on `field`).
pub fn check_same_person(
    field: &str,
    complaint_person: &str,
    request_person: &str,
) -> Result<(), Vec<FieldViolation>> {
    let mut v = Violations::new();
    v.check(
        complaint_person == request_person,
        field,
        "is a request about another person than the complaint's person_id",
    );
    v.finish(())
}

#[cfg(test)]
mod tests {
    use super::ComplaintState::*;
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-05 09:00 UTC);

    fn input() -> ComplaintInput<'static> {
        ComplaintInput {
            person_id: "person-7",
            complainant_name: "Ann Smith",
            complainant_contact: "ann@example.org",
            subject: "my mother's care notes were sent to the wrong address",
            relationship: Some(Relationship::AttorneyOrDeputy),
            complainant_basis: "registered LPA for health and welfare",
            received_at: Some(datetime!(2026-12-04 15:00 UTC)),
            channel: Some(Channel::WebForm),
            ..ComplaintInput::default()
        }
    }

    fn fields(err: &[FieldViolation]) -> Vec<&str> {
        err.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewComplaint::parse(
            ComplaintInput {
                subject: "   ",
                ..ComplaintInput::default()
            },
            NOW,
        )
        .expect_err("invalid");
        assert_eq!(
            fields(&err),
            [
                "person_id",
                "complainant_contact",
                "subject",
                "channel",
                "receive_time"
            ]
        );
    }

    #[test]
    fn a_complaint_cannot_be_received_in_the_future() {
        let err = NewComplaint::parse(
            ComplaintInput {
                received_at: Some(datetime!(2026-12-05 09:05:01 UTC)),
                ..input()
            },
            NOW,
        )
        .expect_err("future");
        assert_eq!(fields(&err), ["receive_time"]);
        assert_eq!(err[0].description, "must not be in the future");
    }

    #[test]
    fn someone_complaining_for_the_person_states_their_basis() {
        let err = NewComplaint::parse(
            ComplaintInput {
                complainant_basis: "",
                ..input()
            },
            NOW,
        )
        .expect_err("no basis");
        assert_eq!(fields(&err), ["complainant_basis"]);
        let own = NewComplaint::parse(
            ComplaintInput {
                relationship: None,
                complainant_basis: "",
                ..input()
            },
            NOW,
        )
        .expect("own complaint");
        assert_eq!(own.relationship, Relationship::Subject);
        assert!(!format!("{own:?}").contains("Ann Smith"), "details masked");
    }

    #[test]
    fn a_processing_matter_is_a_short_reference() {
        let err = NewComplaint::parse(
            ComplaintInput {
                about: Some(About::ProcessingMatter("x".repeat(201))),
                ..input()
            },
            NOW,
        )
        .expect_err("long");
        assert_eq!(fields(&err), ["processing_matter"]);
    }

    /// (received instant, jurisdiction, due, statutory), hand-worked.
    #[test]
    fn the_acknowledgement_is_due_on_day_thirty_counting_the_day_of_receipt() {
        let cases = [
            // Fri 28 Aug 2026 00:30 BST (Thu 23:30 UTC): day 1 is Fri 28 Aug, day 30 is Sat 26
            // Sep; a Saturday, not rolled forward; the bank holiday on Mon 31 Aug changes nothing.
            (
                datetime!(2026-08-27 23:30 UTC),
                Jurisdiction::EnglandAndWales,
                Some(date!(2026 - 09 - 26)),
                true,
            ),
            // Fri 19 Jun 2026, s164A's first day: day 30 is Sat 18 Jul.
            (
                datetime!(2026-06-19 09:00 UTC),
                Jurisdiction::Scotland,
                Some(date!(2026 - 07 - 18)),
                true,
            ),
            // Across December: Tue 1 Dec 2026 → Wed 30 Dec 2026.
            (
                datetime!(2026-12-01 12:00 UTC),
                Jurisdiction::NorthernIreland,
                Some(date!(2026 - 12 - 30)),
                true,
            ),
            // Jersey: the same count, as good practice.
            (
                datetime!(2026-02-02 10:00 UTC),
                Jurisdiction::Jersey,
                Some(date!(2026 - 03 - 03)),
                false,
            ),
            // Thu 18 Jun 2026 in the UK: before s164A, no period.
            (
                datetime!(2026-06-18 10:00 UTC),
                Jurisdiction::EnglandAndWales,
                None,
                false,
            ),
        ];
        for (received, jurisdiction, due, statutory) in cases {
            let clock = acknowledgement_clock(jurisdiction, received);
            assert_eq!(clock.due, due, "{received} {jurisdiction:?}");
            assert_eq!(clock.statutory, statutory, "{received} {jurisdiction:?}");
            assert!(!clock.explanation.is_empty());
        }
    }

    #[test]
    fn an_acknowledgement_is_overdue_only_after_the_due_day_and_until_made() {
        let clock = acknowledgement_clock(
            Jurisdiction::EnglandAndWales,
            datetime!(2026-08-27 23:30 UTC),
        );
        assert!(!clock.overdue(true, date!(2026 - 09 - 26)));
        assert!(clock.overdue(true, date!(2026 - 09 - 27)));
        assert!(!clock.overdue(false, date!(2026 - 09 - 27)));
        let late = Acknowledgement {
            at: datetime!(2026-09-26 23:30 UTC), // Sun 27 Sep 00:30 BST
            channel: Channel::Email,
        };
        assert!(late.is_late(Zone::EuropeLondon, clock.due));
        let on_time = Acknowledgement {
            at: datetime!(2026-09-26 22:30 UTC), // Sat 26 Sep 23:30 BST
            ..late
        };
        assert!(!on_time.is_late(Zone::EuropeLondon, clock.due));
    }

    #[test]
    fn handling_moves_only_along_its_path() {
        let outcome = ComplaintStep::Outcome(ComplaintOutcome::NotUpheld);
        let withdrawn = ComplaintStep::Outcome(ComplaintOutcome::Withdrawn);
        assert_eq!(Received.after(ComplaintStep::Acknowledge), Ok(Acknowledged));
        assert_eq!(
            Acknowledged.after(ComplaintStep::StepTaken),
            Ok(Investigating)
        );
        assert_eq!(Investigating.after(ComplaintStep::Note), Ok(Investigating));
        assert_eq!(Investigating.after(outcome), Ok(Closed));
        assert_eq!(Acknowledged.after(outcome), Ok(Closed));
        assert_eq!(Received.after(withdrawn), Ok(Closed));
        assert_eq!(
            Received.after(outcome).expect_err("unacknowledged"),
            "cannot record the outcome of a complaint that is not yet acknowledged: acknowledge \
             it first (DPA 2018 s164A(3))"
        );
        assert!(Received.after(ComplaintStep::StepTaken).is_err());
        assert!(Acknowledged.after(ComplaintStep::Acknowledge).is_err());
        for step in [
            ComplaintStep::Acknowledge,
            ComplaintStep::Assign,
            ComplaintStep::Note,
            ComplaintStep::StepTaken,
            outcome,
            withdrawn,
        ] {
            assert!(Closed.after(step).is_err(), "{step:?}");
        }
        assert_eq!(
            Closed.after(ComplaintStep::Note).expect_err("closed"),
            "cannot add a note to a complaint that is closed"
        );
    }

    #[test]
    fn an_outcome_needs_its_reply() {
        let err = Resolution::parse(
            Some(ComplaintOutcome::Upheld),
            "  ",
            Some(NOW),
            Some(Channel::Email),
            NOW,
        )
        .expect_err("no reply");
        assert_eq!(fields(&err), ["reply"]);
        let err = Resolution::parse(None, "", None, None, NOW).expect_err("nothing");
        assert_eq!(
            fields(&err),
            ["outcome", "reply", "reply_time", "reply_channel"]
        );
        let ok = Resolution::parse(
            Some(ComplaintOutcome::PartlyUpheld),
            "we apologise; the letter was recalled",
            Some(datetime!(2026-09-30 23:30 UTC)), // Thu 1 Oct 00:30 BST
            Some(Channel::Letter),
            NOW,
        )
        .expect("valid");
        // Received Fri 28 Aug (local), replied Thu 1 Oct (local): 34 days.
        assert_eq!(
            ok.days_to_outcome(Zone::EuropeLondon, datetime!(2026-08-27 23:30 UTC)),
            34
        );
    }

    #[test]
    fn entries_need_a_kind_and_text() {
        assert_eq!(
            fields(&Entry::parse(None, " ").expect_err("empty")),
            ["kind", "text"]
        );
        let step = Entry::parse(Some(true), "asked the home manager for the post log").expect("ok");
        assert_eq!(step.step, ComplaintStep::StepTaken);
    }

    #[test]
    fn codes_round_trip() {
        for (state, code) in ComplaintState::ALL {
            assert_eq!(ComplaintState::from_code(code), Some(state));
            assert_eq!(state.code(), code);
        }
        for (outcome, code) in ComplaintOutcome::ALL {
            assert_eq!(ComplaintOutcome::from_code(code), Some(outcome));
            assert_eq!(outcome.code(), code);
        }
        assert_eq!(ComplaintState::from_code("open"), None);
    }
}
