//! Hand-worked cases, one per rule. Each comment shows the count a DPO would do on paper.

use dps_deadlines::{
    Calendar, Clock, ClockError, Deadlines, Event, EventKind, Profile, Status, Zone,
};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};

use EventKind::*;

/// Noon UTC: the same local date in London and Jersey all year.
fn on(date: Date) -> OffsetDateTime {
    date.with_time(time::macros::time!(12:00)).assume_utc()
}

fn events(list: &[(Date, EventKind)]) -> Vec<Event> {
    list.iter()
        .map(|(date, kind)| Event::new(on(*date), kind.clone()))
        .collect()
}

fn uk(calendar: Calendar, list: &[(Date, EventKind)]) -> Deadlines {
    Clock::new(Profile::uk_gdpr_rights(), calendar, Zone::EuropeLondon)
        .evaluate(&events(list))
        .expect("a valid history")
}

fn england(list: &[(Date, EventKind)]) -> Deadlines {
    uk(Calendar::EnglandAndWales, list)
}

fn due(deadlines: &Deadlines) -> Date {
    deadlines.due.expect("the clock is running").date
}

fn extended(reason: &str) -> EventKind {
    Extended {
        reason: reason.to_owned(),
    }
}

#[test]
fn a_month_runs_to_the_corresponding_date_or_the_next_working_day() {
    // (received, due in England and Wales), all worked by hand.
    let cases = [
        // The regulator's own example: Wed 3 Sep 2025 → Fri 3 Oct 2025.
        (date!(2025 - 09 - 03), date!(2025 - 10 - 03)),
        // 31 Mar → no 31 Apr → Thu 30 Apr 2026, a working day.
        (date!(2026 - 03 - 31), date!(2026 - 04 - 30)),
        // 29 February in a leap year: Mon 31 Jan 2028 → Tue 29 Feb 2028.
        (date!(2028 - 01 - 31), date!(2028 - 02 - 29)),
        // From 29 February: Tue 29 Feb 2028 → Wed 29 Mar 2028.
        (date!(2028 - 02 - 29), date!(2028 - 03 - 29)),
        // Not a leap year: Sun 31 Jan 2027 → Sun 28 Feb 2027 → Mon 1 Mar 2027.
        (date!(2027 - 01 - 31), date!(2027 - 03 - 01)),
        // Good Friday and Easter Monday: Tue 3 Mar 2026 → Fri 3 Apr (Good Friday), Sat, Sun,
        // Mon 6 Apr (Easter Monday) → Tue 7 Apr 2026.
        (date!(2026 - 03 - 03), date!(2026 - 04 - 07)),
        // Christmas with a Boxing-Day substitute: Wed 25 Nov 2026 → Fri 25 Dec (Christmas),
        // Sat 26 (Boxing Day, substituted to Mon 28), Sun 27, Mon 28 → Tue 29 Dec 2026.
        (date!(2026 - 11 - 25), date!(2026 - 12 - 29)),
        // Received on a Sunday, which is still day 1: Sun 1 Nov 2026 → Tue 1 Dec 2026.
        (date!(2026 - 11 - 01), date!(2026 - 12 - 01)),
    ];
    for (received, expected) in cases {
        assert_eq!(
            due(&england(&[(received, Received)])),
            expected,
            "received {received}"
        );
    }
}

#[test]
fn the_explanation_reads_line_by_line() {
    // Received Sat 31 Jan 2026, before Art 12A came into force.
    let deadlines = england(&[(date!(2026 - 01 - 31), Received)]);
    assert_eq!(
        deadlines.explanation,
        [
            "rules: UK GDPR Art 12(3) with the ICO's guidance (requests received before 5 Feb 2026)",
            "received Sat 31 Jan 2026 (day 1)",
            "the first period: 1 month from Sat 31 Jan 2026 → the 31st February does not exist → \
             the last day of that month, Sat 28 Feb 2026",
            "the first period: Sat 28 Feb 2026 is a Saturday → the next working day, Mon 2 Mar 2026",
            "a refusal, or a decision to take no action, is due by Mon 2 Mar 2026 even if the \
             period is extended (Art 12(4))",
            "the person must be told of any extension, and why, by Mon 2 Mar 2026",
            "the response is due by Mon 2 Mar 2026",
        ]
    );
    assert_eq!(deadlines.status, Status::Running);
    assert_eq!(deadlines.start, Some(date!(2026 - 01 - 31)));
    assert!(deadlines.warnings.is_empty());
}

