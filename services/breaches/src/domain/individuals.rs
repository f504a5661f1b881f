//! Notices to the people affected (003 §12.5; 004 appendix 1): in clear and plain language, what
//! happened, the likely consequences, what we did, what they can do, and who to contact; with
//! when and how each was sent. A public communication stands in when telling each person would
//! take disproportionate effort (003 §12.6.3).

use dps_types::{FieldViolation, Masked, Violations};
use time::OffsetDateTime;

use super::followup::check_after_awareness;
use super::regulator::text;
use super::{MAX_SHORT, MAX_TEXT, code_of, from_code};

/// Who a notice went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// One affected person.
    Person,
    /// A group of affected people.
    Group,
    /// The public (003 §12.6.3).
    Public,
}

impl Audience {
    /// Every audience with its stored code.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::Person, "person"),
        (Self::Group, "group"),
        (Self::Public, "public"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        from_code(&Self::ALL, code)
    }
}

/// How a notice was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Letter.
    Letter,
    /// Email.
    Email,
    /// Telephone.
    Phone,
    /// In person.
    InPerson,
    /// A web page or form.
    Web,
    /// Through a platform.
    Platform,
}

impl Channel {
    /// Every channel with its stored code.
    pub const ALL: [(Self, &'static str); 6] = [
        (Self::Letter, "letter"),
        (Self::Email, "email"),
        (Self::Phone, "phone"),
        (Self::InPerson, "in_person"),
        (Self::Web, "web"),
        (Self::Platform, "platform"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        from_code(&Self::ALL, code)
    }
}

/// The personal parts of a notice, sealed at rest, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoticeText {
    /// The person's name, or the group.
    pub recipient: Masked<String>,
    /// What happened.
    pub what_happened: Masked<String>,
    /// Likely consequences.
    pub likely_consequences: Masked<String>,
    /// What we did.
    pub measures_taken: Masked<String>,
    /// What they can do.
    pub what_they_can_do: Masked<String>,
}

impl NoticeText {
    /// How many sealed fields.
    pub const COUNT: usize = 5;

    /// The values, in column order.
    pub fn values(&self) -> [&str; Self::COUNT] {
        [
            self.recipient.expose(),
            self.what_happened.expose(),
            self.likely_consequences.expose(),
            self.measures_taken.expose(),
            self.what_they_can_do.expose(),
        ]
    }

    /// From values in column order.
    pub fn from_values([recipient, what, consequences, measures, can_do]: [String; 5]) -> Self {
        Self {
            recipient: recipient.into(),
            what_happened: what.into(),
            likely_consequences: consequences.into(),
            measures_taken: measures.into(),
            what_they_can_do: can_do.into(),
        }
    }
}

/// A notice as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndividualNotice {
    /// Who to.
    pub audience: Audience,
    /// The suite's reference to the person (person notices only).
    pub person_id: Option<String>,
    /// The content (`None` once the person's key was shredded).
    pub text: Option<NoticeText>,
    /// How.
    pub channel: Channel,
    /// When.
    pub sent_at: OffsetDateTime,
}

impl IndividualNotice {
    /// Checks a notice (fields under `notification.`).
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        audience: Option<Audience>,
        person_id: &str,
        text_in: [&str; NoticeText::COUNT],
        channel: Option<Channel>,
        sent_at: Option<OffsetDateTime>,
        aware_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let person_id = person_id.trim();
        match audience {
            None => v.add("notification.audience", "required"),
            Some(Audience::Person) => v.check(
                !person_id.is_empty() && person_id.chars().count() <= MAX_SHORT,
                "notification.person_id",
                "required for a notice to one person, at most 200 characters",
            ),
            Some(_) => v.check(
                person_id.is_empty(),
                "notification.person_id",
                "only for a notice to one person",
            ),
        }
        let [recipient, what, consequences, measures, can_do] = text_in;
        let recipient = text(&mut v, "notification.recipient", recipient, MAX_SHORT);
        let what = text(&mut v, "notification.what_happened", what, MAX_TEXT);
        let consequences = text(
            &mut v,
            "notification.likely_consequences",
            consequences,
            MAX_TEXT,
        );
        let measures = text(&mut v, "notification.measures_taken", measures, MAX_TEXT);
        let can_do = text(&mut v, "notification.what_they_can_do", can_do, MAX_TEXT);
        v.check(channel.is_some(), "notification.channel", "required");
        check_after_awareness(&mut v, "notification.send_time", sent_at, aware_at, now);
        v.finish(())?;
        Ok(Self {
            audience: audience.expect("checked above"),
            person_id: (!person_id.is_empty()).then(|| person_id.to_owned()),
            text: Some(NoticeText::from_values([
                recipient,
                what,
                consequences,
                measures,
                can_do,
            ])),
            channel: channel.expect("checked above"),
            sent_at: sent_at.expect("checked above"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_notice_to_a_person_names_them_and_group_notices_do_not() {
        let aware = datetime!(2026-11-20 16:00 UTC);
        let now = datetime!(2026-11-25 09:00 UTC);
        let text = ["Mrs A", "what", "might", "did", "can"];
        let ok = IndividualNotice::parse(
            Some(Audience::Person),
            "person-1",
            text,
            Some(Channel::Letter),
            Some(now),
            aware,
            now,
        )
        .expect("valid");
        assert_eq!(ok.person_id.as_deref(), Some("person-1"));
        let err = IndividualNotice::parse(
            Some(Audience::Person),
            "",
            ["", "w", "l", "m", "c"],
            None,
            Some(aware - time::Duration::hours(1)),
            aware,
            now,
        )
        .expect_err("invalid");
        let fields: Vec<_> = err.into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            [
                "notification.person_id",
                "notification.recipient",
                "notification.channel",
                "notification.send_time"
            ]
        );
        assert!(
            IndividualNotice::parse(
                Some(Audience::Group),
                "person-1",
                text,
                Some(Channel::Email),
                Some(now),
                aware,
                now
            )
            .is_err()
        );
    }
}
