//! The consent service over a real socket against a real, freshly migrated Postgres database.

mod ledger;

use std::time::Duration;

use dps_platform::error::field_violations;
use dps_platform::server::READINESS;
use dps_proto::consent::v1 as pb;
use dps_test_support::{Caller, TestDb, TestServer, boxed_caller, serve_on_fresh_db};
use pb::consent_service_client::ConsentServiceClient;
use tonic::Code;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

type Client = ConsentServiceClient<InterceptedService<Channel, Caller>>;

async fn start() -> (TestDb, TestServer) {
    serve_on_fresh_db(&dps_consent::MIGRATOR, dps_consent::routes).await
}

fn client(server: &TestServer, tenant: &str) -> Client {
    ConsentServiceClient::with_interceptor(server.channel(), boxed_caller(tenant))
}

fn care_planning() -> pb::Purpose {
    pb::Purpose {
        display_name: "Care planning".into(),
        description: "Planning and delivering each person's care".into(),
        lawful_basis: pb::LawfulBasis::PublicTask.into(),
        data_categories: vec!["health".into(), "contact details".into()],
        notice_audience: pb::Audience::ServiceUsers.into(),
        special_category_condition: pb::SpecialCategoryCondition::HealthOrSocialCare.into(),
        ..Default::default()
    }
}

async fn stored_purposes(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM consent.purposes")
        .fetch_one(db.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_created_purpose_can_be_read_back() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let created = client
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(care_planning()),
            request_id: String::new(),
        })
        .await
        .expect("created")
        .into_inner();
    assert!(created.name.starts_with("purposes/"), "{}", created.name);
    assert_eq!(created.lawful_basis(), pb::LawfulBasis::PublicTask);
    assert!(created.create_time.is_some());
    let read = client
        .get_purpose(pb::GetPurposeRequest {
            name: created.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, created);
}

#[tokio::test]
async fn a_retried_create_returns_the_original_and_stores_one_purpose() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let request = pb::CreatePurposeRequest {
        purpose: Some(care_planning()),
        request_id: "0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
    };
    let first = client
        .create_purpose(request.clone())
        .await
        .expect("first")
        .into_inner();
    let second = client
        .create_purpose(request)
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, second);
    assert_eq!(stored_purposes(&db).await, 1);
}

#[tokio::test]
async fn missing_fields_are_all_named_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(pb::Purpose {
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
            "purpose.display_name",
            "purpose.lawful_basis",
            "purpose.data_categories",
            "purpose.notice_audience"
        ]
    );
    assert_eq!(stored_purposes(&db).await, 0);

    let status = client
        .create_purpose(pb::CreatePurposeRequest::default())
        .await
        .expect_err("no purpose");
    assert_eq!(
        field_violations(&status),
        [("purpose".to_owned(), "required".to_owned())]
    );
    let status = client
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(pb::Purpose {
                lawful_basis: 99,
                ..care_planning()
            }),
            request_id: String::new(),
        })
        .await
        .expect_err("unknown basis");
    assert_eq!(
        field_violations(&status),
        [(
            "purpose.lawful_basis".to_owned(),
            "unknown value".to_owned()
        )]
    );
    assert_eq!(stored_purposes(&db).await, 0);
}

#[tokio::test]
async fn unknown_and_malformed_names_are_told_apart() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .get_purpose(pb::GetPurposeRequest {
            name: "purposes/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_purpose(pb::GetPurposeRequest {
            name: "purposes/42".into(),
        })
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status)[0].0, "name");
}

#[tokio::test]
async fn another_tenant_cannot_learn_of_a_purpose() {
    let (_db, server) = start().await;
    let created = client(&server, "acme-north")
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(care_planning()),
            request_id: String::new(),
        })
        .await
        .expect("created")
        .into_inner();
    let status = client(&server, "acme-south")
        .get_purpose(pb::GetPurposeRequest { name: created.name })
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
    let mut bare = ConsentServiceClient::new(server.channel());
    let status = bare
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(care_planning()),
            request_id: String::new(),
        })
        .await
        .expect_err("no context");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(stored_purposes(&db).await, 0);
}

