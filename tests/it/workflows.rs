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
         WHERE subject_request_id = $1::uuid AND effect = 'consent.record_restriction'",
    )
    .bind(id)
    .fetch_one(suite.db.pool())
    .await
    .expect("the accepted request owes its restriction")
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
         WHERE subject_request_id = $1::uuid AND effect = 'consent.record_restriction'",
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
    let s = &suite;
    eventually("both messages delivered", || async move {
        let owed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subject_requests.outbox WHERE delivered_at IS NULL",
        )
        .fetch_one(s.db.pool())
        .await
        .expect("outbox");
        (owed == 0).then_some(())
    })
    .await;
    suite.suite.shutdown().await;

    let ours: Vec<_> = spans
        .finished()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace_id)
        .collect();
    let named = |name: &str| ours.iter().filter(|s| s.name == name).count();
    let delivered = |effect: &str| {
        ours.iter()
            .filter(|s| {
                s.name == "outbox.deliver"
                    && s.attributes
                        .iter()
                        .any(|kv| kv.key.as_str() == "effect" && kv.value.as_str() == effect)
            })
            .count()
    };
    // The restriction, and the look-up of the recipients to tell, each delivered once.
    for effect in ["consent.record_restriction", "consent.list_disclosures"] {
        assert_eq!(
            delivered(effect),
            1,
            "{effect}: {:?}",
            ours.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
    }
    assert_eq!(named("outbox.deliver"), 2);
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
         WHERE subject_request_id = $1::uuid AND effect = 'consent.record_restriction'",
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
               AND delivered_at IS NULL AND effect = 'consent.record_restriction'",
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

mod erasure {
    //! Flow 1 end to end: an accepted erasure request is judged by the retention service, then
    //! becomes scoped erase tasks, a notice to the person of what is kept and why, notices to
    //! the recipients in the disclosures log, and consent state that makes the check deny.

    use dps_proto::retention::v1 as rt;
    use rt::retention_service_client::RetentionServiceClient;

    use super::*;

    pub(super) type Retention =
        RetentionServiceClient<InterceptedService<tonic::transport::Channel, Caller>>;

    pub(super) fn retention(suite: &Suite) -> Retention {
        RetentionServiceClient::with_interceptor(
            suite.gateway(),
            bearer(Some(suite.token("acme-north")), &[]),
        )
    }

    fn violated(status: &tonic::Status) -> Vec<String> {
        dps_platform::error::field_violations(status)
            .into_iter()
            .map(|(field, _)| field)
            .collect()
    }

    fn ago(seconds: i64) -> Option<prost_types::Timestamp> {
        Some(dps_platform::proto_time::to_proto(
            time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds),
        ))
    }

    /// The person's world before they ask: a consent-based purpose they consented to, a
    /// public-task purpose, two recipients in the disclosures log, and records in three
    /// systems: care-records `a-1` (retention running) and `a-2` (ended), crm `c-1` (ended) and
    /// hr `e-1` (under a legal hold). Returns the two purposes.
    pub(super) async fn the_persons_world(
        consent: &mut Consent,
        retention: &mut Retention,
        person: &str,
    ) -> [String; 2] {
        let public_task = purpose_and_person(consent, person).await;
        let newsletter = consent
            .create_purpose(consent::CreatePurposeRequest {
                purpose: Some(consent::Purpose {
                    display_name: "Family newsletter".into(),
                    lawful_basis: consent::LawfulBasis::Consent.into(),
                    data_categories: vec!["images".into()],
                    notice_audience: consent::Audience::ServiceUsers.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("purpose")
            .into_inner()
            .name;
        let notice = consent
            .publish_notice(consent::PublishNoticeRequest {
                notice: Some(consent::Notice {
                    audience: consent::Audience::ServiceUsers.into(),
                    title: "How we use your information".into(),
                    uri: "https://example.org/privacy".into(),
                    publish_time: ago(86_400),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("notice")
            .into_inner()
            .name;
        let given = consent
            .record_consent(consent::RecordConsentRequest {
                person_id: person.into(),
                purpose: newsletter.clone(),
                notice,
                method: consent::CaptureMethod::Written.into(),
                action: consent::ConsentAction::OptIn.into(),
                consent_time: ago(3600),
                giver: Some(consent::ConsentGiver {
                    role: consent::GiverRole::Self_.into(),
                    ..Default::default()
                }),
                evidence_reference: "form CF-1".into(),
                ..Default::default()
            })
            .await
            .expect("consent")
            .into_inner();
        for (recipient, category, basis, on_consent) in [
            (
                "St Mary's GP",
                "health",
                consent::LawfulBasis::PublicTask,
                "",
            ),
            (
                "Parish magazine",
                "images",
                consent::LawfulBasis::Consent,
                given.name.as_str(),
            ),
            (
                "St Mary's GP",
                "contact details",
                consent::LawfulBasis::PublicTask,
                "",
            ),
        ] {
            consent
                .record_disclosure(consent::RecordDisclosureRequest {
                    disclosure: Some(consent::Disclosure {
                        person_id: person.into(),
                        recipient: recipient.into(),
                        data_categories: vec![category.into()],
                        reason: "care".into(),
                        lawful_basis: basis.into(),
                        consent: on_consent.into(),
                        authorised_by: "R. Manager".into(),
                        authoriser_role: consent::AuthoriserRole::SeniorManager.into(),
                        disclose_time: ago(600),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .expect("disclosure");
        }
        let mut hr_record = String::new();
        for (class, system, id, (created, discharged, closed)) in [
            // Running: discharged 2024-03-15 → kept to 2044-03-15.
            (
                "adult-health-record",
                "care-records",
                "a-1",
                ("2020-01-01", "2024-03-15", ""),
            ),
            // Ended: SAR closed 2022-03-31 → kept to 2025-03-31.
            (
                "subject-access-request",
                "care-records",
                "a-2",
                ("2022-01-10", "", "2022-03-31"),
            ),
            (
                "subject-access-request",
                "crm",
                "c-1",
                ("2021-01-10", "", "2021-03-31"),
            ),
            // Ended too, but a legal hold keeps it.
            (
                "subject-access-request",
                "hr",
                "e-1",
                ("2021-01-10", "", "2021-03-31"),
            ),
        ] {
            let record = retention
                .register_record(rt::RegisterRecordRequest {
                    record: Some(rt::Record {
                        record_class_code: class.into(),
                        person_id: person.into(),
                        system: system.into(),
                        external_id: id.into(),
                        create_date: created.into(),
                        discharge_date: discharged.into(),
                        close_date: closed.into(),
                        ..Default::default()
                    }),
                })
                .await
                .expect("registered")
                .into_inner();
            if system == "hr" {
                hr_record = record.name;
            }
        }
        retention
            .place_legal_hold(rt::PlaceLegalHoldRequest {
                legal_hold: Some(rt::LegalHold {
                    records: vec![hr_record],
                    reason: "employment tribunal claim".into(),
                    authority: "Employment Tribunal".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("hold");
        for purpose in [&public_task, &newsletter] {
            let before = check(consent, person, purpose).await;
            assert!(before.allowed, "nothing asked yet: {before:?}");
        }
        [public_task, newsletter]
    }

    /// Records an erasure request with an intake erase task for hr (which must keep everything)
    /// and accepts it.
    pub(super) async fn erasure_requested(requests: &mut Requests, person: &str) -> String {
        let created = requests
            .create_subject_request(sr::CreateSubjectRequestRequest {
                subject_request: Some(sr::SubjectRequest {
                    kind: sr::RequestKind::Erasure.into(),
                    channel: Channel::Letter.into(),
                    person_id: person.into(),
                    receive_time: ago(300),
                    fulfilment_tasks: vec![sr::FulfilmentTaskSpec {
                        system: "hr".into(),
                        action: sr::TaskAction::Erase.into(),
                    }],
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

    pub(super) async fn tasks(requests: &mut Requests, request: &str) -> Vec<sr::FulfilmentTask> {
        requests
            .list_fulfilment_tasks(sr::ListFulfilmentTasksRequest {
                subject_request: request.into(),
                ..Default::default()
            })
            .await
            .expect("tasks")
            .into_inner()
            .tasks
    }

    /// (system, action, state, records) of every task, sorted.
    pub(super) fn summary(
        tasks: &[sr::FulfilmentTask],
    ) -> Vec<(String, sr::TaskAction, sr::TaskState, Vec<String>)> {
        let mut out: Vec<_> = tasks
            .iter()
            .map(|t| (t.system.clone(), t.action(), t.state(), t.records.clone()))
            .collect();
        out.sort_by(|a, b| (&a.0, a.1 as i32).cmp(&(&b.0, b.1 as i32)));
        out
    }

    /// What flow 1 must have produced once every service has acted.
    pub(super) fn expected() -> Vec<(String, sr::TaskAction, sr::TaskState, Vec<String>)> {
        use sr::TaskAction as A;
        use sr::TaskState as S;
        let row = |system: &str, action, state, records: &[&str]| {
            (
                system.to_owned(),
                action,
                state,
                records.iter().map(|r| (*r).to_owned()).collect::<Vec<_>>(),
            )
        };
        vec![
            row("Parish magazine", A::NotifyRecipient, S::Pending, &[]),
            row("St Mary's GP", A::NotifyRecipient, S::Pending, &[]),
            row("care-records", A::Erase, S::Pending, &["a-2"]),
            row("crm", A::Erase, S::Pending, &["c-1"]),
            // Given at intake; everything there must be kept.
            row("hr", A::Erase, S::Waived, &[]),
            row("the person", A::NotifyPerson, S::Pending, &[]),
        ]
    }

    pub(super) async fn all_tasks_eventually(
        requests: &mut Requests,
        request: &str,
    ) -> Vec<sr::FulfilmentTask> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let now = tasks(requests, request).await;
            if now.len() >= expected().len() {
                return now;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for the tasks: {:?}",
                summary(&now)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Completes every pending task as its system or handler would, then the request.
    pub(super) async fn finish(requests: &mut Requests, request: &str) {
        for task in tasks(requests, request).await {
            if task.state() != sr::TaskState::Pending {
                continue;
            }
            let affected = i64::from(task.action() == sr::TaskAction::Erase);
            requests
                .complete_fulfilment_task(sr::CompleteFulfilmentTaskRequest {
                    name: task.name.clone(),
                    export_json: String::new(),
                    affected_records: affected,
                })
                .await
                .expect("task done");
        }
        let done = requests
            .transition_subject_request(sr::TransitionSubjectRequestRequest {
                name: request.into(),
                transition: sr::Transition::Complete.into(),
                reason: String::new(),
            })
            .await
            .expect("completed")
            .into_inner();
        assert_eq!(done.state(), sr::RequestState::Completed);
    }

    pub(super) async fn consents_withdrawn(consent: &mut Consent, person: &str) -> usize {
        consent
            .list_consents(consent::ListConsentsRequest {
                person_id: person.into(),
                purpose: String::new(),
            })
            .await
            .expect("ledger")
            .into_inner()
            .consents
            .iter()
            .filter(|c| c.event() == consent::ConsentEvent::Withdrawn)
            .count()
    }

    #[tokio::test]
    async fn an_erasure_refuses_what_must_be_kept_erases_the_rest_and_tells_everyone() {
        let suite = harness::start().await;
        let (mut consent, mut requests) = clients(&suite);
        let mut retention = retention(&suite);
        let person = "person-erasure";
        let [public_task, newsletter] =
            the_persons_world(&mut consent, &mut retention, person).await;

        let request = erasure_requested(&mut requests, person).await;
        let all = all_tasks_eventually(&mut requests, &request).await;
        assert_eq!(summary(&all), expected());

        // The person is told what is kept, why, and where to complain.
        let told = all
            .iter()
            .find(|t| t.action() == sr::TaskAction::NotifyPerson)
            .expect("a notice to the person");
        for part in [
            "refused in part",
            "care-records a-1 (adult-health-record): retention runs to 2044-03-15",
            "hr e-1 (subject-access-request): ",
            "employment tribunal claim",
            "complain to the regulator",
        ] {
            assert!(told.notice.contains(part), "{part:?} in {}", told.notice);
        }
        assert!(!told.notice.contains("a-2"), "{}", told.notice);
        let gp = all
            .iter()
            .find(|t| t.system == "St Mary's GP")
            .expect("GP notice");
        assert!(
            gp.notice.contains("(contact details, health)"),
            "{}",
            gp.notice
        );
        let waived = all.iter().find(|t| t.system == "hr").expect("hr");
        assert!(
            waived.waiver_reason.contains("must be kept"),
            "{}",
            waived.waiver_reason
        );
        let history = requests
            .list_request_history(sr::ListRequestHistoryRequest {
                name: request.clone(),
            })
            .await
            .expect("history")
            .into_inner()
            .entries;
        assert!(
            history.iter().any(|e| e.action == "erasure_checked"
                && e.reason.contains("2 record(s) may be erased")
                && e.reason.contains("2 must be kept")),
            "{history:?}"
        );

        // Processing stops: the consent is withdrawn and what is kept is restricted.
        for purpose in [&public_task, &newsletter] {
            let decision =
                denied_eventually(&mut consent, person, purpose, "processing stops").await;
            assert_eq!(decision.reason(), consent::DecisionReason::Restricted);
        }
        assert_eq!(consents_withdrawn(&mut consent, person).await, 1);
        let restrictions = consent
            .list_restrictions_and_objections(consent::ListRestrictionsAndObjectionsRequest {
                person_id: person.into(),
            })
            .await
            .expect("listed")
            .into_inner()
            .restrictions;
        assert_eq!(restrictions.len(), 1);
        assert_eq!(
            restrictions[0].ground(),
            consent::RestrictionGround::ErasureRequested
        );
        assert_eq!(restrictions[0].subject_request, request);

        // A notice changes no records: telling is recorded, a count is refused.
        let err = requests
            .complete_fulfilment_task(sr::CompleteFulfilmentTaskRequest {
                name: told.name.clone(),
                export_json: String::new(),
                affected_records: 3,
            })
            .await
            .expect_err("a notice with a count");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(violated(&err), ["affected_records"]);
        let still = tasks(&mut requests, &request).await;
        assert_eq!(summary(&still), expected(), "nothing stored");

        finish(&mut requests, &request).await;
        suite.suite.shutdown().await;
    }

    #[tokio::test]
    async fn notices_are_drafted_by_the_service_not_given_at_intake() {
        let suite = harness::start().await;
        let (_, mut requests) = clients(&suite);
        let err = requests
            .create_subject_request(sr::CreateSubjectRequestRequest {
                subject_request: Some(sr::SubjectRequest {
                    kind: sr::RequestKind::Erasure.into(),
                    channel: Channel::Email.into(),
                    person_id: "person-intake".into(),
                    receive_time: ago(60),
                    fulfilment_tasks: vec![sr::FulfilmentTaskSpec {
                        system: "St Mary's GP".into(),
                        action: sr::TaskAction::NotifyRecipient.into(),
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect_err("a notice at intake");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            violated(&err),
            ["subject_request.fulfilment_tasks[0].action"]
        );
        let listed = requests
            .list_subject_requests(sr::ListSubjectRequestsRequest::default())
            .await
            .expect("listed")
            .into_inner();
        assert!(listed.subject_requests.is_empty(), "nothing stored");
        suite.suite.shutdown().await;
    }
}

mod erasure_outage {
    //! Flow 1 survives its downstream services stopping mid-flow: nothing lost, nothing twice.

    use super::erasure::*;
    use super::*;

    async fn closed_port() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        format!("http://{}", listener.local_addr().expect("addr"))
    }

    /// (effect, attempts, delivered) of every message of the request, by effect.
    async fn messages(suite: &Suite, request: &str) -> Vec<(String, i32, bool)> {
        sqlx::query_as(
            "SELECT effect, attempts, delivered_at IS NOT NULL FROM subject_requests.outbox \
             WHERE subject_request_id = $1::uuid ORDER BY effect",
        )
        .bind(request.trim_start_matches("subjectRequests/"))
        .fetch_all(suite.db.pool())
        .await
        .expect("outbox")
    }

    async fn count(suite: &Suite, sql: &'static str, request: &str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(request.trim_start_matches("subjectRequests/"))
            .fetch_one(suite.db.pool())
            .await
            .expect("count")
    }

    #[tokio::test]
    async fn an_erasure_accepted_while_retention_and_consent_are_down_finishes_once_they_are_back()
    {
        let suite = harness::start().await;
        let (mut consent, mut requests) = clients(&suite);
        let mut retention = retention(&suite);
        let person = "person-erasure-outage";
        let [public_task, newsletter] =
            the_persons_world(&mut consent, &mut retention, person).await;
        let targets = suite.suite.outbox_targets();
        let backends = suite.suite.backends().clone();
        targets.set_retention(&closed_port().await).expect("url");
        targets.set_consent(&closed_port().await).expect("url");

        // Both down: the retention question waits and is retried.
        let request = erasure_requested(&mut requests, person).await;
        let (s, r) = (&suite, &request);
        eventually("the retention question retried", || async move {
            let m = messages(s, r).await;
            (m.len() == 1 && m[0].0 == "retention.check_erasure" && m[0].1 >= 2 && !m[0].2)
                .then_some(())
        })
        .await;
        assert_eq!(summary(&tasks(&mut requests, &request).await).len(), 1);

        // Retention is back, consent still down: the answer is acted on, consent's part waits.
        targets.set_retention(&backends.retention).expect("url");
        eventually("the consent messages retried", || async move {
            let m = messages(s, r).await;
            (m.len() == 3 && m[2].2 && m[0].1 >= 2 && m[1].1 >= 2 && !m[0].2 && !m[1].2)
                .then_some(())
        })
        .await;
        let now = summary(&tasks(&mut requests, &request).await);
        assert_eq!(
            now.iter()
                .filter(|t| t.1 == sr::TaskAction::NotifyRecipient)
                .count(),
            0,
            "recipients not known yet: {now:?}"
        );
        for purpose in [&public_task, &newsletter] {
            assert!(check(&mut consent, person, purpose).await.allowed);
        }
        // Every task there is done, yet the request cannot complete: consent has not acted.
        for task in tasks(&mut requests, &request).await {
            if task.state() == sr::TaskState::Pending {
                requests
                    .complete_fulfilment_task(sr::CompleteFulfilmentTaskRequest {
                        name: task.name.clone(),
                        export_json: String::new(),
                        affected_records: 0,
                    })
                    .await
                    .expect("done");
            }
        }
        let err = requests
            .transition_subject_request(sr::TransitionSubjectRequestRequest {
                name: request.clone(),
                transition: sr::Transition::Complete.into(),
                reason: String::new(),
            })
            .await
            .expect_err("consent has not acted");
        assert_eq!(err.code(), tonic::Code::FailedPrecondition);
        assert!(err.message().contains("2 step(s)"), "{err:?}");

        // Consent is back: the flow finishes.
        targets.set_consent(&backends.consent).expect("url");
        for purpose in [&public_task, &newsletter] {
            denied_eventually(&mut consent, person, purpose, "processing stops").await;
        }
        eventually("everything delivered", || async move {
            let m = messages(s, r).await;
            m.iter().all(|(_, _, delivered)| *delivered).then_some(())
        })
        .await;
        let all = tasks(&mut requests, &request).await;
        assert_eq!(all.len(), expected().len(), "{:?}", summary(&all));

        // A dispatcher that died after sending but before marking: every message goes again.
        sqlx::query(
            "UPDATE subject_requests.outbox SET delivered_at = NULL, next_attempt_at = now() \
             WHERE subject_request_id = $1::uuid",
        )
        .bind(request.trim_start_matches("subjectRequests/"))
        .execute(suite.db.pool())
        .await
        .expect("unmarked");
        eventually("redelivered", || async move {
            let m = messages(s, r).await;
            m.iter().all(|(_, _, delivered)| *delivered).then_some(())
        })
        .await;
        // Nothing twice: one answer, one set of tasks, one withdrawal, one restriction.
        assert_eq!(
            summary(&tasks(&mut requests, &request).await),
            summary(&all)
        );
        assert_eq!(
            count(
                &suite,
                "SELECT count(*) FROM subject_requests.erasure_retention \
                 WHERE subject_request_id = $1::uuid",
                &request
            )
            .await,
            4
        );
        assert_eq!(
            count(
                &suite,
                "SELECT count(*) FROM subject_requests.request_history \
                 WHERE subject_request_id = $1::uuid AND action = 'erasure_checked'",
                &request
            )
            .await,
            1
        );
        assert_eq!(consents_withdrawn(&mut consent, person).await, 1);
        assert_eq!(restrictions_from(&mut consent, person, &request).await, 1);

        finish(&mut requests, &request).await;
        suite.suite.shutdown().await;
    }
}

#[tokio::test]
async fn the_whole_erasure_flow_is_one_trace_across_the_services() {
    use erasure::*;
    use opentelemetry::trace::TraceContextExt as _;
    use tracing::Instrument as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let spans = dps_test_support::capture_spans();
    let suite = harness::start().await;
    let (mut consent, mut requests) = clients(&suite);
    let mut retention = retention(&suite);
    let person = "person-erasure-traced";
    let [public_task, _] = the_persons_world(&mut consent, &mut retention, person).await;
    let root = tracing::info_span!("test.erasure");
    let trace_id = root.context().span().span_context().trace_id();
    let request = erasure_requested(&mut requests, person)
        .instrument(root)
        .await;
    all_tasks_eventually(&mut requests, &request).await;
    denied_eventually(&mut consent, person, &public_task, "processing stops").await;
    suite.suite.shutdown().await;

    let ours: Vec<_> = spans
        .finished()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace_id)
        .collect();
    let names: Vec<&str> = ours.iter().map(|s| s.name.as_ref()).collect();
    for hop in [
        "dps.subject_requests.v1.SubjectRequestsService/TransitionSubjectRequest",
        "dps.retention.v1.RetentionService/CheckErasure",
        "dps.consent.v1.ConsentService/ListDisclosures",
        "dps.consent.v1.ConsentService/ListConsents",
        "dps.consent.v1.ConsentService/WithdrawConsent",
        "dps.consent.v1.ConsentService/RecordRestriction",
    ] {
        assert!(names.contains(&hop), "{hop} in the trace: {names:?}");
    }
    // Each outbox delivery once, and the consent steps are children of the retention answer's
    // delivery: the trace reads as the chain of cause and effect.
    let delivery = |effect: &str| {
        let found: Vec<_> = ours
            .iter()
            .filter(|s| {
                s.name == "outbox.deliver"
                    && s.attributes
                        .iter()
                        .any(|kv| kv.key.as_str() == "effect" && kv.value.as_str() == effect)
            })
            .collect();
        assert_eq!(found.len(), 1, "one delivery of {effect}: {names:?}");
        found[0]
    };
    let asked = delivery("retention.check_erasure");
    for follow_up in ["consent.list_disclosures", "consent.stop_processing"] {
        assert_eq!(
            delivery(follow_up).parent_span_id,
            asked.span_context.span_id(),
            "{follow_up} follows the retention answer"
        );
    }
}

mod own_records {
    //! Flow 5: closed requests are records of our own work in the retention registry.

    use super::erasure::retention;
    use super::*;
    use dps_proto::retention::v1 as rt;

    async fn step(requests: &mut Requests, name: &str, transition: sr::Transition, why: &str) {
        requests
            .transition_subject_request(sr::TransitionSubjectRequestRequest {
                name: name.into(),
                transition: transition.into(),
                reason: why.into(),
            })
            .await
            .expect("moved");
    }

    async fn own_records(
        retention: &mut super::erasure::Retention,
        person: &str,
    ) -> Vec<rt::RecordRetention> {
        let mut records = retention
            .check_erasure(rt::CheckErasureRequest {
                person_id: person.into(),
            })
            .await
            .expect("checked")
            .into_inner()
            .records;
        records.retain(|r| {
            r.record
                .as_ref()
                .is_some_and(|r| r.system == "subject-requests")
        });
        records.sort_by_key(|r| r.record.as_ref().map(|r| r.record_class_code.clone()));
        records
    }

    #[tokio::test]
    async fn closed_requests_and_appeals_are_kept_on_the_schedule_3_and_6_years() {
        let suite = harness::start().await;
        let (_, mut requests) = clients(&suite);
        let mut retention = retention(&suite);
        let person = "person-own-records";
        let answered = accepted(&mut requests, sr::RequestKind::Access, person).await;
        step(&mut requests, &answered, sr::Transition::Complete, "").await;
        step(&mut requests, &answered, sr::Transition::Close, "answered").await;
        let appealed = accepted(&mut requests, sr::RequestKind::Access, person).await;
        step(&mut requests, &appealed, sr::Transition::Complete, "").await;
        step(&mut requests, &appealed, sr::Transition::Appeal, "disputes").await;
        step(&mut requests, &appealed, sr::Transition::Close, "upheld").await;
        // Open: not a record yet.
        accepted(&mut requests, sr::RequestKind::Access, person).await;

        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let records = loop {
            let records = own_records(&mut retention, person).await;
            if records.len() == 2 {
                break records;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for the records: {records:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let today = time::OffsetDateTime::now_utc().date();
        let in_years = |n: i32| {
            today
                .replace_year(today.year() + n)
                .unwrap_or(today)
                .to_string()
        };
        for (retained, (class, request, years)) in records.iter().zip([
            ("subject-access-request", &answered, 3),
            ("subject-access-request-appeal", &appealed, 6),
        ]) {
            let record = retained.record.as_ref().expect("record");
            assert_eq!(record.record_class_code, class);
            assert_eq!(&record.external_id, request);
            assert_eq!(record.person_id, person);
            assert_eq!(record.review_date, in_years(years), "{record:?}");
            assert!(retained.must_keep, "kept while its period runs");
        }

        // Sent again (a crash before the mark): still one record each.
        sqlx::query(
            "UPDATE subject_requests.outbox SET delivered_at = NULL, next_attempt_at = now()",
        )
        .execute(suite.db.pool())
        .await
        .expect("unmarked");
        let s = &suite;
        eventually("redelivered", || async move {
            let owed: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM subject_requests.outbox WHERE delivered_at IS NULL",
            )
            .fetch_one(s.db.pool())
            .await
            .expect("count");
            (owed == 0).then_some(())
        })
        .await;
        assert_eq!(own_records(&mut retention, person).await.len(), 2);
        suite.suite.shutdown().await;
    }
}

mod incidents {
    //! Flow 5, breaches: a closed incident (its post-incident review) is a record of its class,
    //! registered through the breaches outbox, once, even across a retention outage.

    use super::erasure::retention;
    use super::*;
    use br::breaches_service_client::BreachesServiceClient;
    use dps_proto::breaches::v1 as br;
    use dps_proto::retention::v1 as rt;

    fn at(hours_ago: i64) -> Option<prost_types::Timestamp> {
        Some(dps_platform::proto_time::to_proto(
            time::OffsetDateTime::now_utc() - time::Duration::hours(hours_ago),
        ))
    }

    /// Records an incident classified as `serious` or not, and closes it with its review.
    async fn closed_incident(suite: &Suite, title: &str, serious: bool) -> String {
        let mut breaches = BreachesServiceClient::with_interceptor(
            suite.gateway(),
            bearer(Some(suite.token("acme-north")), &[]),
        );
        let incident = breaches
            .create_incident(br::CreateIncidentRequest {
                incident: Some(br::Incident {
                    title: title.into(),
                    aware_time: at(3),
                    reported_by: "Registered manager".into(),
                    classification: Some(br::Classification {
                        personal_data_breach: serious,
                        serious,
                        kinds: if serious {
                            vec![br::BreachKind::Availability.into()]
                        } else {
                            vec![]
                        },
                    }),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("incident")
            .into_inner();
        breaches
            .record_review(br::RecordReviewRequest {
                name: incident.name.clone(),
                review: Some(br::Review {
                    facts_and_cause: "Cause found".into(),
                    effects: "Effects recorded".into(),
                    lessons_learned: "Lessons learned".into(),
                    review_time: at(0),
                    reviewed_by: String::new(),
                }),
            })
            .await
            .expect("reviewed");
        incident.name
    }

    /// The registry's record of the incident, read through the gateway (its id looked up in the
    /// registry's table: incidents are about no one person to search by).
    async fn registered(suite: &Suite, incident: &str) -> Option<rt::Record> {
        let id: Option<uuid::Uuid> = sqlx::query_scalar(
            "SELECT record_id FROM retention.records WHERE system = 'breaches' AND external_id = $1",
        )
        .bind(incident)
        .fetch_optional(suite.db.pool())
        .await
        .expect("registry");
        let id = id?;
        let record = retention(suite)
            .get_record(rt::GetRecordRequest {
                name: format!("records/{id}"),
            })
            .await
            .expect("record")
            .into_inner();
        Some(record)
    }

    async fn outbox(suite: &Suite) -> Vec<(i32, bool)> {
        sqlx::query_as(
            "SELECT attempts, delivered_at IS NOT NULL FROM breaches.outbox ORDER BY message_id",
        )
        .fetch_all(suite.db.pool())
        .await
        .expect("outbox")
    }

    #[tokio::test]
    async fn closed_incidents_are_kept_20_years_if_serious_else_10_even_across_an_outage() {
        let suite = harness::start().await;
        let target = suite.suite.breaches_outbox_target();
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            format!("http://{}", listener.local_addr().expect("addr"))
        };
        target.set(&closed).expect("url");

        let serious = closed_incident(&suite, "Ransomware on the rota server", true).await;
        let minor = closed_incident(&suite, "Fax left on the printer", false).await;
        let s = &suite;
        eventually("retried while retention is down", || async move {
            let rows = outbox(s).await;
            (rows.len() == 2 && rows.iter().all(|(n, d)| *n >= 2 && !d)).then_some(())
        })
        .await;
        assert!(registered(&suite, &serious).await.is_none());

        target.set(&suite.suite.backends().retention).expect("url");
        let today = time::OffsetDateTime::now_utc().date();
        for (incident, class, years) in
            [(&serious, "serious-incident", 20), (&minor, "incident", 10)]
        {
            let record = eventually(
                "registered",
                || async move { registered(s, incident).await },
            )
            .await;
            assert_eq!(record.record_class_code, class);
            assert_eq!(record.person_id, "", "about no one person");
            let due = today.replace_year(today.year() + years).unwrap_or(today);
            assert_eq!(record.review_date, due.to_string(), "{record:?}");
        }

        // Redelivered (a crash before the mark): still one record each.
        eventually("delivered", || async move {
            outbox(s).await.iter().all(|(_, d)| *d).then_some(())
        })
        .await;
        sqlx::query("UPDATE breaches.outbox SET delivered_at = NULL, next_attempt_at = now()")
            .execute(suite.db.pool())
            .await
            .expect("unmarked");
        eventually("redelivered", || async move {
            outbox(s).await.iter().all(|(_, d)| *d).then_some(())
        })
        .await;
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM retention.records WHERE system = 'breaches'")
                .fetch_one(suite.db.pool())
                .await
                .expect("count");
        assert_eq!(count, 2);
        suite.suite.shutdown().await;
    }
}

mod rectification {
    //! Flow 3: a rectification request reaches every system holding the person's data (the
    //! asset register and the record registry) and every recipient in the disclosures log.

    use super::erasure::{retention, summary, tasks};
    use super::*;
    use dps_proto::retention::v1 as rt;

    #[tokio::test]
    async fn a_rectification_asks_every_holding_system_and_tells_every_recipient() {
        let suite = harness::start().await;
        let (mut consent, mut requests) = clients(&suite);
        let mut retention = retention(&suite);
        let person = "person-rectifies";
        purpose_and_person(&mut consent, person).await;
        consent
            .record_disclosure(consent::RecordDisclosureRequest {
                disclosure: Some(consent::Disclosure {
                    person_id: person.into(),
                    recipient: "St Mary's GP".into(),
                    data_categories: vec!["contact details".into()],
                    reason: "care".into(),
                    lawful_basis: consent::LawfulBasis::PublicTask.into(),
                    authorised_by: "R. Manager".into(),
                    authoriser_role: consent::AuthoriserRole::SeniorManager.into(),
                    disclose_time: Some(dps_platform::proto_time::to_proto(
                        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
                    )),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("disclosure");
        for (system, id) in [("care-records", "a-1"), ("hr", "e-1")] {
            retention
                .register_record(rt::RegisterRecordRequest {
                    record: Some(rt::Record {
                        record_class_code: "adult-health-record".into(),
                        person_id: person.into(),
                        system: system.into(),
                        external_id: id.into(),
                        create_date: "2024-01-01".into(),
                        ..Default::default()
                    }),
                })
                .await
                .expect("registered");
        }
        // A filing cabinet registers nothing: it is searched by hand for everyone.
        retention
            .create_information_asset(rt::CreateInformationAssetRequest {
                information_asset: Some(rt::InformationAsset {
                    system: "paper-files".into(),
                    display_name: "Paper files, Rose House office".into(),
                    owner: "Registered manager".into(),
                    service_area: "Residential care".into(),
                    data_subjects: vec!["service users".into()],
                    categories: vec![rt::DataCategory {
                        name: "contact details".into(),
                        special_category: false,
                    }],
                    protection_measures: vec!["locked cabinet".into()],
                    retention: "adult-health-record".into(),
                    registers_records: false,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("asset");

        let created = requests
            .create_subject_request(sr::CreateSubjectRequestRequest {
                subject_request: Some(sr::SubjectRequest {
                    kind: sr::RequestKind::Rectification.into(),
                    channel: Channel::Email.into(),
                    person_id: person.into(),
                    receive_time: Some(dps_platform::proto_time::to_proto(
                        time::OffsetDateTime::now_utc() - time::Duration::minutes(5),
                    )),
                    // The handler already knew of one system.
                    fulfilment_tasks: vec![sr::FulfilmentTaskSpec {
                        system: "care-records".into(),
                        action: sr::TaskAction::Rectify.into(),
                    }],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("created")
            .into_inner();
        let request = created.name;
        requests
            .transition_subject_request(sr::TransitionSubjectRequestRequest {
                name: request.clone(),
                transition: sr::Transition::Start.into(),
                reason: String::new(),
            })
            .await
            .expect("accepted");

        use sr::TaskAction as A;
        use sr::TaskState as S;
        let expected = vec![
            (
                "St Mary's GP".to_owned(),
                A::NotifyRecipient,
                S::Pending,
                vec![],
            ),
            ("care-records".to_owned(), A::Rectify, S::Pending, vec![]),
            ("hr".to_owned(), A::Rectify, S::Pending, vec![]),
            ("paper-files".to_owned(), A::Rectify, S::Pending, vec![]),
        ];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let all = loop {
            let all = tasks(&mut requests, &request).await;
            if all.len() >= expected.len() {
                break all;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out: {:?}",
                summary(&all)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(summary(&all), expected);
        let gp = &all
            .iter()
            .find(|t| t.action() == A::NotifyRecipient)
            .expect("notice")
            .notice;
        assert!(
            gp.contains("(contact details) was inaccurate or incomplete and has been rectified"),
            "{gp}"
        );
        let history = requests
            .list_request_history(sr::ListRequestHistoryRequest {
                name: request.clone(),
            })
            .await
            .expect("history")
            .into_inner()
            .entries;
        let found = history
            .iter()
            .find(|e| e.action == "systems_found")
            .expect("systems_found in the history");
        assert!(
            found.reason.contains("paper-files (does not register"),
            "{found:?}"
        );
        assert!(
            !found.reason.contains("care-records"),
            "given at intake: {found:?}"
        );

        // Every system and recipient done, then the request completes.
        for task in &all {
            requests
                .complete_fulfilment_task(sr::CompleteFulfilmentTaskRequest {
                    name: task.name.clone(),
                    export_json: String::new(),
                    affected_records: i64::from(task.action() == A::Rectify),
                })
                .await
                .expect("done");
        }
        let done = requests
            .transition_subject_request(sr::TransitionSubjectRequestRequest {
                name: request.clone(),
                transition: sr::Transition::Complete.into(),
                reason: String::new(),
            })
            .await
            .expect("completed")
            .into_inner();
        assert_eq!(done.state(), sr::RequestState::Completed);
        suite.suite.shutdown().await;
    }
}

mod lifting {
    //! Flow 2, lifting: a restriction while accuracy is checked reaches the consent service, and
    //! is lifted there only with the time the person was told beforehand (Art 18(3)), never
    //! before it was recorded, even when consent was down for both steps.

    use super::*;

    async fn rectification(requests: &mut Requests, person: &str) -> String {
        accepted(requests, sr::RequestKind::Rectification, person).await
    }

    async fn restrict(requests: &mut Requests, request: &str) {
        requests
            .restrict_while_checking_accuracy(sr::RestrictWhileCheckingAccuracyRequest {
                subject_request: request.into(),
            })
            .await
            .expect("restricted");
    }

    async fn lift(requests: &mut Requests, request: &str, told: time::OffsetDateTime) {
        requests
            .lift_accuracy_restriction(sr::LiftAccuracyRestrictionRequest {
                subject_request: request.into(),
                told_time: Some(dps_platform::proto_time::to_proto(told)),
            })
            .await
            .expect("lifted");
    }

    async fn the_restriction(consent: &mut Consent, person: &str) -> Vec<consent::Restriction> {
        consent
            .list_restrictions_and_objections(consent::ListRestrictionsAndObjectionsRequest {
                person_id: person.into(),
            })
            .await
            .expect("listed")
            .into_inner()
            .restrictions
    }

    async fn lifted_eventually(consent: &mut Consent, person: &str) -> consent::Restriction {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let all = the_restriction(consent, person).await;
            if let [only] = all.as_slice()
                && only.lift_time.is_some()
            {
                return only.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for the lift: {all:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test]
    async fn a_restriction_while_accuracy_is_checked_is_lifted_in_consent_after_the_person_is_told()
    {
        let suite = harness::start().await;
        let (mut consent, mut requests) = clients(&suite);
        let person = "person-accuracy";
        let purpose = purpose_and_person(&mut consent, person).await;
        let request = rectification(&mut requests, person).await;
        restrict(&mut requests, &request).await;
        let decision =
            denied_eventually(&mut consent, person, &purpose, "the restriction arrives").await;
        assert_eq!(decision.reason(), consent::DecisionReason::Restricted);
        let restriction = &the_restriction(&mut consent, person).await[0];
        assert_eq!(
            restriction.ground(),
            consent::RestrictionGround::AccuracyContested
        );
        assert_eq!(restriction.subject_request, request);

        let told = time::OffsetDateTime::now_utc();
        let told = told
            .replace_microsecond(told.microsecond())
            .expect("to the microsecond, as stored");
        lift(&mut requests, &request, told).await;
        let lifted = lifted_eventually(&mut consent, person).await;
        assert_eq!(
            lifted.person_told_time,
            Some(dps_platform::proto_time::to_proto(told)),
            "consent records when the person was told"
        );
        assert!(!lifted.active);
        assert!(check(&mut consent, person, &purpose).await.allowed);
        suite.suite.shutdown().await;
    }

    #[tokio::test]
    async fn a_lift_never_overtakes_the_restriction_it_lifts() {
        let suite = harness::start().await;
        let (mut consent, mut requests) = clients(&suite);
        let person = "person-accuracy-outage";
        let purpose = purpose_and_person(&mut consent, person).await;
        let request = rectification(&mut requests, person).await;
        let targets = suite.suite.outbox_targets();
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            format!("http://{}", listener.local_addr().expect("addr"))
        };
        targets.set_consent(&closed).expect("url");
        restrict(&mut requests, &request).await;
        let told = time::OffsetDateTime::now_utc();
        lift(&mut requests, &request, told).await;
        let (s, r) = (&suite, &request);
        eventually("both retried", || async move {
            let rows: Vec<(String, i32)> = sqlx::query_as(
                "SELECT effect, attempts FROM subject_requests.outbox \
                 WHERE subject_request_id = $1::uuid AND delivered_at IS NULL \
                   AND effect IN ('consent.record_accuracy_restriction', \
                                  'consent.lift_restriction')",
            )
            .bind(r.trim_start_matches("subjectRequests/"))
            .fetch_all(s.db.pool())
            .await
            .expect("outbox");
            (rows.len() == 2 && rows.iter().all(|(_, n)| *n >= 2)).then_some(())
        })
        .await;
        // The lift is due first now; it must still wait for the restriction.
        sqlx::query(
            "UPDATE subject_requests.outbox SET next_attempt_at = now() + interval '1 hour' \
             WHERE subject_request_id = $1::uuid AND effect = 'consent.record_accuracy_restriction'",
        )
        .bind(request.trim_start_matches("subjectRequests/"))
        .execute(suite.db.pool())
        .await
        .expect("held back");
        targets
            .set_consent(&suite.suite.backends().consent)
            .expect("url");
        let error: String = eventually("the lift waits", || async move {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT last_error FROM subject_requests.outbox \
                 WHERE subject_request_id = $1::uuid AND effect = 'consent.lift_restriction' \
                   AND last_error LIKE 'Unavailable: the restriction is not recorded%'",
            )
            .bind(r.trim_start_matches("subjectRequests/"))
            .fetch_optional(s.db.pool())
            .await
            .expect("outbox")
            .flatten()
        })
        .await;
        assert!(error.contains("lifted after it"), "{error}");
        assert!(the_restriction(&mut consent, person).await.is_empty());

        sqlx::query(
            "UPDATE subject_requests.outbox SET next_attempt_at = now() \
             WHERE subject_request_id = $1::uuid",
        )
        .bind(request.trim_start_matches("subjectRequests/"))
        .execute(suite.db.pool())
        .await
        .expect("released");
        let lifted = lifted_eventually(&mut consent, person).await;
        assert!(!lifted.active);
        assert!(check(&mut consent, person, &purpose).await.allowed);
        suite.suite.shutdown().await;
    }

    fn lift_request(
        request: &str,
        told: Option<time::OffsetDateTime>,
    ) -> sr::LiftRequestedRestrictionRequest {
        sr::LiftRequestedRestrictionRequest {
            subject_request: request.into(),
            told_time: told.map(dps_platform::proto_time::to_proto),
        }
    }

    async fn lifts_owed(suite: &Suite, request: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT count(*) FROM subject_requests.outbox \
             WHERE subject_request_id = $1::uuid AND effect = 'consent.lift_restriction'",
        )
        .bind(request.trim_start_matches("subjectRequests/"))
        .fetch_one(suite.db.pool())
        .await
        .expect("outbox")
    }

    #[tokio::test]
    async fn a_restriction_request_is_lifted_in_consent_once_the_person_was_told() {
        let suite = harness::start().await;
        let (mut consent, mut requests) = clients(&suite);
        let person = "person-restriction-lifted";
        let purpose = purpose_and_person(&mut consent, person).await;
        let request = accepted(&mut requests, sr::RequestKind::Restriction, person).await;
        denied_eventually(&mut consent, person, &purpose, "the restriction arrives").await;

        // Refusals name their field or precondition and store nothing.
        let now = time::OffsetDateTime::now_utc();
        let err = requests
            .lift_requested_restriction(lift_request(&request, None))
            .await
            .expect_err("not told");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            dps_platform::error::field_violations(&err)
                .into_iter()
                .map(|(f, _)| f)
                .collect::<Vec<_>>(),
            ["told_time"]
        );
        let access = accepted(&mut requests, sr::RequestKind::Access, person).await;
        let err = requests
            .lift_requested_restriction(lift_request(&access, Some(now)))
            .await
            .expect_err("not a restriction request");
        assert_eq!(err.code(), tonic::Code::FailedPrecondition);
        let err = requests
            .lift_requested_restriction(lift_request(
                "subjectRequests/0193f1a4-0000-7000-8000-000000000000",
                Some(now),
            ))
            .await
            .expect_err("unknown");
        assert_eq!(err.code(), tonic::Code::NotFound);
        assert_eq!(lifts_owed(&suite, &request).await, 0, "nothing stored");

        let told = now
            .replace_microsecond(now.microsecond())
            .expect("as stored");
        let lifted = requests
            .lift_requested_restriction(lift_request(&request, Some(told)))
            .await
            .expect("lifted")
            .into_inner();
        assert_eq!(
            lifted.told_time,
            Some(dps_platform::proto_time::to_proto(told))
        );
        assert_eq!(lifted.name, format!("{request}/restriction"));
        let again = requests
            .lift_requested_restriction(lift_request(&request, Some(told)))
            .await
            .expect_err("once");
        assert_eq!(again.code(), tonic::Code::FailedPrecondition);
        assert_eq!(lifts_owed(&suite, &request).await, 1);

        let in_consent = lifted_eventually(&mut consent, person).await;
        assert_eq!(
            in_consent.person_told_time,
            Some(dps_platform::proto_time::to_proto(told))
        );
        assert!(check(&mut consent, person, &purpose).await.allowed);
        suite.suite.shutdown().await;
    }
}

mod erasure_suggestions {
    //! Flow 6: a consent withdrawal that leaves no lawful basis puts the person on the DPO's
    //! list of erasure suggestions; nothing is erased.

    use super::*;

    async fn consent_purpose(consent: &mut Consent, name: &str) -> String {
        consent
            .create_purpose(consent::CreatePurposeRequest {
                purpose: Some(consent::Purpose {
                    display_name: name.into(),
                    lawful_basis: consent::LawfulBasis::Consent.into(),
                    data_categories: vec!["images".into()],
                    notice_audience: consent::Audience::ServiceUsers.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("purpose")
            .into_inner()
            .name
    }

    async fn give_then_withdraw(
        consent: &mut Consent,
        person: &str,
        notice: &str,
        give: &[&str],
        withdraw: &[&str],
    ) {
        consent
            .register_person(consent::RegisterPersonRequest {
                person_id: person.into(),
            })
            .await
            .expect("person");
        let ago = |s: i64| {
            Some(dps_platform::proto_time::to_proto(
                time::OffsetDateTime::now_utc() - time::Duration::seconds(s),
            ))
        };
        for purpose in give {
            consent
                .record_consent(consent::RecordConsentRequest {
                    person_id: person.into(),
                    purpose: (*purpose).into(),
                    notice: notice.into(),
                    method: consent::CaptureMethod::Written.into(),
                    action: consent::ConsentAction::OptIn.into(),
                    consent_time: ago(600),
                    giver: Some(consent::ConsentGiver {
                        role: consent::GiverRole::Self_.into(),
                        ..Default::default()
                    }),
                    evidence_reference: "form".into(),
                    ..Default::default()
                })
                .await
                .expect("given");
        }
        for purpose in withdraw {
            consent
                .withdraw_consent(consent::WithdrawConsentRequest {
                    person_id: person.into(),
                    purpose: (*purpose).into(),
                    method: consent::CaptureMethod::Electronic.into(),
                    withdraw_time: ago(60),
                })
                .await
                .expect("withdrawn");
        }
    }

    async fn suggested(consent: &mut Consent) -> Vec<consent::ErasureSuggestion> {
        consent
            .list_erasure_suggestions(consent::ListErasureSuggestionsRequest::default())
            .await
            .expect("listed")
            .into_inner()
            .suggestions
    }

    #[tokio::test]
    async fn a_withdrawal_leaving_no_lawful_basis_is_a_suggestion_for_the_dpo_not_an_erasure() {
        let suite = harness::start().await;
        let (mut consent, mut requests) = clients(&suite);
        let newsletter = consent_purpose(&mut consent, "Family newsletter").await;
        let photos = consent_purpose(&mut consent, "Photos on the noticeboard").await;
        let notice = consent
            .publish_notice(consent::PublishNoticeRequest {
                notice: Some(consent::Notice {
                    audience: consent::Audience::ServiceUsers.into(),
                    title: "How we use your information".into(),
                    uri: "https://example.org/privacy".into(),
                    publish_time: Some(dps_platform::proto_time::to_proto(
                        time::OffsetDateTime::now_utc() - time::Duration::days(1),
                    )),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("notice")
            .into_inner()
            .name;
        // Withdrew everything; withdrew one of two; never withdrew.
        give_then_withdraw(
            &mut consent,
            "person-gone",
            &notice,
            &[&newsletter, &photos],
            &[&newsletter, &photos],
        )
        .await;
        give_then_withdraw(
            &mut consent,
            "person-partly",
            &notice,
            &[&newsletter, &photos],
            &[&photos],
        )
        .await;
        give_then_withdraw(&mut consent, "person-stays", &notice, &[&newsletter], &[]).await;

        let list = suggested(&mut consent).await;
        let whom: Vec<&str> = list.iter().map(|s| s.person_id.as_str()).collect();
        assert_eq!(whom, ["person-gone"]);
        let mut withdrawn = list[0].withdrawn_purposes.clone();
        withdrawn.sort();
        let mut both = vec![newsletter.clone(), photos.clone()];
        both.sort();
        assert_eq!(withdrawn, both);
        assert!(list[0].reason.contains("Art 17(1)(b)"), "{:?}", list[0]);
        // A suggestion, not an erasure: the ledger is intact and no request was opened.
        assert_eq!(
            consent
                .list_consents(consent::ListConsentsRequest {
                    person_id: "person-gone".into(),
                    purpose: String::new(),
                })
                .await
                .expect("ledger")
                .into_inner()
                .consents
                .len(),
            4
        );
        let opened = requests
            .list_subject_requests(sr::ListSubjectRequestsRequest::default())
            .await
            .expect("listed")
            .into_inner()
            .subject_requests;
        assert!(opened.is_empty());

        // Another lawful basis now covers everyone: no longer eligible.
        purpose_and_person(&mut consent, "person-gone").await;
        assert!(suggested(&mut consent).await.is_empty());

        // Bad pages name their field.
        for (request, field) in [
            (
                consent::ListErasureSuggestionsRequest {
                    page_size: -1,
                    page_token: String::new(),
                },
                "page_size",
            ),
            (
                consent::ListErasureSuggestionsRequest {
                    page_size: 0,
                    page_token: "person-gone".into(),
                },
                "page_token",
            ),
        ] {
            let err = consent
                .list_erasure_suggestions(request)
                .await
                .expect_err("bad page");
            assert_eq!(err.code(), tonic::Code::InvalidArgument);
            let fields: Vec<String> = dps_platform::error::field_violations(&err)
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            assert_eq!(fields, [field]);
        }
        suite.suite.shutdown().await;
    }

    #[tokio::test]
    async fn suggestions_page_through_everyone_who_withdrew_everything() {
        let suite = harness::start().await;
        let (mut consent, _) = clients(&suite);
        let newsletter = consent_purpose(&mut consent, "Family newsletter").await;
        let notice = consent
            .publish_notice(consent::PublishNoticeRequest {
                notice: Some(consent::Notice {
                    audience: consent::Audience::ServiceUsers.into(),
                    title: "How we use your information".into(),
                    uri: "https://example.org/privacy".into(),
                    publish_time: Some(dps_platform::proto_time::to_proto(
                        time::OffsetDateTime::now_utc() - time::Duration::days(1),
                    )),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("notice")
            .into_inner()
            .name;
        for person in ["p-1", "p-2", "p-3"] {
            give_then_withdraw(
                &mut consent,
                person,
                &notice,
                &[&newsletter],
                &[&newsletter],
            )
            .await;
        }
        let mut seen = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = consent
                .list_erasure_suggestions(consent::ListErasureSuggestionsRequest {
                    page_size: 2,
                    page_token,
                })
                .await
                .expect("page")
                .into_inner();
            seen.extend(page.suggestions.into_iter().map(|s| s.person_id));
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        assert_eq!(seen, ["p-1", "p-2", "p-3"]);
        suite.suite.shutdown().await;
    }
}

mod access_pack {
    //! Flow 4: an access response's supplementary information comes from the other services:
    //! purposes and bases (consent), recipients (disclosures log and asset register), retention
    //! (the schedule, per record), categories (asset register); and the systems asked come from
    //! the asset register and the record registry.

    use super::erasure::{retention, summary, tasks};
    use super::*;
    use dps_proto::retention::v1 as rt;

    fn ago(seconds: i64) -> Option<prost_types::Timestamp> {
        Some(dps_platform::proto_time::to_proto(
            time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds),
        ))
    }

    async fn consent_purpose(consent: &mut Consent, name: &str) -> String {
        consent
            .create_purpose(consent::CreatePurposeRequest {
                purpose: Some(consent::Purpose {
                    display_name: name.into(),
                    lawful_basis: consent::LawfulBasis::Consent.into(),
                    data_categories: vec!["images".into()],
                    notice_audience: consent::Audience::ServiceUsers.into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("purpose")
            .into_inner()
            .name
    }

    #[tokio::test]
    async fn an_access_pack_draws_its_supplementary_information_from_the_other_services() {
        let suite = harness::start().await;
        let (mut consent, mut requests) = clients(&suite);
        let mut retention = retention(&suite);
        let person = "person-asks";
        // Purposes: a public task (allowed), one consented to, one not.
        purpose_and_person(&mut consent, person).await;
        let newsletter = consent_purpose(&mut consent, "Family newsletter").await;
        consent_purpose(&mut consent, "Photos on the noticeboard").await;
        let notice = consent
            .publish_notice(consent::PublishNoticeRequest {
                notice: Some(consent::Notice {
                    audience: consent::Audience::ServiceUsers.into(),
                    title: "How we use your information".into(),
                    uri: "https://example.org/privacy".into(),
                    publish_time: ago(86_400),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("notice")
            .into_inner()
            .name;
        consent
            .record_consent(consent::RecordConsentRequest {
                person_id: person.into(),
                purpose: newsletter,
                notice,
                method: consent::CaptureMethod::Written.into(),
                action: consent::ConsentAction::OptIn.into(),
                consent_time: ago(3600),
                giver: Some(consent::ConsentGiver {
                    role: consent::GiverRole::Self_.into(),
                    ..Default::default()
                }),
                evidence_reference: "form".into(),
                ..Default::default()
            })
            .await
            .expect("consent");
        consent
            .record_disclosure(consent::RecordDisclosureRequest {
                disclosure: Some(consent::Disclosure {
                    person_id: person.into(),
                    recipient: "St Mary's GP".into(),
                    data_categories: vec!["health".into()],
                    reason: "care".into(),
                    lawful_basis: consent::LawfulBasis::PublicTask.into(),
                    authorised_by: "R. Manager".into(),
                    authoriser_role: consent::AuthoriserRole::SeniorManager.into(),
                    disclose_time: ago(600),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("disclosure");
        retention
            .create_information_asset(rt::CreateInformationAssetRequest {
                information_asset: Some(rt::InformationAsset {
                    system: "care-records".into(),
                    display_name: "Care record platform".into(),
                    owner: "Registered manager".into(),
                    service_area: "Residential care".into(),
                    data_subjects: vec!["service users".into()],
                    categories: vec![
                        rt::DataCategory {
                            name: "health".into(),
                            special_category: true,
                        },
                        rt::DataCategory {
                            name: "contact details".into(),
                            special_category: false,
                        },
                    ],
                    protection_measures: vec!["role-based access".into()],
                    retention: "adult-health-record".into(),
                    recipients: vec!["Local authority".into()],
                    international_transfers: vec![rt::InternationalTransfer {
                        destination: "Ireland (hosting)".into(),
                        safeguard: "adequacy regulations".into(),
                    }],
                    registers_records: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("asset");
        retention
            .register_record(rt::RegisterRecordRequest {
                record: Some(rt::Record {
                    record_class_code: "adult-health-record".into(),
                    person_id: person.into(),
                    system: "care-records".into(),
                    external_id: "a-1".into(),
                    create_date: "2020-01-01".into(),
                    discharge_date: "2024-03-15".into(),
                    ..Default::default()
                }),
            })
            .await
            .expect("record");

        let request = accepted(&mut requests, sr::RequestKind::Access, person).await;
        let (s, r) = (&suite, &request);
        eventually("every service answered", || async move {
            let owed: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM subject_requests.outbox \
                 WHERE subject_request_id = $1::uuid AND delivered_at IS NULL",
            )
            .bind(r.trim_start_matches("subjectRequests/"))
            .fetch_one(s.db.pool())
            .await
            .expect("outbox");
            (owed == 0).then_some(())
        })
        .await;
        let all = tasks(&mut requests, &request).await;
        assert_eq!(
            summary(&all),
            [(
                "care-records".to_owned(),
                sr::TaskAction::Export,
                sr::TaskState::Pending,
                vec![]
            )],
            "the system holding the person's records is asked"
        );
        requests
            .complete_fulfilment_task(sr::CompleteFulfilmentTaskRequest {
                name: all[0].name.clone(),
                export_json: r#"{"notes":["seen by GP"]}"#.into(),
                affected_records: 0,
            })
            .await
            .expect("exported");

        // The handler gives only what no service knows: where the data came from.
        requests
            .build_response_pack(sr::BuildResponsePackRequest {
                subject_request: request.clone(),
                supplementary_information: Some(sr::SupplementaryInformation {
                    sources: vec!["the person and their GP".into()],
                    ..Default::default()
                }),
            })
            .await
            .expect("built");
        let pack = {
            use tokio_stream::StreamExt as _;
            let mut stream = requests
                .download_response_pack(sr::DownloadResponsePackRequest {
                    subject_request: request.clone(),
                })
                .await
                .expect("download")
                .into_inner();
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.next().await {
                bytes.extend(chunk.expect("chunk").data);
            }
            String::from_utf8(bytes).expect("utf-8")
        };
        for part in [
            "Care planning (lawful basis: a public task)",
            "Family newsletter (lawful basis: your consent)",
            "St Mary's GP",
            "Local authority",
            "health (special category)",
            "Ireland (hosting): adequacy regulations",
            "care-records a-1: adult-health-record",
            "the person and their GP",
        ] {
            assert!(pack.contains(part), "{part:?} in {pack}");
        }
        assert!(
            !pack.contains("Photos on the noticeboard"),
            "not consented: {pack}"
        );
        suite.suite.shutdown().await;
    }
}

#[tokio::test]
async fn the_recipients_of_a_restricted_persons_data_are_told() {
    let suite = harness::start().await;
    let (mut consent, mut requests) = clients(&suite);
    let person = "person-restricts-recipients";
    let purpose = purpose_and_person(&mut consent, person).await;
    consent
        .record_disclosure(consent::RecordDisclosureRequest {
            disclosure: Some(consent::Disclosure {
                person_id: person.into(),
                recipient: "County council".into(),
                data_categories: vec!["contact details".into()],
                reason: "care assessment".into(),
                lawful_basis: consent::LawfulBasis::PublicTask.into(),
                authorised_by: "R. Manager".into(),
                authoriser_role: consent::AuthoriserRole::SeniorManager.into(),
                disclose_time: Some(dps_platform::proto_time::to_proto(
                    time::OffsetDateTime::now_utc() - time::Duration::hours(1),
                )),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("disclosure");
    let request = accepted(&mut requests, sr::RequestKind::Restriction, person).await;
    denied_eventually(&mut consent, person, &purpose, "restricted").await;
    let r = &request;
    let notice = {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let tasks = requests
                .list_fulfilment_tasks(sr::ListFulfilmentTasksRequest {
                    subject_request: r.clone(),
                    ..Default::default()
                })
                .await
                .expect("tasks")
                .into_inner()
                .tasks;
            if let Some(t) = tasks
                .into_iter()
                .find(|t| t.action() == sr::TaskAction::NotifyRecipient)
            {
                break t;
            }
            assert!(tokio::time::Instant::now() < deadline, "no notice");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(notice.system, "County council");
    assert!(
        notice.notice.contains("(contact details) is restricted"),
        "{}",
        notice.notice
    );
    // Not complete until the council is told.
    let err = requests
        .transition_subject_request(sr::TransitionSubjectRequestRequest {
            name: request.clone(),
            transition: sr::Transition::Complete.into(),
            reason: String::new(),
        })
        .await
        .expect_err("a recipient not yet told");
    assert_eq!(err.code(), tonic::Code::FailedPrecondition);
    suite.suite.shutdown().await;
}
