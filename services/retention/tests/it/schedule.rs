//! The schedule: the default for a new tenant, adding and changing classes, re-dating.

use tonic::Code;

use super::*;

fn complaints_class() -> pb::RecordClass {
    pb::RecordClass {
        code: "hr-grievance".into(),
        display_name: "HR grievances".into(),
        triggers: vec![pb::TriggerEvent::Closed as i32],
        rule: "after(closed, 6y)".into(),
        end_action: pb::EndAction::ReviewThenDestroy as i32,
        ..Default::default()
    }
}

fn create(record_class: pb::RecordClass) -> pb::CreateRecordClassRequest {
    pb::CreateRecordClassRequest {
        record_class: Some(record_class),
        request_id: String::new(),
    }
}

async fn classes(db: &TestDb) -> i64 {
    count(db, "SELECT count(*) FROM retention.record_classes").await
}

#[tokio::test]
async fn a_new_tenant_gets_the_policy_schedule_as_version_1() {
    let (_db, server) = start().await;
    let schedule = client(&server, "acme-north")
        .get_schedule(pb::GetScheduleRequest {})
        .await
        .expect("schedule")
        .into_inner();
    assert_eq!(schedule.version, 1);
    assert_eq!(schedule.record_classes.len(), 16);
    let staff = schedule
        .record_classes
        .iter()
        .find(|c| c.code == "employee-record")
        .expect("employee records");
    assert_eq!(
        staff.rule,
        "earliest(birthday(75), after(left_employment, 6y))"
    );
    assert_eq!(staff.triggers, [pb::TriggerEvent::LeftEmployment as i32]);
    let sar = schedule
        .record_classes
        .iter()
        .find(|c| c.code == "subject-access-request")
        .expect("SARs");
    assert!(
        sar.warnings[0].contains("Limitation Act"),
        "{:?}",
        sar.warnings
    );
}

#[tokio::test]
async fn a_created_class_is_a_new_version_and_can_be_read_back() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let created = client
        .create_record_class(create(complaints_class()))
        .await
        .expect("created")
        .into_inner();
    assert!(
        created.name.starts_with("recordClasses/"),
        "{}",
        created.name
    );
    assert_eq!(created.schedule_version, 2);
    assert!(created.warnings.is_empty());
    let read = client
        .get_record_class(pb::GetRecordClassRequest {
            name: created.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, created);
    assert_eq!(classes(&db).await, 17);
}

#[tokio::test]
async fn a_retried_create_returns_the_original_and_a_taken_code_is_already_exists() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let request = pb::CreateRecordClassRequest {
        record_class: Some(complaints_class()),
        request_id: "0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
    };
    let first = client
        .create_record_class(request.clone())
        .await
        .expect("first")
        .into_inner();
    let second = client
        .create_record_class(request)
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, second);
    let status = client
        .create_record_class(create(pb::RecordClass {
            code: "complaint".into(),
            ..complaints_class()
        }))
        .await
        .expect_err("default code taken");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(classes(&db).await, 17);
}

#[tokio::test]
async fn rules_that_do_not_parse_are_refused_naming_the_field_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    for (rule, want) in [
        ("after(closed, -3y)", "must not be negative"),
        ("after(shut, 3y)", "unknown trigger event 'shut'"),
        ("after(closed 3y)", "expected ','"),
        ("", "required"),
    ] {
        let status = client
            .create_record_class(create(pb::RecordClass {
                rule: rule.into(),
                ..complaints_class()
            }))
            .await
            .expect_err(rule);
        assert_eq!(status.code(), Code::InvalidArgument, "{rule}");
        let violations = dps_platform::error::field_violations(&status);
        assert_eq!(violations[0].0, "record_class.rule", "{rule}");
        assert!(
            violations[0].1.contains(want),
            "{rule}: {}",
            violations[0].1
        );
    }
    let status = client
        .create_record_class(create(pb::RecordClass {
            code: "Bad_Code".into(),
            triggers: vec![0],
            end_action: 0,
            ..complaints_class()
        }))
        .await
        .expect_err("several");
    assert_eq!(
        fields(&status),
        [
            "record_class.code",
            "record_class.triggers[0]",
            "record_class.end_action"
        ]
    );
    assert_eq!(classes(&db).await, 16);
    let version = client
        .get_schedule(pb::GetScheduleRequest {})
        .await
        .expect("s")
        .into_inner()
        .version;
    assert_eq!(version, 1, "a refused change takes no version");
}

#[tokio::test]
async fn only_the_dpo_or_compliance_manager_changes_the_schedule() {
    let (db, server) = start().await;
    let status = client_as(&server, "acme-north", "manager", &["controller", "staff"])
        .create_record_class(create(complaints_class()))
        .await
        .expect_err("controller");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(classes(&db).await, 16);
    client_as(&server, "acme-north", "cm", &["compliance_manager"])
        .create_record_class(create(complaints_class()))
        .await
        .expect("compliance manager");
}

