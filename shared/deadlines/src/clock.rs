//! The clock of one request: from its events so far to its due dates, with an explanation a DPO
//! can check line by line.
//!
//! Events are instants (stored in UTC); the law counts local days, so each becomes a date in the
//! tenant's zone before anything is counted. The rule set is chosen by the day of receipt, so an
//! old request keeps the dates it was given.

use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::calendar::Calendar;
use crate::explain::{day, plural};
use crate::period::{add_months, add_weeks, last_day_of_days_beginning_with};
use crate::profile::{PauseRule, Period, Profile, RuleSet, StartRule};
use crate::zone::Zone;

/// Something that happened to a request, at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When it happened.
    pub at: OffsetDateTime,
    /// What happened.
    pub kind: EventKind,
}

/// What can happen to a request's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The request reached the controller, by any channel.
    Received,
    /// The controller asked for information to confirm the requester's identity.
    IdentityRequested,
    /// The identity information asked for arrived.
    IdentityReceived,
    /// The controller asked for a fee that is due (manifestly unfounded or excessive requests,
    /// further copies).
    FeeRequested,
    /// The fee was paid.
    FeePaid,
    /// The controller asked for information it reasonably needs to identify what is requested.
    ClarificationRequested,
    /// The answer to the clarification arrived.
    ClarificationReceived,
    /// The period was extended, for the reason given (complexity or number of requests).
    Extended {
        /// Why, as told to the person.
        reason: String,
    },
    /// The controller refused the request or decided to take no action (Art 12(4)).
    Refused,
}

impl Event {
    /// An event of `kind` at `at`.
    pub fn new(at: OffsetDateTime, kind: EventKind) -> Self {
        Self { at, kind }
    }
}

/// Why a list of events cannot be a request's history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// `INVALID_ARGUMENT`: every clock begins with exactly one receipt.
    #[error("the request needs exactly one receipt, found {0}")]
    Receipt(usize),
    /// `INVALID_ARGUMENT`: nothing happens to a request before it arrives.
    #[error("{what} on {on} is before the request was received on {received}")]
    BeforeReceipt {
        /// The event.
        what: &'static str,
        /// Its local date.
        on: Date,
        /// The day of receipt.
        received: Date,
    },
    /// `FAILED_PRECONDITION`: the profile's rules were not yet in force on the day of receipt.
    #[error("{profile} rules are not in force for a request received on {received}")]
    NotInForce {
        /// The profile's name.
        profile: String,
        /// The day of receipt.
        received: Date,
    },
    /// `FAILED_PRECONDITION`: an answer arrived to a question that was not outstanding.
    #[error("{0} arrived but none was asked for")]
    NotAsked(&'static str),
    /// `FAILED_PRECONDITION`: the same question was asked twice without an answer in between.
    #[error("{0} was already asked for and not yet received")]
    AlreadyAsked(&'static str),
    /// `FAILED_PRECONDITION`: the rules have no such step (no clarification pause in Jersey, no
    /// identity or fee wait for a complaint acknowledgement).
    #[error("{what} does not apply under {rules}")]
    NotApplicable {
        /// The event.
        what: &'static str,
        /// The rule set's label.
        rules: String,
    },
    /// `FAILED_PRECONDITION`: the rules allow no extension.
    #[error("{0} allows no extension")]
    NotExtendable(String),
    /// `FAILED_PRECONDITION`: a period is extended once only.
    #[error("the period was already extended on {0}; it can be extended only once")]
    AlreadyExtended(Date),
    /// `INVALID_ARGUMENT`: the person must be told why (Art 12(3)).
    #[error("an extension needs a reason")]
    ExtensionWithoutReason,
    /// `FAILED_PRECONDITION`: the person must be told of an extension within the first period.
    #[error("an extension on {on} is too late: the person had to be told by {notice_due}")]
    ExtensionTooLate {
        /// The day of the extension.
        on: Date,
        /// The last day to tell the person.
        notice_due: Date,
    },
    /// `FAILED_PRECONDITION`: a refused request's clock has stopped for good.
    #[error("{what} after the request was refused on {refused}")]
    AfterRefusal {
        /// The event.
        what: &'static str,
        /// The day of the refusal.
        refused: Date,
    },
}

impl ClockError {
    /// Whether the error is the caller's malformed input (`INVALID_ARGUMENT`) rather than a step
    /// the request's state forbids (`FAILED_PRECONDITION`).
    pub fn is_invalid_argument(&self) -> bool {
        matches!(
            self,
            ClockError::Receipt(_)
                | ClockError::BeforeReceipt { .. }
                | ClockError::ExtensionWithoutReason
        )
    }
}

/// A due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The last day to act.
    pub date: Date,
    /// Whether it is a working day in the tenant's calendar (false only when the rules do not
    /// roll forward; the explanation then carries a warning).
    pub working_day: bool,
}

