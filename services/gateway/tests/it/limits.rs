//! Issue 9 §4: deadlines, a backend that is down or hung, message size and the per-principal
//! rate, through the real gateway.

use std::time::{Duration, Instant};

use dps_gateway::Limits;
use dps_proto::subject_requests::v1::GetSubjectRequestRequest;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

use super::{CLOSED, Gateway, call, gateway_with};

const GET: &str = "/dps.subject_requests.v1.SubjectRequestsService/GetSubjectRequest";

/// A backend that accepts connections and never says a word.
async fn hung_backend() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}

/// Calls with `deadline` sent as `grpc-timeout` but not enforced by the client itself, whose own
/// timer answers CANCELLED: on a loaded machine it could fire before the gateway's answer arrives,
/// and the test is about the gateway's answer.
async fn get_with_deadline(gw: &Gateway, name: String, deadline: Option<Duration>) -> Code {
    let timeout = deadline
        .map(|d| http::HeaderValue::try_from(format!("{}m", d.as_millis())).expect("ascii"));
    let channel = tower::ServiceBuilder::new()
        .map_request(move |mut request: http::Request<tonic::body::Body>| {
            if let Some(timeout) = &timeout {
                request
                    .headers_mut()
                    .insert("grpc-timeout", timeout.clone());
            }
            request
        })
        .service(gw.server.channel());
    let mut request = tonic::Request::new(GetSubjectRequestRequest { name });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", gw.token(&["staff"]))
            .parse()
            .expect("ascii"),
    );
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<GetSubjectRequestRequest, ()>::default();
    match grpc
        .unary(request, PathAndQuery::from_static(GET), codec)
        .await
    {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn a_hung_backend_is_deadline_exceeded_at_the_callers_deadline_not_cancelled() {
    let gw = gateway_with(&hung_backend().await, Limits::default()).await;
    let started = Instant::now();
    let code = get_with_deadline(&gw, "x".into(), Some(Duration::from_millis(400))).await;
    assert_eq!(code, Code::DeadlineExceeded);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_millis(1_500),
        "{took:?}"
    );
    // The row says so too (written just after the answer).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = dps_gateway::audit::store::AuditStore::new(gw.db.pool().clone())
        .list(
            &dps_gateway::audit::store::EventFilter {
                tenant: "acme-north".into(),
                ..Default::default()
            },
            5,
        )
        .await
        .expect("list");
    assert_eq!(rows[0].record.status_code, Code::DeadlineExceeded as i32);
}

/// The caller gives up (no deadline told): the gateway drops the call, and its row still says so.
#[tokio::test]
async fn a_call_the_caller_cancels_is_audited_as_cancelled() {
    let gw = gateway_with(&hung_backend().await, Limits::default()).await;
    let call = get_with_deadline(&gw, "x".into(), None);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), call)
            .await
            .is_err(),
        "the hung backend never answers"
    );
    let store = dps_gateway::audit::store::AuditStore::new(gw.db.pool().clone());
    let filter = dps_gateway::audit::store::EventFilter {
        tenant: "acme-north".into(),
        ..Default::default()
    };
    let waited = Instant::now();
    let row = loop {
        if let Some(row) = store
            .list(&filter, 5)
            .await
            .expect("list")
            .into_iter()
            .next()
        {
            break row;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(5),
            "no row for the cancelled call"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(row.record.method, GET);
    assert_eq!(row.record.status_code, Code::Cancelled as i32);
    assert!(gw.audit.verify().await.expect("verify").intact());
}

#[tokio::test]
async fn a_call_without_a_deadline_still_ends_at_the_gateways_default() {
    let limits = Limits {
        default_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let gw = gateway_with(&hung_backend().await, limits).await;
    let started = Instant::now();
    assert_eq!(
        get_with_deadline(&gw, "x".into(), None).await,
        Code::DeadlineExceeded
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_backend_that_is_down_is_unavailable_well_within_the_deadline() {
    let gw = gateway_with(CLOSED, Limits::default()).await;
    let started = Instant::now();
    let code = get_with_deadline(&gw, "x".into(), Some(Duration::from_secs(10))).await;
    assert_eq!(code, Code::Unavailable);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_message_over_the_limit_is_resource_exhausted_and_never_forwarded() {
    let gw = gateway_with(&hung_backend().await, Limits::default()).await;
    let huge = "x".repeat(dps_gateway::proxy::MAX_MESSAGE_BYTES + 1);
    let started = Instant::now();
    assert_eq!(
        get_with_deadline(&gw, huge, Some(Duration::from_secs(10))).await,
        Code::ResourceExhausted
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused, not sent to the hung backend"
    );
}

#[tokio::test]
async fn each_principal_gets_its_own_rate() {
    let limits = Limits {
        rate_per_second: 5,
        ..Limits::default()
    };
    let gw = gateway_with(CLOSED, limits).await;
    let staff = gw.token(&["staff"]);
    let mut codes = Vec::new();
    for _ in 0..12 {
        codes.push(call(gw.server.channel(), GET, &staff, None).await);
    }
    let limited = codes
        .iter()
        .filter(|c| **c == Code::ResourceExhausted)
        .count();
    assert!(
        (1..=2).contains(&limited),
        "a burst of 10, then the rate: {codes:?}"
    );
    let other = gw
        .issuer
        .token("acme-north", "someone-else", &["staff"], 600);
    assert_eq!(
        call(gw.server.channel(), GET, &other, None).await,
        Code::Unavailable
    );
}