#[tokio::test]
async fn a_schedule_change_re_dates_the_class_records_and_withdraws_reviews_no_longer_due() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    // SAR closed 2022-03-31: 3 years → 2025-03-31, due.
    let due = register(
        &mut client,
        record("subject-access-request", "sar-1", "2022-01-10", |r| {
            r.close_date = "2022-03-31".into();
        }),
    )
    .await;
    assert_eq!(due.review_date, "2025-03-31");
    // Closed 2024-02-29: 3 years → 2027-02-28 (common year).
    let later = register(
        &mut client,
        record("subject-access-request", "sar-2", "2024-01-02", |r| {
            r.close_date = "2024-02-29".into();
        }),
    )
    .await;
    assert_eq!(later.review_date, "2027-02-28");
    let other = register(
        &mut client,
        record("complaint", "c-1", "2020-01-01", |r| {
            r.close_date = "2020-06-30".into();
        }),
    )
    .await;
    let swept = client
        .run_sweep(pb::RunSweepRequest {})
        .await
        .expect("sweep")
        .into_inner();
    assert_eq!(swept.reviews_raised, 1);

    let schedule = client
        .get_schedule(pb::GetScheduleRequest {})
        .await
        .expect("s")
        .into_inner();
    let mut sar = schedule
        .record_classes
        .into_iter()
        .find(|c| c.code == "subject-access-request")
        .expect("SAR class");
    sar.rule = "after(closed, 6y)".into();
    let updated = client
        .update_record_class(pb::UpdateRecordClassRequest {
            record_class: Some(sar),
            reason: "align with the Limitation Act".into(),
        })
        .await
        .expect("updated")
        .into_inner();
    assert_eq!(updated.redated_records, 2);
    let class = updated.record_class.expect("class");
    assert_eq!(class.schedule_version, 2);
    assert!(class.warnings.is_empty());

    let get = |name: String| pb::GetRecordRequest { name };
    let due = client
        .get_record(get(due.name))
        .await
        .expect("r")
        .into_inner();
    // 2022-03-31 + 6 years = 2028-03-31: no longer due, its review withdrawn.
    assert_eq!(due.review_date, "2028-03-31");
    assert_eq!(due.schedule_version, 2);
    assert_eq!(due.state, pb::RecordState::Active as i32);
    assert!(
        due.explanation
            .starts_with("subject-access-request (schedule v2): 6 years after closure")
    );
    let later = client
        .get_record(get(later.name))
        .await
        .expect("r")
        .into_inner();
    // 2024-02-29 + 6 years = 2030-02-28.
    assert_eq!(later.review_date, "2030-02-28");
    let other = client
        .get_record(get(other.name))
        .await
        .expect("r")
        .into_inner();
    assert_eq!(other.schedule_version, 1, "other classes are untouched");
    let withdrawn = count(
        &db,
        "SELECT count(*) FROM retention.disposal_reviews WHERE state = 'withdrawn'",
    )
    .await;
    assert_eq!(withdrawn, 1);
    let history = count(
        &db,
        "SELECT count(*) FROM retention.schedule_changes WHERE schedule_version = 2",
    )
    .await;
    assert_eq!(history, 1);
}

#[tokio::test]
async fn the_code_of_a_class_cannot_be_changed_and_unknown_classes_are_not_found() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let created = client
        .create_record_class(create(complaints_class()))
        .await
        .expect("c")
        .into_inner();
    let status = client
        .update_record_class(pb::UpdateRecordClassRequest {
            record_class: Some(pb::RecordClass {
                code: "renamed".into(),
                ..created.clone()
            }),
            reason: "rename".into(),
        })
        .await
        .expect_err("rename");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["record_class.code"]);
    let status = client
        .update_record_class(pb::UpdateRecordClassRequest {
            record_class: Some(pb::RecordClass {
                name: "recordClasses/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
                ..created.clone()
            }),
            reason: "x".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .update_record_class(pb::UpdateRecordClassRequest {
            record_class: Some(created),
            reason: " ".into(),
        })
        .await
        .expect_err("no reason");
    assert_eq!(fields(&status), ["reason"]);
}

#[tokio::test]
async fn another_tenant_cannot_learn_of_a_record_class() {
    let (_db, server) = start().await;
    let created = client(&server, "acme-north")
        .create_record_class(create(complaints_class()))
        .await
        .expect("created")
        .into_inner();
    let status = client(&server, "acme-south")
        .get_record_class(pb::GetRecordClassRequest { name: created.name })
        .await
        .expect_err("isolated");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn calls_without_a_verified_caller_are_unauthenticated() {
    let (db, server) = start().await;
    let status = RetentionServiceClient::new(server.channel())
        .create_record_class(create(complaints_class()))
        .await
        .expect_err("no context");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(classes(&db).await, 0);
}