#[test]
fn easter_monday_is_a_working_day_in_scotland() {
    // Tue 3 Mar 2026 → Fri 3 Apr, Good Friday everywhere in the UK; Mon 6 Apr is a bank holiday
    // in England and Wales and Northern Ireland but not in Scotland.
    let received = [(date!(2026 - 03 - 03), Received)];
    assert_eq!(
        due(&uk(Calendar::Scotland, &received)),
        date!(2026 - 04 - 06)
    );
    assert_eq!(
        due(&uk(Calendar::NorthernIreland, &received)),
        date!(2026 - 04 - 07)
    );
}

#[test]
fn the_boyne_substitute_moves_a_northern_irish_deadline() {
    // Fri 12 Jun 2026 → Sun 12 Jul 2026. In Northern Ireland the Boyne holiday falls on that
    // Sunday and is substituted to Mon 13 Jul → Tue 14 Jul. In England the Monday is working.
    let received = [(date!(2026 - 06 - 12), Received)];
    let ni = uk(Calendar::NorthernIreland, &received);
    assert_eq!(due(&ni), date!(2026 - 07 - 14));
    assert!(
        ni.explanation
            .contains(&"the first period: Sun 12 Jul 2026 is a Sunday → the next working day, Tue 14 Jul 2026".to_owned())
    );
    assert_eq!(
        due(&uk(Calendar::EnglandAndWales, &received)),
        date!(2026 - 07 - 13)
    );
}

#[test]
fn identity_received_late_starts_a_whole_new_month() {
    // Received Mon 2 Mar 2026 (day 1). Identity asked on day 10 (Wed 11 Mar), received on day 20
    // (Sat 21 Mar): the month starts again from Sat 21 Mar → Tue 21 Apr 2026. (Treated as a
    // pause it would have been 2 Apr + 11 days = 13 Apr: wrong since Art 12A.)
    let deadlines = england(&[
        (date!(2026 - 03 - 02), Received),
        (date!(2026 - 03 - 11), IdentityRequested),
        (date!(2026 - 03 - 21), IdentityReceived),
    ]);
    assert_eq!(deadlines.start, Some(date!(2026 - 03 - 21)));
    assert_eq!(due(&deadlines), date!(2026 - 04 - 21));

    // A fee paid after the identity arrived is later still: start Wed 25 Mar → Sat 25 Apr →
    // Mon 27 Apr 2026.
    let with_fee = england(&[
        (date!(2026 - 03 - 02), Received),
        (date!(2026 - 03 - 11), IdentityRequested),
        (date!(2026 - 03 - 12), FeeRequested),
        (date!(2026 - 03 - 21), IdentityReceived),
        (date!(2026 - 03 - 25), FeePaid),
    ]);
    assert_eq!(due(&with_fee), date!(2026 - 04 - 27));
}

#[test]
fn until_identity_arrives_the_clock_has_not_started() {
    let deadlines = england(&[
        (date!(2026 - 03 - 02), Received),
        (date!(2026 - 03 - 03), IdentityRequested),
    ]);
    assert_eq!(
        deadlines.status,
        Status::AwaitingIdentity(date!(2026 - 03 - 03))
    );
    assert_eq!((deadlines.start, deadlines.due), (None, None));
}

#[test]
fn a_clarification_pause_counts_both_days() {
    // Received Tue 1 Sep 2026 → Thu 1 Oct. Clarification asked Mon 7 Sep, answered Tue 8 Sep:
    // both days count as paused, 2 days → Sat 3 Oct → Mon 5 Oct 2026. Counting only the days in
    // between (1 day) would have given Fri 2 Oct.
    let deadlines = england(&[
        (date!(2026 - 09 - 01), Received),
        (date!(2026 - 09 - 07), ClarificationRequested),
        (date!(2026 - 09 - 08), ClarificationReceived),
    ]);
    assert_eq!(due(&deadlines), date!(2026 - 10 - 05));
    // The pause moves the extension notice too (Art 12A(4)(b)).
    assert_eq!(
        deadlines.extension_notice_due.map(|d| d.date),
        Some(date!(2026 - 10 - 05))
    );
}

