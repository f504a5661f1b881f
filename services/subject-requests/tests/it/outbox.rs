//! The transactional outbox (issue 10): a restriction or objection, once accepted, owes the
//! consent service one message, written with the move itself and kept until delivered.

use std::time::Duration;

use dps_proto::subject_requests::v1 as pb;
use dps_subject_requests::domain::SubjectRequestId;
use dps_subject_requests::outbox::{DispatchSettings, Dispatcher, Targets};
use dps_subject_requests::store::{Outbox, OutboxStatus};
use dps_test_support::TestDb;
use dps_types::TenantId;
use time::OffsetDateTime;
use tonic::Code;

use super::lifecycle::{created, event, record, request, transition};
use super::{client, start};

async fn effects(db: &TestDb, tenant: &str, name: &str) -> Vec<OutboxStatus> {
    Outbox::new(db.pool().clone())
        .of_request(
            &TenantId::parse(tenant).expect("tenant"),
            SubjectRequestId::parse_name(name).expect("name"),
        )
        .await
        .expect("read")
}

fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

#[tokio::test]
async fn accepting_a_restriction_request_owes_consent_one_message_written_with_the_move() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(&mut client, request(pb::RequestKind::Restriction, today())).await;
    assert!(
        effects(&db, "acme-north", &r.name).await.is_empty(),
        "not yet accepted"
    );
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");
    let mut owed = effects(&db, "acme-north", &r.name).await;
    owed.sort_by(|a, b| a.effect.cmp(&b.effect));
    let codes: Vec<&str> = owed.iter().map(|e| e.effect.as_str()).collect();
    // Restricted at once; and the recipients of the person's data are looked up to be told.
    assert_eq!(
        codes,
        ["consent.list_disclosures", "consent.record_restriction"]
    );
    assert!(
        owed.iter()
            .all(|e| (e.attempts, e.delivered_at) == (0, None))
    );
    // A refused step writes nothing more.
    let status = transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect_err("already started");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(effects(&db, "acme-north", &r.name).await.len(), 2);
    // An access request changes nothing elsewhere: it only asks what its response needs
    // (issue 10 flow 4).
    let access = created(&mut client, request(pb::RequestKind::Access, today())).await;
    transition(&mut client, &access.name, pb::Transition::Start, "")
        .await
        .expect("started");
    let mut asked: Vec<String> = effects(&db, "acme-north", &access.name)
        .await
        .into_iter()
        .map(|e| e.effect)
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            "consent.list_disclosures",
            "consent.list_purposes",
            "retention.find_systems",
            "retention.list_retention"
        ]
    );
}

#[tokio::test]
async fn an_objection_is_accepted_when_identity_arrives_and_owed_once_however_often() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(&mut client, request(pb::RequestKind::Objection, today())).await;
    for (kind, owed) in [
        (pb::ClockEventKind::IdentityRequested, 0),
        (pb::ClockEventKind::IdentityReceived, 1),
        // Identity asked for again and received again: still one message.
        (pb::ClockEventKind::IdentityRequested, 1),
        (pb::ClockEventKind::IdentityReceived, 1),
    ] {
        record(&mut client, event(&r.name, kind, today(), "identity")).await;
        let effects = effects(&db, "acme-north", &r.name).await;
        assert_eq!(effects.len(), owed, "after {kind:?}");
    }
    assert_eq!(
        effects(&db, "acme-north", &r.name).await[0].effect,
        "consent.record_objection"
    );
}

/// An address nothing listens on: bound, then released.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn a_message_waits_with_backoff_while_consent_is_unreachable() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(
        &mut client,
        request(pb::RequestKind::DirectMarketingObjection, today()),
    )
    .await;
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");
    let settings = DispatchSettings {
        backoff_base: Duration::from_secs(60),
        ..DispatchSettings::default()
    };
    // No address configured: the message waits.
    let targets = Targets::new();
    let dispatcher = Dispatcher::new(db.pool().clone(), targets.clone(), settings);
    assert_eq!(dispatcher.run_once().await.expect("claimed"), 1);
    let waiting = effects(&db, "acme-north", &r.name).await;
    assert_eq!(waiting[0].attempts, 1);
    assert_eq!(waiting[0].delivered_at, None);
    assert_eq!(waiting[0].failed_at, None);
    assert!(
        waiting[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("Unavailable")),
        "{:?}",
        waiting[0].last_error
    );
    // Backing off: not tried again at once.
    assert_eq!(dispatcher.run_once().await.expect("claimed"), 0);
    // Due again, against a closed port: still waiting, one more attempt.
    sqlx::query("UPDATE subject_requests.outbox SET next_attempt_at = now()")
        .execute(db.pool())
        .await
        .expect("due");
    targets.set_consent(&closed_port().await).expect("url");
    assert_eq!(dispatcher.run_once().await.expect("claimed"), 1);
    let waiting = effects(&db, "acme-north", &r.name).await;
    assert_eq!((waiting[0].attempts, waiting[0].delivered_at), (2, None));
    assert!(
        waiting[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("Unavailable")),
        "{:?}",
        waiting[0].last_error
    );
}

