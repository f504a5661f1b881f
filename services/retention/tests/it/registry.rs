//! The record registry: registration (single and streamed), events, dates worked out.

use tonic::Code;

use super::*;

async fn records(db: &TestDb) -> i64 {
    count(db, "SELECT count(*) FROM retention.records").await
}

#[tokio::test]
async fn every_default_row_dates_a_registered_record_as_hand_worked() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    // (class, setter, review date) — hand-worked; see the domain tests for the reasoning.
    type Case = (&'static str, Box<dyn FnOnce(&mut pb::Record)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            "adult-health-record",
            Box::new(|r| r.discharge_date = "2024-03-15".into()),
            "2044-03-15",
        ),
        (
            "adult-health-record",
            Box::new(|r| {
                r.death_date = "2025-07-31".into();
                r.died_in_care = true;
            }),
            "2033-07-31",
        ),
        (
            // Born 29 Feb 2008, 17 on 28 Feb 2025, discharged 1 Mar 2025 → 26th: 28 Feb 2034.
            "child-health-record",
            Box::new(|r| {
                r.birth_date = "2008-02-29".into();
                r.discharge_date = "2025-03-01".into();
            }),
            "2034-02-28",
        ),
        (
            "mental-health-record",
            Box::new(|r| {
                r.discharge_date = "2000-01-05".into();
                r.death_date = "2022-05-10".into();
                r.died_in_care = true;
            }),
            "2020-01-05",
        ),
        (
            "long-term-illness-record",
            Box::new(|r| r.discharge_date = "2016-08-31".into()),
            "2046-08-31",
        ),
        (
            "serious-incident",
            Box::new(|r| r.close_date = "2021-12-31".into()),
            "2041-12-31",
        ),
        (
            "incident",
            Box::new(|r| r.close_date = "2016-02-29".into()),
            "2026-02-28",
        ),
        (
            "policy",
            Box::new(|r| r.organisation_end_date = "2025-10-31".into()),
            "2031-10-31",
        ),
        (
            "occupational-health-record",
            Box::new(|r| {
                r.birth_date = "1950-06-01".into();
                r.leave_date = "2024-01-15".into();
            }),
            "2025-06-01",
        ),
        (
            "employee-record",
            Box::new(|r| {
                r.birth_date = "1956-02-29".into();
                r.leave_date = "2025-04-30".into();
            }),
            "2031-02-28",
        ),
        (
            "mandatory-training-record",
            Box::new(|r| r.training_complete_date = "2023-09-15".into()),
            "2033-09-15",
        ),
        (
            "training-record",
            Box::new(|r| r.training_complete_date = "2020-02-29".into()),
            "2026-02-28",
        ),
        (
            "timesheet",
            Box::new(|r| r.create_date = "2024-12-31".into()),
            "2026-12-31",
        ),
        (
            "complaint",
            Box::new(|r| r.close_date = "2023-03-31".into()),
            "2033-03-31",
        ),
        (
            "subject-access-request",
            Box::new(|r| r.close_date = "2024-02-29".into()),
            "2027-02-28",
        ),
        (
            "subject-access-request-appeal",
            Box::new(|r| r.appeal_close_date = "2022-10-15".into()),
            "2028-10-15",
        ),
        (
            "unsuccessful-applicant",
            Box::new(|r| r.recruitment_decision_date = "2026-08-31".into()),
            "2026-11-30",
        ),
    ];
    for (i, (class, set, want)) in cases.into_iter().enumerate() {
        let registered = register(
            &mut client,
            record(class, &format!("r-{i}"), "2000-01-01", set),
        )
        .await;
        assert_eq!(
            registered.review_date, want,
            "{class}: {}",
            registered.explanation
        );
        assert!(
            registered
                .explanation
                .starts_with(&format!("{class} (schedule v1): "))
        );
    }
}

#[tokio::test]
async fn a_record_whose_trigger_has_not_happened_has_no_review_date_until_the_event() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let staff = register(
        &mut client,
        record("employee-record", "hr-1", "2010-04-01", |r| {
            r.birth_date = "1956-02-29".into();
        }),
    )
    .await;
    assert_eq!(staff.review_date, "");
    assert!(
        staff
            .explanation
            .contains("retention starts at leaving employment, not yet recorded")
    );
    let left = client
        .record_event(pb::RecordEventRequest {
            name: staff.name.clone(),
            event: pb::TriggerEvent::LeftEmployment as i32,
            date: "2025-04-30".into(),
            died_in_care: false,
        })
        .await
        .expect("event")
        .into_inner();
    assert_eq!(left.leave_date, "2025-04-30");
    assert_eq!(left.review_date, "2031-02-28");
    assert!(
        left.explanation.contains("28 February in a common year"),
        "{}",
        left.explanation
    );
}

