//! The breaches service over a real socket against a real, freshly migrated Postgres database.

use dps_platform::error::field_violations;
use dps_platform::proto_time;
use dps_proto::breaches::v1 as pb;
use dps_test_support::{Caller, TestDb, TestServer, boxed_caller, serve_on_fresh_db};
use pb::breaches_service_client::BreachesServiceClient;
use time::{Duration, OffsetDateTime};
use tonic::Code;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

mod assessment;
mod followup;
mod listing;
mod reports;

type Client = BreachesServiceClient<InterceptedService<Channel, Caller>>;

async fn start() -> (TestDb, TestServer) {
    serve_on_fresh_db(&dps_breaches::MIGRATOR, dps_breaches::routes).await
}

fn client(server: &TestServer, tenant: &str) -> Client {
    BreachesServiceClient::with_interceptor(server.channel(), boxed_caller(tenant))
}

/// `hours` hours ago, as a protobuf timestamp.
fn hours_ago(hours: i64) -> Option<prost_types::Timestamp> {
    Some(proto_time::to_proto(
        OffsetDateTime::now_utc() - Duration::hours(hours),
    ))
}

/// Sent last night, noticed this morning, escalated to the controller an hour ago.
fn misdirected_email() -> pb::Incident {
    pb::Incident {
        title: "Care plan emailed to wrong family".into(),
        occur_time: hours_ago(14),
        discover_time: hours_ago(3),
        aware_time: hours_ago(1),
        reported_by: "Care worker, Rose House".into(),
        description: "Mrs A's care plan was emailed to the B family instead of the A family".into(),
        systems: vec!["email".into()],
        ..Default::default()
    }
}

fn create(incident: pb::Incident) -> pb::CreateIncidentRequest {
    pb::CreateIncidentRequest {
        incident: Some(incident),
        request_id: String::new(),
    }
}

async fn stored_incidents(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM breaches.incidents")
        .fetch_one(db.pool())
        .await
        .expect("count")
}

#[tokio::test]
async fn a_recorded_incident_can_be_read_back_with_its_times_apart() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let sent = misdirected_email();
    let created = client
        .create_incident(create(sent.clone()))
        .await
        .expect("created")
        .into_inner();
    assert!(created.name.starts_with("incidents/"), "{}", created.name);
    assert_eq!(created.title, sent.title);
    let seconds = |t: Option<prost_types::Timestamp>| t.map(|t| t.seconds);
    assert_eq!(seconds(created.occur_time), seconds(sent.occur_time));
    assert_eq!(seconds(created.discover_time), seconds(sent.discover_time));
    assert_eq!(seconds(created.aware_time), seconds(sent.aware_time));
    assert!(created.create_time.is_some());
    let read = client
        .get_incident(pb::GetIncidentRequest {
            name: created.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, created);
}

#[tokio::test]
async fn occurrence_and_discovery_may_be_unknown() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let created = client
        .create_incident(create(pb::Incident {
            occur_time: None,
            discover_time: None,
            ..misdirected_email()
        }))
        .await
        .expect("created")
        .into_inner();
    assert_eq!(created.occur_time, None);
    assert_eq!(created.discover_time, None);
    assert!(created.aware_time.is_some());
    let read = client
        .get_incident(pb::GetIncidentRequest {
            name: created.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, created);
}

#[tokio::test]
async fn a_retried_create_returns_the_original_and_records_one_incident() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let request = pb::CreateIncidentRequest {
        incident: Some(misdirected_email()),
        request_id: "0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
    };
    let first = client
        .create_incident(request.clone())
        .await
        .expect("first")
        .into_inner();
    let second = client
        .create_incident(request)
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first, second);
    assert_eq!(stored_incidents(&db).await, 1);
}

#[tokio::test]
async fn missing_fields_are_all_named_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_incident(pb::CreateIncidentRequest {
            incident: Some(pb::Incident {
                title: " ".into(),
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
            "incident.title",
            "incident.aware_time",
            "incident.reported_by"
        ]
    );
    assert_eq!(stored_incidents(&db).await, 0);

    let status = client
        .create_incident(pb::CreateIncidentRequest::default())
        .await
        .expect_err("no incident");
    assert_eq!(
        field_violations(&status),
        [("incident".to_owned(), "required".to_owned())]
    );
    let status = client
        .create_incident(create(pb::Incident {
            title: "x".repeat(201),
            aware_time: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: -1,
            }),
            ..misdirected_email()
        }))
        .await
        .expect_err("too long and out of range");
    assert_eq!(
        field_violations(&status),
        [
            ("incident.aware_time".to_owned(), "out of range".to_owned()),
            (
                "incident.title".to_owned(),
                "at most 200 characters".to_owned()
            ),
        ]
    );
    assert_eq!(stored_incidents(&db).await, 0);
}