/// Where the clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not started: identity information was asked for on this day and has not arrived.
    AwaitingIdentity(Date),
    /// Not started: a fee was asked for on this day and has not been paid.
    AwaitingFee(Date),
    /// Running.
    Running,
    /// Stopped since this day, awaiting clarification; the dates it affects are unknown until the
    /// answer arrives, and move one day for each day it stays stopped.
    Paused(Date),
    /// Stopped for good: refused on this day.
    Refused(Date),
}

/// The dates a request's clock gives, and how they were reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlines {
    /// Where the clock stands.
    pub status: Status,
    /// The first day of the period (day 1), once known.
    pub start: Option<Date>,
    /// The response is due by: the extended date when extended, else the first period's.
    pub due: Option<Due>,
    /// A refusal, or a decision to take no action, is due within the unextended period plus any
    /// pause, even when the request is extended (Art 12(4)).
    pub refusal_due: Option<Due>,
    /// The last day to tell the person of an extension (None when the rules allow none).
    pub extension_notice_due: Option<Due>,
    /// The day the period was extended, if it was.
    pub extended_on: Option<Date>,
    /// Whether the rules are statutory (internal targets are not).
    pub statutory: bool,
    /// One line per step, in order.
    pub explanation: Vec<String>,
    /// Things a DPO must look at: a due day that is not a working day, a clarification asked after
    /// the period ended.
    pub warnings: Vec<String>,
}

/// A jurisdiction profile with a tenant's calendar and zone: everything needed to date a request.
#[derive(Debug, Clone)]
pub struct Clock {
    profile: Profile,
    calendar: Calendar,
    zone: Zone,
}

/// A wait that restarts the clock (identity, fee): asked and not answered, or answered last on.
#[derive(Default)]
struct Wait {
    outstanding: Option<Date>,
    answered: Option<Date>,
}

/// Days that do not count: from `asked` to `answered`, open while the answer is awaited.
#[derive(Debug, Clone, Copy)]
struct Pause {
    asked: Date,
    answered: Option<Date>,
}

impl Clock {
    /// A clock for `profile` counted in `zone` against `calendar`.
    pub fn new(profile: Profile, calendar: Calendar, zone: Zone) -> Self {
        Self {
            profile,
            calendar,
            zone,
        }
    }

