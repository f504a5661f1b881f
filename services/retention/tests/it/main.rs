//! The retention service over a real socket against a real, freshly migrated Postgres database.

use dps_platform::error::field_violations;
use dps_proto::retention::v1 as pb;
use dps_test_support::{Caller, TestDb, TestServer, boxed_caller, serve_on_fresh_db};
use pb::retention_service_client::RetentionServiceClient;
use tonic::Code;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

type Client = RetentionServiceClient<InterceptedService<Channel, Caller>>;

async fn start() -> (TestDb, TestServer) {
    serve_on_fresh_db(&dps_retention::MIGRATOR, dps_retention::routes).await
}

fn client(server: &TestServer, tenant: &str) -> Client {
    RetentionServiceClient::with_interceptor(server.channel(), boxed_caller(tenant))
}

fn adult_care_record() -> pb::RecordClass {
    pb::RecordClass {
        code: "adult-care-record".into(),
        display_name: "Adult care record".into(),
        description: "Care plans, assessments and daily notes of an adult in our care".into(),
        ..Default::default()
    }
}

fn create(record_class: pb::RecordClass) -> pb::CreateRecordClassRequest {
    pb::CreateRecordClassRequest {
        record_class: Some(record_class),
        request_id: String::new(),
    }
}

async fn stored_classes(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM retention.record_classes")
        .fetch_one(db.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_created_record_class_can_be_read_back() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let created = client
        .create_record_class(create(adult_care_record()))
        .await
        .expect("created")
        .into_inner();
    assert!(
        created.name.starts_with("recordClasses/"),
        "{}",
        created.name
    );
    assert_eq!(created.code, "adult-care-record");
    assert_eq!(created.display_name, "Adult care record");
    assert!(created.create_time.is_some());
    let read = client
        .get_record_class(pb::GetRecordClassRequest {
            name: created.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, created);
}

#[tokio::test]
async fn a_retried_create_returns_the_original_not_already_exists() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let request = pb::CreateRecordClassRequest {
        record_class: Some(adult_care_record()),
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
    assert_eq!(stored_classes(&db).await, 1);
}

#[tokio::test]
async fn a_code_names_one_class_in_a_tenant() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    client
        .create_record_class(create(adult_care_record()))
        .await
        .expect("first");
    let status = client
        .create_record_class(pb::CreateRecordClassRequest {
            record_class: Some(pb::RecordClass {
                display_name: "Another adult care record".into(),
                ..adult_care_record()
            }),
            request_id: "0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9f".into(),
        })
        .await
        .expect_err("duplicate code");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(
        status.message().contains("adult-care-record"),
        "{}",
        status.message()
    );
    assert_eq!(stored_classes(&db).await, 1);
}

#[tokio::test]
async fn another_tenant_may_use_the_same_code() {
    let (db, server) = start().await;
    let north = client(&server, "acme-north")
        .create_record_class(create(adult_care_record()))
        .await
        .expect("north")
        .into_inner();
    let south = client(&server, "acme-south")
        .create_record_class(create(adult_care_record()))
        .await
        .expect("south")
        .into_inner();
    assert_eq!(north.code, south.code);
    assert_ne!(north.name, south.name);
    assert_eq!(stored_classes(&db).await, 2);
}

#[tokio::test]
async fn missing_fields_are_all_named_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_record_class(pb::CreateRecordClassRequest {
            record_class: Some(pb::RecordClass {
                display_name: " ".into(),
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
            "record_class.code",
            "record_class.display_name"
        ]
    );
    assert_eq!(stored_classes(&db).await, 0);

    let status = client
        .create_record_class(pb::CreateRecordClassRequest::default())
        .await
        .expect_err("no class");
    assert_eq!(
        field_violations(&status),
        [("record_class".to_owned(), "required".to_owned())]
    );
    let status = client
        .create_record_class(create(pb::RecordClass {
            code: "Adult_Care".into(),
            display_name: "x".repeat(201),
            description: "x".repeat(4001),
            ..Default::default()
        }))
        .await
        .expect_err("malformed and too long");
    let fields: Vec<String> = field_violations(&status)
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        fields,
        [
            "record_class.code",
            "record_class.display_name",
            "record_class.description"
        ]
    );
    assert_eq!(stored_classes(&db).await, 0);
}

#[tokio::test]
async fn unknown_and_malformed_names_are_told_apart() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .get_record_class(pb::GetRecordClassRequest {
            name: "recordClasses/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_record_class(pb::GetRecordClassRequest {
            name: "recordClasses/42".into(),
        })
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status)[0].0, "name");
}

#[tokio::test]
async fn another_tenant_cannot_learn_of_a_record_class() {
    let (_db, server) = start().await;
    let created = client(&server, "acme-north")
        .create_record_class(create(adult_care_record()))
        .await
        .expect("created")
        .into_inner();
    let status = client(&server, "acme-south")
        .get_record_class(pb::GetRecordClassRequest { name: created.name })
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
    let mut bare = RetentionServiceClient::new(server.channel());
    let status = bare
        .create_record_class(create(adult_care_record()))
        .await
        .expect_err("no context");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(stored_classes(&db).await, 0);
}
