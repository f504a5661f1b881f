//! Whole lifecycles against real Postgres, with due dates worked by hand (England and Wales
//! unless said; Art 12A rules for requests received from 5 Feb 2026).

use dps_platform::error::field_violations;
use dps_proto::common::v1::{Channel as PbChannel, Jurisdiction as PbJurisdiction};
use dps_proto::subject_requests::v1 as pb;
use dps_test_support::TestDb;
use time::Date;
use time::macros::date;
use tonic::Code;

use super::{Client, client, create, start};

/// Noon UTC on `day`: the same local date in London and Jersey all year.
pub(crate) fn noon(day: Date) -> prost_types::Timestamp {
    dps_platform::proto_time::to_proto(day.with_time(time::macros::time!(12:00)).assume_utc())
}

pub(crate) fn request(kind: pb::RequestKind, received: Date) -> pb::SubjectRequest {
    pb::SubjectRequest {
        kind: kind.into(),
        channel: PbChannel::Email.into(),
        person_id: "person-0193f1a4".into(),
        receive_time: Some(noon(received)),
        ..Default::default()
    }
}

pub(crate) fn task(system: &str, action: pb::TaskAction) -> pb::FulfilmentTaskSpec {
    pb::FulfilmentTaskSpec {
        system: system.into(),
        action: action.into(),
    }
}

pub(crate) async fn created(
    client: &mut Client,
    request: pb::SubjectRequest,
) -> pb::SubjectRequest {
    client
        .create_subject_request(create(request))
        .await
        .expect("created")
        .into_inner()
}

pub(crate) fn event(
    name: &str,
    kind: pb::ClockEventKind,
    on: Date,
    reason: &str,
) -> pb::RecordClockEventRequest {
    pb::RecordClockEventRequest {
        name: name.into(),
        kind: kind.into(),
        occur_time: Some(noon(on)),
        reason: reason.into(),
        fee_ground: 0,
        fee_amount_pence: 0,
    }
}

pub(crate) async fn record(
    client: &mut Client,
    request: pb::RecordClockEventRequest,
) -> pb::SubjectRequest {
    client
        .record_clock_event(request)
        .await
        .expect("recorded")
        .into_inner()
}

pub(crate) async fn transition(
    client: &mut Client,
    name: &str,
    transition: pb::Transition,
    reason: &str,
) -> Result<pb::SubjectRequest, tonic::Status> {
    client
        .transition_subject_request(pb::TransitionSubjectRequestRequest {
            name: name.into(),
            transition: transition.into(),
            reason: reason.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

pub(crate) fn dates(r: &pb::SubjectRequest) -> (String, String, String) {
    let d = r.deadlines.as_ref().expect("deadlines");
    (
        d.due_date.clone(),
        d.refusal_due_date.clone(),
        d.extension_notice_due_date.clone(),
    )
}

fn owned(due: &str, refusal: &str, notice: &str) -> (String, String, String) {
    (due.into(), refusal.into(), notice.into())
}

/// Rows of the service's tables, to check a refused change stored nothing.
pub(crate) async fn rows(db: &TestDb) -> (i64, i64, String) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM subject_requests.clock_events), \
                (SELECT count(*) FROM subject_requests.request_history), \
                (SELECT string_agg(t::text, '|' ORDER BY subject_request_id) \
                 FROM subject_requests.subject_requests t)",
    )
    .fetch_one(db.pool())
    .await
    .expect("count")
}