    /// The due dates for a request with these events, in any order.
    pub fn evaluate(&self, events: &[Event]) -> Result<Deadlines, ClockError> {
        let mut events: Vec<&Event> = events.iter().collect();
        events.sort_by_key(|event| event.at);
        let receipts: Vec<&&Event> = events
            .iter()
            .filter(|e| e.kind == EventKind::Received)
            .collect();
        let [receipt] = receipts[..] else {
            return Err(ClockError::Receipt(receipts.len()));
        };
        let received = self.zone.local_date(receipt.at);
        let rules = self
            .profile
            .rules_for(received)
            .ok_or_else(|| ClockError::NotInForce {
                profile: self.profile.name.clone(),
                received,
            })?;

        let mut lines = vec![format!("rules: {}", rules.label)];
        lines.push(self.receipt_line(receipt.at, received));

        let history = History::replay(&events, received, rules, self.zone)?;
        lines.extend(history.lines.iter().cloned());
        let mut deadlines = Deadlines {
            status: history.status(),
            start: None,
            due: None,
            refusal_due: None,
            extension_notice_due: None,
            extended_on: history.extended.as_ref().map(|(on, _)| *on),
            statutory: rules.statutory,
            explanation: lines,
            warnings: Vec::new(),
        };
        if !rules.statutory {
            deadlines.warnings.push(format!(
                "{} is an internal target, not the law",
                rules.label
            ));
        }
        if let Some(since) = history.identity.outstanding {
            deadlines.explanation.push(format!(
                "the clock has not started: identity information asked for on {} has not arrived",
                day(since)
            ));
            return Ok(deadlines);
        }
        if let Some(since) = history.fee.outstanding {
            deadlines.explanation.push(format!(
                "the clock has not started: the fee asked for on {} has not been paid",
                day(since)
            ));
            return Ok(deadlines);
        }

        let start = history.start(received, rules);
        deadlines.start = Some(start);
        if start != received {
            deadlines.explanation.push(format!(
                "the period starts again on {} (day 1): the latest of receipt of the request, of \
                 the identity information asked for and of the fee",
                day(start)
            ));
        }
        let pauses = history.pauses_from(start);
        let mut count = Counting {
            clock: self,
            rules,
            start,
            pauses: &pauses,
            deadlines: &mut deadlines,
        };

        let label = if rules.extension.is_some() {
            "the first period"
        } else {
            "the period"
        };
        let first = count.due(label, rules.period, rules.pause);
        count.deadlines.refusal_due = first;
        if let Some(first) = first.filter(|_| rules.extension.is_some()) {
            count.deadlines.explanation.push(format!(
                "a refusal, or a decision to take no action, is due by {} even if the period is \
                 extended (Art 12(4))",
                day(first.date)
            ));
        }
        if let Some(extension) = &rules.extension {
            let notice = if extension.pause_moves_notice || pauses.is_empty() {
                first
            } else {
                count.due("the extension notice", rules.period, PauseRule::None)
            };
            count.deadlines.extension_notice_due = notice;
            if let Some(notice) = notice {
                count.deadlines.explanation.push(format!(
                    "the person must be told of any extension, and why, by {}",
                    day(notice.date)
                ));
            }
            if let Some((on, reason)) = &history.extended {
                if let Some(notice) = notice
                    && *on > notice.date
                {
                    return Err(ClockError::ExtensionTooLate {
                        on: *on,
                        notice_due: notice.date,
                    });
                }
                count.deadlines.explanation.push(format!(
                    "extended on {} ({reason}): the whole period now runs from the same start",
                    day(*on)
                ));
                count.deadlines.due =
                    count.due("the extended period", extension.total, rules.pause);
            } else {
                count.deadlines.due = first;
            }
        } else {
            count.deadlines.due = first;
        }
        if let Some(due) = deadlines.due {
            let action = if history.refused.is_some() {
                "the response was"
            } else {
                "the response is"
            };
            deadlines
                .explanation
                .push(format!("{action} due by {}", day(due.date)));
        }
        if let Some(refused) = history.refused {
            let on_time = deadlines.refusal_due.is_some_and(|due| refused <= due.date);
            deadlines.explanation.push(format!(
                "refused on {}: {}",
                day(refused),
                if on_time { "in time" } else { "late" }
            ));
        }
        Ok(deadlines)
    }

    fn receipt_line(&self, at: OffsetDateTime, received: Date) -> String {
        let utc = at.to_offset(UtcOffset::UTC);
        if utc.date() == received {
            format!("received {} (day 1)", day(received))
        } else {
            format!(
                "received {} (day 1): {:02}:{:02} UTC on {} is already {} in {}",
                day(received),
                utc.hour(),
                utc.minute(),
                day(utc.date()),
                day(received),
                self.zone.name()
            )
        }
    }
}

/// The events replayed in order: what was asked and answered, checked step by step.
struct History {
    identity: Wait,
    fee: Wait,
    pauses: Vec<Pause>,
    extended: Option<(Date, String)>,
    refused: Option<Date>,
    lines: Vec<String>,
}

