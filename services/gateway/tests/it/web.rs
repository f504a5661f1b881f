//! Issue 9 §5: a browser reaches the suite over gRPC-Web (HTTP/1.1), with CORS for the configured
//! console origin only; the same authentication, role table and audit apply.

use super::{CONSOLE, Gateway, gateway};

const LIST: &str = "/dps.consent.v1.ConsentService/ListPurposes";

/// One HTTP/1.1 exchange; returns the status, the headers (lower-case names) and the body.
async fn http1(
    gw: &Gateway,
    method: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let url = format!("http://{}{LIST}", gw.server.addr());
    let method = method.to_owned();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut request = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(&url);
        for (k, v) in &headers {
            request = request.header(k, v);
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut response = agent
            .run(request.body(body).expect("request"))
            .expect("HTTP/1.1 exchange");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = response.body_mut().read_to_vec().expect("body");
        (status, headers, body)
    })
    .await
    .expect("exchange")
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The gRPC status of a gRPC-Web answer: in the headers (trailers-only) or in the trailer frame.
fn grpc_status(headers: &[(String, String)], body: &[u8]) -> Option<String> {
    if let Some(status) = header(headers, "grpc-status") {
        return Some(status.to_owned());
    }
    let mut rest = body;
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let (frame, next) = rest[5..].split_at(len.min(rest.len() - 5));
        if rest[0] & 0x80 != 0 {
            let text = String::from_utf8_lossy(frame);
            return text
                .lines()
                .find_map(|l| l.strip_prefix("grpc-status:"))
                .map(|v| v.trim().to_owned());
        }
        rest = next;
    }
    None
}

fn web_call(token: Option<String>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/grpc-web+proto".to_owned()),
        ("x-grpc-web", "1".to_owned()),
        ("origin", CONSOLE.to_owned()),
    ];
    if let Some(token) = token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    headers
}

#[tokio::test]
async fn a_browser_call_over_grpc_web_is_authenticated_authorised_and_forwarded() {
    let gw = gateway().await;
    let empty = vec![0, 0, 0, 0, 0];
    // Allowed: it reaches the (closed) backend.
    let (status, headers, body) = http1(
        &gw,
        "POST",
        &web_call(Some(gw.token(&["staff"]))),
        empty.clone(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(grpc_status(&headers, &body).as_deref(), Some("14"));
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some(CONSOLE)
    );
    // Without a token, and with a role the table does not allow.
    let (_, headers, body) = http1(&gw, "POST", &web_call(None), empty.clone()).await;
    assert_eq!(grpc_status(&headers, &body).as_deref(), Some("16"));
    let (_, headers, body) = http1(
        &gw,
        "POST",
        &web_call(Some(gw.token(&["superuser"]))),
        empty,
    )
    .await;
    assert_eq!(grpc_status(&headers, &body).as_deref(), Some("7"));
    let report = gw.audit.verify().await.expect("verify");
    assert_eq!(
        report.checked, 3,
        "browser calls are audited like any other"
    );
}

#[tokio::test]
async fn cors_preflight_answers_the_console_origin_and_no_other() {
    let gw = gateway().await;
    let preflight = |origin: &str| {
        vec![
            ("origin", origin.to_owned()),
            ("access-control-request-method", "POST".to_owned()),
            (
                "access-control-request-headers",
                "authorization,content-type,x-grpc-web".to_owned(),
            ),
        ]
    };
    let (status, headers, _) = http1(&gw, "OPTIONS", &preflight(CONSOLE), Vec::new()).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some(CONSOLE)
    );
    let allowed = header(&headers, "access-control-allow-headers").unwrap_or_default();
    assert!(allowed.contains("authorization"), "{allowed}");
    let (_, headers, _) = http1(
        &gw,
        "OPTIONS",
        &preflight("https://evil.example.net"),
        Vec::new(),
    )
    .await;
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
}