#[tokio::test]
async fn an_access_request_with_identity_restart_clarification_pause_and_extension() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let mut sent = request(pb::RequestKind::Access, date!(2026 - 03 - 02));
    sent.fulfilment_tasks = vec![task("care-records", pb::TaskAction::Export)];
    let r = created(&mut client, sent).await;
    let name = r.name.clone();
    // Received Mon 2 Mar 2026 (day 1) → one month → Thu 2 Apr 2026, a working day.
    assert_eq!(dates(&r), owned("2026-04-02", "2026-04-02", "2026-04-02"));
    assert_eq!(r.jurisdiction(), PbJurisdiction::EnglandAndWales);
    assert_eq!(
        r.requester_relationship(),
        pb::RequesterRelationship::DataSubject
    );

    // Identity asked for on Wed 4 Mar: the clock has not started, no dates.
    let r = record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::IdentityRequested,
            date!(2026 - 03 - 04),
            "",
        ),
    )
    .await;
    assert_eq!(r.state(), pb::RequestState::AwaitingIdentity);
    let d = r.deadlines.clone().expect("deadlines");
    assert_eq!(d.status(), pb::ClockStatus::AwaitingIdentity);
    assert_eq!(dates(&r), owned("", "", ""));

    // Identity received Fri 13 Mar: a restart, not a pause (Art 12A(2)): 13 Mar → Mon 13 Apr 2026
    // (Easter Monday was 6 Apr).
    let r = record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::IdentityReceived,
            date!(2026 - 03 - 13),
            "",
        ),
    )
    .await;
    assert_eq!(r.state(), pb::RequestState::InProgress);
    assert_eq!(r.deadlines.as_ref().expect("d").start_date, "2026-03-13");
    assert_eq!(dates(&r), owned("2026-04-13", "2026-04-13", "2026-04-13"));

    // Clarification asked Mon 16 Mar, answered Thu 19 Mar: 16, 17, 18, 19 = 4 days do not count
    // (both ends, Art 12A(3)) → 13 Apr + 4 = Fri 17 Apr 2026; the extension notice moves too.
    let r = record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::ClarificationRequested,
            date!(2026 - 03 - 16),
            "",
        ),
    )
    .await;
    assert_eq!(r.state(), pb::RequestState::AwaitingClarification);
    assert_eq!(
        r.deadlines.as_ref().expect("d").status(),
        pb::ClockStatus::Paused
    );
    let r = record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::ClarificationReceived,
            date!(2026 - 03 - 19),
            "",
        ),
    )
    .await;
    assert_eq!(r.state(), pb::RequestState::InProgress);
    assert_eq!(dates(&r), owned("2026-04-17", "2026-04-17", "2026-04-17"));

    // Extended, the person told Mon 23 Mar: three months from the same start, 13 Mar → Sat 13 Jun,
    // plus the 4 paused days → Wed 17 Jun 2026. A refusal stays due by 17 Apr (Art 12(4)).
    let r = record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::Extended,
            date!(2026 - 03 - 23),
            "records held across four homes and two systems",
        ),
    )
    .await;
    assert_eq!(dates(&r), owned("2026-06-17", "2026-04-17", "2026-04-17"));
    let d = r.deadlines.clone().expect("deadlines");
    assert_eq!(d.extended_date, "2026-03-23");
    assert!(d.overdue, "open and past 17 Jun 2026");
    assert!(
        d.explanation
            .iter()
            .any(|l| l.contains("extended on Mon 23 Mar 2026")),
        "{:#?}",
        d.explanation
    );
    assert_eq!(
        d.explanation.last().map(String::as_str),
        Some("the response is due by Wed 17 Jun 2026")
    );

    // A second extension is refused and changes nothing.
    let before = rows(&db).await;
    let status = client
        .record_clock_event(event(
            &name,
            pb::ClockEventKind::Extended,
            date!(2026 - 03 - 24),
            "still complex",
        ))
        .await
        .expect_err("once only");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("only once"),
        "{}",
        status.message()
    );
    assert_eq!(rows(&db).await, before);

    // Completing with a pending task is refused; the task is completed; then review and complete.
    let status = transition(&mut client, &name, pb::Transition::Complete, "")
        .await
        .expect_err("task pending");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("1 fulfilment task"),
        "{}",
        status.message()
    );
    assert_eq!(rows(&db).await, before);
    let tasks = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            system: "care-records".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .tasks;
    assert_eq!(tasks.len(), 1);
    client
        .complete_fulfilment_task(pb::CompleteFulfilmentTaskRequest {
            name: tasks[0].name.clone(),
            export_json: r#"{"care_notes":[{"date":"2026-01-04","text":"settled"}]}"#.into(),
            affected_records: 0,
        })
        .await
        .expect("completed");
    let r = transition(&mut client, &name, pb::Transition::SubmitForReview, "")
        .await
        .expect("review");
    assert_eq!(r.state(), pb::RequestState::AwaitingReview);

    // Review: the care notes hold health data and a nurse's note about another resident.
    let part = client
        .add_review_part(pb::AddReviewPartRequest {
            subject_request: name.clone(),
            review_part: Some(pb::ReviewPart {
                description: "care notes Jan-Mar 2026".into(),
                third_party: pb::ThirdPartyHandling::Redacted.into(),
                health_data: true,
                ..Default::default()
            }),
        })
        .await
        .expect("part recorded")
        .into_inner();
    // 003 §11.4 (the default policy): no release before a health professional approves.
    let before = rows(&db).await;
    let status = transition(&mut client, &name, pb::Transition::Complete, "")
        .await
        .expect_err("unapproved health data");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("health professional"),
        "{}",
        status.message()
    );
    let approve = pb::ApproveHealthReleaseRequest {
        name: part.name.clone(),
    };
    let status = client
        .approve_health_release(approve.clone())
        .await
        .expect_err("a dpo is not a health professional");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(rows(&db).await, before);
    let mut nurse = super::client_with_roles(
        &server,
        "acme-north",
        "nurse-okafor",
        &["health_professional"],
    );
    let approved = nurse
        .approve_health_release(approve)
        .await
        .expect("approved")
        .into_inner();
    assert_eq!(approved.approved_by, "nurse-okafor");
    assert!(approved.approve_time.is_some());

    // The response pack: the export with the supplementary information, streamed back.
    let mut build = pb::BuildResponsePackRequest {
        subject_request: name.clone(),
        supplementary_information: Some(pb::SupplementaryInformation {
            purposes: vec!["providing care".into()],
            ..Default::default()
        }),
    };
    let status = client
        .build_response_pack(build.clone())
        .await
        .expect_err("incomplete supplementary information");
    assert_eq!(
        field_violations(&status)[0].0,
        "supplementary_information.categories"
    );
    build.supplementary_information = Some(pb::SupplementaryInformation {
        purposes: vec!["providing care".into()],
        categories: vec!["health".into(), "contact details".into()],
        recipients: vec!["the person's GP".into()],
        retention: vec!["20 years after the last contact (003 §19)".into()],
        sources: vec!["the person's GP and the hospital discharge team".into()],
        automated_decision_making: Vec::new(),
        international_transfer_safeguards: Vec::new(),
    });
    let info = client
        .build_response_pack(build)
        .await
        .expect("built")
        .into_inner();
    let mut stream = client
        .download_response_pack(pb::DownloadResponsePackRequest {
            subject_request: name.clone(),
        })
        .await
        .expect("download")
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.message().await.expect("chunk") {
        bytes.extend(chunk.data);
    }
    assert_eq!(i64::try_from(bytes.len()).expect("size"), info.size_bytes);
    let pack: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(pack["personal_data"][0]["system"], "care-records");
    assert_eq!(
        pack["personal_data"][0]["data"]["care_notes"][0]["text"],
        "settled"
    );
    assert_eq!(
        pack["supplementary_information"]["how_to_complain"]["regulator"],
        "the Information Commissioner's Office (ico.org.uk)"
    );
    let raw: String = sqlx::query_scalar("SELECT t::text FROM subject_requests.response_packs t")
        .fetch_one(db.pool())
        .await
        .expect("raw pack");
    assert!(!raw.contains("settled"), "the pack is sealed");

    let r = transition(&mut client, &name, pb::Transition::Complete, "")
        .await
        .expect("completed");
    assert_eq!(r.state(), pb::RequestState::Completed);
    assert!(
        !r.deadlines.expect("d").overdue,
        "a completed request is not overdue"
    );

    let history = client
        .list_request_history(pb::ListRequestHistoryRequest { name: name.clone() })
        .await
        .expect("history")
        .into_inner()
        .entries;
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "created",
            "identity_requested",
            "identity_received",
            "clarification_requested",
            "clarification_received",
            "extend",
            "task_completed",
            "submit_for_review",
            "review_part_added",
            "health_release_approved",
            "response_pack_built",
            "complete"
        ]
    );
    let actors: Vec<&str> = history.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(actors[9], "nurse-okafor");
    assert!(
        actors
            .iter()
            .enumerate()
            .all(|(i, a)| i == 9 || *a == "test-caller")
    );
    assert_eq!(
        history[5].reason,
        "records held across four homes and two systems"
    );
    assert_eq!(history[11].from_state(), pb::RequestState::AwaitingReview);
    assert_eq!(history[11].to_state(), pb::RequestState::Completed);
}