impl History {
    fn replay(
        events: &[&Event],
        received: Date,
        rules: &RuleSet,
        zone: Zone,
    ) -> Result<Self, ClockError> {
        let mut history = History {
            identity: Wait::default(),
            fee: Wait::default(),
            pauses: Vec::new(),
            extended: None,
            refused: None,
            lines: Vec::new(),
        };
        for event in events {
            let on = zone.local_date(event.at);
            let what = event.kind.describe();
            if on < received {
                return Err(ClockError::BeforeReceipt { what, on, received });
            }
            if let Some(refused) = history.refused {
                return Err(ClockError::AfterRefusal { what, refused });
            }
            let not_applicable = || ClockError::NotApplicable {
                what,
                rules: rules.label.clone(),
            };
            match &event.kind {
                EventKind::Received => {}
                EventKind::IdentityRequested
                | EventKind::IdentityReceived
                | EventKind::FeeRequested
                | EventKind::FeePaid
                    if rules.start == StartRule::Receipt =>
                {
                    return Err(not_applicable());
                }
                EventKind::ClarificationRequested | EventKind::ClarificationReceived
                    if rules.pause == PauseRule::None =>
                {
                    return Err(not_applicable());
                }
                EventKind::IdentityRequested => history.identity.ask(what, on)?,
                EventKind::IdentityReceived => history.identity.answer(what, on)?,
                EventKind::FeeRequested => history.fee.ask(what, on)?,
                EventKind::FeePaid => history.fee.answer(what, on)?,
                EventKind::ClarificationRequested => {
                    if history.pauses.last().is_some_and(|p| p.answered.is_none()) {
                        return Err(ClockError::AlreadyAsked(what));
                    }
                    history.pauses.push(Pause {
                        asked: on,
                        answered: None,
                    });
                }
                EventKind::ClarificationReceived => {
                    let open = history
                        .pauses
                        .last_mut()
                        .filter(|p| p.answered.is_none())
                        .ok_or(ClockError::NotAsked(what))?;
                    open.answered = Some(on);
                }
                EventKind::Extended { reason } => {
                    if rules.extension.is_none() {
                        return Err(ClockError::NotExtendable(rules.label.clone()));
                    }
                    if let Some((first, _)) = history.extended {
                        return Err(ClockError::AlreadyExtended(first));
                    }
                    if reason.trim().is_empty() {
                        return Err(ClockError::ExtensionWithoutReason);
                    }
                    history.extended = Some((on, reason.trim().to_owned()));
                    continue;
                }
                EventKind::Refused => {
                    history.refused = Some(on);
                    continue;
                }
            }
            if event.kind != EventKind::Received {
                history.lines.push(format!("{what} on {}", day(on)));
            }
        }
        Ok(history)
    }

    fn status(&self) -> Status {
        if let Some(on) = self.refused {
            Status::Refused(on)
        } else if let Some(since) = self.identity.outstanding {
            Status::AwaitingIdentity(since)
        } else if let Some(since) = self.fee.outstanding {
            Status::AwaitingFee(since)
        } else if let Some(open) = self.pauses.iter().find(|p| p.answered.is_none()) {
            Status::Paused(open.asked)
        } else {
            Status::Running
        }
    }

    /// UK GDPR Art 12A(2): the latest of receipt, identity received, fee paid.
    fn start(&self, received: Date, rules: &RuleSet) -> Date {
        match rules.start {
            StartRule::Receipt => received,
            StartRule::LatestOfReceiptIdentityFee => [self.identity.answered, self.fee.answered]
                .into_iter()
                .flatten()
                .fold(received, Date::max),
        }
    }

    /// The pauses on or after the start, merged where they overlap; days before a restart are
    /// already outside the period.
    fn pauses_from(&self, start: Date) -> Vec<Pause> {
        let mut merged: Vec<Pause> = Vec::new();
        for pause in &self.pauses {
            if pause.answered.is_some_and(|answered| answered < start) {
                continue;
            }
            let clipped = Pause {
                asked: pause.asked.max(start),
                answered: pause.answered,
            };
            // Asked again on the day an answer came: one stretch, so no day is counted twice.
            match merged.last_mut() {
                Some(last) if last.answered.is_some_and(|a| clipped.asked <= a) => {
                    last.answered = clipped.answered;
                }
                _ => merged.push(clipped),
            }
        }
        merged
    }
}

impl Wait {
    fn ask(&mut self, what: &'static str, on: Date) -> Result<(), ClockError> {
        if self.outstanding.is_some() {
            return Err(ClockError::AlreadyAsked(what));
        }
        self.outstanding = Some(on);
        Ok(())
    }

    fn answer(&mut self, what: &'static str, on: Date) -> Result<(), ClockError> {
        if self.outstanding.take().is_none() {
            return Err(ClockError::NotAsked(what));
        }
        self.answered = Some(on);
        Ok(())
    }
}

impl EventKind {
    fn describe(&self) -> &'static str {
        match self {
            EventKind::Received => "receipt",
            EventKind::IdentityRequested => "identity information asked for",
            EventKind::IdentityReceived => "identity information received",
            EventKind::FeeRequested => "fee asked for",
            EventKind::FeePaid => "fee paid",
            EventKind::ClarificationRequested => "clarification asked for",
            EventKind::ClarificationReceived => "clarification received",
            EventKind::Extended { .. } => "extension",
            EventKind::Refused => "refusal",
        }
    }
}

