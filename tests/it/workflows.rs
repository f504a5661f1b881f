//! Cross-service workflows (issue 10) through the gateway: a step committed in one service
//! reaches the next through the subject-requests outbox, at least once, and the receiver's
//! idempotency makes it count once.

use std::future::Future;
use std::time::Duration;

use consent::consent_service_client::ConsentServiceClient;
use dps_proto::common::v1::Channel;
use dps_proto::consent::v1 as consent;
use dps_proto::subject_requests::v1 as sr;
use dps_test_support::Caller;
use sr::subject_requests_service_client::SubjectRequestsServiceClient;
use tonic::codegen::InterceptedService;

use crate::harness::{self, Suite, bearer};

type Consent = ConsentServiceClient<InterceptedService<tonic::transport::Channel, Caller>>;
type Requests = SubjectRequestsServiceClient<InterceptedService<tonic::transport::Channel, Caller>>;

fn clients(suite: &Suite) -> (Consent, Requests) {
    let token = suite.token("acme-north");
    (
        ConsentServiceClient::with_interceptor(suite.gateway(), bearer(Some(token.clone()), &[])),
        SubjectRequestsServiceClient::with_interceptor(suite.gateway(), bearer(Some(token), &[])),
    )
}

/// A public-task purpose (objectable under Art 21(1)) and a registered person.
async fn purpose_and_person(consent: &mut Consent, person: &str) -> String {
    let purpose = consent
        .create_purpose(consent::CreatePurposeRequest {
            purpose: Some(consent::Purpose {
                display_name: "Care planning".into(),
                lawful_basis: consent::LawfulBasis::PublicTask.into(),
                data_categories: vec!["health".into()],
                notice_audience: consent::Audience::ServiceUsers.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("purpose")
        .into_inner();
    consent
        .register_person(consent::RegisterPersonRequest {
            person_id: person.into(),
        })
        .await
        .expect("person");
    purpose.name
}

async fn check(consent: &mut Consent, person: &str, purpose: &str) -> consent::ProcessingDecision {
    consent
        .check_processing(consent::CheckProcessingRequest {
            person_id: person.into(),
            purpose: purpose.into(),
        })
        .await
        .expect("checked")
        .into_inner()
}

/// Records a request of `kind` about `person` received now and accepts it (work starts).
async fn accepted(requests: &mut Requests, kind: sr::RequestKind, person: &str) -> String {
    let created = requests
        .create_subject_request(sr::CreateSubjectRequestRequest {
            subject_request: Some(sr::SubjectRequest {
                kind: kind.into(),
                channel: Channel::Email.into(),
                person_id: person.into(),
                receive_time: Some(dps_platform::proto_time::to_proto(
                    time::OffsetDateTime::now_utc() - time::Duration::minutes(5),
                )),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("created")
        .into_inner();
    requests
        .transition_subject_request(sr::TransitionSubjectRequestRequest {
            name: created.name.clone(),
            transition: sr::Transition::Start.into(),
            reason: String::new(),
        })
        .await
        .expect("accepted");
    created.name
}

/// Polls `probe` until it yields a value, for at most 20 seconds.
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks until the processing check denies, for at most 20 seconds.
async fn denied_eventually(
    consent: &mut Consent,
    person: &str,
    purpose: &str,
    what: &str,
) -> consent::ProcessingDecision {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let decision = check(consent, person, purpose).await;
        if !decision.allowed {
            return decision;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn restrictions_from(consent: &mut Consent, person: &str, request: &str) -> usize {
    consent
        .list_restrictions_and_objections(consent::ListRestrictionsAndObjectionsRequest {
            person_id: person.into(),
        })
        .await
        .expect("listed")
        .into_inner()
        .restrictions
        .iter()
        .filter(|r| r.subject_request == request && r.active)
        .count()
}

#[tokio::test]
async fn an_accepted_restriction_or_objection_makes_the_processing_check_deny() {
    let suite = harness::start().await;
    let (mut consent, mut requests) = clients(&suite);
    let purpose = purpose_and_person(&mut consent, "person-restricts").await;
    consent
        .register_person(consent::RegisterPersonRequest {
            person_id: "person-objects".into(),
        })
        .await
        .expect("person");
    for person in ["person-restricts", "person-objects"] {
        let before = check(&mut consent, person, &purpose).await;
        assert!(before.allowed, "public task, nothing recorded: {before:?}");
    }

    let restriction = accepted(
        &mut requests,
        sr::RequestKind::Restriction,
        "person-restricts",
    )
    .await;
    let decision = denied_eventually(
        &mut consent,
        "person-restricts",
        &purpose,
        "the restriction reaches consent",
    )
    .await;
    assert_eq!(decision.reason(), consent::DecisionReason::Restricted);
    assert!(decision.record.starts_with("restrictions/"), "{decision:?}");
    assert_eq!(
        restrictions_from(&mut consent, "person-restricts", &restriction).await,
        1,
        "the restriction names the subject request it came from"
    );

    let objection = accepted(&mut requests, sr::RequestKind::Objection, "person-objects").await;
    let decision = denied_eventually(
        &mut consent,
        "person-objects",
        &purpose,
        "the objection reaches consent",
    )
    .await;
    assert_eq!(decision.reason(), consent::DecisionReason::Objected);
    let listed = consent
        .list_restrictions_and_objections(consent::ListRestrictionsAndObjectionsRequest {
            person_id: "person-objects".into(),
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.objections.len(), 1);
    assert_eq!(listed.objections[0].subject_request, objection);

    // Subscribed platforms hear of both through the change stream.
    let changes = {
        use tokio_stream::StreamExt as _;
        let stream = consent
            .watch_changes(consent::WatchChangesRequest { cursor: "0".into() })
            .await
            .expect("watching")
            .into_inner()
            .take(2)
            .collect::<Result<Vec<_>, _>>();
        tokio::time::timeout(Duration::from_secs(10), stream)
            .await
            .expect("two changes in time")
            .expect("streamed")
    };
    let seen: Vec<(&str, consent::ChangeKind)> = changes
        .iter()
        .map(|c| (c.person_id.as_str(), c.kind()))
        .collect();
    assert_eq!(
        seen,
        [
            ("person-restricts", consent::ChangeKind::RestrictionStarted),
            ("person-objects", consent::ChangeKind::ObjectionRecorded),
        ]
    );
    suite.suite.shutdown().await;
}

async fn outbox_row(suite: &Suite, request: &str) -> (i32, bool) {
    let id = request.trim_start_matches("subjectRequests/");
    sqlx::query_as(
        "SELECT attempts, delivered_at IS NOT NULL FROM subject_requests.outbox \
         WHERE subject_request_id = $1::uuid",
    )
    .bind(id)
    .fetch_one(suite.db.pool())
    .await
    .expect("the accepted request owes one message")
}

#[tokio::test]
async fn a_restriction_accepted_while_consent_is_down_arrives_once_it_is_back_and_counts_once() {
    let suite = harness::start().await;
    let (mut consent, mut requests) = clients(&suite);
    let person = "person-outage";
    let purpose = purpose_and_person(&mut consent, person).await;
    // Consent "stops": the outbox now points at a port nothing listens on.
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    suite
        .suite
        .outbox_targets()
        .set_consent(&closed)
        .expect("url");

    let request = accepted(&mut requests, sr::RequestKind::Restriction, person).await;
    let (s, r) = (&suite, &request);
    eventually("two failed deliveries", || async move {
        Some(outbox_row(s, r).await).filter(|(attempts, delivered)| *attempts >= 2 && !delivered)
    })
    .await;
    let decision = check(&mut consent, person, &purpose).await;
    assert!(decision.allowed, "not delivered yet: {decision:?}");

    // Consent is back: the waiting message is delivered, and the check denies.
    let consent_url = suite.suite.backends().consent.clone();
    suite
        .suite
        .outbox_targets()
        .set_consent(&consent_url)
        .expect("url");
    let decision =
        denied_eventually(&mut consent, person, &purpose, "delivery after the outage").await;
    assert_eq!(decision.reason(), consent::DecisionReason::Restricted);
    let (attempts, _) = eventually("marked delivered", || async move {
        Some(outbox_row(s, r).await).filter(|(_, delivered)| *delivered)
    })
    .await;
    assert_eq!(restrictions_from(&mut consent, person, &request).await, 1);

    // The dispatcher dies after sending but before marking: the message goes again, and the
    // receiver's idempotency on the message id keeps one restriction.
    sqlx::query(
        "UPDATE subject_requests.outbox SET delivered_at = NULL, next_attempt_at = now() \
         WHERE subject_request_id = $1::uuid",
    )
    .bind(request.trim_start_matches("subjectRequests/"))
    .execute(suite.db.pool())
    .await
    .expect("unmarked");
    eventually("redelivered", || async move {
        Some(outbox_row(s, r).await).filter(|(n, delivered)| *delivered && *n > attempts)
    })
    .await;
    assert_eq!(restrictions_from(&mut consent, person, &request).await, 1);
    suite.suite.shutdown().await;
}

#[tokio::test]
async fn an_accepted_erasure_request_learns_which_records_must_be_kept_and_why() {
    use dps_proto::retention::v1 as rt;
    use rt::retention_service_client::RetentionServiceClient;
    let suite = harness::start().await;
    let (_, mut requests) = clients(&suite);
    let mut retention = RetentionServiceClient::with_interceptor(
        suite.gateway(),
        bearer(Some(suite.token("acme-north")), &[]),
    );
    let person = "person-erases";
    for (class, id, f) in [
        // Ended: SAR closed 2022-03-31 → kept to 2025-03-31.
        (
            "subject-access-request",
            "sar-1",
            ("2022-01-10", "", "2022-03-31"),
        ),
        // Running: adult record discharged 2024-03-15 → kept to 2044-03-15.
        (
            "adult-health-record",
            "a-1",
            ("2020-01-01", "2024-03-15", ""),
        ),
    ] {
        let (created, discharged, closed) = f;
        retention
            .register_record(rt::RegisterRecordRequest {
                record: Some(rt::Record {
                    record_class_code: class.into(),
                    person_id: person.into(),
                    system: "care-records".into(),
                    external_id: id.into(),
                    create_date: created.into(),
                    discharge_date: discharged.into(),
                    close_date: closed.into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("registered");
    }

    let request = accepted(&mut requests, sr::RequestKind::Erasure, person).await;
    let answer = {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let answer = requests
                .list_erasure_retention(sr::ListErasureRetentionRequest {
                    subject_request: request.clone(),
                })
                .await
                .expect("listed")
                .into_inner();
            if answer.checked {
                break answer;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for the retention answer"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let by_id = |id: &str| {
        answer
            .records
            .iter()
            .find(|r| r.external_id == id)
            .expect(id)
    };
    assert_eq!(answer.records.len(), 2);
    let kept = by_id("a-1");
    assert!(kept.must_keep);
    assert_eq!(kept.system, "care-records");
    assert!(kept.record.starts_with("records/"), "{kept:?}");
    assert!(
        kept.reasons[0].starts_with("retention runs to 2044-03-15"),
        "{:?}",
        kept.reasons
    );
    assert!(!by_id("sar-1").must_keep);
    suite.suite.shutdown().await;
}

#[tokio::test]
async fn the_delivery_to_consent_continues_the_trace_of_the_acceptance() {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing::Instrument as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let spans = dps_test_support::capture_spans();
    let suite = harness::start().await;
    let (mut consent, mut requests) = clients(&suite);
    let person = "person-traced";
    let purpose = purpose_and_person(&mut consent, person).await;
    let root = tracing::info_span!("test.accept");
    let trace_id = root.context().span().span_context().trace_id();
    accepted(&mut requests, sr::RequestKind::Restriction, person)
        .instrument(root)
        .await;
    denied_eventually(
        &mut consent,
        person,
        &purpose,
        "the restriction reaches consent",
    )
    .await;
    suite.suite.shutdown().await;

    let ours: Vec<_> = spans
        .finished()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace_id)
        .collect();
    let named = |name: &str| ours.iter().filter(|s| s.name == name).count();
    assert_eq!(
        named("outbox.deliver"),
        1,
        "{:?}",
        ours.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert!(
        named("dps.consent.v1.ConsentService/RecordRestriction") >= 1,
        "the consent server span is in the acceptance's trace: {:?}",
        ours.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    assert!(named("dps.subject_requests.v1.SubjectRequestsService/TransitionSubjectRequest") >= 1);
}

#[tokio::test]
async fn an_objection_accepted_when_identity_arrives_dated_slightly_ahead_still_reaches_consent() {
    let suite = harness::start().await;
    let (mut consent, mut requests) = clients(&suite);
    let person = "person-identity";
    let purpose = purpose_and_person(&mut consent, person).await;
    let now = time::OffsetDateTime::now_utc();
    let created = requests
        .create_subject_request(sr::CreateSubjectRequestRequest {
            subject_request: Some(sr::SubjectRequest {
                kind: sr::RequestKind::Objection.into(),
                channel: Channel::Phone.into(),
                person_id: person.into(),
                receive_time: Some(dps_platform::proto_time::to_proto(
                    now - time::Duration::minutes(10),
                )),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("created")
        .into_inner();
    // Identity asked for, then received: a clock a minute fast is within the service's skew, but
    // consent refuses start times in its future.
    for (kind, at) in [
        (
            sr::ClockEventKind::IdentityRequested,
            now - time::Duration::minutes(5),
        ),
        (
            sr::ClockEventKind::IdentityReceived,
            now + time::Duration::minutes(1),
        ),
    ] {
        requests
            .record_clock_event(sr::RecordClockEventRequest {
                name: created.name.clone(),
                kind: kind.into(),
                occur_time: Some(dps_platform::proto_time::to_proto(at)),
                reason: "identity".into(),
                fee_ground: 0,
                fee_amount_pence: 0,
            })
            .await
            .expect("recorded");
    }
    let decision = denied_eventually(
        &mut consent,
        person,
        &purpose,
        "the objection reaches consent",
    )
    .await;
    assert_eq!(decision.reason(), consent::DecisionReason::Objected);
    suite.suite.shutdown().await;
}

#[tokio::test]
async fn a_message_the_receiver_refuses_is_kept_for_an_operator_and_not_retried() {
    let suite = harness::start().await;
    let (_, mut requests) = clients(&suite);
    let closed = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    };
    let targets = suite.suite.outbox_targets();
    targets.set_consent(&closed).expect("url");
    let request = accepted(&mut requests, sr::RequestKind::Restriction, "person-spoilt").await;
    let (s, r) = (&suite, &request);
    eventually("a failed delivery", || async move {
        Some(outbox_row(s, r).await).filter(|(attempts, _)| *attempts >= 1)
    })
    .await;
    // Sabotage: the stored person reference breaks consent's rules (at most 200 characters).
    sqlx::query(
        "UPDATE subject_requests.outbox SET person_id = repeat('x', 201), next_attempt_at = now() \
         WHERE subject_request_id = $1::uuid",
    )
    .bind(request.trim_start_matches("subjectRequests/"))
    .execute(suite.db.pool())
    .await
    .expect("spoilt");
    targets
        .set_consent(&suite.suite.backends().consent)
        .expect("url");
    let failed = || async move {
        sqlx::query_as::<_, (i32, Option<String>)>(
            "SELECT attempts, last_error FROM subject_requests.outbox \
             WHERE subject_request_id = $1::uuid AND failed_at IS NOT NULL \
               AND delivered_at IS NULL",
        )
        .bind(r.trim_start_matches("subjectRequests/"))
        .fetch_optional(s.db.pool())
        .await
        .expect("read")
    };
    let (attempts, error) = eventually("the refusal is recorded", failed).await;
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.starts_with("InvalidArgument")),
        "{error:?}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        failed().await.map(|(n, _)| n),
        Some(attempts),
        "never retried"
    );
    suite.suite.shutdown().await;
}