#[test]
fn a_pause_across_a_month_end() {
    // Received Mon 16 Mar 2026 → Thu 16 Apr. Paused Mon 30 Mar to Thu 2 Apr: 30, 31 Mar, 1, 2 Apr
    // = 4 days → Mon 20 Apr 2026, a working day.
    let deadlines = england(&[
        (date!(2026 - 03 - 16), Received),
        (date!(2026 - 03 - 30), ClarificationRequested),
        (date!(2026 - 04 - 02), ClarificationReceived),
    ]);
    assert_eq!(due(&deadlines), date!(2026 - 04 - 20));
}

#[test]
fn while_clarification_is_awaited_the_dates_are_unknown() {
    let deadlines = england(&[
        (date!(2026 - 09 - 01), Received),
        (date!(2026 - 09 - 07), ClarificationRequested),
    ]);
    assert_eq!(deadlines.status, Status::Paused(date!(2026 - 09 - 07)));
    assert_eq!(deadlines.due, None);
    assert_eq!(deadlines.refusal_due, None);
    assert!(deadlines.explanation.contains(
        &"the first period: the clock stopped on Mon 7 Sep 2026 awaiting clarification, with 25 \
          days to run"
            .to_owned()
    ));
}

#[test]
fn a_refusal_on_an_extended_request_is_due_within_the_first_period() {
    // Received Tue 1 Sep 2026; paused 7–8 Sep (2 days) → first period ends Mon 5 Oct.
    // Extended on Mon 21 Sep: three months from Tue 1 Sep → Tue 1 Dec, + 2 days → Thu 3 Dec.
    // A refusal is still due by Mon 5 Oct (Art 12(4)).
    let history = [
        (date!(2026 - 09 - 01), Received),
        (date!(2026 - 09 - 07), ClarificationRequested),
        (date!(2026 - 09 - 08), ClarificationReceived),
        (
            date!(2026 - 09 - 21),
            extended("complex: records held in five systems"),
        ),
    ];
    let deadlines = england(&history);
    assert_eq!(due(&deadlines), date!(2026 - 12 - 03));
    assert_eq!(deadlines.extended_on, Some(date!(2026 - 09 - 21)));
    assert_eq!(
        deadlines.refusal_due.map(|d| d.date),
        Some(date!(2026 - 10 - 05))
    );

    let mut refused_late = history.to_vec();
    refused_late.push((date!(2026 - 10 - 06), Refused));
    let late = england(&refused_late);
    assert_eq!(late.status, Status::Refused(date!(2026 - 10 - 06)));
    assert_eq!(
        late.explanation.last().map(String::as_str),
        Some("refused on Tue 6 Oct 2026: late")
    );
}

#[test]
fn an_extension_is_three_months_from_the_start_not_two_from_the_first_due_date() {
    // Received Sat 31 Jan 2026: first period ends Mon 2 Mar (rolled from Sat 28 Feb).
    // Extended: three months from 31 Jan → 30 Apr 2026 (Thu). Two months from 2 Mar would be
    // 2 May: wrong.
    let deadlines = england(&[
        (date!(2026 - 01 - 31), Received),
        (date!(2026 - 02 - 10), extended("number of requests")),
    ]);
    assert_eq!(due(&deadlines), date!(2026 - 04 - 30));
}

#[test]
fn a_request_received_before_5_february_2026_keeps_the_old_rules() {
    // Received Mon 2 Feb 2026 → Mon 2 Mar. Clarification asked Wed 4 Feb, answered Fri 6 Feb.
    // The ICO's old count: the 2 days the person took → Wed 4 Mar. Art 12A would count 3 days
    // (4, 5, 6 Feb) → Thu 5 Mar. Before Art 12A the pause did not move the extension notice,
    // still due "within one month of receipt": Mon 2 Mar.
    let history = |received| {
        [
            (received, Received),
            (date!(2026 - 02 - 04), ClarificationRequested),
            (date!(2026 - 02 - 06), ClarificationReceived),
        ]
    };
    let old = england(&history(date!(2026 - 02 - 02)));
    assert_eq!(due(&old), date!(2026 - 03 - 04));
    assert_eq!(
        old.extension_notice_due.map(|d| d.date),
        Some(date!(2026 - 03 - 02))
    );
    assert!(old.explanation[0].contains("before 5 Feb 2026"));

    // Received on the day Art 12A came into force, Thu 5 Feb 2026 → Thu 5 Mar. Asked Fri 6 Feb,
    // answered Mon 9 Feb: 6, 7, 8 and 9 Feb, both ends counted = 4 days → Mon 9 Mar.
    let new = england(&[
        (date!(2026 - 02 - 05), Received),
        (date!(2026 - 02 - 06), ClarificationRequested),
        (date!(2026 - 02 - 09), ClarificationReceived),
    ]);
    assert_eq!(due(&new), date!(2026 - 03 - 09));
    assert!(new.explanation[0].contains("from 5 Feb 2026"));
}

