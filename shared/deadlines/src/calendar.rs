//! Bank-holiday calendars of the jurisdictions our tenants are in, for any year.
//!
//! Each calendar is rules (Easter by the computus, fixed dates, first/last Monday of a month,
//! substitute days for fixed holidays on a weekend) plus a table of one-off additions and removals
//! made by proclamation. Substitutes cascade: a fixed holiday on a weekend moves to the next
//! weekday that is not already a holiday (Christmas on a Saturday → Mon 27, Boxing Day on the
//! Sunday → Tue 28). A holiday marked "no substitute" on a weekend is simply not a holiday that
//! year (Jersey's Liberation Day).

use time::{Date, Duration, Month, Weekday};

/// A bank-holiday calendar. Tenants pick one (with their time zone) in their profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Calendar {
    /// England and Wales (Banking and Financial Dealings Act 1971, Sch 1 §1, and proclamations).
    EnglandAndWales,
    /// Scotland (1971 Act Sch 1 §2; St Andrew's Day Bank Holiday (Scotland) Act 2007).
    Scotland,
    /// Northern Ireland (1971 Act Sch 1 §3, and the Battle of the Boyne by proclamation).
    NorthernIreland,
    /// Jersey (Public Holidays and Bank Holidays (Jersey) Law 1951 and Acts of the States).
    Jersey,
}

/// How a holiday's date is found in a given year.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A fixed day of a month; `substitute` moves it to the next free weekday when it falls on a
    /// weekend, otherwise a weekend occurrence is no holiday at all.
    Fixed {
        month: Month,
        day: u8,
        substitute: bool,
    },
    /// Days after Easter Sunday (Good Friday -2, Easter Monday +1).
    Easter(i64),
    /// The first Monday of the month.
    FirstMonday(Month),
    /// The last Monday of the month.
    LastMonday(Month),
}

use Month::{August, December, January, July, June, March, May, November, September};

const NEW_YEAR: (&str, Rule) = (
    "New Year's Day",
    Rule::Fixed {
        month: January,
        day: 1,
        substitute: true,
    },
);
const GOOD_FRIDAY: (&str, Rule) = ("Good Friday", Rule::Easter(-2));
const EASTER_MONDAY: (&str, Rule) = ("Easter Monday", Rule::Easter(1));
const EARLY_MAY: (&str, Rule) = ("Early May bank holiday", Rule::FirstMonday(May));
const SPRING: (&str, Rule) = ("Spring bank holiday", Rule::LastMonday(May));
const SUMMER_LAST_MONDAY: (&str, Rule) = ("Summer bank holiday", Rule::LastMonday(August));
const CHRISTMAS: (&str, Rule) = (
    "Christmas Day",
    Rule::Fixed {
        month: December,
        day: 25,
        substitute: true,
    },
);
const BOXING_DAY: (&str, Rule) = (
    "Boxing Day",
    Rule::Fixed {
        month: December,
        day: 26,
        substitute: true,
    },
);

const ENGLAND_AND_WALES: &[(&str, Rule)] = &[
    NEW_YEAR,
    GOOD_FRIDAY,
    EASTER_MONDAY,
    EARLY_MAY,
    SPRING,
    SUMMER_LAST_MONDAY,
    CHRISTMAS,
    BOXING_DAY,
];

/// Scotland has 2 January and St Andrew's Day, its summer holiday on the first Monday of August,
/// and no Easter Monday.
const SCOTLAND: &[(&str, Rule)] = &[
    NEW_YEAR,
    (
        "2nd January",
        Rule::Fixed {
            month: January,
            day: 2,
            substitute: true,
        },
    ),
    GOOD_FRIDAY,
    EARLY_MAY,
    SPRING,
    ("Summer bank holiday", Rule::FirstMonday(August)),
    (
        "St Andrew's Day",
        Rule::Fixed {
            month: November,
            day: 30,
            substitute: true,
        },
    ),
    CHRISTMAS,
    BOXING_DAY,
];

const NORTHERN_IRELAND: &[(&str, Rule)] = &[
    NEW_YEAR,
    (
        "St Patrick's Day",
        Rule::Fixed {
            month: March,
            day: 17,
            substitute: true,
        },
    ),
    GOOD_FRIDAY,
    EASTER_MONDAY,
    EARLY_MAY,
    SPRING,
    (
        "Battle of the Boyne (Orangemen's Day)",
        Rule::Fixed {
            month: July,
            day: 12,
            substitute: true,
        },
    ),
    SUMMER_LAST_MONDAY,
    CHRISTMAS,
    BOXING_DAY,
];

