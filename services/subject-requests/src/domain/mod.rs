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

/// A request to record, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubjectRequest {
    kind: RequestKind,
    channel: Channel,
    person_id: Masked<String>,
    received_at: OffsetDateTime,
}

impl NewSubjectRequest {
    /// Checks every field against `now` and reports all violations at once (field names as in the
    /// resource).
    pub fn parse(
        kind: Option<RequestKind>,
        channel: Option<Channel>,
        person_id: &str,
        received_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let person_id = person_id.trim();
        let mut v = Violations::new();
        v.check(
            kind.is_some(),
            "kind",
            "required: the right being exercised",
        );
        // Verbal requests are valid (003 §3.1.1), but how it arrived must be recorded.
        v.check(channel.is_some(), "channel", "required");
        v.check(!person_id.is_empty(), "person_id", "required");
        v.check(
            person_id.chars().count() <= MAX_PERSON_ID,
            "person_id",
            "at most 200 characters",
        );
        match received_at {
            None => v.add("receive_time", "required"),
            // Art 12(3): the response deadline runs from receipt, which cannot be later than now.
            Some(at) => v.check(
                at <= now + CLOCK_SKEW,
                "receive_time",
                "must not be in the future",
            ),
        }
        v.finish(Self {
            kind: kind.unwrap_or(RequestKind::Access),
            channel: channel.unwrap_or(Channel::Letter),
            person_id: Masked::new(person_id.to_owned()),
            received_at: received_at.unwrap_or(now),
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
}

impl SubjectRequest {
    /// Rebuilds a stored request; `None` if a stored code is unknown to this version.
    pub fn from_stored(
        id: SubjectRequestId,
        kind: &str,
        channel: &str,
        person_id: String,
        state: &str,
        received_at: OffsetDateTime,
        created_at: OffsetDateTime,
    ) -> Option<Self> {
        Some(Self {
            id,
            spec: NewSubjectRequest {
                kind: RequestKind::from_code(kind)?,
                channel: Channel::from_code(channel)?,
                person_id: Masked::new(person_id),
                received_at,
            },
            state: RequestState::from_code(state)?,
            created_at,
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
            NOW,
        )
    }

    #[test]
    fn every_missing_field_is_reported_at_once() {
        let err = NewSubjectRequest::parse(None, None, "  ", None, NOW).expect_err("invalid");
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
}