#[tokio::test]
async fn an_erasure_request_paused_for_clarification_and_fulfilled_by_every_system() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let mut sent = request(pb::RequestKind::Erasure, date!(2026 - 09 - 01));
    sent.fulfilment_tasks = vec![
        task("care-records", pb::TaskAction::Erase),
        task("newsletter", pb::TaskAction::Erase),
    ];
    let r = created(&mut client, sent).await;
    let name = r.name.clone();
    // Tue 1 Sep 2026 → Thu 1 Oct 2026.
    assert_eq!(dates(&r).0, "2026-10-01");
    let r = transition(&mut client, &name, pb::Transition::Start, "")
        .await
        .expect("started");
    assert_eq!(r.state(), pb::RequestState::InProgress);
    // Clarification asked Mon 7 Sep, answered Tue 8 Sep: 2 days → Sat 3 Oct → Mon 5 Oct 2026.
    record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::ClarificationRequested,
            date!(2026 - 09 - 07),
            "",
        ),
    )
    .await;
    let r = record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::ClarificationReceived,
            date!(2026 - 09 - 08),
            "",
        ),
    )
    .await;
    assert_eq!(dates(&r), owned("2026-10-05", "2026-10-05", "2026-10-05"));

    let tasks = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            subject_request: name.clone(),
            ..Default::default()
        })
        .await
        .expect("tasks")
        .into_inner()
        .tasks;
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.state() == pb::TaskState::Pending));
    // An erase task reports a count, not an export.
    let status = client
        .complete_fulfilment_task(pb::CompleteFulfilmentTaskRequest {
            name: tasks[0].name.clone(),
            export_json: "{}".into(),
            affected_records: 3,
        })
        .await
        .expect_err("no export for an erasure");
    assert_eq!(
        field_violations(&status),
        [(
            "export_json".to_owned(),
            "only for an export task".to_owned()
        )]
    );
    let erase = pb::CompleteFulfilmentTaskRequest {
        name: tasks[0].name.clone(),
        export_json: String::new(),
        affected_records: 14,
    };
    // Nothing is erased before the retention service said what must be kept.
    let status = client
        .complete_fulfilment_task(erase.clone())
        .await
        .expect_err("retention not answered");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("retention"), "{status:?}");
    // Retention answers (no dispatcher runs here; the end-to-end tests deliver for real): the
    // person has no registered records.
    let outbox = dps_subject_requests::store::Outbox::new(db.pool().clone());
    for message in outbox
        .claim(10, std::time::Duration::from_secs(30))
        .await
        .expect("claimed")
    {
        outbox
            .erasure_checked(&message, &[], None)
            .await
            .expect("answered");
    }
    let done = client
        .complete_fulfilment_task(erase)
        .await
        .expect("erased")
        .into_inner();
    assert_eq!(
        (done.state(), done.affected_records),
        (pb::TaskState::Completed, 14)
    );
    let status = transition(&mut client, &name, pb::Transition::Complete, "")
        .await
        .expect_err("one pending");
    assert_eq!(status.code(), Code::FailedPrecondition);
    client
        .waive_fulfilment_task(pb::WaiveFulfilmentTaskRequest {
            name: tasks[1].name.clone(),
            reason: "kept: the person is on the suppression list so marketing stays stopped".into(),
            disproportionate: false,
            justification: String::new(),
        })
        .await
        .expect("waived");
    let status = client
        .build_response_pack(pb::BuildResponsePackRequest {
            subject_request: name.clone(),
            supplementary_information: Some(pb::SupplementaryInformation {
                purposes: vec!["care".into()],
                categories: vec!["health".into()],
                recipients: vec!["none".into()],
                retention: vec!["20 years".into()],
                sources: vec!["the person".into()],
                ..Default::default()
            }),
        })
        .await
        .expect_err("no pack for an erasure");
    assert_eq!(status.code(), Code::FailedPrecondition);
    // Every task is done, but the retention service has not said what must be kept (no
    // dispatcher runs here): completing would erase blind.
    let status = transition(&mut client, &name, pb::Transition::Complete, "")
        .await
        .expect_err("retention not asked yet");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("other services"), "{status:?}");
    // The other services answered (the end-to-end tests deliver for real).
    sqlx::query("UPDATE subject_requests.outbox SET delivered_at = now()")
        .execute(db.pool())
        .await
        .expect("delivered");
    let r = transition(&mut client, &name, pb::Transition::Complete, "")
        .await
        .expect("complete");
    assert_eq!(r.state(), pb::RequestState::Completed);
    // Completed requests can be appealed, then closed, and take no more clock events.
    let status = client
        .record_clock_event(event(
            &name,
            pb::ClockEventKind::IdentityRequested,
            date!(2026 - 10 - 01),
            "",
        ))
        .await
        .expect_err("finished");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        status.message(),
        "cannot ask for identity on a request that is completed"
    );
    let status = transition(&mut client, &name, pb::Transition::Appeal, "")
        .await
        .expect_err("why");
    assert_eq!(field_violations(&status)[0].0, "reason");
    transition(
        &mut client,
        &name,
        pb::Transition::Appeal,
        "says two systems were missed",
    )
    .await
    .expect("appealed");
    let r = transition(
        &mut client,
        &name,
        pb::Transition::Close,
        "both systems re-checked",
    )
    .await
    .expect("closed");
    assert_eq!(r.state(), pb::RequestState::Closed);
}

