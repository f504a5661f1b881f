//! Rules of the subject-requests domain. No sqlx, tonic or tokio here.
//!
//! [`NewSubjectRequest`] is the intake (issue 16 §1); [`lifecycle`] the state machine;
//! [`clock`] the events that move deadlines, dated by the shared engine; [`refusal`], [`tasks`],
//! [`review`], [`pack`] and [`settings`] the rest.

pub mod accuracy;
pub mod automated;
pub mod clock;
pub mod complaint;
pub mod erasure;
pub mod lifecycle;
pub mod notices;
pub mod outbox;
pub mod pack;
pub mod refusal;
pub mod restriction;
pub mod review;
pub mod settings;
pub mod tasks;

pub use automated::Remedy;
pub use clock::{ClockEvent, ClockStatus, RequestDeadlines};
pub use lifecycle::{IllegalStep, RequestState, Step};
pub use refusal::Refusal;
pub use settings::{Jurisdiction, TenantSettings};

use dps_types::{FieldViolation, Masked, Violations};
use time::{Duration, OffsetDateTime};

dps_types::resource_id!(
    /// Identifies a subject request within its tenant.
    SubjectRequestId,
    "subjectRequests"
);

/// The right being exercised (UK GDPR and DPJL Arts 15-22; DESIGN §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Art 15.
    Access,
    /// Art 16.
    Rectification,
    /// Art 17.
    Erasure,
    /// Art 18.
    Restriction,
    /// Art 20.
    Portability,
    /// Art 21(1).
    Objection,
    /// Art 21(2)-(3): absolute, takes effect at once.
    DirectMarketingObjection,
    /// UK GDPR Arts 22A-22D; DPJL objection to automated decisions.
    AutomatedDecisionReview,
}

impl RequestKind {
    /// Every kind with its stored code.
    pub const ALL: [(Self, &'static str); 8] = [
        (Self::Access, "access"),
        (Self::Rectification, "rectification"),
        (Self::Erasure, "erasure"),
        (Self::Restriction, "restriction"),
        (Self::Portability, "portability"),
        (Self::Objection, "objection"),
        (Self::DirectMarketingObjection, "direct_marketing_objection"),
        (Self::AutomatedDecisionReview, "automated_decision_review"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(k, _)| *k)
    }
}

/// How the request reached the controller. Verbal channels are valid for every right (003 §3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A letter.
    Letter,
    /// An email.
    Email,
    /// A phone call (verbal).
    Phone,
    /// In person (verbal).
    InPerson,
    /// A web form.
    WebForm,
    /// Another system calling the API on the person's behalf.
    Platform,
}

impl Channel {
    /// Every channel with its stored code.
    pub const ALL: [(Self, &'static str); 6] = [
        (Self::Letter, "letter"),
        (Self::Email, "email"),
        (Self::Phone, "phone"),
        (Self::InPerson, "in_person"),
        (Self::WebForm, "web_form"),
        (Self::Platform, "platform"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("", |(_, code)| code)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(channel, _)| *channel)
    }
}

/// Most characters in a person reference.
pub const MAX_PERSON_ID: usize = 200;
/// How far ahead of our clock a receive time may be, for the sender's clock skew.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// Most characters in each personal detail.
pub const MAX_REQUESTER_NAME: usize = 200;
/// See [`MAX_REQUESTER_NAME`].
pub const MAX_REQUESTER_CONTACT: usize = 500;
/// See [`MAX_REQUESTER_NAME`].
pub const MAX_DETAILS: usize = 10_000;

/// Most characters in a reason, basis or note.
pub const MAX_REASON: usize = 2000;

/// Why a change was refused: a rule of the domain, not a fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// INVALID_ARGUMENT: the input breaks a rule, field by field.
    #[error("{}", dps_types::describe_violations(.0))]
    Invalid(Vec<FieldViolation>),
    /// FAILED_PRECONDITION: the lifecycle does not allow this step now.
    #[error(transparent)]
    Illegal(#[from] IllegalStep),
    /// FAILED_PRECONDITION: a rule of law or policy stands in the way.
    #[error("{0}")]
    Precondition(String),
}

/// The requester's relationship to the person the data is about (DESIGN §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    /// The person themselves.
    Subject,
    /// A parent or guardian of a child.
    ParentOrGuardian,
    /// An attorney or deputy (Mental Capacity Act 2005).
    AttorneyOrDeputy,
    /// A relative acting with the person's consent.
    RelativeWithConsent,
    /// A solicitor.
    Solicitor,
    /// Anyone else acting for the person.
    Other,
}

