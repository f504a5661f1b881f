//! Containment and follow-up (004 appendix 1): actions with owners and due times, the built-in
//! misdirected-email playbook, third parties told (police, insurers, banks) and the
//! post-incident review.

use dps_types::{FieldViolation, Violations};
use time::{Duration, OffsetDateTime};

use super::regulator::text;
use super::{CLOCK_SKEW, MAX_REASON, MAX_SHORT, MAX_TEXT, code_of, from_code};

/// Most characters in an action's description.
pub const MAX_ACTION: usize = 500;

/// An action to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    /// What to do.
    pub description: String,
    /// Who does it.
    pub owner: String,
    /// By when.
    pub due_at: OffsetDateTime,
    /// The playbook that created it, if any.
    pub playbook: Option<Playbook>,
}

impl NewAction {
    /// Checks an action (fields as in the action message).
    pub fn parse(
        description: &str,
        owner: &str,
        due_at: Option<OffsetDateTime>,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let description = text(&mut v, "description", description, MAX_ACTION);
        let owner = text(&mut v, "owner", owner, MAX_SHORT);
        v.check(due_at.is_some(), "due_time", "required");
        v.finish(())?;
        Ok(Self {
            description,
            owner,
            due_at: due_at.expect("checked above"),
            playbook: None,
        })
    }
}

/// A recorded action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Its id.
    pub id: uuid::Uuid,
    /// What was recorded.
    pub spec: NewAction,
    /// When it was done, and what was done.
    pub completed: Option<(OffsetDateTime, String)>,
}

impl Action {
    /// Marks it done; done once only.
    pub fn complete(&self, outcome: &str) -> Result<String, super::Rejection> {
        if self.completed.is_some() {
            return Err(super::Rejection::Precondition(
                "the action is already complete".into(),
            ));
        }
        let outcome = outcome.trim();
        if outcome.chars().count() > MAX_REASON {
            return Err(super::Rejection::Invalid(vec![FieldViolation {
                field: "outcome".into(),
                description: "at most 2000 characters".into(),
            }]));
        }
        Ok(outcome.to_owned())
    }
}

/// A built-in containment playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playbook {
    /// 004 appendix 1: special category data "accidentally made available via email".
    MisdirectedEmail,
}

impl Playbook {
    /// Every playbook with its stored code.
    pub const ALL: [(Self, &'static str); 1] = [(Self::MisdirectedEmail, "misdirected_email")];

    /// The stored code.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        from_code(&Self::ALL, code)
    }

    /// The playbook's actions for `owner`, due counted from awareness. The policy says "as soon
    /// as they become aware" for the recall; the other times are the suite's defaults, chosen so
    /// everything is settled within the 72 hours the regulator's report is due in.
    pub fn actions(self, owner: &str, aware_at: OffsetDateTime) -> Vec<NewAction> {
        let steps: [(&str, i64); 4] = match self {
            Self::MisdirectedEmail => [
                (
                    "Recall the email; if the sender cannot, ask ICT to recall it",
                    1,
                ),
                (
                    "Contact each recipient: explain it was sent in error and ask them to delete \
                     it and not share, publish, save or replicate it",
                    24,
                ),
                (
                    "Obtain written confirmation from every recipient that they have deleted it",
                    48,
                ),
                (
                    "Search the internet for the information; if published, ask the publisher \
                     or site owner to remove and delete it",
                    72,
                ),
            ],
        };
        steps
            .into_iter()
            .map(|(description, hours)| NewAction {
                description: description.to_owned(),
                owner: owner.to_owned(),
                due_at: aware_at + Duration::hours(hours),
                playbook: Some(self),
            })
            .collect()
    }
}

/// A third party told of the breach (004 appendix 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// Police.
    Police,
    /// Insurer.
    Insurer,
    /// Bank.
    Bank,
    /// Credit card company.
    CreditCardCompany,
    /// Anyone else who can help mitigate the loss.
    Other,
}