pub(crate) fn refusal(on: Date, reason: &str) -> pb::RefuseSubjectRequestRequest {
    pb::RefuseSubjectRequestRequest {
        name: String::new(),
        refusal: Some(pb::Refusal {
            ground: pb::RefusalGround::ManifestlyExcessive.into(),
            reason: reason.into(),
            exemption: String::new(),
            told_right_to_complain_to_controller: true,
            told_right_to_complain_to_regulator: true,
            told_right_to_go_to_court: true,
            refuse_time: Some(noon(on)),
            refused_by: String::new(),
        }),
    }
}

#[tokio::test]
async fn a_refusal_of_an_extended_request_is_due_within_the_unextended_period() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 03 - 02)),
    )
    .await;
    let name = r.name.clone();
    // Received Mon 2 Mar 2026; extended, told Tue 10 Mar: due Tue 2 Jun 2026 (three months), but a
    // refusal is still due by Thu 2 Apr 2026 (Art 12(4)).
    let r = record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::Extended,
            date!(2026 - 03 - 10),
            "numerous requests",
        ),
    )
    .await;
    assert_eq!(dates(&r), owned("2026-06-02", "2026-04-02", "2026-04-02"));

    // Refused on Fri 3 Apr: too late, nothing stored.
    let before = rows(&db).await;
    let mut late = refusal(
        date!(2026 - 04 - 03),
        "the fifth identical request since January",
    );
    late.name = name.clone();
    let status = client.refuse_subject_request(late).await.expect_err("late");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("due by 2026-04-02"),
        "{}",
        status.message()
    );
    // Without a reason, or without telling the person of the court: named, nothing stored.
    let mut bare = refusal(date!(2026 - 04 - 01), " ");
    bare.name = name.clone();
    if let Some(r) = bare.refusal.as_mut() {
        r.told_right_to_go_to_court = false;
    }
    let status = client.refuse_subject_request(bare).await.expect_err("bare");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        ["refusal.reason", "refusal.told_right_to_go_to_court"]
    );
    assert_eq!(rows(&db).await, before);

    // Refused on Wed 1 Apr: in time.
    let mut in_time = refusal(
        date!(2026 - 04 - 01),
        "the fifth identical request since January",
    );
    in_time.name = name.clone();
    let r = client
        .refuse_subject_request(in_time)
        .await
        .expect("refused")
        .into_inner();
    assert_eq!(r.state(), pb::RequestState::Refused);
    let d = r.deadlines.clone().expect("d");
    assert_eq!(d.status(), pb::ClockStatus::Refused);
    assert_eq!(d.refusal_due_date, "2026-04-02");
    assert!(!d.overdue);
    assert_eq!(
        d.explanation.last().map(String::as_str),
        Some("refused on Wed 1 Apr 2026: in time")
    );
    let recorded = r.refusal.expect("refusal");
    assert_eq!(recorded.ground(), pb::RefusalGround::ManifestlyExcessive);
    assert_eq!(recorded.refused_by, "test-caller");
    assert!(recorded.told_right_to_complain_to_controller);
    // Refused once: a second refusal is a failed precondition.
    let mut again = refusal(date!(2026 - 04 - 01), "again");
    again.name = name.clone();
    assert_eq!(
        client
            .refuse_subject_request(again)
            .await
            .expect_err("refused")
            .code(),
        Code::FailedPrecondition
    );
}

