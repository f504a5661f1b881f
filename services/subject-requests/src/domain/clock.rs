//! A request's clock events and the deadlines the shared engine gives for them (DESIGN §4). The
//! arithmetic is the engine's; this module only says which events a request may record and turns
//! the engine's answer into what is stored.

use dps_deadlines::{ClockError, Deadlines, Event, EventKind, Status};
use dps_types::Violations;
use time::{Date, OffsetDateTime};

use super::lifecycle::Step;
use super::settings::Jurisdiction;
use super::{CLOCK_SKEW, MAX_REASON, Rejection, RequestKind};

/// Why a fee is charged (Art 12(5), 15(3); 003 §13.6: a first copy is free).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeGround {
    /// Further copies of the same information.
    FurtherCopy,
    /// A manifestly unfounded request.
    ManifestlyUnfounded,
    /// A manifestly excessive request.
    ManifestlyExcessive,
}

impl FeeGround {
    /// Every ground with its stored code.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::FurtherCopy, "further_copy"),
        (Self::ManifestlyUnfounded, "manifestly_unfounded"),
        (Self::ManifestlyExcessive, "manifestly_excessive"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(g, _)| *g == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(g, _)| *g)
    }
}

/// What happened to the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockEventKind {
    /// Identity information asked for.
    IdentityRequested,
    /// It arrived.
    IdentityReceived,
    /// A fee asked for, on a ground, in pence, with the reason told to the person.
    FeeRequested {
        /// Why a fee is due.
        ground: FeeGround,
        /// How much, in pence.
        amount_pence: i64,
    },
    /// The fee was paid.
    FeePaid,
    /// Clarification asked for.
    ClarificationRequested,
    /// It arrived.
    ClarificationReceived,
    /// The period extended (at the instant the person was told).
    Extended,
    /// Refused (recorded by a refusal, never directly).
    Refused,
}

impl ClockEventKind {
    /// The stored code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IdentityRequested => "identity_requested",
            Self::IdentityReceived => "identity_received",
            Self::FeeRequested { .. } => "fee_requested",
            Self::FeePaid => "fee_paid",
            Self::ClarificationRequested => "clarification_requested",
            Self::ClarificationReceived => "clarification_received",
            Self::Extended => "extended",
            Self::Refused => "refused",
        }
    }

    /// The lifecycle step it is.
    pub fn step(&self) -> Step {
        match self {
            Self::IdentityRequested => Step::IdentityRequested,
            Self::IdentityReceived => Step::IdentityReceived,
            Self::FeeRequested { .. } => Step::FeeRequested,
            Self::FeePaid => Step::FeePaid,
            Self::ClarificationRequested => Step::ClarificationRequested,
            Self::ClarificationReceived => Step::ClarificationReceived,
            Self::Extended => Step::Extend,
            Self::Refused => Step::Refuse,
        }
    }
}

/// A clock event, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockEvent {
    /// What happened.
    pub kind: ClockEventKind,
    /// When.
    pub at: OffsetDateTime,
    /// Why (extension, fee); empty otherwise.
    pub reason: String,
}

/// A clock event's fields as received, before they are checked.
#[derive(Debug, Clone, Copy)]
pub enum ClockEventInput {
    /// Identity information asked for.
    IdentityRequested,
    /// It arrived.
    IdentityReceived,
    /// A fee asked for.
    FeeRequested {
        /// `None` when not given.
        ground: Option<FeeGround>,
        /// As given.
        amount_pence: i64,
    },
    /// The fee was paid.
    FeePaid,
    /// Clarification asked for.
    ClarificationRequested,
    /// It arrived.
    ClarificationReceived,
    /// The period extended.
    Extended,
}