#[test]
fn jersey_does_not_roll_a_holiday_forward_but_warns() {
    // Received Mon 6 Apr 2026 (Easter Monday, still day 1) + 4 weeks → Mon 4 May 2026, the Early
    // May bank holiday in Jersey. The Jersey law has no next-working-day rule: due stays 4 May.
    let clock = Clock::new(
        Profile::jersey_rights(),
        Calendar::Jersey,
        Zone::EuropeJersey,
    );
    let deadlines = clock
        .evaluate(&events(&[(date!(2026 - 04 - 06), Received)]))
        .expect("valid");
    let first = deadlines.due.expect("running");
    assert_eq!(first.date, date!(2026 - 05 - 04));
    assert!(!first.working_day);
    assert_eq!(deadlines.warnings.len(), 1);
    assert!(deadlines.warnings[0].contains("Early May bank holiday"));

    // Extended by 8 weeks: 12 weeks from Mon 6 Apr → Mon 29 Jun 2026.
    let extended = clock
        .evaluate(&events(&[
            (date!(2026 - 04 - 06), Received),
            (date!(2026 - 04 - 20), extended("complex")),
        ]))
        .expect("valid");
    assert_eq!(due(&extended), date!(2026 - 06 - 29));

    // No clarification pause in Jersey.
    let pause = clock.evaluate(&events(&[
        (date!(2026 - 04 - 06), Received),
        (date!(2026 - 04 - 07), ClarificationRequested),
    ]));
    assert!(matches!(pause, Err(ClockError::NotApplicable { .. })));
}

#[test]
fn a_complaint_is_acknowledged_within_30_days_beginning_with_receipt() {
    // Received Fri 19 Jun 2026, the day s164A came into force: day 30 is Sat 18 Jul 2026, not
    // rolled forward.
    let clock = Clock::new(
        Profile::uk_complaint_acknowledgement(),
        Calendar::EnglandAndWales,
        Zone::EuropeLondon,
    );
    let deadlines = clock
        .evaluate(&events(&[(date!(2026 - 06 - 19), Received)]))
        .expect("valid");
    assert_eq!(
        deadlines.due,
        Some(dps_deadlines::Due {
            date: date!(2026 - 07 - 18),
            working_day: false
        })
    );
    assert_eq!(deadlines.extension_notice_due, None);
    // Before s164A there was no such duty.
    assert!(matches!(
        clock.evaluate(&events(&[(date!(2026 - 06 - 18), Received)])),
        Err(ClockError::NotInForce { .. })
    ));
    // Nor a restart for identity.
    assert!(matches!(
        clock.evaluate(&events(&[
            (date!(2026 - 06 - 19), Received),
            (date!(2026 - 06 - 20), IdentityRequested)
        ])),
        Err(ClockError::NotApplicable { .. })
    ));
}

#[test]
fn the_day_of_receipt_is_a_local_date() {
    // 23:30 UTC on Tue 30 Jun 2026 is 00:30 on Wed 1 Jul in London: day 1 is 1 Jul → Sat 1 Aug →
    // Mon 3 Aug 2026 in England; in Scotland Mon 3 Aug is the summer bank holiday → Tue 4 Aug.
    let received = [Event::new(datetime!(2026-06-30 23:30 UTC), Received)];
    let clock = |calendar| Clock::new(Profile::uk_gdpr_rights(), calendar, Zone::EuropeLondon);
    let england = clock(Calendar::EnglandAndWales)
        .evaluate(&received)
        .expect("valid");
    assert_eq!(england.start, Some(date!(2026 - 07 - 01)));
    assert_eq!(due(&england), date!(2026 - 08 - 03));
    assert_eq!(
        england.explanation[1],
        "received Wed 1 Jul 2026 (day 1): 23:30 UTC on Tue 30 Jun 2026 is already Wed 1 Jul 2026 \
         in Europe/London"
    );
    let scotland = clock(Calendar::Scotland)
        .evaluate(&received)
        .expect("valid");
    assert_eq!(due(&scotland), date!(2026 - 08 - 04));

    // In winter London keeps UTC: 23:30 UTC on Thu 31 Dec 2026 is still 31 Dec → Sun 31 Jan 2027
    // → Mon 1 Feb 2027.
    let winter = clock(Calendar::EnglandAndWales)
        .evaluate(&[Event::new(datetime!(2026-12-31 23:30 UTC), Received)])
        .expect("valid");
    assert_eq!(due(&winter), date!(2027 - 02 - 01));
}