#[tokio::test]
async fn bad_clock_events_are_named_and_change_nothing() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 03 - 02)),
    )
    .await;
    let name = r.name.clone();
    let before = rows(&db).await;
    // An extension without a reason.
    let status = client
        .record_clock_event(event(
            &name,
            pb::ClockEventKind::Extended,
            date!(2026 - 03 - 03),
            " ",
        ))
        .await
        .expect_err("no reason");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status)[0].0, "reason");
    // Before receipt.
    let status = client
        .record_clock_event(event(
            &name,
            pb::ClockEventKind::IdentityRequested,
            date!(2026 - 03 - 01),
            "",
        ))
        .await
        .expect_err("before receipt");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status)[0].0, "occur_time");
    // An answer nobody asked for.
    let status = client
        .record_clock_event(event(
            &name,
            pb::ClockEventKind::FeePaid,
            date!(2026 - 03 - 03),
            "",
        ))
        .await
        .expect_err("no fee asked");
    assert_eq!(status.code(), Code::FailedPrecondition);
    // A fee for further copies of an erasure; a fee without its ground.
    let mut fee = event(
        &name,
        pb::ClockEventKind::FeeRequested,
        date!(2026 - 03 - 03),
        "",
    );
    let status = client
        .record_clock_event(fee.clone())
        .await
        .expect_err("no ground");
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(fields, ["fee_ground", "fee_amount_pence", "reason"]);
    // Completing a request nobody has worked on.
    let status = transition(&mut client, &name, pb::Transition::Complete, "")
        .await
        .expect_err("not started");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(rows(&db).await, before);

    // A fee for a manifestly excessive request restarts the clock when paid: paid Mon 9 Mar →
    // Thu 9 Apr 2026.
    fee.fee_ground = pb::FeeGround::ManifestlyExcessive.into();
    fee.fee_amount_pence = 2500;
    fee.reason = "copies of ten years of records again".into();
    let r = record(&mut client, fee).await;
    assert_eq!(r.state(), pb::RequestState::AwaitingFee);
    let r = record(
        &mut client,
        event(
            &name,
            pb::ClockEventKind::FeePaid,
            date!(2026 - 03 - 09),
            "",
        ),
    )
    .await;
    assert_eq!(dates(&r).0, "2026-04-09");
}

