//! The breach-report clock: a personal-data breach is reported to the regulator "without undue
//! delay and, where feasible, not later than 72 hours after having become aware of it" (UK GDPR
//! Art 33(1); DPJL 2018 Art 20(1) for Jersey; 000 §L, 003 §12, 004 §15).
//!
//! Hours are elapsed hours counted in UTC, so a change to or from summer time in between cannot
//! shift the deadline by an hour; the tenant's zone is used only to show local times.

use time::{Duration, OffsetDateTime, UtcOffset};

use crate::explain::day;
use crate::period::add_elapsed_hours;
use crate::zone::Zone;

/// The regulator's deadline for reporting a breach, counted from awareness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreachClock {
    aware: OffsetDateTime,
    hours: u32,
    due: OffsetDateTime,
}

impl BreachClock {
    /// Art 33(1): 72 hours.
    pub const STATUTORY_HOURS: u32 = 72;

    /// The 72-hour clock for a breach the controller became aware of at `aware`.
    pub fn statutory(aware: OffsetDateTime) -> Self {
        Self::new(aware, Self::STATUTORY_HOURS)
    }

    /// A clock of `hours` elapsed hours (an internal target, e.g. 24 hours to tell the DPO).
    pub fn new(aware: OffsetDateTime, hours: u32) -> Self {
        let aware = aware.to_offset(UtcOffset::UTC);
        Self {
            aware,
            hours,
            due: add_elapsed_hours(aware, hours),
        }
    }

    /// The instant of awareness, in UTC.
    pub fn aware(&self) -> OffsetDateTime {
        self.aware
    }

    /// The last instant to report, in UTC.
    pub fn due(&self) -> OffsetDateTime {
        self.due
    }

    /// Time left at `now`: negative once overdue.
    pub fn remaining(&self, now: OffsetDateTime) -> Duration {
        self.due - now
    }

    /// Whether `now` is past the deadline.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        now > self.due
    }

    /// Whether a report made at `reported` was late; a late report must give the reasons for the
    /// delay (Art 33(1)).
    pub fn is_late(&self, reported: OffsetDateTime) -> bool {
        self.is_overdue(reported)
    }

    /// The steps, with local times in `zone`.
    pub fn explanation(&self, zone: Zone) -> Vec<String> {
        let mut lines = vec![
            format!(
                "became aware {} ({})",
                utc(self.aware),
                local(self.aware, zone)
            ),
            format!(
                "{} elapsed hours later → {} ({})",
                self.hours,
                utc(self.due),
                local(self.due, zone)
            ),
        ];
        if zone.offset_at(self.aware) != zone.offset_at(self.due) {
            lines.push(format!(
                "the clocks changed in {} in between: the hours are elapsed hours, so the local \
                 time differs from the time of awareness",
                zone.name()
            ));
        }
        lines
    }
}

fn utc(instant: OffsetDateTime) -> String {
    format!(
        "{} {:02}:{:02} UTC",
        day(instant.date()),
        instant.hour(),
        instant.minute()
    )
}

fn local(instant: OffsetDateTime, zone: Zone) -> String {
    let offset = zone.offset_at(instant);
    let there = instant.to_offset(offset);
    // Both zones keep GMT in winter and British Summer Time in summer.
    let name = if offset.is_utc() { "GMT" } else { "BST" };
    format!(
        "{} {:02}:{:02} {name} in {}",
        day(there.date()),
        there.hour(),
        there.minute(),
        zone.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn seventy_two_elapsed_hours_across_the_spring_change() {
        // Aware Sat 28 Mar 2026 10:00 GMT; clocks go forward at 01:00 UTC on Sun 29 Mar.
        let clock = BreachClock::statutory(datetime!(2026-03-28 10:00 UTC));
        assert_eq!(clock.due(), datetime!(2026-03-31 10:00 UTC));
        assert_eq!(
            clock.explanation(Zone::EuropeLondon),
            [
                "became aware Sat 28 Mar 2026 10:00 UTC (Sat 28 Mar 2026 10:00 GMT in Europe/London)",
                "72 elapsed hours later → Tue 31 Mar 2026 10:00 UTC (Tue 31 Mar 2026 11:00 BST in Europe/London)",
                "the clocks changed in Europe/London in between: the hours are elapsed hours, so \
                 the local time differs from the time of awareness",
            ]
        );
    }

    #[test]
    fn seventy_two_elapsed_hours_across_the_autumn_change() {
        // Aware Fri 23 Oct 2026 16:30 BST = 15:30 UTC; clocks go back on Sun 25 Oct at 01:00 UTC.
        let clock = BreachClock::statutory(datetime!(2026-10-23 16:30 +1));
        assert_eq!(clock.due(), datetime!(2026-10-26 15:30 UTC));
        // 15:30 local on Monday: one hour earlier on the wall clock than awareness.
        assert!(
            clock.explanation(Zone::EuropeJersey)[1]
                .ends_with("(Mon 26 Oct 2026 15:30 GMT in Europe/Jersey)")
        );
    }

    #[test]
    fn time_left_counts_down_and_turns_overdue() {
        let clock = BreachClock::statutory(datetime!(2026-06-01 09:00 UTC));
        assert_eq!(
            clock.remaining(datetime!(2026-06-03 09:00 UTC)),
            Duration::hours(24)
        );
        assert!(!clock.is_overdue(datetime!(2026-06-04 09:00 UTC)));
        assert!(clock.is_overdue(datetime!(2026-06-04 09:00:01 UTC)));
        assert_eq!(
            clock.remaining(datetime!(2026-06-04 10:00 UTC)),
            Duration::hours(-1)
        );
        assert!(clock.is_late(datetime!(2026-06-05 00:00 UTC)));
    }
}