impl Relationship {
    /// Every relationship with its stored code.
    pub const ALL: [(Self, &'static str); 6] = [
        (Self::Subject, "self"),
        (Self::ParentOrGuardian, "parent_or_guardian"),
        (Self::AttorneyOrDeputy, "attorney_or_deputy"),
        (Self::RelativeWithConsent, "relative_with_consent"),
        (Self::Solicitor, "solicitor"),
        (Self::Other, "other"),
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
}

/// Art 20(1): what makes data portable. Each answer is the handler's at intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortabilityCheck {
    /// The person provided the data.
    pub provided_by_person: bool,
    /// Processed on consent or a contract.
    pub consent_or_contract: bool,
    /// Processed by automated means.
    pub automated_processing: bool,
}

impl PortabilityCheck {
    /// Why the request is handled as access instead, or `None` when portability applies.
    pub fn failure(self) -> Option<String> {
        let missing: Vec<&str> = [
            (self.provided_by_person, "not data the person provided"),
            (
                self.consent_or_contract,
                "not processed on consent or contract",
            ),
            (
                self.automated_processing,
                "not processed by automated means",
            ),
        ]
        .into_iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, why)| why)
        .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "handled as access: portability (Art 20(1)) does not apply: {}",
                missing.join(", ")
            )
        })
    }
}

/// Under 18: a child.
pub const ADULT_AGE: u32 = 18;
/// DPA 2018 s208: in Scotland a child of 12 or over is presumed competent.
pub const SCOTTISH_PRESUMED_COMPETENT_AGE: u32 = 12;

/// The personal details of a request: stored only sealed with the person's key (issue 4). Empty
/// when not given, or once the person's key was shredded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalDetails {
    /// Who made the request.
    pub requester_name: Masked<String>,
    /// How to reach them.
    pub requester_contact: Masked<String>,
    /// What was asked for, in the person's words.
    pub details: Masked<String>,
    /// The requester's authority to act for the person.
    pub requester_basis: Masked<String>,
    /// The assessment of a child's competence.
    pub competence_note: Masked<String>,
}

impl PersonalDetails {
    /// How many details there are.
    pub const COUNT: usize = 5;

    /// Each detail's value, in declaration order, for sealing.
    pub fn values(&self) -> [&str; Self::COUNT] {
        [
            self.requester_name.expose(),
            self.requester_contact.expose(),
            self.details.expose(),
            self.requester_basis.expose(),
            self.competence_note.expose(),
        ]
    }

    /// Details from values in declaration order.
    pub fn from_values(values: [Masked<String>; Self::COUNT]) -> Self {
        let [
            requester_name,
            requester_contact,
            details,
            requester_basis,
            competence_note,
        ] = values;
        Self {
            requester_name,
            requester_contact,
            details,
            requester_basis,
            competence_note,
        }
    }
}

/// The rule for a person reference, wherever one is given: required, at most 200 characters.
pub fn check_person_id(v: &mut Violations, person_id: &str) {
    v.check(!person_id.is_empty(), "person_id", "required");
    v.check(
        person_id.chars().count() <= MAX_PERSON_ID,
        "person_id",
        "at most 200 characters",
    );
}

/// `at` to the microsecond, the precision it is stored with, so the request returned at intake
/// is the request read back later.
fn to_micros(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000 * 1_000)
        .unwrap_or(at)
}

/// The fields of a request at intake, as received (proto3 zero values already `None`).
#[derive(Debug, Clone, Default)]
pub struct IntakeInput<'a> {
    /// The right asked for.
    pub kind: Option<RequestKind>,
    /// How it arrived.
    pub channel: Option<Channel>,
    /// The person.
    pub person_id: &'a str,
    /// When it arrived.
    pub received_at: Option<OffsetDateTime>,
    /// Requester's name.
    pub requester_name: &'a str,
    /// Requester's contact.
    pub requester_contact: &'a str,
    /// What was asked.
    pub details: &'a str,
    /// `None`: the person themselves.
    pub relationship: Option<Relationship>,
    /// Authority to act, when not the person.
    pub requester_basis: &'a str,
    /// `(age, note)` when the person is a child.
    pub child: Option<(u32, &'a str)>,
    /// For portability.
    pub portability: Option<PortabilityCheck>,
    /// For an automated-decision request: what the person asks of the decision.
    pub remedies: Vec<Remedy>,
}