#[tokio::test]
async fn jersey_tenants_count_four_weeks_without_a_clarification_pause() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-jersey");
    let defaults = client
        .get_tenant_settings(pb::GetTenantSettingsRequest {})
        .await
        .expect("defaults")
        .into_inner();
    assert_eq!(defaults.jurisdiction(), PbJurisdiction::EnglandAndWales);
    assert_eq!(
        (defaults.time_zone.as_str(), defaults.saved),
        ("Europe/London", false)
    );
    let status = client
        .update_tenant_settings(pb::UpdateTenantSettingsRequest {
            settings: Some(pb::TenantSettings::default()),
        })
        .await
        .expect_err("no jurisdiction");
    assert_eq!(field_violations(&status)[0].0, "settings.jurisdiction");
    let saved = client
        .update_tenant_settings(pb::UpdateTenantSettingsRequest {
            settings: Some(pb::TenantSettings {
                jurisdiction: PbJurisdiction::Jersey.into(),
                ..Default::default()
            }),
        })
        .await
        .expect("saved")
        .into_inner();
    assert_eq!(
        (saved.time_zone.as_str(), saved.saved),
        ("Europe/Jersey", true)
    );

    // Mon 2 Mar 2026 + 4 weeks → Mon 30 Mar 2026; extendable to 12 weeks → Mon 25 May 2026
    // (a Jersey bank holiday, but the law has no next-working-day rule: a warning instead).
    let r = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 03 - 02)),
    )
    .await;
    assert_eq!(r.jurisdiction(), PbJurisdiction::Jersey);
    assert_eq!(dates(&r).0, "2026-03-30");
    let d = r.deadlines.clone().expect("d");
    assert_eq!(
        d.explanation[0],
        "rules: Data Protection (Jersey) Law 2018 Art 27"
    );
    let status = client
        .record_clock_event(event(
            &r.name,
            pb::ClockEventKind::ClarificationRequested,
            date!(2026 - 03 - 03),
            "",
        ))
        .await
        .expect_err("no pause in Jersey");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let r = record(
        &mut client,
        event(
            &r.name,
            pb::ClockEventKind::Extended,
            date!(2026 - 03 - 03),
            "complex",
        ),
    )
    .await;
    assert_eq!(dates(&r).0, "2026-05-25");
    assert!(!r.deadlines.expect("d").warnings.is_empty());
    // Another tenant keeps the defaults.
    let other = super::client(&server, "acme-north")
        .get_tenant_settings(pb::GetTenantSettingsRequest {})
        .await
        .expect("other")
        .into_inner();
    assert_eq!(other.jurisdiction(), PbJurisdiction::EnglandAndWales);
}

