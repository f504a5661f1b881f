//! The disposal workflow end to end, legal holds, and who may decide.

use tonic::Code;

use super::*;

/// A SAR closed 2022-03-31: due 2025-03-31 (3 years), so due on any run.
async fn due_sar(client: &mut Client, id: &str) -> pb::Record {
    register(
        client,
        record("subject-access-request", id, "2022-01-10", |r| {
            r.close_date = "2022-03-31".into();
        }),
    )
    .await
}

async fn open_reviews(client: &mut Client) -> Vec<pb::DisposalReview> {
    client
        .list_disposal_reviews(pb::ListDisposalReviewsRequest {
            state: pb::ReviewState::Open as i32,
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner()
        .disposal_reviews
}

fn destroy(name: &str) -> pb::DecideDisposalReviewRequest {
    pb::DecideDisposalReviewRequest {
        name: name.into(),
        decision: pb::Decision::Destroy as i32,
        method: "cross-cut shredded".into(),
        reason: String::new(),
        extend_until: String::new(),
    }
}

/// A timesheet created 740 days ago: its 2-year review date fell about ten days ago, so
/// approving it today is on schedule (neither early nor more than three months late).
fn recent_timesheet() -> pb::Record {
    let created = time::OffsetDateTime::now_utc().date() - time::Duration::days(740);
    record("timesheet", "ts-1", &created.to_string(), |_| {})
}

#[tokio::test]
async fn a_due_record_goes_through_review_approval_task_and_certificate() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    let sheet = register(&mut dpo, recent_timesheet()).await;
    // Not due: closed 2026-01-15 → 2029-01-15.
    register(
        &mut dpo,
        record("subject-access-request", "sar-2", "2026-01-02", |r| {
            r.close_date = "2026-01-15".into();
        }),
    )
    .await;
    let raised = dpo
        .run_sweep(pb::RunSweepRequest {})
        .await
        .expect("sweep")
        .into_inner();
    assert_eq!(raised.reviews_raised, 1);
    let again = dpo
        .run_sweep(pb::RunSweepRequest {})
        .await
        .expect("sweep")
        .into_inner();
    assert_eq!(
        again.reviews_raised, 0,
        "a record under review is not raised twice"
    );

    let reviews = open_reviews(&mut dpo).await;
    assert_eq!(reviews.len(), 1);
    let review = &reviews[0];
    assert_eq!(review.record, sheet.name);
    assert_eq!(review.review_date, sheet.review_date);
    assert!(!review.early);

    // The subsidiary's manager approves: a controller may.
    let mut manager = client_as(&server, "acme-north", "manager-north", &["controller"]);
    let decided = manager
        .decide_disposal_review(destroy(&review.name))
        .await
        .expect("approved")
        .into_inner();
    assert_eq!(decided.state, pb::ReviewState::Approved as i32);
    assert_eq!(decided.decided_by, "manager-north");

    let mut holding = client_as(&server, "acme-north", "care-record-platform", &["service"]);
    let tasks = holding
        .claim_disposal_tasks(pb::ClaimDisposalTasksRequest {
            system: "care-records".into(),
            max_tasks: 10,
        })
        .await
        .expect("claim")
        .into_inner()
        .tasks;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].external_id, "ts-1");
    assert_eq!(tasks[0].action, pb::Decision::Destroy as i32);
    let none = holding
        .claim_disposal_tasks(pb::ClaimDisposalTasksRequest {
            system: "care-records".into(),
            max_tasks: 10,
        })
        .await
        .expect("claim")
        .into_inner()
        .tasks;
    assert!(none.is_empty(), "a claimed task is not handed out twice");

    let certificate = holding
        .confirm_disposal_task(pb::ConfirmDisposalTaskRequest {
            name: tasks[0].name.clone(),
            method: String::new(),
        })
        .await
        .expect("confirmed")
        .into_inner();
    assert_eq!(certificate.record, sheet.name);
    assert_eq!(certificate.record_class_code, "timesheet");
    assert_eq!(certificate.method, "cross-cut shredded");
    assert_eq!(certificate.review_date, sheet.review_date);
    assert_eq!(certificate.explanation, sheet.explanation);
    assert!(certificate.explanation.contains("2 years after creation"));
    assert_eq!(certificate.schedule_version, 1);
    assert_eq!(certificate.approved_by, "manager-north");
    assert_eq!(certificate.confirmed_by, "care-record-platform");
    assert!(certificate.approve_time.is_some() && certificate.dispose_time.is_some());
    assert_eq!(
        certificate.outside_schedule_reason, "",
        "on schedule: no reason needed"
    );
    let read = dpo
        .get_disposal_certificate(pb::GetDisposalCertificateRequest {
            name: certificate.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, certificate);
    let again = holding
        .confirm_disposal_task(pb::ConfirmDisposalTaskRequest {
            name: tasks[0].name.clone(),
            method: String::new(),
        })
        .await
        .expect("idempotent")
        .into_inner();
    assert_eq!(again, certificate);
    let record = dpo
        .get_record(pb::GetRecordRequest { name: sheet.name })
        .await
        .expect("r")
        .into_inner();
    assert_eq!(record.state, pb::RecordState::Destroyed as i32);
    assert_eq!(
        count(&db, "SELECT count(*) FROM retention.disposal_certificates").await,
        1
    );
}