#[test]
fn an_internal_target_is_configuration_and_labelled_as_such() {
    // 28 days beginning with Mon 2 Mar 2026: day 28 is Sun 29 Mar → Mon 30 Mar 2026.
    let clock = Clock::new(
        Profile::internal_target("SAR internal target", 28),
        Calendar::EnglandAndWales,
        Zone::EuropeLondon,
    );
    let deadlines = clock
        .evaluate(&events(&[(date!(2026 - 03 - 02), Received)]))
        .expect("valid");
    assert_eq!(due(&deadlines), date!(2026 - 03 - 30));
    assert!(!deadlines.statutory);
    assert!(deadlines.warnings[0].contains("not the law"));
}

#[test]
fn impossible_histories_are_refused_with_the_rule_they_break() {
    let start = date!(2026 - 09 - 01);
    let fails = |list: &[(Date, EventKind)]| {
        Clock::new(
            Profile::uk_gdpr_rights(),
            Calendar::EnglandAndWales,
            Zone::EuropeLondon,
        )
        .evaluate(&events(list))
        .expect_err("an impossible history")
    };
    // A second extension.
    let twice = fails(&[
        (start, Received),
        (date!(2026 - 09 - 10), extended("complex")),
        (date!(2026 - 09 - 11), extended("more complex")),
    ]);
    assert_eq!(twice, ClockError::AlreadyExtended(date!(2026 - 09 - 10)));
    assert!(!twice.is_invalid_argument());
    // An extension after the first period (Thu 1 Oct) ended.
    assert_eq!(
        fails(&[
            (start, Received),
            (date!(2026 - 10 - 02), extended("complex"))
        ]),
        ClockError::ExtensionTooLate {
            on: date!(2026 - 10 - 02),
            notice_due: date!(2026 - 10 - 01)
        }
    );
    // An extension without a reason.
    let reasonless = fails(&[(start, Received), (date!(2026 - 09 - 02), extended("  "))]);
    assert_eq!(reasonless, ClockError::ExtensionWithoutReason);
    assert!(reasonless.is_invalid_argument());
    // An answer nobody asked for.
    assert_eq!(
        fails(&[(start, Received), (date!(2026 - 09 - 02), IdentityReceived)]),
        ClockError::NotAsked("identity information received")
    );
    // Something before the request arrived.
    assert!(matches!(
        fails(&[(start, Received), (date!(2026 - 08 - 31), FeeRequested)]),
        ClockError::BeforeReceipt { .. }
    ));
    // No receipt, or two.
    assert_eq!(fails(&[]), ClockError::Receipt(0));
    assert_eq!(
        fails(&[(start, Received), (start, Received)]),
        ClockError::Receipt(2)
    );
    // Anything after a refusal.
    assert!(matches!(
        fails(&[
            (start, Received),
            (date!(2026 - 09 - 02), Refused),
            (date!(2026 - 09 - 03), extended("complex")),
        ]),
        ClockError::AfterRefusal { .. }
    ));
}

#[test]
fn a_clarification_asked_after_the_period_ended_does_not_stop_the_clock() {
    // Received Tue 1 Sep 2026, due Thu 1 Oct; asking on Fri 2 Oct is too late to pause anything.
    let deadlines = england(&[
        (date!(2026 - 09 - 01), Received),
        (date!(2026 - 10 - 02), ClarificationRequested),
        (date!(2026 - 10 - 05), ClarificationReceived),
    ]);
    assert_eq!(due(&deadlines), date!(2026 - 10 - 01));
    assert!(deadlines.warnings[0].contains("does not stop the clock"));
}
