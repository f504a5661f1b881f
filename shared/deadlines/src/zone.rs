//! The local date of an instant in a tenant's zone: a request's day of receipt is a local date
//! (an email at 23:30 UTC on 30 June is received on 1 July in London).
//!
//! London and Jersey keep GMT in winter and GMT+1 in summer. Summer time begins at 01:00 UTC on
//! the last Sunday of March and ends at 01:00 UTC on the last Sunday of October (Summer Time Act
//! 1972 as amended by the Summer Time Order 2002; Jersey follows the same dates). Encoding the
//! rule keeps this crate free of a time-zone database; earlier rules (before 2002) are not needed
//! for requests this suite receives.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

/// A tenant's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zone {
    /// Europe/London.
    EuropeLondon,
    /// Europe/Jersey.
    EuropeJersey,
}

impl Zone {
    /// The IANA name.
    pub fn name(self) -> &'static str {
        match self {
            Zone::EuropeLondon => "Europe/London",
            Zone::EuropeJersey => "Europe/Jersey",
        }
    }

    /// The offset from UTC in force at `instant`.
    pub fn offset_at(self, instant: OffsetDateTime) -> UtcOffset {
        let utc = instant.to_offset(UtcOffset::UTC);
        let year = utc.year();
        let one_am = |month| {
            PrimitiveDateTime::new(
                last_sunday(year, month),
                Time::from_hms(1, 0, 0).expect("01:00"),
            )
            .assume_utc()
        };
        if utc >= one_am(Month::March) && utc < one_am(Month::October) {
            UtcOffset::from_hms(1, 0, 0).expect("+01:00")
        } else {
            UtcOffset::UTC
        }
    }

    /// The calendar date at `instant` in this zone.
    pub fn local_date(self, instant: OffsetDateTime) -> Date {
        instant.to_offset(self.offset_at(instant)).date()
    }
}

fn last_sunday(year: i32, month: Month) -> Date {
    let mut day =
        Date::from_calendar_date(year, month, month.length(year)).expect("valid last day");
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day().expect("in range");
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn an_email_late_on_30_june_utc_is_received_on_1_july_in_london() {
        assert_eq!(
            Zone::EuropeLondon.local_date(datetime!(2026-06-30 23:30 UTC)),
            date!(2026 - 07 - 01)
        );
        assert_eq!(
            Zone::EuropeJersey.local_date(datetime!(2026-06-30 22:59 UTC)),
            date!(2026 - 06 - 30)
        );
    }

    #[test]
    fn in_winter_the_local_date_is_the_utc_date() {
        assert_eq!(
            Zone::EuropeLondon.local_date(datetime!(2026-12-31 23:30 UTC)),
            date!(2026 - 12 - 31)
        );
    }

    #[test]
    fn summer_time_starts_and_ends_at_one_in_the_morning_utc() {
        // 2026: last Sunday of March is the 29th, of October the 25th.
        let london = Zone::EuropeLondon;
        assert_eq!(
            london.offset_at(datetime!(2026-03-29 00:59:59 UTC)),
            UtcOffset::UTC
        );
        assert_eq!(
            london
                .offset_at(datetime!(2026-03-29 01:00 UTC))
                .whole_hours(),
            1
        );
        assert_eq!(
            london
                .offset_at(datetime!(2026-10-25 00:59:59 UTC))
                .whole_hours(),
            1
        );
        assert_eq!(
            london.offset_at(datetime!(2026-10-25 01:00 UTC)),
            UtcOffset::UTC
        );
        // 23:30 UTC on Sat 28 Mar is still Saturday in London; on Sat 24 Oct it is already Sunday.
        assert_eq!(
            london.local_date(datetime!(2026-03-28 23:30 UTC)),
            date!(2026 - 03 - 28)
        );
        assert_eq!(
            london.local_date(datetime!(2026-10-24 23:30 UTC)),
            date!(2026 - 10 - 25)
        );
    }
}