/// A request to record, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubjectRequest {
    kind: RequestKind,
    requested_kind: RequestKind,
    kind_reason: String,
    channel: Channel,
    person_id: Masked<String>,
    received_at: OffsetDateTime,
    relationship: Relationship,
    child_age: Option<u32>,
    remedies: Vec<Remedy>,
    personal: PersonalDetails,
}

impl NewSubjectRequest {
    /// Checks every field against `now` and the tenant's `jurisdiction`, and reports all
    /// violations at once (field names as in the resource).
    pub fn parse(
        input: IntakeInput<'_>,
        jurisdiction: Jurisdiction,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let person_id = input.person_id.trim();
        let [requester_name, requester_contact, details, requester_basis] = [
            input.requester_name,
            input.requester_contact,
            input.details,
            input.requester_basis,
        ]
        .map(str::trim);
        let mut v = Violations::new();
        v.check(
            input.kind.is_some(),
            "kind",
            "required: the right being exercised",
        );
        // Verbal requests are valid (003 §3.1.1), but how it arrived must be recorded.
        v.check(input.channel.is_some(), "channel", "required");
        check_person_id(&mut v, person_id);
        // Art 12(3): the response deadline runs from receipt, which cannot be later than now.
        clock::check_past_instant(&mut v, "receive_time", input.received_at, now);
        let relationship = input.relationship.unwrap_or(Relationship::Subject);
        // DESIGN §3.1: a requester who is not the person must state the basis.
        if relationship == Relationship::Subject {
            v.check(
                requester_basis.is_empty(),
                "requester_basis",
                "only when the requester is not the person",
            );
        } else {
            v.check(
                !requester_basis.is_empty(),
                "requester_basis",
                "required when the requester is not the person: their authority to act",
            );
        }
        let mut competence_note = "";
        if let Some((age, note)) = input.child {
            competence_note = note.trim();
            v.check(age < ADULT_AGE, "child_competence.age", "must be under 18");
            // DPA 2018 s208: presumed competent at 12 in Scotland; elsewhere assessed case by case.
            let presumed =
                jurisdiction == Jurisdiction::Scotland && age >= SCOTTISH_PRESUMED_COMPETENT_AGE;
            v.check(
                presumed || !competence_note.is_empty(),
                "child_competence.note",
                "required: the child's competence is assessed case by case (presumed only in \
                 Scotland from 12)",
            );
        }
        for (field, value, max) in [
            ("requester_name", requester_name, MAX_REQUESTER_NAME),
            (
                "requester_contact",
                requester_contact,
                MAX_REQUESTER_CONTACT,
            ),
            ("details", details, MAX_DETAILS),
            ("requester_basis", requester_basis, MAX_REASON),
            ("child_competence.note", competence_note, MAX_REASON),
        ] {
            if value.chars().count() > max {
                v.add(field, format!("at most {max} characters"));
            }
        }
        let remedies = automated::check(&mut v, input.kind, &input.remedies, jurisdiction);
        let requested_kind = input.kind.unwrap_or(RequestKind::Access);
        let (kind, kind_reason) = match (requested_kind, input.portability) {
            (RequestKind::Portability, None) => {
                v.add(
                    "portability_check",
                    "required for portability: provided by the person, consent or contract, \
                     automated processing",
                );
                (requested_kind, String::new())
            }
            // Art 20(1): otherwise the right of access still applies.
            (RequestKind::Portability, Some(check)) => match check.failure() {
                Some(why) => (RequestKind::Access, why),
                None => (requested_kind, String::new()),
            },
            (kind, _) => (kind, String::new()),
        };
        v.finish(Self {
            kind,
            requested_kind,
            kind_reason,
            channel: input.channel.unwrap_or(Channel::Letter),
            person_id: Masked::new(person_id.to_owned()),
            received_at: to_micros(input.received_at.unwrap_or(now)),
            relationship,
            child_age: input.child.map(|(age, _)| age),
            remedies,
            personal: PersonalDetails {
                requester_name: Masked::new(requester_name.to_owned()),
                requester_contact: Masked::new(requester_contact.to_owned()),
                details: Masked::new(details.to_owned()),
                requester_basis: Masked::new(requester_basis.to_owned()),
                competence_note: Masked::new(competence_note.to_owned()),
            },
        })
    }