#[tokio::test]
async fn disposal_outside_the_schedule_needs_a_reason_which_goes_on_the_certificate() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    // Closed 2026-01-15 → review 2029-01-15: disposing now is early.
    let early = register(
        &mut dpo,
        record("subject-access-request", "sar-early", "2026-01-02", |r| {
            r.close_date = "2026-01-15".into();
        }),
    )
    .await;
    let review = dpo
        .raise_disposal_review(pb::RaiseDisposalReviewRequest {
            record: early.name.clone(),
        })
        .await
        .expect("raised")
        .into_inner();
    assert!(review.early);
    let status = dpo
        .decide_disposal_review(destroy(&review.name))
        .await
        .expect_err("no reason");
    assert_eq!(status.code(), Code::InvalidArgument);
    let v = dps_platform::error::field_violations(&status);
    assert_eq!(v[0].0, "reason");
    assert!(v[0].1.contains("earlier than the schedule"), "{}", v[0].1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM retention.disposal_tasks").await,
        0
    );
    dpo.decide_disposal_review(pb::DecideDisposalReviewRequest {
        reason: "duplicate copy of a request already kept".into(),
        ..destroy(&review.name)
    })
    .await
    .expect("with reason");
    let mut holding = client_as(&server, "acme-north", "care-record-platform", &[]);
    let task = holding
        .claim_disposal_tasks(pb::ClaimDisposalTasksRequest {
            system: "care-records".into(),
            max_tasks: 0,
        })
        .await
        .expect("claim")
        .into_inner()
        .tasks
        .remove(0);
    let certificate = holding
        .confirm_disposal_task(pb::ConfirmDisposalTaskRequest {
            name: task.name,
            method: "secure erase".into(),
        })
        .await
        .expect("confirm")
        .into_inner();
    assert_eq!(
        certificate.outside_schedule_reason,
        "duplicate copy of a request already kept"
    );
    assert_eq!(certificate.method, "secure erase");
}

#[tokio::test]
async fn approval_needs_the_right_role_and_nothing_changes_without_it() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    due_sar(&mut dpo, "sar-1").await;
    dpo.run_sweep(pb::RunSweepRequest {}).await.expect("sweep");
    let review = open_reviews(&mut dpo).await.remove(0);
    for roles in [
        &["staff"][..],
        &["health_professional", "auditor"][..],
        &[][..],
    ] {
        let status = client_as(&server, "acme-north", "someone", roles)
            .decide_disposal_review(destroy(&review.name))
            .await
            .expect_err("no right");
        assert_eq!(status.code(), Code::PermissionDenied, "{roles:?}");
    }
    assert_eq!(open_reviews(&mut dpo).await, vec![review]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM retention.disposal_tasks").await,
        0
    );
}

