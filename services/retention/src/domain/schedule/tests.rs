//! One test per row of 003 §19 (and §17), each with hand-worked dates. Years and months count as
//! calendar months; a 29 February anniversary in a common year is 28 February.

use time::Date;
use time::macros::{date, datetime};

use super::default_schedule;
use crate::domain::class::{EndAction, RecordClass, RecordClassId};
use crate::domain::record::date_record;
use crate::domain::rule::{Event, Facts};

fn class(code: &str) -> RecordClass {
    let new = default_schedule()
        .into_iter()
        .find(|c| c.code() == code)
        .unwrap_or_else(|| panic!("{code} is in the default schedule"));
    RecordClass {
        id: RecordClassId::generate(),
        code: new.code().to_owned(),
        spec: new.change().clone(),
        schedule_version: 1,
        created_at: datetime!(2026-12-01 09:00 UTC),
    }
}

/// The review date of a record of `code` with these facts.
fn review(
    code: &str,
    born: Option<Date>,
    events: &[(Event, Date)],
    died_in_care: bool,
) -> Option<Date> {
    let mut facts = Facts {
        born,
        died_in_care,
        ..Facts::default()
    };
    facts.set(Event::Created, Some(date!(2000 - 01 - 01)));
    for (e, d) in events {
        facts.set(*e, Some(*d));
    }
    date_record(&class(code), &facts, None).review_on
}

use Event::*;

#[test]
fn adult_health_record_20_years_after_last_contact_or_8_after_death_in_our_care() {
    let code = "adult-health-record";
    // Discharged 15 Mar 2024 → 15 Mar 2044.
    assert_eq!(
        review(code, None, &[(Discharged, date!(2024 - 03 - 15))], false),
        Some(date!(2044 - 03 - 15))
    );
    // Died in our care 31 Jul 2025, never discharged → 8 years → 31 Jul 2033.
    assert_eq!(
        review(code, None, &[(Died, date!(2025 - 07 - 31))], true),
        Some(date!(2033 - 07 - 31))
    );
    // Discharged 28 Feb 2010, died elsewhere in 2015: not in our care → 20 years from discharge.
    assert_eq!(
        review(
            code,
            None,
            &[
                (Discharged, date!(2010 - 02 - 28)),
                (Died, date!(2015 - 06 - 01))
            ],
            false
        ),
        Some(date!(2030 - 02 - 28))
    );
    assert_eq!(class(code).spec.end_action(), EndAction::ReviewThenDestroy);
}

#[test]
fn child_health_record_25th_birthday_or_26th_if_17_at_the_end_of_treatment() {
    let code = "child-health-record";
    // Born 29 Feb 2008. Turns 17 on 28 Feb 2025 (common year). Discharged 1 Mar 2025 at 17 → 26th
    // birthday, 28 Feb 2034 (2034 is common).
    let leapling = Some(date!(2008 - 02 - 29));
    assert_eq!(
        review(
            code,
            leapling,
            &[(Discharged, date!(2025 - 03 - 01))],
            false
        ),
        Some(date!(2034 - 02 - 28))
    );
    // Discharged 27 Feb 2025, still 16 → 25th birthday, 28 Feb 2033.
    assert_eq!(
        review(
            code,
            leapling,
            &[(Discharged, date!(2025 - 02 - 27))],
            false
        ),
        Some(date!(2033 - 02 - 28))
    );
    // Born 30 Sep 2006, discharged 29 Sep 2024, the last day aged 17 → 26th: 30 Sep 2032.
    assert_eq!(
        review(
            code,
            Some(date!(2006 - 09 - 30)),
            &[(Discharged, date!(2024 - 09 - 29))],
            false
        ),
        Some(date!(2032 - 09 - 30))
    );
    // Born 15 Jun 2010, discharged aged 9 → 25th: 15 Jun 2035.
    assert_eq!(
        review(
            code,
            Some(date!(2010 - 06 - 15)),
            &[(Discharged, date!(2020 - 06 - 14))],
            false
        ),
        Some(date!(2035 - 06 - 15))
    );
}

