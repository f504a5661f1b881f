//! What the foundation promises: isolated test databases, health on every server, one trace
//! across the gateway hop, and no way past the gateway without a valid token.

use std::time::Duration;

use dps_proto::consent::v1 as consent;
use dps_test_support::{TestDb, capture_spans};
use opentelemetry::trace::TraceId;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tracing::Instrument as _;

use crate::harness::{self, bearer};

fn care_planning() -> consent::CreatePurposeRequest {
    consent::CreatePurposeRequest {
        purpose: Some(consent::Purpose {
            display_name: "Care planning".into(),
            lawful_basis: consent::LawfulBasis::PublicTask.into(),
            data_categories: vec!["health".into()],
            notice_audience: consent::Audience::ServiceUsers.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn databases_of_tests_running_at_once_are_isolated() {
    async fn write_and_count(marker: &'static str) -> Vec<String> {
        let db = TestDb::new(&[&dps_consent::MIGRATOR]).await;
        sqlx::query(
            "INSERT INTO consent.purposes (tenant_id, purpose_id, display_name, lawful_basis, created_by) \
             VALUES ('t', gen_random_uuid(), $1, 'consent', 'x')",
        )
        .bind(marker)
        .execute(db.pool())
        .await
        .expect("insert");
        tokio::time::sleep(Duration::from_millis(50)).await;
        sqlx::query_scalar("SELECT display_name FROM consent.purposes")
            .fetch_all(db.pool())
            .await
            .expect("select")
    }
    let (a, b) = tokio::join!(
        tokio::spawn(write_and_count("a")),
        tokio::spawn(write_and_count("b"))
    );
    assert_eq!(a.expect("task a"), ["a"]);
    assert_eq!(b.expect("task b"), ["b"]);
}

#[tokio::test]
async fn every_server_answers_health_serving_over_a_real_socket() {
    let suite = harness::start().await;
    let backends = suite.suite.backends();
    let urls = [
        format!("http://{}", suite.suite.gateway_addr()),
        backends.subject_requests.clone(),
        backends.breaches.clone(),
        backends.retention.clone(),
        backends.consent.clone(),
    ];
    for url in urls {
        let mut health = HealthClient::new(harness::channel(&url));
        for service in ["", dps_platform::server::READINESS] {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            loop {
                let status = health
                    .check(HealthCheckRequest {
                        service: service.into(),
                    })
                    .await
                    .expect("health answers")
                    .into_inner()
                    .status();
                if status == ServingStatus::Serving {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{url} {service:?} is {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    suite.suite.shutdown().await;
}

#[tokio::test]
async fn a_call_through_the_gateway_is_one_trace_across_the_hop() {
    let spans = capture_spans();
    let suite = harness::start().await;
    let root = tracing::info_span!("test.client");
    let trace_id = {
        use tracing_opentelemetry_ext::trace_id_of;
        trace_id_of(&root)
    };
    let mut client = consent::consent_service_client::ConsentServiceClient::with_interceptor(
        suite.gateway(),
        bearer(Some(suite.token("acme-north")), &[]),
    );
    client
        .create_purpose(care_planning())
        .instrument(root)
        .await
        .expect("created through the gateway");
    suite.suite.shutdown().await;

    // Exported span names come from `otel.name`.
    let method = "dps.consent.v1.ConsentService/CreatePurpose";
    let ours: Vec<_> = spans
        .finished()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace_id)
        .collect();
    let named = |name: &str| ours.iter().filter(|s| s.name == name).collect::<Vec<_>>();
    let servers = named(method);
    let forwards = named(&format!("forward {method}"));
    assert_eq!(
        servers.len(),
        2,
        "gateway and consent server spans in the caller's trace: {ours:#?}"
    );
    assert_eq!(forwards.len(), 1);
    let forward = forwards[0];
    let gateway = servers
        .iter()
        .find(|s| s.span_context.span_id() == forward.parent_span_id)
        .expect("forward is a child of the gateway's server span");
    let backend = servers
        .iter()
        .find(|s| s.parent_span_id == forward.span_context.span_id())
        .expect("the consent server span is a child of the forward span");
    assert!(
        gateway
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "tenant_id" && kv.value.as_str() == "acme-north"),
        "the gateway's span names the verified tenant: {gateway:#?}"
    );
    let client = named("test.client");
    assert_eq!(
        gateway.parent_span_id,
        client[0].span_context.span_id(),
        "the gateway continued the caller's trace"
    );
    assert!(
        ours.iter()
            .any(|s| s.name == "create_purpose"
                && s.parent_span_id == backend.span_context.span_id()),
        "the handler span sits under the consent server span"
    );
    assert_ne!(trace_id, TraceId::INVALID);
}

/// Reads the OpenTelemetry trace id of a `tracing` span.
mod tracing_opentelemetry_ext {
    use opentelemetry::trace::{TraceContextExt as _, TraceId};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;

    pub fn trace_id_of(span: &tracing::Span) -> TraceId {
        span.context().span().span_context().trace_id()
    }
}

#[tokio::test]
async fn calls_without_a_valid_token_are_refused_alike_and_reach_no_service() {
    let suite = harness::start().await;
    let other_key =
        dps_gateway::DevIssuer::load_or_create(None, "dps-dev", "dps-suite").expect("key");
    for token in [
        None,
        Some("not-a-jwt".to_owned()),
        Some(other_key.token("acme-north", "mallory", &["dpo"], 600)),
    ] {
        let mut client = consent::consent_service_client::ConsentServiceClient::with_interceptor(
            suite.gateway(),
            bearer(token, &[]),
        );
        let status = client
            .create_purpose(care_planning())
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(
            status.message(),
            "missing or invalid credentials",
            "one message whatever the cause"
        );
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM consent.purposes")
        .fetch_one(suite.db.pool())
        .await
        .expect("count");
    assert_eq!(stored, 0);
    suite.suite.shutdown().await;
}

#[tokio::test]
async fn a_pod_inside_the_cluster_cannot_forge_an_identity_to_a_backend() {
    let suite = harness::start().await;
    let backend = harness::channel(&suite.suite.backends().consent);
    // Plain gateway headers, straight to the backend: no seal, no call.
    let forged = [
        ("x-dps-tenant", "acme-north"),
        ("x-dps-caller", "mallory"),
        ("x-dps-roles", "dpo"),
    ];
    let mut direct = consent::consent_service_client::ConsentServiceClient::with_interceptor(
        backend.clone(),
        bearer(None, &forged),
    );
    let status = direct
        .create_purpose(care_planning())
        .await
        .expect_err("unsealed");
    assert_eq!(status.code(), Code::Unauthenticated);
    // A seal made for a staff member does not cover roles added to it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let seal = dps_platform::identity::seal("acme-north", "sam", "staff", now).expect("sealed");
    let seal: &'static str = Box::leak(seal.into_boxed_str());
    let escalated = [
        ("x-dps-tenant", "acme-north"),
        ("x-dps-caller", "sam"),
        ("x-dps-roles", "staff,dpo"),
        ("x-dps-identity", seal),
    ];
    let mut direct = consent::consent_service_client::ConsentServiceClient::with_interceptor(
        backend,
        bearer(None, &escalated),
    );
    let status = direct
        .create_purpose(care_planning())
        .await
        .expect_err("roles added after sealing");
    assert_eq!(status.code(), Code::Unauthenticated);
    let purposes: i64 = sqlx::query_scalar("SELECT count(*) FROM consent.purposes")
        .fetch_one(suite.db.pool())
        .await
        .expect("count");
    assert_eq!(purposes, 0);
    suite.suite.shutdown().await;
}

#[tokio::test]
async fn a_caller_cannot_choose_its_tenant_by_sending_gateway_headers() {
    let suite = harness::start().await;
    let spoofed = [
        ("x-dps-tenant", "acme-south"),
        ("x-dps-caller", "someone-else"),
    ];
    let mut north = consent::consent_service_client::ConsentServiceClient::with_interceptor(
        suite.gateway(),
        bearer(Some(suite.token("acme-north")), &spoofed),
    );
    let created = north
        .create_purpose(care_planning())
        .await
        .expect("created")
        .into_inner();
    let read = north
        .get_purpose(consent::GetPurposeRequest {
            name: created.name.clone(),
        })
        .await
        .expect("own tenant reads it");
    assert_eq!(read.into_inner(), created);
    let mut south = consent::consent_service_client::ConsentServiceClient::with_interceptor(
        suite.gateway(),
        bearer(Some(suite.token("acme-south")), &[]),
    );
    let status = south
        .get_purpose(consent::GetPurposeRequest { name: created.name })
        .await
        .expect_err("isolated");
    assert_eq!(status.code(), Code::NotFound);
    let owner: String = sqlx::query_scalar("SELECT tenant_id FROM consent.purposes")
        .fetch_one(suite.db.pool())
        .await
        .expect("row");
    assert_eq!(owner, "acme-north");
    suite.suite.shutdown().await;
}

#[tokio::test]
async fn unknown_methods_are_denied_not_forwarded() {
    let suite = harness::start().await;
    let mut health = HealthClient::new(suite.gateway());
    // Health is served by the gateway itself, to anyone.
    assert!(health.check(HealthCheckRequest::default()).await.is_ok());
    // Anything else needs a token first, then a row in the role table.
    for (token, code) in [
        (None, Code::Unauthenticated),
        (Some(suite.token("acme-north")), Code::PermissionDenied),
    ] {
        let channel = tonic::service::interceptor::InterceptedService::new(
            suite.gateway(),
            bearer(token, &[]),
        );
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.expect("ready");
        let path = http::uri::PathAndQuery::from_static("/dps.nothing.v1.Nope/Call");
        let status = grpc
            .unary::<_, consent::Purpose, _>(
                tonic::Request::new(consent::GetPurposeRequest::default()),
                path,
                tonic_prost::ProstCodec::default(),
            )
            .await
            .expect_err("unknown");
        assert_eq!(status.code(), code);
    }
    suite.suite.shutdown().await;
}

#[tokio::test]
async fn reflection_lists_every_service_through_the_gateway_in_both_versions() {
    use tonic::service::interceptor::InterceptedService;
    use tonic_reflection::pb::{v1, v1alpha};
    let suite = harness::start().await;
    let list_services = || v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    // Not to strangers: the external listener answers reflection only with a valid token.
    let status = v1::server_reflection_client::ServerReflectionClient::new(suite.gateway())
        .server_reflection_info(tokio_stream::iter([list_services()]))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    let authenticated = || {
        InterceptedService::new(
            suite.gateway(),
            bearer(Some(suite.token("acme-north")), &[]),
        )
    };
    let expected = [
        "dps.subject_requests.v1.SubjectRequestsService",
        "dps.subject_requests.v1.ComplaintService",
        "dps.breaches.v1.BreachesService",
        "dps.retention.v1.RetentionService",
        "dps.consent.v1.ConsentService",
        "dps.gateway.v1.AuditService",
        "grpc.health.v1.Health",
    ];

    let mut client = v1::server_reflection_client::ServerReflectionClient::new(authenticated());
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([list_services()]))
        .await
        .expect("v1 reflection")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("v1 answer")
        .expect("one response");
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        response.message_response
    else {
        panic!("unexpected v1 reflection answer: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in expected {
        assert!(
            names.iter().any(|n| n == service),
            "v1 lists {service}: {names:?}"
        );
    }

    // Python's grpcio-reflection client only speaks v1alpha.
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(authenticated());
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1alpha reflection")
        .into_inner();
    let response = responses
        .message()
        .await
        .expect("v1alpha answer")
        .expect("one response");
    assert!(
        matches!(response.message_response, Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(ref list)) if list.service.len() >= expected.len()),
        "{response:?}"
    );
    suite.suite.shutdown().await;
}