#[tokio::test]
async fn the_service_connects_as_neither_superuser_nor_table_owner() {
    let (db, _server) = start().await;
    let (superuser, owner): (bool, bool) = sqlx::query_as(
        "SELECT r.rolsuper, pg_get_userbyid(c.relowner) = current_user \
         FROM pg_roles r, pg_class c WHERE r.rolname = current_user AND c.oid = 'consent.purposes'::regclass",
    )
    .fetch_one(db.pool())
    .await
    .expect("role facts");
    assert!(!superuser && !owner);
    let drop = sqlx::query("DROP TABLE consent.purposes")
        .execute(db.pool())
        .await
        .expect_err("must be refused");
    assert_eq!(
        drop.as_database_error().and_then(|e| e.code()).as_deref(),
        Some("42501"),
        "insufficient_privilege"
    );
}

#[tokio::test]
async fn a_lost_database_is_unavailable_without_its_message_and_only_readiness_fails() {
    let (db, server) = start().await;
    let mut health = HealthClient::new(server.channel());
    let status_of = |name: &str| HealthCheckRequest {
        service: name.to_owned(),
    };
    wait_for(&mut health, READINESS, ServingStatus::Serving).await;

    db.pool().close().await;
    let status = client(&server, "acme-north")
        .create_purpose(pb::CreatePurposeRequest {
            purpose: Some(care_planning()),
            request_id: String::new(),
        })
        .await
        .expect_err("database gone");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        status.message(),
        "the service is temporarily unavailable; retry later"
    );

    wait_for(&mut health, READINESS, ServingStatus::NotServing).await;
    let liveness = health
        .check(status_of(""))
        .await
        .expect("liveness")
        .into_inner();
    assert_eq!(
        liveness.status(),
        ServingStatus::Serving,
        "a database outage must not fail liveness"
    );
}

/// Polls health until `name` reports `want` (readiness re-checks every 2 s).
async fn wait_for(health: &mut HealthClient<Channel>, name: &str, want: ServingStatus) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = health
            .check(HealthCheckRequest {
                service: name.to_owned(),
            })
            .await
            .expect("health")
            .into_inner()
            .status();
        if got == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} stayed {got:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_session_killed_by_the_server_is_replaced_without_failing_callers() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let request = || pb::CreatePurposeRequest {
        purpose: Some(care_planning()),
        request_id: String::new(),
    };
    client
        .create_purpose(request())
        .await
        .expect("warm the pool");
    // What a Postgres restart or failover does to open sessions (SQLSTATE 57P01).
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(db.admin_url().expose())
        .await
        .expect("admin");
    let killed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()) AS t",
    )
    .fetch_one(&mut admin)
    .await
    .expect("terminate");
    assert!(killed >= 1, "the service had an open session");
    client
        .create_purpose(request())
        .await
        .expect("the pool discards the dead session and opens a new one");
    assert_eq!(stored_purposes(&db).await, 2);
}

#[tokio::test]
async fn the_binary_migrates_serves_health_and_drains_on_sigterm() {
    let db = TestDb::new(&[&dps_consent::MIGRATOR]).await;
    let keys = TestDb::new(&[]).await;
    let key_file = dps_test_support::TestKeyFile::new();
    let with_env = |command: &mut tokio::process::Command| {
        command
            .env("DPS_DATABASE_URL", db.app_url().expose())
            .env("DPS_MIGRATION_DATABASE_URL", db.owner_url().expose())
            .env("DPS_KEYSTORE_DATABASE_URL", keys.app_url().expose())
            .env(
                "DPS_KEYSTORE_MIGRATION_DATABASE_URL",
                keys.owner_url().expose(),
            )
            .env("DPS_KEY_FILE", key_file.path())
            .env(
                "DPS_IDENTITY_KEYS",
                dps_platform::identity::IdentityKey::generate().to_base64(),
            );
    };
    let mut migrate = tokio::process::Command::new(env!("CARGO_BIN_EXE_dps-consent"));
    with_env(&mut migrate);
    let migrate = migrate.arg("migrate").output().await.expect("runs");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dps-consent"));
    with_env(&mut child);
    let mut child = child
        .env("DPS_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("uri")
        .connect_lazy();
    let mut health = HealthClient::new(channel);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match health
            .check(HealthCheckRequest {
                service: READINESS.into(),
            })
            .await
        {
            Ok(r) if r.get_ref().status() == ServingStatus::Serving => break,
            _ => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the binary never became ready"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let pid = child.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits after draining")
        .expect("status");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}