    /// The right handled.
    pub fn kind(&self) -> RequestKind {
        self.kind
    }

    /// The right asked for (portability handled as access keeps it here).
    pub fn requested_kind(&self) -> RequestKind {
        self.requested_kind
    }

    /// Why the kind handled differs from the kind asked for; empty when it does not.
    pub fn kind_reason(&self) -> &str {
        &self.kind_reason
    }

    /// How the request arrived.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// The suite's opaque reference to the person (personal data: masked in logs).
    pub fn person_id(&self) -> &Masked<String> {
        &self.person_id
    }

    /// When the request reached the controller.
    pub fn received_at(&self) -> OffsetDateTime {
        self.received_at
    }

    /// Who asked, in relation to the person.
    pub fn relationship(&self) -> Relationship {
        self.relationship
    }

    /// The child's age, when the person is a child.
    pub fn child_age(&self) -> Option<u32> {
        self.child_age
    }

    /// What an automated-decision request asks of the decision (empty for other kinds).
    pub fn remedies(&self) -> &[Remedy] {
        &self.remedies
    }

    /// The personal details.
    pub fn personal(&self) -> &PersonalDetails {
        &self.personal
    }
}

/// A request's columns as stored, codes not yet parsed.
#[derive(Debug)]
pub struct StoredRequest<'a> {
    /// Its id.
    pub id: SubjectRequestId,
    /// Stored kind code.
    pub kind: &'a str,
    /// Stored requested kind code.
    pub requested_kind: &'a str,
    /// Why handled as another kind.
    pub kind_reason: String,
    /// Stored channel code.
    pub channel: &'a str,
    /// Stored state code.
    pub state: &'a str,
    /// Stored relationship code.
    pub relationship: &'a str,
    /// Stored jurisdiction code.
    pub jurisdiction: &'a str,
    /// Stored clock status code.
    pub clock_status: &'a str,
    /// The person reference.
    pub person_id: String,
    /// When received.
    pub received_at: OffsetDateTime,
    /// When recorded.
    pub created_at: OffsetDateTime,
    /// The child's age.
    pub child_age: Option<u32>,
    /// Stored remedy codes.
    pub remedies: &'a [String],
    /// The assigned handler.
    pub handler: Option<String>,
    /// Dates and explanation; `status` is ignored (see `clock_status`).
    pub deadlines: RequestDeadlines,
    /// The refusal, if refused.
    pub refusal: Option<RecordedRefusal>,
}

/// A refusal as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRefusal {
    /// What was refused and why.
    pub refusal: Refusal,
    /// Who refused.
    pub refused_by: String,
}

/// A recorded subject request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRequest {
    /// Its id.
    pub id: SubjectRequestId,
    /// What was recorded.
    pub spec: NewSubjectRequest,
    /// Where it is in its lifecycle.
    pub state: RequestState,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// Whether the person's key was shredded, so the personal details are gone.
    pub personal_data_erased: bool,
    /// The rules it runs under, fixed at receipt.
    pub jurisdiction: Jurisdiction,
    /// Who is working on it.
    pub handler: Option<String>,
    /// Its deadlines as last computed.
    pub deadlines: RequestDeadlines,
    /// Its refusal, if refused.
    pub refusal: Option<RecordedRefusal>,
}