#[test]
fn mental_health_record_20_years_or_8_after_death_in_care_whichever_is_sooner() {
    let code = "mental-health-record";
    // Discharged 30 Nov 2019 → 30 Nov 2039.
    assert_eq!(
        review(code, None, &[(Discharged, date!(2019 - 11 - 30))], false),
        Some(date!(2039 - 11 - 30))
    );
    // Died in our care 10 May 2022, no discharge recorded → 10 May 2030.
    assert_eq!(
        review(code, None, &[(Died, date!(2022 - 05 - 10))], true),
        Some(date!(2030 - 05 - 10))
    );
    // Last seen 5 Jan 2000, died in our care 10 May 2022: 5 Jan 2020 is sooner than 10 May 2030.
    assert_eq!(
        review(
            code,
            None,
            &[
                (Discharged, date!(2000 - 01 - 05)),
                (Died, date!(2022 - 05 - 10))
            ],
            true
        ),
        Some(date!(2020 - 01 - 05))
    );
    // Died elsewhere: the death does not count → 30 Nov 2039.
    assert_eq!(
        review(
            code,
            None,
            &[
                (Discharged, date!(2019 - 11 - 30)),
                (Died, date!(2022 - 05 - 10))
            ],
            false
        ),
        Some(date!(2039 - 11 - 30))
    );
}

#[test]
fn long_term_illness_record_30_years_or_8_after_death_in_care_whichever_is_sooner() {
    let code = "long-term-illness-record";
    // Discharged 31 Aug 2016 → 31 Aug 2046.
    assert_eq!(
        review(code, None, &[(Discharged, date!(2016 - 08 - 31))], false),
        Some(date!(2046 - 08 - 31))
    );
    // Last seen 20 Jan 2023, died in our care 31 Jan 2023: 31 Jan 2031 beats 20 Jan 2053.
    assert_eq!(
        review(
            code,
            None,
            &[
                (Discharged, date!(2023 - 01 - 20)),
                (Died, date!(2023 - 01 - 31))
            ],
            true
        ),
        Some(date!(2031 - 01 - 31))
    );
}

#[test]
fn serious_incident_20_years_after_closure_then_transfer() {
    let code = "serious-incident";
    assert_eq!(
        review(code, None, &[(Closed, date!(2021 - 12 - 31))], false),
        Some(date!(2041 - 12 - 31))
    );
    assert_eq!(
        review(code, None, &[], false),
        None,
        "open incidents are not dated"
    );
    assert_eq!(class(code).spec.end_action(), EndAction::ReviewThenTransfer);
}

#[test]
fn non_serious_incident_10_years_after_closure_then_transfer() {
    let code = "incident";
    // Closed 29 Feb 2016; 2026 has no 29 Feb → 28 Feb 2026.
    assert_eq!(
        review(code, None, &[(Closed, date!(2016 - 02 - 29))], false),
        Some(date!(2026 - 02 - 28))
    );
    assert_eq!(class(code).spec.end_action(), EndAction::ReviewThenTransfer);
}

#[test]
fn policies_life_of_the_organisation_plus_6_years() {
    let code = "policy";
    assert_eq!(
        review(code, None, &[], false),
        None,
        "kept while the organisation lives"
    );
    assert_eq!(
        review(
            code,
            None,
            &[(OrganisationEnded, date!(2025 - 10 - 31))],
            false
        ),
        Some(date!(2031 - 10 - 31))
    );
    assert_eq!(class(code).spec.end_action(), EndAction::ReviewThenTransfer);
}

#[test]
fn occupational_health_record_75th_birthday_or_6_years_after_leaving_whichever_is_sooner() {
    let code = "occupational-health-record";
    let born = Some(date!(1950 - 06 - 01));
    assert_eq!(
        review(code, born, &[], false),
        None,
        "still employed: not dated"
    );
    // Left 15 Jan 2024: 75th birthday 1 Jun 2025 is sooner than 15 Jan 2030.
    assert_eq!(
        review(
            code,
            born,
            &[(LeftEmployment, date!(2024 - 01 - 15))],
            false
        ),
        Some(date!(2025 - 06 - 01))
    );
    // Born 1980, left 31 Mar 2021 → 31 Mar 2027, long before the 75th birthday.
    assert_eq!(
        review(
            code,
            Some(date!(1980 - 03 - 31)),
            &[(LeftEmployment, date!(2021 - 03 - 31))],
            false
        ),
        Some(date!(2027 - 03 - 31))
    );
}

