//! Rules of the subject-requests domain. No sqlx, tonic or tokio here.

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

/// Where a request is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Recorded as received; every request starts here.
    Received,
}

impl RequestState {
    /// Every state with its stored code.
    pub const ALL: [(Self, &'static str); 1] = [(Self::Received, "received")];

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
}

impl PersonalDetails {
    /// Each detail's value, in declaration order, for sealing.
    pub fn values(&self) -> [&str; 3] {
        [
            self.requester_name.expose(),
            self.requester_contact.expose(),
            self.details.expose(),
        ]
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

/// A request to record, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubjectRequest {
    kind: RequestKind,
    channel: Channel,
    person_id: Masked<String>,
    received_at: OffsetDateTime,
    personal: PersonalDetails,
}

impl NewSubjectRequest {
    /// Checks every field against `now` and reports all violations at once (field names as in the
    /// resource).
    pub fn parse(
        kind: Option<RequestKind>,
        channel: Option<Channel>,
        person_id: &str,
        received_at: Option<OffsetDateTime>,
        personal: [&str; 3],
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let person_id = person_id.trim();
        let [requester_name, requester_contact, details] = personal.map(str::trim);
        let mut v = Violations::new();
        v.check(
            kind.is_some(),
            "kind",
            "required: the right being exercised",
        );
        // Verbal requests are valid (003 §3.1.1), but how it arrived must be recorded.
        v.check(channel.is_some(), "channel", "required");
        check_person_id(&mut v, person_id);
        match received_at {
            None => v.add("receive_time", "required"),
            // Art 12(3): the response deadline runs from receipt, which cannot be later than now.
            Some(at) => v.check(
                at <= now + CLOCK_SKEW,
                "receive_time",
                "must not be in the future",
            ),
        }
        for (field, value, max) in [
            ("requester_name", requester_name, MAX_REQUESTER_NAME),
            (
                "requester_contact",
                requester_contact,
                MAX_REQUESTER_CONTACT,
            ),
            ("details", details, MAX_DETAILS),
        ] {
            if value.chars().count() > max {
                v.add(field, format!("at most {max} characters"));
            }
        }
        v.finish(Self {
            kind: kind.unwrap_or(RequestKind::Access),
            channel: channel.unwrap_or(Channel::Letter),
            person_id: Masked::new(person_id.to_owned()),
            received_at: received_at.unwrap_or(now),
            personal: PersonalDetails {
                requester_name: Masked::new(requester_name.to_owned()),
                requester_contact: Masked::new(requester_contact.to_owned()),
                details: Masked::new(details.to_owned()),
            },
        })
    }

    /// The right being exercised.
    pub fn kind(&self) -> RequestKind {
        self.kind
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
    /// Stored channel code.
    pub channel: &'a str,
    /// Stored state code.
    pub state: &'a str,
    /// The person reference.
    pub person_id: String,
    /// When received.
    pub received_at: OffsetDateTime,
    /// When recorded.
    pub created_at: OffsetDateTime,
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
}

impl SubjectRequest {
    /// Rebuilds a stored request; `None` if a stored code is unknown to this version. `personal`
    /// is `None` once the person's key was shredded.
    pub fn from_stored(
        stored: StoredRequest<'_>,
        personal: Option<PersonalDetails>,
    ) -> Option<Self> {
        Some(Self {
            id: stored.id,
            spec: NewSubjectRequest {
                kind: RequestKind::from_code(stored.kind)?,
                channel: Channel::from_code(stored.channel)?,
                person_id: Masked::new(stored.person_id),
                received_at: stored.received_at,
                personal: personal.clone().unwrap_or_default(),
            },
            state: RequestState::from_code(stored.state)?,
            created_at: stored.created_at,
            personal_data_erased: personal.is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn parse_at(
        person_id: &str,
        received_at: Option<OffsetDateTime>,
    ) -> Result<NewSubjectRequest, Vec<FieldViolation>> {
        NewSubjectRequest::parse(
            Some(RequestKind::Access),
            Some(Channel::Phone),
            person_id,
            received_at,
            [
                "Jane Doe (daughter, lasting power of attorney)",
                "jane@example.org",
                "",
            ],
            NOW,
        )
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewSubjectRequest::parse(None, None, "  ", None, ["", "", ""], NOW)
            .expect_err("invalid");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["kind", "channel", "person_id", "receive_time"]);
    }

    #[test]
    fn a_verbal_request_received_earlier_is_recorded() {
        let ok = parse_at(" person-42 ", Some(datetime!(2026-11-24 16:30 UTC))).expect("valid");
        assert_eq!(ok.kind(), RequestKind::Access);
        assert_eq!(ok.channel(), Channel::Phone);
        assert_eq!(ok.person_id().expose(), "person-42");
        assert_eq!(ok.received_at(), datetime!(2026-11-24 16:30 UTC));
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
            Some(RequestKind::Access),
            Some(Channel::Email),
            "person-1",
            Some(NOW),
            ["", "", &long],
            NOW,
        )
        .expect_err("too long");
        assert_eq!(err[0].field, "details");
        assert_eq!(err[0].description, "at most 10000 characters");
    }
}