#[tokio::test]
async fn awareness_before_discovery_is_refused() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_incident(create(pb::Incident {
            occur_time: None,
            discover_time: hours_ago(1),
            aware_time: hours_ago(2),
            ..misdirected_email()
        }))
        .await
        .expect_err("out of order");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        [(
            "incident.discover_time".to_owned(),
            "must not be after aware_time".to_owned()
        )]
    );
    assert_eq!(stored_incidents(&db).await, 0);
}

#[tokio::test]
async fn occurrence_after_discovery_is_refused() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_incident(create(pb::Incident {
            occur_time: hours_ago(2),
            discover_time: hours_ago(3),
            ..misdirected_email()
        }))
        .await
        .expect_err("out of order");
    assert_eq!(
        field_violations(&status),
        [(
            "incident.occur_time".to_owned(),
            "must not be after discover_time".to_owned()
        )]
    );
    assert_eq!(stored_incidents(&db).await, 0);
}

#[tokio::test]
async fn awareness_in_the_future_is_refused() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .create_incident(create(pb::Incident {
            aware_time: hours_ago(-1),
            ..misdirected_email()
        }))
        .await
        .expect_err("future");
    assert_eq!(
        field_violations(&status),
        [(
            "incident.aware_time".to_owned(),
            "must not be in the future".to_owned()
        )]
    );
    assert_eq!(stored_incidents(&db).await, 0);
}

#[tokio::test]
async fn unknown_and_malformed_names_are_told_apart() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let status = client
        .get_incident(pb::GetIncidentRequest {
            name: "incidents/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_incident(pb::GetIncidentRequest {
            name: "incidents/42".into(),
        })
        .await
        .expect_err("malformed");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&status)[0].0, "name");
}

#[tokio::test]
async fn another_tenant_cannot_learn_of_an_incident() {
    let (_db, server) = start().await;
    let created = client(&server, "acme-north")
        .create_incident(create(misdirected_email()))
        .await
        .expect("created")
        .into_inner();
    let status = client(&server, "acme-south")
        .get_incident(pb::GetIncidentRequest { name: created.name })
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
    let mut bare = BreachesServiceClient::new(server.channel());
    let status = bare
        .create_incident(create(misdirected_email()))
        .await
        .expect_err("no context");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(stored_incidents(&db).await, 0);
}

/// A breach of confidentiality, aware `hours` hours ago, recorded for `client`'s tenant.
async fn breach(client: &mut Client, title: &str, hours: i64) -> pb::Incident {
    client
        .create_incident(create(pb::Incident {
            title: title.into(),
            occur_time: None,
            discover_time: None,
            aware_time: hours_ago(hours),
            classification: Some(pb::Classification {
                personal_data_breach: true,
                serious: false,
                kinds: vec![pb::BreachKind::Confidentiality.into()],
            }),
            ..misdirected_email()
        }))
        .await
        .expect("breach recorded")
        .into_inner()
}

/// ENISA inputs.
fn inputs(
    dpc: f64,
    ei: f64,
    c: pb::Loss,
    i: pb::Loss,
    a: pb::Loss,
    malicious: bool,
) -> pb::SeverityInputs {
    pb::SeverityInputs {
        data_processing_context: dpc,
        ease_of_identification: ei,
        confidentiality: c.into(),
        integrity: i.into(),
        availability: a.into(),
        malicious,
    }
}

/// An assessment of `inputs` accepting the computed outcome.
fn assessment(inputs: pb::SeverityInputs) -> pb::RiskAssessment {
    pb::RiskAssessment {
        inputs: Some(inputs),
        likelihood: pb::Likelihood::Likely.into(),
        approximate_subjects: 1,
        approximate_records: 1,
        ..Default::default()
    }
}

async fn assess(
    client: &mut Client,
    name: &str,
    assessment: pb::RiskAssessment,
) -> Result<pb::Incident, tonic::Status> {
    client
        .assess_risk(pb::AssessRiskRequest {
            name: name.into(),
            assessment: Some(assessment),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Saves settings naming the DPO, under `jurisdiction`.
async fn settings(client: &mut Client, jurisdiction: dps_proto::common::v1::Jurisdiction) {
    client
        .update_breach_settings(pb::UpdateBreachSettingsRequest {
            settings: Some(pb::BreachSettings {
                jurisdiction: jurisdiction.into(),
                organisation: "LV Care Group".into(),
                dpo: Some(pb::DpoContact {
                    name: "Jo Compliance".into(),
                    designation: "Compliance and Special Projects Manager".into(),
                    work_address: "1 Harbour Street".into(),
                    telephone: "01534 000000".into(),
                    email: "dpo@example.org".into(),
                }),
                ..Default::default()
            }),
        })
        .await
        .expect("settings saved");
}

/// Rows in a table of the schema.
async fn count(db: &TestDb, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM breaches.{table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await
        .expect("count")
}

fn fields(status: &tonic::Status) -> Vec<String> {
    field_violations(status)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}
