//! The subject-requests service over a real socket against a real, freshly migrated Postgres
//! database.

use dps_platform::error::field_violations;
use dps_platform::proto_time;
use dps_proto::common::v1::Channel as PbChannel;
use dps_proto::subject_requests::v1 as pb;
use dps_test_support::{Caller, TestDb, TestServer, boxed_caller, serve_on_fresh_db};
use pb::subject_requests_service_client::SubjectRequestsServiceClient;
use time::{Duration, OffsetDateTime};
use tonic::Code;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

mod automated;
mod complaints;
mod dashboard;
mod encryption;
mod lifecycle;
mod listing;
mod outbox;
mod rectification;
mod tasks;

type Client = SubjectRequestsServiceClient<InterceptedService<Channel, Caller>>;

async fn start() -> (TestDb, TestServer) {
    serve_on_fresh_db(
        &dps_subject_requests::MIGRATOR,
        dps_subject_requests::routes,
    )
    .await
}

fn client(server: &TestServer, tenant: &str) -> Client {
    SubjectRequestsServiceClient::with_interceptor(server.channel(), boxed_caller(tenant))
}

fn client_with_roles(server: &TestServer, tenant: &str, caller: &str, roles: &[&str]) -> Client {
    SubjectRequestsServiceClient::with_interceptor(
        server.channel(),
        Box::new(dps_test_support::caller_with_roles(tenant, caller, roles)),
    )
}

/// A verbal access request taken by phone an hour ago.
fn phoned_access_request() -> pb::SubjectRequest {
    pb::SubjectRequest {
        kind: pb::RequestKind::Access.into(),
        channel: PbChannel::Phone.into(),
        person_id: "person-0193f1a4".into(),
        receive_time: Some(proto_time::to_proto(
            OffsetDateTime::now_utc() - Duration::hours(1),
        )),
        ..Default::default()
    }
}

fn create(subject_request: pb::SubjectRequest) -> pb::CreateSubjectRequestRequest {
    pb::CreateSubjectRequestRequest {
        subject_request: Some(subject_request),
        request_id: String::new(),
    }
}

async fn stored_requests(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM subject_requests.subject_requests")
        .fetch_one(db.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_recorded_request_can_be_read_back_as_received() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let sent = phoned_access_request();
    let created = client
        .create_subject_request(create(sent.clone()))
        .await
        .expect("created")
        .into_inner();
    assert!(
        created.name.starts_with("subjectRequests/"),
        "{}",
        created.name
    );
    assert_eq!(created.kind(), pb::RequestKind::Access);
    assert_eq!(created.channel(), PbChannel::Phone);
    assert_eq!(created.person_id, sent.person_id);
    assert_eq!(created.state(), pb::RequestState::Received);
    let sent_at = sent.receive_time.expect("sent");
    let stored_at = created.receive_time.expect("stored");
    assert_eq!(stored_at.seconds, sent_at.seconds);
    assert!(created.create_time.is_some());
    let read = client
        .get_subject_request(pb::GetSubjectRequestRequest {
            name: created.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, created);
}

#[tokio::test]
async fn a_retried_create_returns_the_original_and_records_one_request() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let request = pb::CreateSubjectRequestRequest {
        subject_request: Some(phoned_access_request()),
        request_id: "0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
    };
    let first = client
        .create_subject_request(request.clone())
        .await
        .expect("first")
        .into_inner();
    let second = client
        .create_subject_request(request)
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, second);
    assert_eq!(stored_requests(&db).await, 1);
}

#[tokio::test]
async fn missing_fields_are_all_named_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_subject_request(pb::CreateSubjectRequestRequest {
            subject_request: Some(pb::SubjectRequest {
                person_id: " ".into(),
                ..Default::default()
            }),
            request_id: "not-a-uuid".into(),
        })
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "request_id",
            "subject_request.kind",
            "subject_request.channel",
            "subject_request.person_id",
            "subject_request.receive_time",
        ]
    );
    assert_eq!(stored_requests(&db).await, 0);

    let status = client
        .create_subject_request(pb::CreateSubjectRequestRequest::default())
        .await
        .expect_err("no request");
    assert_eq!(
        field_violations(&status),
        [("subject_request".to_owned(), "required".to_owned())]
    );
    let status = client
        .create_subject_request(create(pb::SubjectRequest {
            kind: 99,
            channel: 99,
            receive_time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: -1,
            }),
            ..phoned_access_request()
        }))
        .await
        .expect_err("unknown values");
    assert_eq!(
        field_violations(&status),
        [
            (
                "subject_request.kind".to_owned(),
                "unknown value".to_owned()
            ),
            (
                "subject_request.channel".to_owned(),
                "unknown value".to_owned()
            ),
            (
                "subject_request.receive_time".to_owned(),
                "out of range".to_owned()
            ),
        ]
    );
    let status = client
        .create_subject_request(create(pb::SubjectRequest {
            person_id: "x".repeat(201),
            ..phoned_access_request()
        }))
        .await
        .expect_err("person reference too long");
    assert_eq!(
        field_violations(&status),
        [(
            "subject_request.person_id".to_owned(),
            "at most 200 characters".to_owned()
        )]
    );
    assert_eq!(stored_requests(&db).await, 0);
}

#[tokio::test]
async fn a_request_cannot_be_received_in_the_future() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_subject_request(create(pb::SubjectRequest {
            receive_time: Some(proto_time::to_proto(
                OffsetDateTime::now_utc() + Duration::hours(1),
            )),
            ..phoned_access_request()
        }))
        .await
        .expect_err("future");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        [(
            "subject_request.receive_time".to_owned(),
            "must not be in the future".to_owned()
        )]
    );
    assert_eq!(stored_requests(&db).await, 0);
}

#[tokio::test]
async fn unknown_and_malformed_names_are_told_apart() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .get_subject_request(pb::GetSubjectRequestRequest {
            name: "subjectRequests/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_subject_request(pb::GetSubjectRequestRequest {
            name: "subjectRequests/42".into(),
        })
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status)[0].0, "name");
}

#[tokio::test]
async fn another_tenant_cannot_learn_of_a_request() {
    let (_db, server) = start().await;
    let created = client(&server, "acme-north")
        .create_subject_request(create(phoned_access_request()))
        .await
        .expect("created")
        .into_inner();
    let status = client(&server, "acme-south")
        .get_subject_request(pb::GetSubjectRequestRequest { name: created.name })
        .await
        .expect_err("isolated");
    assert_eq!(
        status.code(),
        Code::NotFound,
        "not PERMISSION_DENIED: the other tenant must not learn it exists"
    );
}

#[tokio::test]
async fn calls_without_a_verified_caller_are_unauthenticated() {
    let (db, server) = start().await;
    let mut bare = SubjectRequestsServiceClient::new(server.channel());
    let status = bare
        .create_subject_request(create(phoned_access_request()))
        .await
        .expect_err("no context");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(stored_requests(&db).await, 0);
}