impl SubjectRequest {
    /// Rebuilds a stored request; `None` if a stored code is unknown to this version. `personal`
    /// is `None` once the person's key was shredded.
    pub fn from_stored(
        stored: StoredRequest<'_>,
        personal: Option<PersonalDetails>,
    ) -> Option<Self> {
        let mut deadlines = stored.deadlines;
        deadlines.status = ClockStatus::from_code(stored.clock_status)?;
        Some(Self {
            id: stored.id,
            spec: NewSubjectRequest {
                kind: RequestKind::from_code(stored.kind)?,
                requested_kind: RequestKind::from_code(stored.requested_kind)?,
                kind_reason: stored.kind_reason,
                channel: Channel::from_code(stored.channel)?,
                person_id: Masked::new(stored.person_id),
                received_at: stored.received_at,
                relationship: Relationship::from_code(stored.relationship)?,
                child_age: stored.child_age,
                remedies: stored
                    .remedies
                    .iter()
                    .map(|c| Remedy::from_code(c))
                    .collect::<Option<_>>()?,
                personal: personal.clone().unwrap_or_default(),
            },
            state: RequestState::from_code(stored.state)?,
            created_at: stored.created_at,
            personal_data_erased: personal.is_none(),
            jurisdiction: Jurisdiction::from_code(stored.jurisdiction)?,
            handler: stored.handler,
            deadlines,
            refusal: stored.refusal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn input(person_id: &str, received_at: Option<OffsetDateTime>) -> IntakeInput<'_> {
        IntakeInput {
            kind: Some(RequestKind::Access),
            channel: Some(Channel::Phone),
            person_id,
            received_at,
            requester_name: "Jane Doe",
            requester_contact: "jane@example.org",
            relationship: Some(Relationship::AttorneyOrDeputy),
            requester_basis: "lasting power of attorney for health and welfare, registered 2021",
            ..IntakeInput::default()
        }
    }

    fn parse_at(
        person_id: &str,
        received_at: Option<OffsetDateTime>,
    ) -> Result<NewSubjectRequest, Vec<FieldViolation>> {
        NewSubjectRequest::parse(
            input(person_id, received_at),
            Jurisdiction::EnglandAndWales,
            NOW,
        )
    }

    fn fields(err: &[FieldViolation]) -> Vec<&str> {
        err.iter().map(|v| v.field.as_str()).collect()
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewSubjectRequest::parse(
            IntakeInput {
                person_id: "  ",
                ..IntakeInput::default()
            },
            Jurisdiction::EnglandAndWales,
            NOW,
        )
        .expect_err("invalid");
        assert_eq!(
            fields(&err),
            ["kind", "channel", "person_id", "receive_time"]
        );
    }

    #[test]
    fn a_verbal_request_received_earlier_is_recorded() {
        let ok = parse_at(" person-42 ", Some(datetime!(2026-11-24 16:30 UTC))).expect("valid");
        assert_eq!(ok.kind(), RequestKind::Access);
        assert_eq!(ok.channel(), Channel::Phone);
        assert_eq!(ok.person_id().expose(), "person-42");
        assert_eq!(ok.received_at(), datetime!(2026-11-24 16:30 UTC));
        assert_eq!(ok.relationship(), Relationship::AttorneyOrDeputy);
    }

    #[test]
    fn receipt_in_the_future_is_refused_beyond_clock_skew() {
        assert!(parse_at("p", Some(NOW + CLOCK_SKEW)).is_ok());
        let err = parse_at("p", Some(datetime!(2026-11-25 09:05:01 UTC))).expect_err("future");
        assert_eq!(err[0].field, "receive_time");
        assert_eq!(err[0].description, "must not be in the future");
    }

    #[test]
    fn person_references_are_bounded_in_characters() {
        assert!(parse_at(&"é".repeat(MAX_PERSON_ID), Some(NOW)).is_ok());
        let err = parse_at(&"x".repeat(MAX_PERSON_ID + 1), Some(NOW)).expect_err("long");
        assert_eq!(err[0].field, "person_id");
    }

    #[test]
    fn person_references_never_print() {
        let ok = parse_at("person-42", Some(NOW)).expect("valid");
        assert!(!format!("{ok:?}").contains("person-42"));
    }

    #[test]
    fn someone_acting_for_the_person_states_their_basis() {
        let err = NewSubjectRequest::parse(
            IntakeInput {
                requester_basis: " ",
                ..input("p", Some(NOW))
            },
            Jurisdiction::EnglandAndWales,
            NOW,
        )
        .expect_err("no basis");
        assert_eq!(fields(&err), ["requester_basis"]);
        // Unstated relationship: the person themselves, who needs no basis.
        let own = NewSubjectRequest::parse(
            IntakeInput {
                relationship: None,
                requester_basis: "",
                ..input("p", Some(NOW))
            },
            Jurisdiction::EnglandAndWales,
            NOW,
        )
        .expect("own request");
        assert_eq!(own.relationship(), Relationship::Subject);
    }

    #[test]
    fn a_childs_competence_is_noted_except_when_presumed_in_scotland() {
        let child = |age, note, jurisdiction| {
            NewSubjectRequest::parse(
                IntakeInput {
                    relationship: None,
                    requester_basis: "",
                    child: Some((age, note)),
                    ..input("p", Some(NOW))
                },
                jurisdiction,
                NOW,
            )
        };
        let err = child(13, "", Jurisdiction::EnglandAndWales).expect_err("no note");
        assert_eq!(fields(&err), ["child_competence.note"]);
        // DPA 2018 s208: 12 or over in Scotland is presumed competent.
        assert!(child(12, "", Jurisdiction::Scotland).is_ok());
        assert!(child(11, "", Jurisdiction::Scotland).is_err());
        let ok = child(
            15,
            "understands the request; asked alone",
            Jurisdiction::Jersey,
        )
        .expect("noted");
        assert_eq!(ok.child_age(), Some(15));
        assert_eq!(
            fields(&child(18, "adult", Jurisdiction::Scotland).expect_err("adult")),
            ["child_competence.age"]
        );
    }

    #[test]
    fn portability_that_fails_the_check_is_handled_as_access_with_the_reason() {
        let portability = |check| {
            NewSubjectRequest::parse(
                IntakeInput {
                    kind: Some(RequestKind::Portability),
                    portability: check,
                    ..input("p", Some(NOW))
                },
                Jurisdiction::EnglandAndWales,
                NOW,
            )
        };
        assert_eq!(
            fields(&portability(None).expect_err("unchecked")),
            ["portability_check"]
        );
        let all = PortabilityCheck {
            provided_by_person: true,
            consent_or_contract: true,
            automated_processing: true,
        };
        let ok = portability(Some(all)).expect("portable");
        assert_eq!(ok.kind(), RequestKind::Portability);
        assert_eq!(ok.kind_reason(), "");
        let paper = portability(Some(PortabilityCheck {
            automated_processing: false,
            ..all
        }))
        .expect("access instead");
        assert_eq!(paper.kind(), RequestKind::Access);
        assert_eq!(paper.requested_kind(), RequestKind::Portability);
        assert_eq!(
            paper.kind_reason(),
            "handled as access: portability (Art 20(1)) does not apply: not processed by \
             automated means"
        );
    }

    #[test]
    fn codes_round_trip() {
        for (kind, code) in RequestKind::ALL {
            assert_eq!(RequestKind::from_code(code), Some(kind));
            assert_eq!(kind.code(), code);
        }
        for (channel, code) in Channel::ALL {
            assert_eq!(Channel::from_code(code), Some(channel));
            assert_eq!(channel.code(), code);
        }
        for (state, code) in RequestState::ALL {
            assert_eq!(RequestState::from_code(code), Some(state));
            assert_eq!(state.code(), code);
        }
        for (r, code) in Relationship::ALL {
            assert_eq!(Relationship::from_code(code), Some(r));
        }
        assert_eq!(RequestKind::from_code("complaint"), None);
        assert_eq!(Channel::from_code("fax"), None);
    }

    #[test]
    fn resource_names_parse_only_with_their_collection() {
        let id = SubjectRequestId::generate();
        assert_eq!(SubjectRequestId::parse_name(&id.to_string()), Some(id));
        assert_eq!(
            SubjectRequestId::parse_name(&format!("purposes/{}", id.as_uuid())),
            None
        );
        assert_eq!(
            SubjectRequestId::parse_name("subjectRequests/not-a-uuid"),
            None
        );
    }

    #[test]
    fn personal_details_are_optional_but_bounded() {
        let ok = parse_at("person-1", Some(NOW)).expect("valid");
        assert_eq!(ok.personal().requester_contact.expose(), "jane@example.org");
        assert_eq!(format!("{:?}", ok.personal()).matches("jane").count(), 0);
        let long = "x".repeat(MAX_DETAILS + 1);
        let err = NewSubjectRequest::parse(
            IntakeInput {
                details: &long,
                ..input("person-1", Some(NOW))
            },
            Jurisdiction::EnglandAndWales,
            NOW,
        )
        .expect_err("too long");
        assert_eq!(err[0].field, "details");
        assert_eq!(err[0].description, "at most 10000 characters");
    }
}
