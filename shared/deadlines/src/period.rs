//! Counting periods: the building blocks the jurisdiction profiles combine. No rolling to working
//! days here; that is the profile's choice (UK GDPR rolls forward, Jersey and s164A do not).

use time::{Date, Duration, Month, OffsetDateTime};

/// The date `months` calendar months after `start`, the way the UK regulator counts a month: the
/// corresponding date (received 3 Sep → 3 Oct); when that month has no such date, its last day
/// (received 31 Jan 2026 → 28 Feb 2026; 31 Jan 2028 → 29 Feb 2028). The flag says whether the
/// date was clamped, for the explanation.
pub fn add_months(start: Date, months: u32) -> (Date, bool) {
    let index =
        i64::from(start.year()) * 12 + i64::from(u8::from(start.month()) - 1) + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).expect("year in range for any realistic period");
    let month =
        Month::try_from(u8::try_from(index.rem_euclid(12) + 1).expect("1..=12")).expect("1..=12");
    let last = month.length(year);
    let day = start.day().min(last);
    let date =
        Date::from_calendar_date(year, month, day).expect("day clamped to the month's length");
    (date, day != start.day())
}

/// The date `weeks` weeks after `start` (Jersey: "four weeks from receipt", DPJL 2018 Art 27).
pub fn add_weeks(start: Date, weeks: u32) -> Date {
    start + Duration::weeks(i64::from(weeks))
}

/// The last day of a period of `days` days *beginning with* `start`: `start` is day 1
/// (DPA 2018 s164A(3): acknowledge a complaint "within the period of 30 days beginning with the
/// day on which the complaint is received").
pub fn last_day_of_days_beginning_with(start: Date, days: u32) -> Date {
    start + Duration::days(i64::from(days.max(1)) - 1)
}

/// The instant `hours` elapsed hours after `from`, in UTC, so a change to or from summer time
/// cannot move it by an hour (Art 33(1): "not later than 72 hours after having become aware").
pub fn add_elapsed_hours(from: OffsetDateTime, hours: u32) -> OffsetDateTime {
    from.to_offset(time::UtcOffset::UTC) + Duration::hours(i64::from(hours))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_month_runs_to_the_corresponding_date_or_the_last_day_of_a_shorter_month() {
        // (received, months, due, clamped), hand-worked.
        let cases = [
            (date!(2025 - 09 - 03), 1, date!(2025 - 10 - 03), false), // the regulator's own example
            (date!(2026 - 01 - 31), 1, date!(2026 - 02 - 28), true),  // no 31 Feb; 2026 is common
            (date!(2028 - 01 - 31), 1, date!(2028 - 02 - 29), true),  // 2028 is a leap year
            (date!(2028 - 02 - 29), 1, date!(2028 - 03 - 29), false), // from a 29 February
            (date!(2026 - 03 - 31), 1, date!(2026 - 04 - 30), true),  // April has 30 days
            (date!(2026 - 12 - 15), 1, date!(2027 - 01 - 15), false), // across the year end
            (date!(2026 - 01 - 31), 3, date!(2026 - 04 - 30), true), // extended: three months from the start
            (date!(2025 - 11 - 30), 3, date!(2026 - 02 - 28), true),
        ];
        for (received, months, due, clamped) in cases {
            assert_eq!(
                add_months(received, months),
                (due, clamped),
                "{received} + {months} months"
            );
        }
    }

    #[test]
    fn four_weeks_is_twenty_eight_days() {
        assert_eq!(add_weeks(date!(2026 - 03 - 02), 4), date!(2026 - 03 - 30));
        // Across a month end and February of a leap year.
        assert_eq!(add_weeks(date!(2028 - 02 - 10), 4), date!(2028 - 03 - 09));
    }

    #[test]
    fn a_complaint_received_on_day_one_is_acknowledged_by_day_thirty() {
        // Received Fri 19 Jun 2026 (s164A in force): day 1 is 19 Jun, day 30 is Sat 18 Jul; no roll.
        assert_eq!(
            last_day_of_days_beginning_with(date!(2026 - 06 - 19), 30),
            date!(2026 - 07 - 18)
        );
        // Across February of a common year: 15 Feb 2027 + 29 days = 16 Mar 2027.
        assert_eq!(
            last_day_of_days_beginning_with(date!(2027 - 02 - 15), 30),
            date!(2027 - 03 - 16)
        );
    }
}