#[tokio::test]
async fn an_event_before_the_record_was_created_is_refused_and_nothing_changes() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = register(
        &mut client,
        record("complaint", "c-1", "2021-05-10", |_| {}),
    )
    .await;
    for (date, want) in [
        ("2021-05-09", "before the record's create_date"),
        ("2999-01-01", "future"),
    ] {
        let status = client
            .record_event(pb::RecordEventRequest {
                name: r.name.clone(),
                event: pb::TriggerEvent::Closed as i32,
                date: date.into(),
                died_in_care: false,
            })
            .await
            .expect_err(date);
        assert_eq!(status.code(), Code::InvalidArgument);
        let v = dps_platform::error::field_violations(&status);
        assert_eq!(v[0].0, "date");
        assert!(v[0].1.contains(want), "{}", v[0].1);
    }
    let status = client
        .record_event(pb::RecordEventRequest {
            name: r.name.clone(),
            event: pb::TriggerEvent::Created as i32,
            date: "31/12/2021".into(),
            died_in_care: true,
        })
        .await
        .expect_err("bad");
    assert_eq!(fields(&status), ["event", "date", "died_in_care"]);
    let after = client
        .get_record(pb::GetRecordRequest {
            name: r.name.clone(),
        })
        .await
        .expect("r")
        .into_inner();
    assert_eq!(after, r, "nothing changed");
    let status = client
        .record_event(pb::RecordEventRequest {
            name: "records/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
            event: pb::TriggerEvent::Closed as i32,
            date: "2022-01-01".into(),
            died_in_care: false,
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn bad_records_are_refused_naming_each_field_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .register_record(pb::RegisterRecordRequest {
            record: Some(record("complaint", "", "2021-13-01", |r| {
                r.system = String::new();
                r.close_date = "2020-01-01".into();
            })),
        })
        .await
        .expect_err("bad");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&status),
        ["record.create_date", "record.system", "record.external_id"]
    );
    let status = client
        .register_record(pb::RegisterRecordRequest {
            record: Some(record("complaint", "c-1", "2021-05-10", |r| {
                r.close_date = "2021-05-09".into()
            })),
        })
        .await
        .expect_err("event before creation");
    assert_eq!(fields(&status), ["record.close_date"]);
    let status = client
        .register_record(pb::RegisterRecordRequest {
            record: Some(record("no-such-class", "x-1", "2021-05-10", |_| {})),
        })
        .await
        .expect_err("unknown class");
    assert_eq!(fields(&status), ["record.record_class_code"]);
    let status = client
        .register_record(pb::RegisterRecordRequest {
            record: Some(record("child-health-record", "x-2", "2021-05-10", |_| {})),
        })
        .await
        .expect_err("no birth date");
    assert_eq!(fields(&status), ["record.birth_date"]);
    assert_eq!(records(&db).await, 0);
}

#[tokio::test]
async fn registering_the_same_record_again_returns_the_original() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let first = register(
        &mut client,
        record("complaint", "c-1", "2021-05-10", |_| {}),
    )
    .await;
    let again = register(
        &mut client,
        record("complaint", "c-1", "2021-05-10", |r| {
            r.close_date = "2021-06-01".into()
        }),
    )
    .await;
    assert_eq!(first, again);
    assert_eq!(records(&db).await, 1);
}

fn bulk(records: Vec<pb::Record>) -> pb::BulkRegisterRecordsRequest {
    pb::BulkRegisterRecordsRequest { records }
}

#[tokio::test]
async fn bulk_registration_streams_many_records_in_batches() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    // 12 000 records over several messages: more than two insert batches.
    let messages: Vec<_> = (0..12)
        .map(|m| {
            bulk(
                (0..1000)
                    .map(|i| record("timesheet", &format!("t-{m}-{i}"), "2024-12-31", |_| {}))
                    .collect(),
            )
        })
        .collect();
    let response = client
        .bulk_register_records(tokio_stream::iter(messages))
        .await
        .expect("bulk")
        .into_inner();
    assert_eq!(response.registered, 12_000);
    assert_eq!(response.already_registered, 0);
    let dated = count(
        &db,
        "SELECT count(*) FROM retention.records WHERE review_on = DATE '2026-12-31'",
    )
    .await;
    assert_eq!(dated, 12_000);
    // Re-sending a part registers nothing new.
    let response = client
        .bulk_register_records(tokio_stream::iter(vec![bulk(vec![
            record("timesheet", "t-0-0", "2024-12-31", |_| {}),
            record("timesheet", "t-new", "2024-12-31", |_| {}),
        ])]))
        .await
        .expect("again")
        .into_inner();
    assert_eq!((response.registered, response.already_registered), (1, 1));
}

#[tokio::test]
async fn one_bad_record_in_a_stream_refuses_the_whole_stream_naming_its_position() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let mut first: Vec<_> = (0..6000)
        .map(|i| record("timesheet", &format!("t-{i}"), "2024-12-31", |_| {}))
        .collect();
    first.push(record("complaint", "c-1", "2021-05-10", |r| {
        r.close_date = "2021-05-09".into()
    }));
    let status = client
        .bulk_register_records(tokio_stream::iter(vec![bulk(first)]))
        .await
        .expect_err("bad record 6000");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["records[6000].close_date"]);
    assert_eq!(
        records(&db).await,
        0,
        "the first full batch was rolled back"
    );
}
