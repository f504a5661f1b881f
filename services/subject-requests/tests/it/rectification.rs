//! Rectification's accuracy check, refusals of access to health records, and the pending-task
//! stream holding systems follow.

use std::time::Duration;

use dps_platform::error::field_violations;
use dps_proto::subject_requests::v1 as pb;
use time::macros::date;
use tokio_stream::StreamExt;
use tonic::Code;

use super::lifecycle::{created, noon, refusal, request, rows, task, transition};
use super::{client, client_with_roles, start};

async fn tasks_of(client: &mut super::Client, name: &str) -> Vec<(String, pb::TaskAction)> {
    let mut tasks: Vec<(String, pb::TaskAction)> = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            subject_request: name.into(),
            ..Default::default()
        })
        .await
        .expect("tasks")
        .into_inner()
        .tasks
        .into_iter()
        .map(|t| (t.system.clone(), t.action()))
        .collect();
    tasks.sort_by_key(|(s, a)| (s.clone(), *a as i32));
    tasks
}

#[tokio::test]
async fn a_rectification_restricts_while_checking_tells_before_lifting_and_keeps_a_dispute() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let mut sent = request(pb::RequestKind::Rectification, date!(2026 - 11 - 02));
    sent.fulfilment_tasks = vec![
        task("care-records", pb::TaskAction::Rectify),
        task("hr", pb::TaskAction::Rectify),
    ];
    let r = created(&mut client, sent).await;
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");

    let restrict = pb::RestrictWhileCheckingAccuracyRequest {
        subject_request: r.name.clone(),
    };
    let check = client
        .restrict_while_checking_accuracy(restrict.clone())
        .await
        .expect("restricted")
        .into_inner();
    assert!(check.restricted);
    assert_eq!(check.name, format!("{}/accuracyCheck", r.name));
    assert_eq!(check.restricted_by, "test-caller");
    // Every system holding the data is asked to restrict it too.
    assert_eq!(
        tasks_of(&mut client, &r.name).await,
        [
            ("care-records".to_owned(), pb::TaskAction::Rectify),
            ("care-records".to_owned(), pb::TaskAction::Restrict),
            ("hr".to_owned(), pb::TaskAction::Rectify),
            ("hr".to_owned(), pb::TaskAction::Restrict),
        ]
    );
    // Restricting again changes nothing.
    let before = rows(&db).await;
    let again = client
        .restrict_while_checking_accuracy(restrict)
        .await
        .expect("again")
        .into_inner();
    assert_eq!(again.restrict_time, check.restrict_time);
    assert_eq!(rows(&db).await, before);

    // Lifting needs the time the person was told (Art 18(3)); nothing changes without it.
    let status = client
        .lift_accuracy_restriction(pb::LiftAccuracyRestrictionRequest {
            subject_request: r.name.clone(),
            told_time: None,
        })
        .await
        .expect_err("not told");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status)[0].0, "told_time");
    // Neither refused nor completed while restricted.
    let mut refuse = refusal(
        date!(2026 - 11 - 24),
        "The record is accurate: see the GP letter.",
    );
    refuse.name = r.name.clone();
    assert_eq!(
        client
            .refuse_subject_request(refuse.clone())
            .await
            .expect_err("restricted")
            .code(),
        Code::FailedPrecondition
    );
    let still = client
        .get_accuracy_check(pb::GetAccuracyCheckRequest {
            subject_request: r.name.clone(),
        })
        .await
        .expect("check")
        .into_inner();
    assert!(still.restricted);

    // Told, then lifted; then the rectification is refused and the person's dispute is kept.
    let now = time::OffsetDateTime::now_utc();
    let lifted = client
        .lift_accuracy_restriction(pb::LiftAccuracyRestrictionRequest {
            subject_request: r.name.clone(),
            told_time: Some(dps_platform::proto_time::to_proto(now)),
        })
        .await
        .expect("lifted")
        .into_inner();
    assert!(!lifted.restricted);
    assert!(lifted.lift_time.is_some() && lifted.told_time.is_some());
    let dispute = pb::RecordDisputedAccuracyRequest {
        subject_request: r.name.clone(),
        note: "My mother's date of birth is 3 March 1941, not 1914.".into(),
    };
    assert_eq!(
        client
            .record_disputed_accuracy(dispute.clone())
            .await
            .expect_err("not refused yet")
            .code(),
        Code::FailedPrecondition
    );
    let refused = client
        .refuse_subject_request(refuse)
        .await
        .expect("refused")
        .into_inner();
    assert_eq!(refused.state(), pb::RequestState::Refused);
    let status = client
        .record_disputed_accuracy(pb::RecordDisputedAccuracyRequest {
            note: " ".into(),
            ..dispute.clone()
        })
        .await
        .expect_err("empty note");
    assert_eq!(field_violations(&status)[0].0, "note");
    let kept = client
        .record_disputed_accuracy(dispute.clone())
        .await
        .expect("kept")
        .into_inner();
    assert_eq!(kept.disputed_accuracy_note, dispute.note);
    let raw: Vec<String> =
        sqlx::query_scalar("SELECT c::text FROM subject_requests.accuracy_checks c")
            .fetch_all(db.pool())
            .await
            .expect("raw");
    assert!(!raw.join("\n").contains("1941"), "the note is sealed");
    let history: Vec<String> = client
        .list_request_history(pb::ListRequestHistoryRequest {
            name: r.name.clone(),
        })
        .await
        .expect("history")
        .into_inner()
        .entries
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "accuracy_restricted",
        "accuracy_restriction_lifted",
        "refuse",
        "accuracy_disputed",
    ] {
        assert!(
            history.iter().any(|a| a == action),
            "{action} in {history:?}"
        );
    }
}

