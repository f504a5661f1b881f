//! Properties that hold for every day of receipt, calendar and pause (UK month-based rules).

use dps_deadlines::{Calendar, Clock, Event, EventKind, Profile, Zone};
use proptest::prelude::*;
use time::{Date, Duration};

fn day(offset: i64) -> Date {
    // Receipts from 1 Jan 2024 to the end of 2031, both rule sets of the UK profile.
    time::macros::date!(2024 - 01 - 01) + Duration::days(offset)
}

fn calendar() -> impl Strategy<Value = Calendar> {
    prop_oneof![
        Just(Calendar::EnglandAndWales),
        Just(Calendar::Scotland),
        Just(Calendar::NorthernIreland),
    ]
}

fn due(calendar: Calendar, received: Date, pause: Option<(i64, i64)>) -> Date {
    let at = |date: Date| date.with_time(time::macros::time!(12:00)).assume_utc();
    let mut events = vec![Event::new(at(received), EventKind::Received)];
    if let Some((after, length)) = pause {
        let asked = received + Duration::days(after);
        events.push(Event::new(at(asked), EventKind::ClarificationRequested));
        events.push(Event::new(
            at(asked + Duration::days(length)),
            EventKind::ClarificationReceived,
        ));
    }
    Clock::new(Profile::uk_gdpr_rights(), calendar, Zone::EuropeLondon)
        .evaluate(&events)
        .expect("a valid history")
        .due
        .expect("running")
        .date
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn due_is_never_before_a_month_and_never_a_non_working_day(
        calendar in calendar(),
        offset in 0i64..2922,
    ) {
        let received = day(offset);
        let due = due(calendar, received, None);
        let (month_end, _) = dps_deadlines::period::add_months(received, 1);
        prop_assert!(due >= month_end);
        prop_assert!(calendar.is_working_day(due));
        // And the roll-forward never goes past the first working day.
        prop_assert_eq!(due, calendar.next_working_day(month_end));
    }

    #[test]
    fn a_later_start_never_gives_an_earlier_due_date(
        calendar in calendar(),
        offset in 0i64..2921,
        later in 1i64..40,
    ) {
        prop_assert!(
            due(calendar, day(offset), None) <= due(calendar, day(offset + later), None)
        );
    }

    #[test]
    fn a_pause_never_makes_it_earlier(
        calendar in calendar(),
        offset in 0i64..2922,
        after in 0i64..35,
        length in 0i64..20,
    ) {
        let received = day(offset);
        let paused = due(calendar, received, Some((after, length)));
        prop_assert!(paused >= due(calendar, received, None));
        prop_assert!(calendar.is_working_day(paused));
    }
}