#[tokio::test]
async fn intake_records_who_asked_and_handles_non_portable_data_as_access() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_subject_request(create(pb::SubjectRequest {
            requester_relationship: pb::RequesterRelationship::AttorneyOrDeputy.into(),
            child_competence: Some(pb::ChildCompetence {
                age: 14,
                note: String::new(),
            }),
            ..request(pb::RequestKind::Portability, date!(2026 - 03 - 02))
        }))
        .await
        .expect_err("incomplete");
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "subject_request.requester_basis",
            "subject_request.child_competence.note",
            "subject_request.portability_check"
        ]
    );
    assert_eq!(super::stored_requests(&db).await, 0);

    let r = created(
        &mut client,
        pb::SubjectRequest {
            requester_relationship: pb::RequesterRelationship::ParentOrGuardian.into(),
            requester_basis: "mother, with parental responsibility".into(),
            child_competence: Some(pb::ChildCompetence {
                age: 9,
                note: "too young to understand the request; mother acts".into(),
            }),
            portability_check: Some(pb::PortabilityCheck {
                provided_by_person: true,
                consent_or_contract: false,
                automated_processing: true,
            }),
            ..request(pb::RequestKind::Portability, date!(2026 - 03 - 02))
        },
    )
    .await;
    assert_eq!(r.kind(), pb::RequestKind::Access);
    assert_eq!(r.requested_kind(), pb::RequestKind::Portability);
    assert_eq!(
        r.kind_reason,
        "handled as access: portability (Art 20(1)) does not apply: not processed on consent or \
         contract"
    );
    assert_eq!(r.requester_basis, "mother, with parental responsibility");
    assert_eq!(r.child_competence.as_ref().map(|c| c.age), Some(9));
    let read = client
        .get_subject_request(pb::GetSubjectRequestRequest {
            name: r.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, r);
}