/// Counting one period from the start, with the explanation lines it adds.
struct Counting<'a> {
    clock: &'a Clock,
    rules: &'a RuleSet,
    start: Date,
    pauses: &'a [Pause],
    deadlines: &'a mut Deadlines,
}

impl Counting<'_> {
    /// The last day of `period` from the start, moved by the pauses `pause` counts and, when the
    /// rules say so, to the next working day. None while a pause that counts is still open.
    fn due(&mut self, what: &str, period: Period, pause: PauseRule) -> Option<Due> {
        let lines = &mut self.deadlines.explanation;
        let mut end = match period {
            Period::Months(months) => {
                let (end, clamped) = add_months(self.start, months);
                if clamped {
                    lines.push(format!(
                        "{what}: {} from {} → the {} {} does not exist → the last day of that \
                         month, {}",
                        plural(months, "month"),
                        day(self.start),
                        ordinal(self.start.day()),
                        end.month(),
                        day(end)
                    ));
                } else {
                    lines.push(format!(
                        "{what}: {} from {} → the corresponding date, {}",
                        plural(months, "month"),
                        day(self.start),
                        day(end)
                    ));
                }
                end
            }
            Period::Weeks(weeks) => {
                let end = add_weeks(self.start, weeks);
                lines.push(format!(
                    "{what}: {} from {} → {}",
                    plural(weeks, "week"),
                    day(self.start),
                    day(end)
                ));
                end
            }
            Period::DaysBeginningWith(days) => {
                let end = last_day_of_days_beginning_with(self.start, days);
                lines.push(format!(
                    "{what}: {} beginning with {} → day {days} is {}",
                    plural(days, "day"),
                    day(self.start),
                    day(end)
                ));
                end
            }
        };
        if pause != PauseRule::None {
            for p in self.pauses {
                if p.asked > end {
                    if p.answered.is_some() {
                        self.deadlines.warnings.push(format!(
                            "clarification asked for on {} after {what} had ended on {} does not \
                             stop the clock",
                            day(p.asked),
                            day(end)
                        ));
                    }
                    continue;
                }
                let Some(answered) = p.answered else {
                    lines.push(format!(
                        "{what}: the clock stopped on {} awaiting clarification, with {} to run",
                        day(p.asked),
                        plural(days_between(p.asked, end) + 1, "day")
                    ));
                    return None;
                };
                let (skipped, how) = match pause {
                    PauseRule::BothDaysCounted => {
                        let n = days_between(p.asked, answered) + 1;
                        let days = plural(n, "day");
                        (
                            n,
                            format!("those {days}, both ends included, do not count (Art 12A)"),
                        )
                    }
                    _ => {
                        let n = days_between(p.asked, answered);
                        let days = plural(n, "day");
                        (
                            n,
                            format!(
                                "the {days} the person took to answer do not count (ICO guidance \
                             before Art 12A)"
                            ),
                        )
                    }
                };
                end += Duration::days(i64::from(skipped));
                lines.push(format!(
                    "{what}: clarification asked for on {} and received on {}: {how} → {}",
                    day(p.asked),
                    day(answered),
                    day(end)
                ));
            }
        }
        let calendar = self.clock.calendar;
        if calendar.is_working_day(end) {
            return Some(Due {
                date: end,
                working_day: true,
            });
        }
        let why = calendar
            .holiday(end)
            .map_or_else(|| format!("a {}", end.weekday()), |name| name.to_owned());
        if self.rules.roll_forward {
            let next = calendar.next_working_day(end);
            lines.push(format!(
                "{what}: {} is {why} → the next working day, {}",
                day(end),
                day(next)
            ));
            Some(Due {
                date: next,
                working_day: true,
            })
        } else {
            let warning = format!(
                "{what} ends on {}, {why}; {} has no next-working-day rule, so act by the \
                 working day before",
                day(end),
                self.rules.label
            );
            lines.push(warning.clone());
            self.deadlines.warnings.push(warning);
            Some(Due {
                date: end,
                working_day: false,
            })
        }
    }
}

fn days_between(from: Date, to: Date) -> u32 {
    u32::try_from((to - from).whole_days()).unwrap_or(0)
}

fn ordinal(n: u8) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}