#[tokio::test]
async fn a_decided_review_cannot_be_decided_again_and_extension_re_dates_the_record() {
    let (_db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    let sar = due_sar(&mut dpo, "sar-1").await;
    dpo.run_sweep(pb::RunSweepRequest {}).await.expect("sweep");
    let review = open_reviews(&mut dpo).await.remove(0);
    let status = dpo
        .decide_disposal_review(pb::DecideDisposalReviewRequest {
            decision: pb::Decision::Extend as i32,
            method: String::new(),
            extend_until: "2031-01-31".into(),
            ..destroy(&review.name)
        })
        .await
        .expect_err("no reason");
    assert_eq!(fields(&status), ["reason"]);
    let extended = dpo
        .decide_disposal_review(pb::DecideDisposalReviewRequest {
            decision: pb::Decision::Extend as i32,
            method: String::new(),
            reason: "complaint to the regulator pending".into(),
            extend_until: "2031-01-31".into(),
            ..destroy(&review.name)
        })
        .await
        .expect("extended")
        .into_inner();
    assert_eq!(extended.state, pb::ReviewState::Extended as i32);
    let record = dpo
        .get_record(pb::GetRecordRequest { name: sar.name })
        .await
        .expect("r")
        .into_inner();
    assert_eq!(record.review_date, "2031-01-31");
    assert_eq!(record.extended_until, "2031-01-31");
    assert_eq!(record.state, pb::RecordState::Active as i32);
    assert!(
        record
            .explanation
            .ends_with("extended by a reviewer to 2031-01-31")
    );
    let status = dpo
        .decide_disposal_review(destroy(&review.name))
        .await
        .expect_err("decided");
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn held_records_are_never_offered_and_release_re_evaluates_them() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    let held = due_sar(&mut dpo, "sar-1").await;
    let mut other = record("subject-access-request", "sar-2", "2022-01-10", |r| {
        r.close_date = "2022-03-31".into()
    });
    other.person_id = "person-2".into();
    register(&mut dpo, other).await;
    // An open review on the person's record is withdrawn when the hold is placed.
    dpo.run_sweep(pb::RunSweepRequest {}).await.expect("sweep");
    let hold = dpo
        .place_legal_hold(pb::PlaceLegalHoldRequest {
            legal_hold: Some(pb::LegalHold {
                person_id: "person-1".into(),
                reason: "personal injury claim".into(),
                authority: "Smith & Co solicitors, letter of claim 2026-11-02".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("hold")
        .into_inner();
    assert!(hold.active);
    let open = open_reviews(&mut dpo).await;
    assert_eq!(open.len(), 1, "only the other person's review stays open");
    assert_ne!(open[0].record, held.name);
    let raised = dpo
        .run_sweep(pb::RunSweepRequest {})
        .await
        .expect("sweep")
        .into_inner();
    assert_eq!(
        raised.reviews_raised, 0,
        "the held record is not offered again"
    );
    let status = dpo
        .raise_disposal_review(pb::RaiseDisposalReviewRequest {
            record: held.name.clone(),
        })
        .await
        .expect_err("held");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("legal hold"),
        "{}",
        status.message()
    );
    let erasure = dpo
        .check_erasure(pb::CheckErasureRequest {
            person_id: "person-1".into(),
        })
        .await
        .expect("check")
        .into_inner();
    assert!(!erasure.may_erase);
    assert!(erasure.records[0].reasons[0].contains("personal injury claim"));

    let status = client_as(&server, "acme-north", "manager", &["controller"])
        .release_legal_hold(pb::ReleaseLegalHoldRequest {
            name: hold.name.clone(),
            reason: "settled".into(),
        })
        .await
        .expect_err("controller may not release");
    assert_eq!(status.code(), Code::PermissionDenied);
    let released = dpo
        .release_legal_hold(pb::ReleaseLegalHoldRequest {
            name: hold.name.clone(),
            reason: "claim settled".into(),
        })
        .await
        .expect("released")
        .into_inner();
    assert!(!released.active);
    assert_eq!(released.release_reason, "claim settled");
    assert_eq!(
        open_reviews(&mut dpo).await.len(),
        2,
        "release re-evaluated the record at once"
    );
    let status = dpo
        .release_legal_hold(pb::ReleaseLegalHoldRequest {
            name: hold.name,
            reason: "again".into(),
        })
        .await
        .expect_err("twice");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        count(&db, "SELECT count(*) FROM retention.legal_holds").await,
        1
    );
}

#[tokio::test]
async fn a_hold_placed_after_approval_cancels_the_unclaimed_task_and_blocks_disposal() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    let sar = due_sar(&mut dpo, "sar-1").await;
    dpo.run_sweep(pb::RunSweepRequest {}).await.expect("sweep");
    let review = open_reviews(&mut dpo).await.remove(0);
    dpo.decide_disposal_review(pb::DecideDisposalReviewRequest {
        reason: "reviewed late after a staff absence".into(),
        ..destroy(&review.name)
    })
    .await
    .expect("approved");
    dpo.place_legal_hold(pb::PlaceLegalHoldRequest {
        legal_hold: Some(pb::LegalHold {
            records: vec![sar.name.clone()],
            reason: "police request".into(),
            authority: "Police Scotland".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .expect("hold");
    let tasks = dpo
        .claim_disposal_tasks(pb::ClaimDisposalTasksRequest {
            system: "care-records".into(),
            max_tasks: 10,
        })
        .await
        .expect("claim")
        .into_inner()
        .tasks;
    assert!(tasks.is_empty(), "the cancelled task is not handed out");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM retention.disposal_tasks WHERE state = 'cancelled'"
        )
        .await,
        1
    );
    let record = dpo
        .get_record(pb::GetRecordRequest { name: sar.name })
        .await
        .expect("r")
        .into_inner();
    assert_eq!(record.state, pb::RecordState::Active as i32);
}

#[tokio::test]
async fn a_hold_must_name_exactly_one_scope_a_reason_and_an_authority() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    let status = dpo
        .place_legal_hold(pb::PlaceLegalHoldRequest {
            legal_hold: Some(pb::LegalHold {
                person_id: "person-1".into(),
                record_class_code: "complaint".into(),
                records: vec!["records/42".into()],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect_err("bad");
    assert_eq!(
        fields(&status),
        [
            "legal_hold.records[0]",
            "legal_hold.person_id",
            "legal_hold.reason",
            "legal_hold.authority"
        ]
    );
    let status = dpo
        .place_legal_hold(pb::PlaceLegalHoldRequest {
            legal_hold: Some(pb::LegalHold {
                record_class_code: "no-such-class".into(),
                reason: "x".into(),
                authority: "y".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect_err("unknown class");
    assert_eq!(fields(&status), ["record_class_code"]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM retention.legal_holds").await,
        0
    );
}

#[tokio::test]
async fn disposal_more_than_three_months_after_the_review_date_needs_a_reason() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    // Due 2025-03-31; any run is after 2025-06-30.
    due_sar(&mut dpo, "sar-1").await;
    dpo.run_sweep(pb::RunSweepRequest {}).await.expect("sweep");
    let review = open_reviews(&mut dpo).await.remove(0);
    let status = dpo
        .decide_disposal_review(destroy(&review.name))
        .await
        .expect_err("late");
    let v = dps_platform::error::field_violations(&status);
    assert_eq!(v[0].0, "reason");
    assert!(v[0].1.contains("later than the schedule"), "{}", v[0].1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM retention.disposal_reviews WHERE state = 'open'"
        )
        .await,
        1
    );
}

/// `n` timesheets created 2022-01-03, due 2024-01-03, in messages of 500.
async fn due_timesheets(client: &mut Client, prefix: &str, n: usize) {
    let records: Vec<_> = (0..n)
        .map(|i| record("timesheet", &format!("{prefix}-{i}"), "2022-01-03", |_| {}))
        .collect();
    let messages: Vec<_> = records
        .chunks(500)
        .map(|c| pb::BulkRegisterRecordsRequest {
            records: c.to_vec(),
        })
        .collect();
    client
        .bulk_register_records(tokio_stream::iter(messages))
        .await
        .expect("bulk");
}

/// The store on the test database, sweeping `chunk` reviews per statement.
fn store(db: &TestDb, chunk: i64) -> dps_retention::store::Store {
    dps_retention::store::Store::new(db.pool().clone()).with_sweep_chunk(chunk)
}

fn tenant(slug: &str) -> dps_types::TenantId {
    dps_types::TenantId::parse(slug).expect("a valid tenant slug")
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

#[tokio::test]
async fn a_backlog_spanning_several_sweep_windows_is_raised_once_and_held_records_are_skipped() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    // 10 500 due timesheets, swept 1 000 per statement: eleven windows. Five more are about a
    // person under a hold.
    due_timesheets(&mut dpo, "t", 10_500).await;
    let held: Vec<_> = (0..5)
        .map(|i| {
            record("timesheet", &format!("held-{i}"), "2022-01-03", |r| {
                r.person_id = "person-held".into()
            })
        })
        .collect();
    dpo.bulk_register_records(tokio_stream::iter([pb::BulkRegisterRecordsRequest {
        records: held,
    }]))
    .await
    .expect("bulk");
    dpo.place_legal_hold(pb::PlaceLegalHoldRequest {
        legal_hold: Some(pb::LegalHold {
            person_id: "person-held".into(),
            reason: "employment tribunal claim".into(),
            authority: "Employment Tribunal, claim 2026/0142".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .expect("hold");
    let raised = store(&db, 1_000)
        .sweep(&tenant("acme-north"), today())
        .await
        .expect("sweep");
    assert_eq!(raised, 10_500);
    let again = dpo
        .run_sweep(pb::RunSweepRequest {})
        .await
        .expect("sweep")
        .into_inner();
    assert_eq!(again.reviews_raised, 0);
    let open = count(
        &db,
        "SELECT count(DISTINCT record_id) FROM retention.disposal_reviews WHERE state = 'open'",
    )
    .await;
    assert_eq!(open, 10_500, "one open review per record");
    let held_reviews = count(
        &db,
        "SELECT count(*) FROM retention.disposal_reviews d \
         JOIN retention.records r USING (tenant_id, record_id) WHERE r.person_id = 'person-held'",
    )
    .await;
    assert_eq!(held_reviews, 0);
}

#[tokio::test]
async fn concurrent_sweeps_raise_each_review_once() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    due_timesheets(&mut dpo, "t", 3_000).await;
    // Four replicas' scheduled sweeps (300 per statement, so their windows interleave) and two
    // callers' RunSweep, all at once.
    let mut sweeps = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let store = store(&db, 300);
        sweeps.spawn(async move {
            store
                .sweep(&tenant("acme-north"), today())
                .await
                .expect("sweep")
        });
    }
    for _ in 0..2 {
        let mut caller = client(&server, "acme-north");
        sweeps.spawn(async move {
            caller
                .run_sweep(pb::RunSweepRequest {})
                .await
                .expect("sweep")
                .into_inner()
                .reviews_raised as u64
        });
    }
    let raised: u64 = sweeps.join_all().await.into_iter().sum();
    assert_eq!(raised, 3_000, "each due record raised by exactly one sweep");
    let (reviews, records) = sqlx::query_as::<_, (i64, i64)>(
        "SELECT count(*), count(DISTINCT record_id) FROM retention.disposal_reviews \
         WHERE state = 'open'",
    )
    .fetch_one(db.pool())
    .await
    .expect("count");
    assert_eq!((reviews, records), (3_000, 3_000));
}

#[tokio::test]
async fn a_record_under_review_reads_as_under_review_while_its_row_stays_active() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    let sar = due_sar(&mut dpo, "sar-1").await;
    assert_eq!(sar.state, pb::RecordState::Active as i32);
    dpo.run_sweep(pb::RunSweepRequest {}).await.expect("sweep");
    let read = dpo
        .get_record(pb::GetRecordRequest {
            name: sar.name.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read.state, pb::RecordState::UnderReview as i32);
    let stored = count(
        &db,
        "SELECT count(*) FROM retention.records WHERE state = 'active'",
    )
    .await;
    assert_eq!(stored, 1, "the sweep writes the review, not the record");
    // Raising an early review of it as well is refused: one open review per record.
    let refused = dpo
        .raise_disposal_review(pb::RaiseDisposalReviewRequest {
            record: sar.name.clone(),
        })
        .await
        .expect_err("already under review");
    assert_eq!(refused.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn the_migration_keeps_records_under_review_under_review_with_their_rows_active() {
    // A database as the previous release left it: a record marked under review on its row.
    static BEFORE: std::sync::OnceLock<sqlx::migrate::Migrator> = std::sync::OnceLock::new();
    let before = BEFORE.get_or_init(|| {
        let m = &dps_retention::MIGRATOR;
        sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                m.migrations
                    .iter()
                    .filter(|x| x.version < 20261205140000)
                    .cloned()
                    .collect(),
            ),
            ignore_missing: m.ignore_missing,
            locking: m.locking,
            no_tx: m.no_tx,
            table_name: m.table_name.clone(),
            create_schemas: m.create_schemas.clone(),
        }
    });
    let db = TestDb::new(&[before]).await;
    let old = dps_retention::store::Store::new(db.pool().clone());
    old.ensure_tenant(&tenant("acme-north"))
        .await
        .expect("seed");
    let (under_review, active) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (id, state) in [(under_review, "under_review"), (active, "active")] {
        sqlx::query(
            "INSERT INTO retention.records (tenant_id, record_id, record_class_id, system, \
                 external_id, created_on, closed_on, review_on, explanation, schedule_version, \
                 state) \
             SELECT 'acme-north', $1, record_class_id, 'complaints', $1::text, '2022-01-10', \
                    '2022-03-31', '2025-03-31', 'subject-access-request: 3 years', 1, $2 \
             FROM retention.record_classes \
             WHERE tenant_id = 'acme-north' AND code = 'subject-access-request'",
        )
        .bind(id)
        .bind(state)
        .execute(db.pool())
        .await
        .expect("old record");
    }
    sqlx::query(
        "INSERT INTO retention.disposal_reviews \
             (tenant_id, review_id, record_id, review_on, explanation, early) \
         VALUES ('acme-north', $1, $2, '2025-03-31', 'subject-access-request: 3 years', false)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(under_review)
    .execute(db.pool())
    .await
    .expect("old review");

    dps_platform::db::migrate(&db.owner_url(), &dps_retention::MIGRATOR)
        .await
        .expect("migrated");

    let stored = count(
        &db,
        "SELECT count(*) FROM retention.records WHERE state = 'active'",
    )
    .await;
    assert_eq!(stored, 2, "no row says under_review any more");
    let new = store(&db, 1_000);
    let read = new
        .get_record(
            &tenant("acme-north"),
            dps_retention::domain::RecordId::from_uuid(under_review),
        )
        .await
        .expect("read")
        .expect("found");
    assert_eq!(read.state, dps_retention::domain::RecordState::UnderReview);
    // The sweep raises the other one only: the first already has its open review.
    let raised = new
        .sweep(&tenant("acme-north"), today())
        .await
        .expect("sweep");
    assert_eq!(raised, 1);
    let refused =
        sqlx::query("UPDATE retention.records SET state = 'under_review' WHERE record_id = $1")
            .bind(active)
            .execute(db.pool())
            .await;
    assert!(refused.is_err(), "the old state is no longer allowed");
}

#[tokio::test]
async fn an_event_that_makes_a_record_under_review_no_longer_due_withdraws_its_review() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    // Discharged 2000-03-01: due 2020-03-01 (20 years).
    let adult = register(
        &mut dpo,
        record("adult-health-record", "adult-1", "1999-06-01", |r| {
            r.discharge_date = "2000-03-01".into()
        }),
    )
    .await;
    due_sar(&mut dpo, "sar-1").await;
    let raised = dpo
        .run_sweep(pb::RunSweepRequest {})
        .await
        .expect("sweep")
        .into_inner();
    assert_eq!(raised.reviews_raised, 2);
    // Seen again until 2012-05-10: due 2032-05-10, so its review is withdrawn; the SAR's stays.
    let redated = dpo
        .record_event(pb::RecordEventRequest {
            name: adult.name.clone(),
            event: pb::TriggerEvent::Discharged as i32,
            date: "2012-05-10".into(),
            died_in_care: false,
        })
        .await
        .expect("event")
        .into_inner();
    assert_eq!(redated.review_date, "2032-05-10");
    assert_eq!(redated.state, pb::RecordState::Active as i32);
    let open = open_reviews(&mut dpo).await;
    assert_eq!(open.len(), 1);
    assert_ne!(open[0].record, adult.name);
    let withdrawn = count(
        &db,
        "SELECT count(*) FROM retention.disposal_reviews WHERE state = 'withdrawn'",
    )
    .await;
    assert_eq!(withdrawn, 1);
}
