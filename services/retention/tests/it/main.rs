//! The retention service over a real socket against a real, freshly migrated Postgres database.
//! Dates are chosen in the past of any run (today is after 2026-12-05), so due and not-due are
//! stable; hand-worked results are in comments.

mod disposal;
mod register_assets;
mod registry;
mod schedule;

use dps_proto::retention::v1 as pb;
use dps_test_support::{
    Caller, TestDb, TestServer, boxed_caller, caller_with_roles, serve_on_fresh_db,
};
use pb::retention_service_client::RetentionServiceClient;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

type Client = RetentionServiceClient<InterceptedService<Channel, Caller>>;

async fn start() -> (TestDb, TestServer) {
    serve_on_fresh_db(&dps_retention::MIGRATOR, dps_retention::routes).await
}

/// A client calling as `tenant` with the `dpo` role.
fn client(server: &TestServer, tenant: &str) -> Client {
    RetentionServiceClient::with_interceptor(server.channel(), boxed_caller(tenant))
}

/// A client calling as `tenant` with these roles.
fn client_as(server: &TestServer, tenant: &str, caller: &str, roles: &[&str]) -> Client {
    RetentionServiceClient::with_interceptor(
        server.channel(),
        Box::new(caller_with_roles(tenant, caller, roles)),
    )
}

async fn count(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db.pool())
        .await
        .expect("count")
}

/// A record of `class` created on `created`, with the event dates set by `f`.
fn record(
    class: &str,
    external_id: &str,
    created: &str,
    f: impl FnOnce(&mut pb::Record),
) -> pb::Record {
    let mut r = pb::Record {
        record_class_code: class.into(),
        person_id: "person-1".into(),
        system: "care-records".into(),
        external_id: external_id.into(),
        create_date: created.into(),
        ..Default::default()
    };
    f(&mut r);
    r
}

async fn register(client: &mut Client, record: pb::Record) -> pb::Record {
    client
        .register_record(pb::RegisterRecordRequest {
            record: Some(record),
        })
        .await
        .expect("registered")
        .into_inner()
}

fn fields(status: &tonic::Status) -> Vec<String> {
    dps_platform::error::field_violations(status)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}