#[tokio::test]
async fn an_erasure_request_asks_retention_once_accepted_and_reads_unchecked_until_then() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(&mut client, request(pb::RequestKind::Erasure, today())).await;
    let list = |name: &str| pb::ListErasureRetentionRequest {
        subject_request: name.into(),
    };
    let answer = client
        .list_erasure_retention(list(&r.name))
        .await
        .expect("listed")
        .into_inner();
    assert!(!answer.checked && answer.records.is_empty());
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");
    let owed = effects(&db, "acme-north", &r.name).await;
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].effect, "retention.check_erasure");

    let access = created(&mut client, request(pb::RequestKind::Access, today())).await;
    let status = client
        .list_erasure_retention(list(&access.name))
        .await
        .expect_err("not an erasure request");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = client
        .list_erasure_retention(list("subjectRequests/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e"))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .list_erasure_retention(list("breaches/1"))
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn a_direct_marketing_objection_is_owed_to_consent_on_receipt_once_however_often_sent() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let create = pb::CreateSubjectRequestRequest {
        subject_request: Some(request(pb::RequestKind::DirectMarketingObjection, today())),
        request_id: "0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
    };
    let r = client
        .create_subject_request(create.clone())
        .await
        .expect("created")
        .into_inner();
    client
        .create_subject_request(create)
        .await
        .expect("retried");
    let owed = effects(&db, "acme-north", &r.name).await;
    assert_eq!(owed.len(), 1, "owed on receipt, once");
    assert_eq!(owed[0].effect, "consent.record_direct_marketing_objection");
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");
    assert_eq!(effects(&db, "acme-north", &r.name).await.len(), 1);
}

#[tokio::test]
async fn replicas_never_claim_the_same_message_and_a_dead_ones_claim_lapses() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    // An objection owes one message.
    let r = created(&mut client, request(pb::RequestKind::Objection, today())).await;
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");
    let outbox = Outbox::new(db.pool().clone());
    // Two replicas look at once: one gets it.
    let lease = Duration::from_millis(300);
    let (a, b) = tokio::join!(outbox.claim(10, lease), outbox.claim(10, lease));
    let claimed = a.expect("a").len() + b.expect("b").len();
    assert_eq!(claimed, 1);
    // The replica that claimed it dies before sending. Nobody else may try during the lease ...
    assert!(outbox.claim(10, lease).await.expect("c").is_empty());
    // ... and once it lapses, another replica tries again (at least once).
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let again = outbox.claim(10, lease).await.expect("d");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].person_id, "person-0193f1a4");
}

#[tokio::test]
async fn only_the_first_retention_answer_is_kept_when_the_question_was_asked_twice() {
    use dps_subject_requests::domain::erasure::RetainedRecord;
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let r = created(&mut client, request(pb::RequestKind::Erasure, today())).await;
    transition(&mut client, &r.name, pb::Transition::Start, "")
        .await
        .expect("started");
    let outbox = Outbox::new(db.pool().clone());
    let message = outbox
        .claim(10, Duration::from_secs(30))
        .await
        .expect("claimed")
        .pop()
        .expect("the erasure check is owed");
    let record = |id: &str, must_keep: bool| RetainedRecord {
        record: format!("records/{id}"),
        record_class_code: "adult-health-record".into(),
        system: "care-records".into(),
        external_id: id.into(),
        must_keep,
        reasons: vec!["retention runs to 2044-03-15".into()],
    };
    outbox
        .erasure_checked(&message, &[record("a-1", true)], None)
        .await
        .expect("first answer");
    // Redelivered after a crash before the mark; meanwhile another record was registered.
    outbox
        .erasure_checked(&message, &[record("a-1", true), record("a-2", false)], None)
        .await
        .expect("second answer");
    let answer = client
        .list_erasure_retention(pb::ListErasureRetentionRequest {
            subject_request: r.name.clone(),
        })
        .await
        .expect("listed")
        .into_inner();
    assert!(answer.checked);
    assert_eq!(answer.records.len(), 1);
    assert_eq!(answer.records[0].external_id, "a-1");
    assert!(answer.records[0].must_keep);
    assert_eq!(answer.records[0].reasons, ["retention runs to 2044-03-15"]);
    // Acted on once, from the first answer: the person is told a-1 is kept, and no erase task
    // for a-2 appears from the second.
    let tasks = client
        .list_fulfilment_tasks(pb::ListFulfilmentTasksRequest {
            subject_request: r.name.clone(),
            ..Default::default()
        })
        .await
        .expect("tasks")
        .into_inner()
        .tasks;
    let made: Vec<(&str, pb::TaskAction)> = tasks
        .iter()
        .map(|t| (t.system.as_str(), t.action()))
        .collect();
    assert_eq!(made, [("the person", pb::TaskAction::NotifyPerson)]);
    assert!(
        tasks[0].notice.contains("care-records a-1"),
        "{}",
        tasks[0].notice
    );
    // The consent service's part is owed next, once.
    let mut owed: Vec<String> = effects(&db, "acme-north", &r.name)
        .await
        .into_iter()
        .map(|e| e.effect)
        .collect();
    owed.sort();
    assert_eq!(
        owed,
        [
            "consent.list_disclosures",
            "consent.stop_processing",
            "retention.check_erasure"
        ]
    );
}
