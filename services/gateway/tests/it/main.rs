//! The real gateway over a socket with real Ed25519-signed tokens and its audit log on a real
//! Postgres: every method × every role (issue 9 §2), the tenant scope (§3) and the audit chain
//! (§6). Backends are an address nobody listens on, so a call the gateway lets through answers
//! `UNAVAILABLE` and one it refuses `PERMISSION_DENIED` or `UNAUTHENTICATED`.

mod audit;
mod jwks;
mod limits;
mod roles;
mod web;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dps_gateway::{AuditConfig, AuditLog, Backends, DevIssuer};
use dps_platform::server::{Exposure, Readiness};
use dps_test_support::{TestDb, TestServer};
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

const CLOSED: &str = "http://127.0.0.1:1";
/// The browser origin allowed to call over gRPC-Web.
const CONSOLE: &str = "https://console.example.org";

struct Gateway {
    issuer: DevIssuer,
    server: TestServer,
    db: TestDb,
    audit: AuditLog,
    head_file: PathBuf,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(dir) = self.head_file.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn gateway() -> Gateway {
    gateway_with(CLOSED, dps_gateway::Limits::default()).await
}

async fn gateway_with(backend: &str, limits: dps_gateway::Limits) -> Gateway {
    let db = TestDb::new(&[&dps_gateway::MIGRATOR]).await;
    let issuer = DevIssuer::load_or_create(None, "dps-test", "dps-suite").expect("key");
    let backends = Backends {
        subject_requests: backend.into(),
        breaches: backend.into(),
        retention: backend.into(),
        consent: backend.into(),
    };
    // A directory of its own: verification reads every head file beside this one.
    let head_dir = std::env::temp_dir().join(format!("dps-heads-{}", db.name()));
    std::fs::create_dir_all(&head_dir).expect("head directory");
    let head_file = head_dir.join("gateway.jsonl");
    let config = AuditConfig {
        key_file: None,
        head_file: Some(head_file.clone()),
        export_every: Duration::from_secs(3600),
    };
    let audit = dps_gateway::start_audit(db.pool().clone(), &config).expect("audit");
    let routes = dps_gateway::routes(
        Arc::new(issuer.verifier()),
        &backends,
        audit.clone(),
        limits,
    );
    let exposure = Exposure::External {
        cors_origins: vec![http::HeaderValue::from_static(CONSOLE)],
    };
    let server = dps_test_support::spawn_exposed(routes, Readiness::Always, exposure).await;
    Gateway {
        issuer,
        server,
        db,
        audit,
        head_file,
    }
}

impl Gateway {
    fn token(&self, roles: &[&str]) -> String {
        self.issuer.token("acme-north", "someone", roles, 600)
    }
}

/// Calls `path` with an empty message (the gateway decides before any message is read).
async fn call(channel: Channel, path: &str, token: &str, act_for: Option<&str>) -> Code {
    call_with(channel, path, token, act_for, ()).await
}

/// Calls `path` with `message`, returning the status code.
async fn call_with<M: prost::Message + Send + Sync + 'static>(
    channel: Channel,
    path: &str,
    token: &str,
    act_for: Option<&str>,
    message: M,
) -> Code {
    let mut request = tonic::Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).expect("ascii"),
    );
    if let Some(tenant) = act_for {
        metadata.insert(
            "dps-tenant",
            MetadataValue::try_from(tenant).expect("ascii"),
        );
    }
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<M, ()>::default();
    let path = PathAndQuery::try_from(path.to_owned()).expect("path");
    match grpc.unary(request, path, codec).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}