#[test]
fn employee_record_75th_birthday_or_6_years_after_leaving_with_a_29_february_birthday() {
    let code = "employee-record";
    // Born 29 Feb 1956, left 30 Apr 2025: 75th birthday in 2031 (common) is 28 Feb 2031, sooner
    // than 30 Apr 2031.
    assert_eq!(
        review(
            code,
            Some(date!(1956 - 02 - 29)),
            &[(LeftEmployment, date!(2025 - 04 - 30))],
            false
        ),
        Some(date!(2031 - 02 - 28))
    );
}

#[test]
fn mandatory_training_10_years_after_completion() {
    assert_eq!(
        review(
            "mandatory-training-record",
            None,
            &[(TrainingCompleted, date!(2023 - 09 - 15))],
            false
        ),
        Some(date!(2033 - 09 - 15))
    );
}

#[test]
fn other_training_6_years_after_completion() {
    // Completed 29 Feb 2020 → 28 Feb 2026.
    assert_eq!(
        review(
            "training-record",
            None,
            &[(TrainingCompleted, date!(2020 - 02 - 29))],
            false
        ),
        Some(date!(2026 - 02 - 28))
    );
}

#[test]
fn timesheets_2_years_from_creation_with_a_limitation_warning() {
    let mut facts = Facts::default();
    facts.set(Created, Some(date!(2024 - 12 - 31)));
    let dated = date_record(&class("timesheet"), &facts, None);
    assert_eq!(dated.review_on, Some(date!(2026 - 12 - 31)));
    assert_eq!(
        dated.explanation,
        "timesheet (schedule v1): 2 years after creation (2024-12-31) = 2026-12-31"
    );
    assert!(class("timesheet").spec.warnings()[0].contains("Limitation Act"));
}

#[test]
fn complaints_10_years_after_closure() {
    assert_eq!(
        review("complaint", None, &[(Closed, date!(2023 - 03 - 31))], false),
        Some(date!(2033 - 03 - 31))
    );
}

#[test]
fn subject_access_requests_3_years_after_closure() {
    // Closed 29 Feb 2024 → 28 Feb 2027.
    assert_eq!(
        review(
            "subject-access-request",
            None,
            &[(Closed, date!(2024 - 02 - 29))],
            false
        ),
        Some(date!(2027 - 02 - 28))
    );
}

#[test]
fn subject_access_requests_with_appeal_6_years_after_the_appeal_closes() {
    let code = "subject-access-request-appeal";
    assert_eq!(
        review(code, None, &[(Closed, date!(2022 - 01 - 10))], false),
        None
    );
    assert_eq!(
        review(code, None, &[(AppealClosed, date!(2022 - 10 - 15))], false),
        Some(date!(2028 - 10 - 15))
    );
}

#[test]
fn unsuccessful_applicants_3_months_after_the_decision() {
    // Decided 31 Aug 2026 → 30 Nov 2026 (November has no 31st).
    assert_eq!(
        review(
            "unsuccessful-applicant",
            None,
            &[(RecruitmentDecided, date!(2026 - 08 - 31))],
            false
        ),
        Some(date!(2026 - 11 - 30))
    );
}

#[test]
fn the_default_schedule_has_every_row_once_and_warns_only_on_short_rules() {
    let schedule = default_schedule();
    let mut codes: Vec<&str> = schedule.iter().map(|c| c.code()).collect();
    assert_eq!(codes.len(), 16);
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 16);
    let warned: Vec<&str> = schedule
        .iter()
        .filter(|c| !c.change().warnings().is_empty())
        .map(|c| c.code())
        .collect();
    assert_eq!(
        warned,
        [
            "timesheet",
            "subject-access-request",
            "unsuccessful-applicant"
        ]
    );
}

#[test]
fn an_extension_is_a_floor_under_the_rule() {
    let mut facts = Facts::default();
    facts.set(Created, Some(date!(2020 - 01 - 01)));
    facts.set(Closed, Some(date!(2020 - 06 - 30)));
    let sar = class("subject-access-request");
    let extended = date_record(&sar, &facts, Some(date!(2027 - 01 - 31)));
    assert_eq!(extended.review_on, Some(date!(2027 - 01 - 31)));
    assert!(
        extended
            .explanation
            .ends_with("extended by a reviewer to 2027-01-31")
    );
    let earlier = date_record(&sar, &facts, Some(date!(2022 - 01 - 31)));
    assert_eq!(earlier.review_on, Some(date!(2023 - 06 - 30)));
}
