//! Fulfilment tasks: picked up by each system, completed with a result or waived with a reason.

use dps_platform::error::field_violations;
use dps_proto::subject_requests::v1 as pb;
use time::macros::date;
use tonic::Code;

use super::lifecycle::{created, request, task, transition};
use super::{client, create, start};

#[tokio::test]
async fn each_system_sees_its_own_pending_tasks_and_exports_are_sealed() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let mut sent = request(pb::RequestKind::Access, date!(2026 - 11 - 02));
    sent.fulfilment_tasks = vec![
        task("care-records", pb::TaskAction::Export),
        task("hr", pb::TaskAction::Export),
        task("tape-archive", pb::TaskAction::Export),
    ];
    let r = created(&mut client, sent.clone()).await;
    // A second request for the same system queues behind the first.
    sent.person_id = "person-other".into();
    let second = created(&mut client, sent).await;

    let page = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            system: "care-records".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("first page")
        .into_inner();
    assert_eq!(page.tasks.len(), 1);
    let first = page.tasks[0].clone();
    assert_eq!(first.subject_request, r.name);
    assert_eq!(first.person_id, "person-0193f1a4");
    assert_eq!(first.action(), pb::TaskAction::Export);
    let rest = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            system: "care-records".into(),
            page_size: 1,
            page_token: page.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .expect("second page")
        .into_inner();
    assert_eq!(rest.tasks[0].subject_request, second.name);

    let export = r#"{"care_notes":[{"text":"Winifred enjoyed the garden"}]}"#;
    let done = client
        .complete_fulfilment_task(pb::CompleteFulfilmentTaskRequest {
            name: first.name.clone(),
            export_json: export.into(),
            affected_records: 0,
        })
        .await
        .expect("completed")
        .into_inner();
    assert_eq!(done.state(), pb::TaskState::Completed);
    assert_eq!(done.export_json, export);
    assert_eq!(done.done_by, "test-caller");
    let raw: Vec<String> =
        sqlx::query_scalar("SELECT t::text FROM subject_requests.fulfilment_tasks t")
            .fetch_all(db.pool())
            .await
            .expect("raw");
    assert!(!raw.join("\n").contains("Winifred"), "exports are sealed");
    // Done once: completing again is a failed precondition.
    let status = client
        .complete_fulfilment_task(pb::CompleteFulfilmentTaskRequest {
            name: first.name.clone(),
            export_json: export.into(),
            affected_records: 0,
        })
        .await
        .expect_err("already done");
    assert_eq!(status.code(), Code::FailedPrecondition);

    // The pending queue no longer shows it.
    let pending = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            system: "care-records".into(),
            ..Default::default()
        })
        .await
        .expect("pending")
        .into_inner();
    assert_eq!(pending.tasks.len(), 1);
    assert_eq!(pending.tasks[0].subject_request, second.name);

    // Waivers: a reason always; a disproportionate search its justification (Art 15(1A)).
    let of_request = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            subject_request: r.name.clone(),
            ..Default::default()
        })
        .await
        .expect("request tasks")
        .into_inner()
        .tasks;
    let tape = of_request
        .iter()
        .find(|t| t.system == "tape-archive")
        .expect("tape task");
    let status = client
        .waive_fulfilment_task(pb::WaiveFulfilmentTaskRequest {
            name: tape.name.clone(),
            reason: "archived on tape".into(),
            disproportionate: true,
            justification: " ".into(),
        })
        .await
        .expect_err("unjustified");
    assert_eq!(field_violations(&status)[0].0, "justification");
    let waived = client
        .waive_fulfilment_task(pb::WaiveFulfilmentTaskRequest {
            name: tape.name.clone(),
            reason: "archived on tape".into(),
            disproportionate: true,
            justification: "a restore takes three weeks and the index shows no records after 2009"
                .into(),
        })
        .await
        .expect("waived")
        .into_inner();
    assert_eq!(waived.state(), pb::TaskState::Waived);
    assert!(
        waived
            .disproportionate_justification
            .starts_with("a restore")
    );

    // Withdrawn requests drop out of every system's queue and their tasks stop changing.
    transition(
        &mut client,
        &second.name,
        pb::Transition::Withdraw,
        "the person no longer wants it",
    )
    .await
    .expect("withdrawn");
    let pending = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            system: "care-records".into(),
            ..Default::default()
        })
        .await
        .expect("pending")
        .into_inner();
    assert!(pending.tasks.is_empty());
}

#[tokio::test]
async fn tasks_at_intake_are_checked_and_other_tenants_cannot_touch_them() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let mut sent = request(pb::RequestKind::Erasure, date!(2026 - 11 - 02));
    sent.fulfilment_tasks = vec![
        task(" ", pb::TaskAction::Erase),
        task("crm", pb::TaskAction::Unspecified),
    ];
    let status = client
        .create_subject_request(create(sent))
        .await
        .expect_err("invalid tasks");
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "subject_request.fulfilment_tasks[0].system",
            "subject_request.fulfilment_tasks[1].action"
        ]
    );
    assert_eq!(super::stored_requests(&db).await, 0);

    let mut sent = request(pb::RequestKind::Erasure, date!(2026 - 11 - 02));
    sent.fulfilment_tasks = vec![task("crm", pb::TaskAction::Erase)];
    let r = created(&mut client, sent).await;
    let tasks = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            subject_request: r.name.clone(),
            ..Default::default()
        })
        .await
        .expect("tasks")
        .into_inner()
        .tasks;
    let mut other = super::client(&server, "acme-south");
    let status = other
        .complete_fulfilment_task(pb::CompleteFulfilmentTaskRequest {
            name: tasks[0].name.clone(),
            export_json: String::new(),
            affected_records: 1,
        })
        .await
        .expect_err("other tenant");
    assert_eq!(status.code(), Code::NotFound);
    let status = other
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            subject_request: r.name.clone(),
            ..Default::default()
        })
        .await
        .expect_err("other tenant");
    assert_eq!(status.code(), Code::NotFound);
}