#[tokio::test]
async fn only_rectification_requests_have_an_accuracy_check() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 11 - 02)),
    )
    .await;
    let before = rows(&db).await;
    let status = client
        .restrict_while_checking_accuracy(pb::RestrictWhileCheckingAccuracyRequest {
            subject_request: r.name.clone(),
        })
        .await
        .expect_err("access");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = client
        .lift_accuracy_restriction(pb::LiftAccuracyRestrictionRequest {
            subject_request: "subjectRequests/0193f1a4-0000-7000-8000-000000000000".into(),
            told_time: Some(noon(date!(2026 - 11 - 20))),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(rows(&db).await, before);
}

#[tokio::test]
async fn only_a_health_professional_refuses_access_to_health_records() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 11 - 02)),
    )
    .await;
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");
    client
        .add_review_part(pb::AddReviewPartRequest {
            subject_request: r.name.clone(),
            review_part: Some(pb::ReviewPart {
                description: "GP letters 2025".into(),
                third_party: pb::ThirdPartyHandling::None.into(),
                health_data: true,
                ..Default::default()
            }),
        })
        .await
        .expect("part");
    let mut refuse = refusal(
        date!(2026 - 11 - 24),
        "Manifestly excessive: fifth request.",
    );
    refuse.name = r.name.clone();
    let before = rows(&db).await;
    let status = client
        .refuse_subject_request(refuse.clone())
        .await
        .expect_err("a dpo is not a health professional");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(status.message().contains("11.4.1"), "{}", status.message());
    assert_eq!(rows(&db).await, before);
    let mut clinician = client_with_roles(
        &server,
        "acme-north",
        "dr-patel",
        &["staff", "health_professional"],
    );
    let refused = clinician
        .refuse_subject_request(refuse)
        .await
        .expect("refused by a clinician")
        .into_inner();
    assert_eq!(refused.state(), pb::RequestState::Refused);
    assert_eq!(refused.refusal.expect("refusal").refused_by, "dr-patel");
}

async fn next_task(stream: &mut tonic::Streaming<pb::FulfilmentTask>) -> pb::FulfilmentTask {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a task within 10 s")
        .expect("stream open")
        .expect("task")
}

#[tokio::test]
async fn a_system_follows_its_pending_tasks_as_they_are_created() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let mut sent = request(pb::RequestKind::Access, date!(2026 - 11 - 02));
    sent.fulfilment_tasks = vec![
        task("care-records", pb::TaskAction::Export),
        task("hr", pb::TaskAction::Export),
    ];
    let first = created(&mut client, sent.clone()).await;
    let mut stream = client
        .watch_pending_tasks(pb::WatchPendingTasksRequest {
            system: "care-records".into(),
        })
        .await
        .expect("watching")
        .into_inner();
    // What was already pending comes first.
    let t = next_task(&mut stream).await;
    assert_eq!(t.subject_request, first.name);
    assert_eq!(t.system, "care-records");

    // Another tenant's task for a system of the same name is not sent; this tenant's next is.
    let mut other = super::client(&server, "acme-south");
    created(&mut other, sent.clone()).await;
    sent.person_id = "person-second".into();
    let second = created(&mut client, sent).await;
    let t = next_task(&mut stream).await;
    assert_eq!(t.subject_request, second.name);
    assert_eq!(t.person_id, "person-second");
    // Nothing else: neither a repeat nor another system's task.
    assert!(
        tokio::time::timeout(Duration::from_millis(2500), stream.next())
            .await
            .is_err()
    );

    let status = client
        .watch_pending_tasks(pb::WatchPendingTasksRequest { system: " ".into() })
        .await
        .expect_err("no system");
    assert_eq!(field_violations(&status)[0].0, "system");
}
