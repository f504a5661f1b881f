//! The real gateway over a socket with real Ed25519-signed tokens: every method × every role
//! (issue 9 §2) and the tenant scope (§3). Backends are an address nobody listens on, so a call
//! the gateway lets through answers `UNAVAILABLE` and one it refuses `PERMISSION_DENIED`.

use std::sync::Arc;

use dps_gateway::policy::{self, Role};
use dps_gateway::{Backends, DevIssuer};
use dps_platform::server::Readiness;
use dps_test_support::TestServer;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

const CLOSED: &str = "http://127.0.0.1:1";

async fn gateway() -> (DevIssuer, TestServer) {
    let issuer = DevIssuer::load_or_create(None, "dps-test", "dps-suite").expect("key");
    let backends = Backends {
        subject_requests: CLOSED.into(),
        breaches: CLOSED.into(),
        retention: CLOSED.into(),
        consent: CLOSED.into(),
    };
    let routes = dps_gateway::routes(Arc::new(issuer.verifier()), &backends);
    let server = dps_test_support::spawn(routes, Readiness::Always).await;
    (issuer, server)
}

/// Calls `path` with an empty message (the gateway decides before any message is read).
async fn call(channel: Channel, path: &str, token: &str, act_for: Option<&str>) -> Code {
    let mut request = tonic::Request::new(());
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
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = PathAndQuery::try_from(path.to_owned()).expect("path");
    match grpc.unary(request, path, codec).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn every_method_is_allowed_to_exactly_the_roles_the_table_names() {
    let (issuer, server) = gateway().await;
    let mut checked = 0;
    for (role, code) in Role::ALL {
        let token = issuer.token("acme-north", "someone", &[code], 600);
        for (path, allowed) in policy::TABLE {
            let got = call(server.channel(), path, &token, None).await;
            let want = if allowed.contains(&role) {
                Code::Unavailable
            } else {
                Code::PermissionDenied
            };
            assert_eq!(got, want, "{code} calling {path}");
            checked += 1;
        }
    }
    assert_eq!(checked, Role::ALL.len() * policy::TABLE.len());
    // A method of a known service that is not in the table, and a token without known roles.
    let dpo = issuer.token("acme-north", "jane", &["dpo"], 600);
    let unlisted = "/dps.consent.v1.ConsentService/DropAllTables";
    assert_eq!(
        call(server.channel(), unlisted, &dpo, None).await,
        Code::PermissionDenied
    );
    let nobody = issuer.token("acme-north", "jane", &["superuser"], 600);
    let listed = "/dps.consent.v1.ConsentService/ListPurposes";
    assert_eq!(
        call(server.channel(), listed, &nobody, None).await,
        Code::PermissionDenied
    );
    assert_eq!(
        call(server.channel(), listed, "not-a-token", None).await,
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn only_group_wide_roles_act_for_another_tenant_and_only_where_granted() {
    let (issuer, server) = gateway().await;
    let list = "/dps.subject_requests.v1.SubjectRequestsService/ListSubjectRequests";
    let staff = issuer.token_for_group("acme-north", "sam", &["staff"], &["*"], 600);
    assert_eq!(
        call(server.channel(), list, &staff, Some("acme-south")).await,
        Code::PermissionDenied
    );
    assert_eq!(
        call(server.channel(), list, &staff, Some("acme-north")).await,
        Code::Unavailable
    );
    let dpo = issuer.token_for_group("acme-north", "jane", &["dpo"], &["acme-south"], 600);
    assert_eq!(
        call(server.channel(), list, &dpo, Some("acme-south")).await,
        Code::Unavailable
    );
    assert_eq!(
        call(server.channel(), list, &dpo, Some("acme-east")).await,
        Code::PermissionDenied
    );
    // In another tenant only the group-wide role travels: a DPO who is also a health
    // professional at home cannot approve a health release elsewhere.
    let approve = "/dps.subject_requests.v1.SubjectRequestsService/ApproveHealthRelease";
    let both = issuer.token_for_group(
        "acme-north",
        "jo",
        &["dpo", "health_professional"],
        &["*"],
        600,
    );
    assert_eq!(
        call(server.channel(), approve, &both, None).await,
        Code::Unavailable
    );
    assert_eq!(
        call(server.channel(), approve, &both, Some("acme-south")).await,
        Code::PermissionDenied
    );
}