impl Party {
    /// Every party with its stored code.
    pub const ALL: [(Self, &'static str); 5] = [
        (Self::Police, "police"),
        (Self::Insurer, "insurer"),
        (Self::Bank, "bank"),
        (Self::CreditCardCompany, "credit_card_company"),
        (Self::Other, "other"),
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

/// A third party told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThirdPartyNotice {
    /// Who.
    pub party: Party,
    /// The organisation.
    pub organisation: String,
    /// Their reference.
    pub reference: String,
    /// When.
    pub notified_at: OffsetDateTime,
}

/// Checks that `at` lies between awareness and now, naming `field`.
pub fn check_after_awareness(
    v: &mut Violations,
    field: &str,
    at: Option<OffsetDateTime>,
    aware_at: OffsetDateTime,
    now: OffsetDateTime,
) {
    match at {
        None => v.add(field, "required"),
        Some(at) if at < aware_at => v.add(field, "must not be before the incident's aware_time"),
        Some(at) if at > now + CLOCK_SKEW => v.add(field, "must not be in the future"),
        Some(_) => {}
    }
}

impl ThirdPartyNotice {
    /// Checks a notice against the incident's awareness (fields under `notice.`).
    pub fn parse(
        party: Option<Party>,
        organisation: &str,
        reference: &str,
        notified_at: Option<OffsetDateTime>,
        aware_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        v.check(party.is_some(), "notice.party", "required");
        let organisation = text(&mut v, "notice.organisation", organisation, MAX_SHORT);
        v.check(
            reference.trim().chars().count() <= MAX_SHORT,
            "notice.reference",
            "at most 200 characters",
        );
        check_after_awareness(&mut v, "notice.notify_time", notified_at, aware_at, now);
        v.finish(())?;
        Ok(Self {
            party: party.expect("checked above"),
            organisation,
            reference: reference.trim().to_owned(),
            notified_at: notified_at.expect("checked above"),
        })
    }
}

/// The post-incident review (004 appendix 1: "facts and cause, effects, action taken").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Facts and cause.
    pub facts_and_cause: String,
    /// Effects.
    pub effects: String,
    /// Lessons learned.
    pub lessons_learned: String,
    /// When the meeting was held.
    pub reviewed_at: OffsetDateTime,
    /// Who recorded it.
    pub reviewed_by: String,
}

impl Review {
    /// Checks a review against the incident's awareness (fields under `review.`).
    pub fn parse(
        facts_and_cause: &str,
        effects: &str,
        lessons_learned: &str,
        reviewed_at: Option<OffsetDateTime>,
        reviewed_by: &str,
        aware_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let facts_and_cause = text(&mut v, "review.facts_and_cause", facts_and_cause, MAX_TEXT);
        let effects = text(&mut v, "review.effects", effects, MAX_TEXT);
        let lessons_learned = text(&mut v, "review.lessons_learned", lessons_learned, MAX_TEXT);
        check_after_awareness(&mut v, "review.review_time", reviewed_at, aware_at, now);
        v.finish(())?;
        Ok(Self {
            facts_and_cause,
            effects,
            lessons_learned,
            reviewed_at: reviewed_at.expect("checked above"),
            reviewed_by: reviewed_by.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_misdirected_email_playbook_follows_the_policy_steps() {
        let aware = datetime!(2026-11-20 16:00 UTC);
        let actions = Playbook::MisdirectedEmail.actions("DPO", aware);
        let steps: Vec<(&str, OffsetDateTime)> = actions
            .iter()
            .map(|a| {
                (
                    a.description.split_whitespace().next().unwrap_or(""),
                    a.due_at,
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                ("Recall", datetime!(2026-11-20 17:00 UTC)),
                ("Contact", datetime!(2026-11-21 16:00 UTC)),
                ("Obtain", datetime!(2026-11-22 16:00 UTC)),
                ("Search", datetime!(2026-11-23 16:00 UTC)),
            ]
        );
        assert!(actions.iter().all(|a| a.owner == "DPO"));
    }

    #[test]
    fn notices_and_reviews_fall_between_awareness_and_now() {
        let aware = datetime!(2026-11-20 16:00 UTC);
        let now = datetime!(2026-11-25 09:00 UTC);
        let err = ThirdPartyNotice::parse(
            None,
            "",
            "",
            Some(datetime!(2026-11-20 15:59 UTC)),
            aware,
            now,
        )
        .expect_err("invalid");
        let fields: Vec<_> = err.into_iter().map(|v| v.field).collect();
        assert_eq!(
            fields,
            ["notice.party", "notice.organisation", "notice.notify_time"]
        );
        let err = Review::parse(
            "a",
            "b",
            "c",
            Some(now + Duration::hours(1)),
            "dpo",
            aware,
            now,
        )
        .expect_err("future");
        assert_eq!(err[0].field, "review.review_time");
    }
}