impl ClockEvent {
    /// Checks a clock event's fields against `now`, reporting every violation at once.
    pub fn parse(
        kind: Option<ClockEventInput>,
        at: Option<OffsetDateTime>,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<dps_types::FieldViolation>> {
        let reason = reason.trim();
        let mut v = Violations::new();
        let kind = match kind {
            None => {
                v.add("kind", "required");
                None
            }
            Some(ClockEventInput::FeeRequested {
                ground,
                amount_pence,
            }) => {
                // Art 12(5) and 15(3): a fee only on these grounds, and reasonable.
                v.check(
                    ground.is_some(),
                    "fee_ground",
                    "required: further copies, or a manifestly unfounded or excessive request",
                );
                v.check(amount_pence > 0, "fee_amount_pence", "must be more than 0");
                v.check(
                    !reason.is_empty(),
                    "reason",
                    "required: why the fee is charged, as told to the person",
                );
                ground.map(|ground| ClockEventKind::FeeRequested {
                    ground,
                    amount_pence,
                })
            }
            Some(ClockEventInput::Extended) => {
                // Art 12(3): the person is told of the extension and why.
                v.check(
                    !reason.is_empty(),
                    "reason",
                    "required: why the request is complex or numerous, as told to the person",
                );
                Some(ClockEventKind::Extended)
            }
            Some(ClockEventInput::IdentityRequested) => Some(ClockEventKind::IdentityRequested),
            Some(ClockEventInput::IdentityReceived) => Some(ClockEventKind::IdentityReceived),
            Some(ClockEventInput::FeePaid) => Some(ClockEventKind::FeePaid),
            Some(ClockEventInput::ClarificationRequested) => {
                Some(ClockEventKind::ClarificationRequested)
            }
            Some(ClockEventInput::ClarificationReceived) => {
                Some(ClockEventKind::ClarificationReceived)
            }
        };
        check_past_instant(&mut v, "occur_time", at, now);
        v.check(
            reason.chars().count() <= MAX_REASON,
            "reason",
            "at most 2000 characters",
        );
        let (Some(kind), Some(at)) = (kind, at) else {
            return Err(v.finish(()).err().unwrap_or_default());
        };
        v.finish(Self {
            kind,
            at,
            reason: reason.to_owned(),
        })
    }

    /// Rules that depend on the request: a further-copy fee is for access only.
    pub fn check_for(&self, kind: RequestKind) -> Result<(), Rejection> {
        match self.kind {
            ClockEventKind::FeeRequested {
                ground: FeeGround::FurtherCopy,
                ..
            } if !matches!(kind, RequestKind::Access | RequestKind::Portability) => {
                Err(Rejection::Precondition(
                    "a fee for further copies applies only to access and portability requests"
                        .into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Required, and not in the future beyond clock skew.
pub(super) fn check_past_instant(
    v: &mut Violations,
    field: &str,
    at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) {
    match at {
        None => v.add(field, "required"),
        Some(at) => v.check(at <= now + CLOCK_SKEW, field, "must not be in the future"),
    }
}

/// Where the clock stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockStatus {
    /// Running.
    Running,
    /// Not started: identity asked for.
    AwaitingIdentity,
    /// Not started: fee asked for.
    AwaitingFee,
    /// Stopped awaiting clarification.
    Paused,
    /// Stopped for good.
    Refused,
}

impl ClockStatus {
    /// Every status with its stored code.
    pub const ALL: [(Self, &'static str); 5] = [
        (Self::Running, "running"),
        (Self::AwaitingIdentity, "awaiting_identity"),
        (Self::AwaitingFee, "awaiting_fee"),
        (Self::Paused, "paused"),
        (Self::Refused, "refused"),
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
}

/// A request's deadlines as stored, so lists can sort and filter on them in SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDeadlines {
    /// Where the clock stands.
    pub status: ClockStatus,
    /// Day 1 of the period, once known.
    pub start: Option<Date>,
    /// The response is due by.
    pub due: Option<Date>,
    /// A refusal is due by (unextended).
    pub refusal_due: Option<Date>,
    /// The person must be told of an extension by.
    pub extension_notice_due: Option<Date>,
    /// When extended.
    pub extended_on: Option<Date>,
    /// The engine's explanation, line by line.
    pub explanation: Vec<String>,
    /// Things to look at.
    pub warnings: Vec<String>,
}

impl From<Deadlines> for RequestDeadlines {
    fn from(d: Deadlines) -> Self {
        Self {
            status: match d.status {
                Status::Running => ClockStatus::Running,
                Status::AwaitingIdentity(_) => ClockStatus::AwaitingIdentity,
                Status::AwaitingFee(_) => ClockStatus::AwaitingFee,
                Status::Paused(_) => ClockStatus::Paused,
                Status::Refused(_) => ClockStatus::Refused,
            },
            start: d.start,
            due: d.due.map(|due| due.date),
            refusal_due: d.refusal_due.map(|due| due.date),
            extension_notice_due: d.extension_notice_due.map(|due| due.date),
            extended_on: d.extended_on,
            explanation: d.explanation,
            warnings: d.warnings,
        }
    }
}

impl RequestDeadlines {
    /// Whether a request in an open state is past its due date on `today`.
    pub fn overdue(&self, open: bool, today: Date) -> bool {
        open && self.due.is_some_and(|due| due < today)
    }
}

/// The deadlines of a request received at `received_at` under `jurisdiction`, with `events`
/// (any order), recomputed from scratch by the engine.
pub fn evaluate(
    jurisdiction: Jurisdiction,
    received_at: OffsetDateTime,
    events: &[ClockEvent],
) -> Result<RequestDeadlines, Rejection> {
    let mut all = vec![Event::new(received_at, EventKind::Received)];
    all.extend(events.iter().map(|e| {
        Event::new(
            e.at,
            match e.kind {
                ClockEventKind::IdentityRequested => EventKind::IdentityRequested,
                ClockEventKind::IdentityReceived => EventKind::IdentityReceived,
                ClockEventKind::FeeRequested { .. } => EventKind::FeeRequested,
                ClockEventKind::FeePaid => EventKind::FeePaid,
                ClockEventKind::ClarificationRequested => EventKind::ClarificationRequested,
                ClockEventKind::ClarificationReceived => EventKind::ClarificationReceived,
                ClockEventKind::Extended => EventKind::Extended {
                    reason: e.reason.clone(),
                },
                ClockEventKind::Refused => EventKind::Refused,
            },
        )
    }));
    jurisdiction
        .clock()
        .evaluate(&all)
        .map(RequestDeadlines::from)
        .map_err(clock_rejection)
}

/// The engine's refusal of a history, as the service reports it.
fn clock_rejection(err: ClockError) -> Rejection {
    if err.is_invalid_argument() {
        let field = match err {
            ClockError::ExtensionWithoutReason => "reason",
            _ => "occur_time",
        };
        Rejection::Invalid(vec![dps_types::FieldViolation {
            field: field.into(),
            description: err.to_string(),
        }])
    } else {
        Rejection::Precondition(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn event(kind: ClockEventKind, at: OffsetDateTime) -> ClockEvent {
        ClockEvent {
            kind,
            at,
            reason: "many records across three homes".into(),
        }
    }

    #[test]
    fn an_extension_needs_a_reason_and_a_fee_its_ground() {
        let err = ClockEvent::parse(Some(ClockEventInput::Extended), Some(NOW), " ", NOW)
            .expect_err("no reason");
        assert_eq!(err[0].field, "reason");
        let err = ClockEvent::parse(
            Some(ClockEventInput::FeeRequested {
                ground: None,
                amount_pence: 0,
            }),
            None,
            "",
            NOW,
        )
        .expect_err("nothing");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["fee_ground", "fee_amount_pence", "reason", "occur_time"]
        );
        let err = ClockEvent::parse(None, Some(NOW + time::Duration::hours(1)), "", NOW)
            .expect_err("future");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["kind", "occur_time"]);
    }

    #[test]
    fn a_further_copy_fee_is_for_access_only() {
        let fee = event(
            ClockEventKind::FeeRequested {
                ground: FeeGround::FurtherCopy,
                amount_pence: 1000,
            },
            NOW,
        );
        assert!(fee.check_for(RequestKind::Access).is_ok());
        assert!(matches!(
            fee.check_for(RequestKind::Erasure),
            Err(Rejection::Precondition(_))
        ));
    }

    #[test]
    fn a_second_extension_is_a_failed_precondition() {
        // Received Mon 2 Mar 2026 → due Thu 2 Apr; extended on 3 and 4 Mar.
        let received = datetime!(2026-03-02 10:00 UTC);
        let once = [event(
            ClockEventKind::Extended,
            datetime!(2026-03-03 10:00 UTC),
        )];
        let d = evaluate(Jurisdiction::EnglandAndWales, received, &once).expect("valid");
        // Three months from 2 Mar → Tue 2 Jun 2026.
        assert_eq!(d.due, Some(date!(2026 - 06 - 02)));
        assert_eq!(d.refusal_due, Some(date!(2026 - 04 - 02)));
        let twice = [
            once[0].clone(),
            event(ClockEventKind::Extended, datetime!(2026-03-04 10:00 UTC)),
        ];
        assert!(matches!(
            evaluate(Jurisdiction::EnglandAndWales, received, &twice),
            Err(Rejection::Precondition(m)) if m.contains("only once")
        ));
    }

    #[test]
    fn an_event_before_receipt_names_its_time() {
        let received = datetime!(2026-03-02 10:00 UTC);
        let early = [event(
            ClockEventKind::IdentityRequested,
            datetime!(2026-03-01 10:00 UTC),
        )];
        let Err(Rejection::Invalid(v)) = evaluate(Jurisdiction::EnglandAndWales, received, &early)
        else {
            panic!("expected invalid argument");
        };
        assert_eq!(v[0].field, "occur_time");
    }

    #[test]
    fn jersey_counts_four_weeks_and_has_no_clarification_pause() {
        // Mon 2 Mar 2026 + 4 weeks → Mon 30 Mar 2026.
        let received = datetime!(2026-03-02 10:00 UTC);
        let d = evaluate(Jurisdiction::Jersey, received, &[]).expect("valid");
        assert_eq!(d.due, Some(date!(2026 - 03 - 30)));
        let pause = [event(
            ClockEventKind::ClarificationRequested,
            datetime!(2026-03-03 10:00 UTC),
        )];
        assert!(matches!(
            evaluate(Jurisdiction::Jersey, received, &pause),
            Err(Rejection::Precondition(_))
        ));
    }

    #[test]
    fn overdue_only_while_open() {
        let d = evaluate(
            Jurisdiction::EnglandAndWales,
            datetime!(2026-03-02 10:00 UTC),
            &[],
        )
        .expect("valid");
        assert!(d.overdue(true, date!(2026 - 04 - 03)));
        assert!(!d.overdue(true, date!(2026 - 04 - 02)));
        assert!(!d.overdue(false, date!(2026 - 04 - 03)));
    }
}