/// Liberation Day has no substitute: on a Saturday it falls on a non-working day anyway, on a
/// Sunday it is not a holiday at all.
const JERSEY: &[(&str, Rule)] = &[
    NEW_YEAR,
    GOOD_FRIDAY,
    EASTER_MONDAY,
    EARLY_MAY,
    (
        "Liberation Day",
        Rule::Fixed {
            month: May,
            day: 9,
            substitute: false,
        },
    ),
    SPRING,
    SUMMER_LAST_MONDAY,
    CHRISTMAS,
    BOXING_DAY,
];

/// A one-off change by proclamation or Act of the States.
#[derive(Debug, Clone, Copy)]
enum OneOff {
    Add(i32, Month, u8, &'static str),
    Remove(i32, Month, u8),
}

/// UK-wide changes (all three UK calendars).
const UK_ONE_OFFS: &[OneOff] = &[
    // 2020: the early May bank holiday moved to Friday 8 May for the 75th anniversary of VE Day.
    OneOff::Remove(2020, May, 4),
    OneOff::Add(2020, May, 8, "Early May bank holiday (VE Day)"),
    // 2022: spring bank holiday moved to 2 June, an extra day for the Platinum Jubilee, and the
    // State Funeral of Queen Elizabeth II.
    OneOff::Remove(2022, May, 30),
    OneOff::Add(2022, June, 2, "Spring bank holiday"),
    OneOff::Add(2022, June, 3, "Platinum Jubilee bank holiday"),
    OneOff::Add(
        2022,
        September,
        19,
        "Bank holiday for the State Funeral of Queen Elizabeth II",
    ),
    // 2023: the Coronation of King Charles III.
    OneOff::Add(
        2023,
        May,
        8,
        "Bank holiday for the coronation of King Charles III",
    ),
];

/// Jersey's changes: in 2020 it kept 4 May and added 8 May; in 2021 an extra day on 27 September
/// (Liberation Day fell on a Sunday). Jersey also followed the 2022 and 2023 UK changes.
const JERSEY_ONE_OFFS: &[OneOff] = &[
    OneOff::Add(2020, May, 8, "VE Day 75th anniversary"),
    OneOff::Add(
        2021,
        September,
        27,
        "Liberation Day (additional bank holiday)",
    ),
    OneOff::Remove(2022, May, 30),
    OneOff::Add(2022, June, 2, "Spring bank holiday"),
    OneOff::Add(2022, June, 3, "Platinum Jubilee bank holiday"),
    OneOff::Add(
        2022,
        September,
        19,
        "Bank holiday for the State Funeral of Queen Elizabeth II",
    ),
    OneOff::Add(
        2023,
        May,
        8,
        "Bank holiday for the coronation of King Charles III",
    ),
];

impl Calendar {
    fn rules(self) -> &'static [(&'static str, Rule)] {
        match self {
            Calendar::EnglandAndWales => ENGLAND_AND_WALES,
            Calendar::Scotland => SCOTLAND,
            Calendar::NorthernIreland => NORTHERN_IRELAND,
            Calendar::Jersey => JERSEY,
        }
    }

    fn one_offs(self) -> &'static [OneOff] {
        match self {
            Calendar::Jersey => JERSEY_ONE_OFFS,
            _ => UK_ONE_OFFS,
        }
    }

    /// The bank holidays of `year`, in date order, with their names. Empty outside the years the
    /// date crate supports.
    pub fn holidays(self, year: i32) -> Vec<(Date, &'static str)> {
        let mut days: Vec<(Date, &'static str)> = Vec::new();
        let mut on_weekends: Vec<(Date, &'static str)> = Vec::new();
        for &(name, rule) in self.rules() {
            let Some(date) = rule.date_in(year) else {
                continue;
            };
            match rule {
                Rule::Fixed {
                    substitute: true, ..
                } if is_weekend(date) => on_weekends.push((date, name)),
                Rule::Fixed {
                    substitute: false, ..
                } if is_weekend(date) => {}
                _ => days.push((date, name)),
            }
        }
        // Substitutes in date order, each taking the next weekday not already a holiday, so they
        // cascade (Scotland 2022: 1 Jan Sat → Mon 3, 2 Jan Sun → Tue 4).
        on_weekends.sort();
        for (date, name) in on_weekends {
            let mut day = date;
            while is_weekend(day) || days.iter().any(|(d, _)| *d == day) {
                day = day
                    .next_day()
                    .expect("a weekday follows within the year range");
            }
            days.push((day, name));
        }
        for change in self.one_offs() {
            match *change {
                OneOff::Remove(y, month, day) if y == year => {
                    days.retain(|(d, _)| Date::from_calendar_date(y, month, day).ok() != Some(*d));
                }
                OneOff::Add(y, month, day, name) if y == year => {
                    if let Ok(date) = Date::from_calendar_date(y, month, day)
                        && !days.iter().any(|(d, _)| *d == date)
                    {
                        days.push((date, name));
                    }
                }
                _ => {}
            }
        }
        days.sort();
        days
    }

    /// The bank holiday on `date`, if any.
    pub fn holiday(self, date: Date) -> Option<&'static str> {
        self.holidays(date.year())
            .into_iter()
            .find(|(d, _)| *d == date)
            .map(|(_, name)| name)
    }

    /// Neither a weekend nor a bank holiday.
    pub fn is_working_day(self, date: Date) -> bool {
        !is_weekend(date) && self.holiday(date).is_none()
    }

    /// `date` itself when it is a working day, else the next working day.
    pub fn next_working_day(self, date: Date) -> Date {
        let mut day = date;
        while !self.is_working_day(day) {
            day = day
                .next_day()
                .expect("a working day follows within the year range");
        }
        day
    }
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl Rule {
    fn date_in(self, year: i32) -> Option<Date> {
        match self {
            Rule::Fixed { month, day, .. } => Date::from_calendar_date(year, month, day).ok(),
            Rule::Easter(offset) => easter_sunday(year).map(|e| e + Duration::days(offset)),
            Rule::FirstMonday(month) => {
                let first = Date::from_calendar_date(year, month, 1).ok()?;
                Some(
                    first
                        + Duration::days(i64::from(
                            (7 - first.weekday().number_days_from_monday()) % 7,
                        )),
                )
            }
            Rule::LastMonday(month) => {
                let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
                Some(last - Duration::days(i64::from(last.weekday().number_days_from_monday())))
            }
        }
    }
}

/// Easter Sunday in the Gregorian calendar (the anonymous "Meeus/Jones/Butcher" computus).
pub fn easter_sunday(year: i32) -> Option<Date> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn dates(calendar: Calendar, year: i32) -> Vec<Date> {
        calendar
            .holidays(year)
            .into_iter()
            .map(|(d, _)| d)
            .collect()
    }

    #[test]
    fn easter_by_the_computus() {
        // Known Easter Sundays, including the earliest and latest possible (22 Mar, 25 Apr).
        for (year, easter) in [
            (2024, date!(2024 - 03 - 31)),
            (2025, date!(2025 - 04 - 20)),
            (2026, date!(2026 - 04 - 05)),
            (2027, date!(2027 - 03 - 28)),
            (2038, date!(2038 - 04 - 25)),
            (2285, date!(2285 - 03 - 22)),
        ] {
            assert_eq!(easter_sunday(year), Some(easter), "{year}");
        }
    }

    /// The official UK lists (gov.uk/bank-holidays) for 2024-2027, reproduced exactly.
    #[test]
    fn england_and_wales_2024_to_2027_match_the_official_list() {
        assert_eq!(
            dates(Calendar::EnglandAndWales, 2024),
            [
                date!(2024 - 01 - 01),
                date!(2024 - 03 - 29),
                date!(2024 - 04 - 01),
                date!(2024 - 05 - 06),
                date!(2024 - 05 - 27),
                date!(2024 - 08 - 26),
                date!(2024 - 12 - 25),
                date!(2024 - 12 - 26),
            ]
        );
        assert_eq!(
            dates(Calendar::EnglandAndWales, 2025),
            [
                date!(2025 - 01 - 01),
                date!(2025 - 04 - 18),
                date!(2025 - 04 - 21),
                date!(2025 - 05 - 05),
                date!(2025 - 05 - 26),
                date!(2025 - 08 - 25),
                date!(2025 - 12 - 25),
                date!(2025 - 12 - 26),
            ]
        );
        // Boxing Day 2026 is a Saturday: substitute Monday 28 December.
        assert_eq!(
            dates(Calendar::EnglandAndWales, 2026),
            [
                date!(2026 - 01 - 01),
                date!(2026 - 04 - 03),
                date!(2026 - 04 - 06),
                date!(2026 - 05 - 04),
                date!(2026 - 05 - 25),
                date!(2026 - 08 - 31),
                date!(2026 - 12 - 25),
                date!(2026 - 12 - 28),
            ]
        );
        // Christmas 2027 is a Saturday (→ Mon 27), Boxing Day a Sunday (→ Tue 28: Monday is taken).
        assert_eq!(
            dates(Calendar::EnglandAndWales, 2027),
            [
                date!(2027 - 01 - 01),
                date!(2027 - 03 - 26),
                date!(2027 - 03 - 29),
                date!(2027 - 05 - 03),
                date!(2027 - 05 - 31),
                date!(2027 - 08 - 30),
                date!(2027 - 12 - 27),
                date!(2027 - 12 - 28),
            ]
        );
    }

    #[test]
    fn scotland_2024_to_2027_match_the_official_list() {
        // St Andrew's Day 2024 is a Saturday: Monday 2 December.
        assert_eq!(
            dates(Calendar::Scotland, 2024),
            [
                date!(2024 - 01 - 01),
                date!(2024 - 01 - 02),
                date!(2024 - 03 - 29),
                date!(2024 - 05 - 06),
                date!(2024 - 05 - 27),
                date!(2024 - 08 - 05),
                date!(2024 - 12 - 02),
                date!(2024 - 12 - 25),
                date!(2024 - 12 - 26),
            ]
        );
        // St Andrew's Day 2025 is a Sunday: Monday 1 December.
        assert_eq!(
            dates(Calendar::Scotland, 2025),
            [
                date!(2025 - 01 - 01),
                date!(2025 - 01 - 02),
                date!(2025 - 04 - 18),
                date!(2025 - 05 - 05),
                date!(2025 - 05 - 26),
                date!(2025 - 08 - 04),
                date!(2025 - 12 - 01),
                date!(2025 - 12 - 25),
                date!(2025 - 12 - 26),
            ]
        );
        assert_eq!(
            dates(Calendar::Scotland, 2026),
            [
                date!(2026 - 01 - 01),
                date!(2026 - 01 - 02),
                date!(2026 - 04 - 03),
                date!(2026 - 05 - 04),
                date!(2026 - 05 - 25),
                date!(2026 - 08 - 03),
                date!(2026 - 11 - 30),
                date!(2026 - 12 - 25),
                date!(2026 - 12 - 28),
            ]
        );
        // 2 January 2027 is a Saturday: Monday 4 January.
        assert_eq!(
            dates(Calendar::Scotland, 2027),
            [
                date!(2027 - 01 - 01),
                date!(2027 - 01 - 04),
                date!(2027 - 03 - 26),
                date!(2027 - 05 - 03),
                date!(2027 - 05 - 31),
                date!(2027 - 08 - 02),
                date!(2027 - 11 - 30),
                date!(2027 - 12 - 27),
                date!(2027 - 12 - 28),
            ]
        );
    }

    #[test]
    fn northern_ireland_2024_to_2027_match_the_official_list() {
        // St Patrick's Day 2024 is a Sunday: Monday 18 March.
        assert_eq!(
            dates(Calendar::NorthernIreland, 2024),
            [
                date!(2024 - 01 - 01),
                date!(2024 - 03 - 18),
                date!(2024 - 03 - 29),
                date!(2024 - 04 - 01),
                date!(2024 - 05 - 06),
                date!(2024 - 05 - 27),
                date!(2024 - 07 - 12),
                date!(2024 - 08 - 26),
                date!(2024 - 12 - 25),
                date!(2024 - 12 - 26),
            ]
        );
        // The Boyne 2025 is a Saturday: Monday 14 July.
        assert_eq!(
            dates(Calendar::NorthernIreland, 2025),
            [
                date!(2025 - 01 - 01),
                date!(2025 - 03 - 17),
                date!(2025 - 04 - 18),
                date!(2025 - 04 - 21),
                date!(2025 - 05 - 05),
                date!(2025 - 05 - 26),
                date!(2025 - 07 - 14),
                date!(2025 - 08 - 25),
                date!(2025 - 12 - 25),
                date!(2025 - 12 - 26),
            ]
        );
        // The Boyne 2026 is a Sunday: Monday 13 July.
        assert_eq!(
            dates(Calendar::NorthernIreland, 2026),
            [
                date!(2026 - 01 - 01),
                date!(2026 - 03 - 17),
                date!(2026 - 04 - 03),
                date!(2026 - 04 - 06),
                date!(2026 - 05 - 04),
                date!(2026 - 05 - 25),
                date!(2026 - 07 - 13),
                date!(2026 - 08 - 31),
                date!(2026 - 12 - 25),
                date!(2026 - 12 - 28),
            ]
        );
        assert_eq!(
            dates(Calendar::NorthernIreland, 2027),
            [
                date!(2027 - 01 - 01),
                date!(2027 - 03 - 17),
                date!(2027 - 03 - 26),
                date!(2027 - 03 - 29),
                date!(2027 - 05 - 03),
                date!(2027 - 05 - 31),
                date!(2027 - 07 - 12),
                date!(2027 - 08 - 30),
                date!(2027 - 12 - 27),
                date!(2027 - 12 - 28),
            ]
        );
    }

    #[test]
    fn jersey_liberation_day_has_no_substitute() {
        // 2025: Friday 9 May is a holiday.
        assert_eq!(
            Calendar::Jersey.holiday(date!(2025 - 05 - 09)),
            Some("Liberation Day")
        );
        // 2026: a Saturday, 2027: a Sunday: no holiday, and nothing moves to the Monday.
        assert_eq!(
            dates(Calendar::Jersey, 2026),
            [
                date!(2026 - 01 - 01),
                date!(2026 - 04 - 03),
                date!(2026 - 04 - 06),
                date!(2026 - 05 - 04),
                date!(2026 - 05 - 25),
                date!(2026 - 08 - 31),
                date!(2026 - 12 - 25),
                date!(2026 - 12 - 28),
            ]
        );
        assert!(Calendar::Jersey.is_working_day(date!(2027 - 05 - 10)));
    }

    #[test]
    fn one_off_changes_are_applied_per_jurisdiction() {
        // 2020: the UK moved 4 May to 8 May; Jersey kept 4 May and added 8 May.
        assert!(Calendar::EnglandAndWales.is_working_day(date!(2020 - 05 - 04)));
        assert!(!Calendar::EnglandAndWales.is_working_day(date!(2020 - 05 - 08)));
        assert!(!Calendar::Jersey.is_working_day(date!(2020 - 05 - 04)));
        assert!(!Calendar::Jersey.is_working_day(date!(2020 - 05 - 08)));
        // 2021: Jersey's extra day.
        assert!(!Calendar::Jersey.is_working_day(date!(2021 - 09 - 27)));
        assert!(Calendar::EnglandAndWales.is_working_day(date!(2021 - 09 - 27)));
        // 2022: spring bank holiday moved, Jubilee and State Funeral, in every UK calendar.
        for calendar in [
            Calendar::EnglandAndWales,
            Calendar::Scotland,
            Calendar::NorthernIreland,
        ] {
            assert!(
                calendar.is_working_day(date!(2022 - 05 - 30)),
                "{calendar:?}"
            );
            for day in [
                date!(2022 - 06 - 02),
                date!(2022 - 06 - 03),
                date!(2022 - 09 - 19),
                date!(2023 - 05 - 08),
            ] {
                assert!(!calendar.is_working_day(day), "{calendar:?} {day}");
            }
        }
    }

    #[test]
    fn substitutes_cascade_past_holidays_already_on_weekdays() {
        // Scotland 2022: 1 Jan Sat → Mon 3, 2 Jan Sun → Tue 4.
        assert_eq!(
            &dates(Calendar::Scotland, 2022)[..2],
            [date!(2022 - 01 - 03), date!(2022 - 01 - 04)]
        );
        // 2022: Christmas on a Sunday, Boxing Day on the Monday: Christmas moves to Tuesday 27.
        let december: Vec<Date> = dates(Calendar::EnglandAndWales, 2022)
            .into_iter()
            .filter(|d| d.month() == December)
            .collect();
        assert_eq!(december, [date!(2022 - 12 - 26), date!(2022 - 12 - 27)]);
    }

    #[test]
    fn next_working_day_skips_weekends_and_holidays() {
        // Easter 2026: Good Friday 3 Apr, weekend, Easter Monday 6 Apr (not in Scotland).
        assert_eq!(
            Calendar::EnglandAndWales.next_working_day(date!(2026 - 04 - 03)),
            date!(2026 - 04 - 07)
        );
        assert_eq!(
            Calendar::Scotland.next_working_day(date!(2026 - 04 - 03)),
            date!(2026 - 04 - 06)
        );
        assert_eq!(
            Calendar::EnglandAndWales.next_working_day(date!(2026 - 04 - 08)),
            date!(2026 - 04 - 08)
        );
        // Christmas 2026: Fri 25 and the Boxing Day substitute Mon 28 → Tue 29.
        assert_eq!(
            Calendar::EnglandAndWales.next_working_day(date!(2026 - 12 - 25)),
            date!(2026 - 12 - 29)
        );
    }
}