#[tokio::test]
async fn withholding_for_serious_harm_needs_a_dated_opinion_and_policy_can_lift_approval() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 11 - 02)),
    )
    .await;
    let add = |part: pb::ReviewPart| pb::AddReviewPartRequest {
        subject_request: r.name.clone(),
        review_part: Some(part),
    };
    let harm = pb::ReviewPart {
        description: "psychiatric assessment, 3 Nov 2026".into(),
        third_party: pb::ThirdPartyHandling::None.into(),
        health_data: true,
        exemption: pb::Exemption::SeriousHarm.into(),
        withheld_what: "the assessment's risk section".into(),
        ..Default::default()
    };
    let before = rows(&db).await;
    let status = client
        .add_review_part(add(harm.clone()))
        .await
        .expect_err("no opinion");
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "review_part.health_opinion_by",
            "review_part.health_opinion_date"
        ]
    );
    assert_eq!(rows(&db).await, before);
    let harm = pb::ReviewPart {
        health_opinion_by: "Dr A Patel, consultant psychiatrist".into(),
        health_opinion_date: "2026-11-20".into(),
        ..harm
    };
    // Not yet in progress: nothing to review.
    let status = client
        .add_review_part(add(harm.clone()))
        .await
        .expect_err("received");
    assert_eq!(status.code(), Code::FailedPrecondition);
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");
    let withheld = client
        .add_review_part(add(harm))
        .await
        .expect("withheld")
        .into_inner();
    assert_eq!(withheld.exemption(), pb::Exemption::SeriousHarm);
    // A released health part, with the tenant's approval policy lifted: completes unapproved.
    client
        .add_review_part(add(pb::ReviewPart {
            description: "GP letters 2025".into(),
            third_party: pb::ThirdPartyHandling::None.into(),
            health_data: true,
            ..Default::default()
        }))
        .await
        .expect("released part");
    assert_eq!(
        transition(&mut client, &r.name, pb::Transition::Complete, "")
            .await
            .expect_err("policy on")
            .code(),
        Code::FailedPrecondition
    );
    client
        .update_tenant_settings(pb::UpdateTenantSettingsRequest {
            settings: Some(pb::TenantSettings {
                jurisdiction: PbJurisdiction::EnglandAndWales.into(),
                health_release_without_approval: true,
                ..Default::default()
            }),
        })
        .await
        .expect("policy lifted");
    transition(&mut client, &r.name, pb::Transition::Complete, "")
        .await
        .expect("completed");
    let parts = client
        .list_review_parts(pb::ListReviewPartsRequest {
            subject_request: r.name.clone(),
        })
        .await
        .expect("parts")
        .into_inner()
        .review_parts;
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].health_opinion_date, "2026-11-20");
}
