//! Issue 9 §1: keys from the identity provider's JWKS URL follow rotation without a restart, and
//! random `kid`s cannot make the gateway hammer the provider.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dps_gateway::auth::ON_DEMAND_RELOADS_PER_MINUTE;
use dps_gateway::{AuditConfig, Backends, DevIssuer, KeySource, Limits, Verifier};
use dps_platform::server::Readiness;
use dps_test_support::TestDb;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;

use super::{CLOSED, call};

/// A minimal identity provider: serves `body` at any path over HTTP/1.1 and counts fetches.
struct Provider {
    url: String,
    body: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

async fn provider(body: String) -> Provider {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
    let body = Arc::new(Mutex::new(body));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (Arc::clone(&body), Arc::clone(&fetches));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            counted.fetch_add(1, Ordering::SeqCst);
            let json = served.lock().expect("lock").clone();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                json.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    Provider { url, body, fetches }
}

/// One JWKS document holding the keys of `issuers`.
fn key_set(issuers: &[&DevIssuer]) -> String {
    let keys: Vec<serde_json::Value> = issuers
        .iter()
        .flat_map(|i| {
            let set: serde_json::Value = serde_json::from_str(&i.jwks_json()).expect("json");
            set["keys"].as_array().cloned().unwrap_or_default()
        })
        .collect();
    serde_json::json!({ "keys": keys }).to_string()
}

fn issuer() -> DevIssuer {
    DevIssuer::load_or_create(None, "https://id.example.org", "dps-suite").expect("key")
}

async fn gateway_on(verifier: Arc<Verifier>) -> (TestDb, dps_test_support::TestServer) {
    let db = TestDb::new(&[&dps_gateway::MIGRATOR]).await;
    let audit = dps_gateway::start_audit(
        db.pool().clone(),
        &AuditConfig {
            key_file: None,
            head_file: None,
            export_every: Duration::from_secs(3600),
        },
    )
    .expect("audit");
    let backends = Backends {
        subject_requests: CLOSED.into(),
        breaches: CLOSED.into(),
        retention: CLOSED.into(),
        consent: CLOSED.into(),
    };
    let routes = dps_gateway::routes(verifier, &backends, audit, Limits::default());
    let server = dps_test_support::spawn(routes, Readiness::Always).await;
    (db, server)
}

const LIST: &str = "/dps.consent.v1.ConsentService/ListPurposes";

#[tokio::test]
async fn a_key_rotated_in_at_the_provider_is_accepted_and_one_rotated_out_is_not() {
    let (old, new) = (issuer(), issuer());
    let idp = provider(key_set(&[&old])).await;
    let verifier = Arc::new(
        Verifier::load(
            KeySource::Url(idp.url.clone()),
            "https://id.example.org",
            "dps-suite",
        )
        .await
        .expect("keys"),
    );
    let (_db, gw) = gateway_on(Arc::clone(&verifier)).await;
    let token = |i: &DevIssuer| i.token("acme-north", "sam", &["staff"], 600);

    assert_eq!(
        call(gw.channel(), LIST, &token(&old), None).await,
        Code::Unavailable
    );
    // Signed with a key the provider does not publish yet: refused after one look.
    assert_eq!(
        call(gw.channel(), LIST, &token(&new), None).await,
        Code::Unauthenticated
    );
    assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);

    // The provider publishes the new key: the next token with its kid reloads the set.
    *idp.body.lock().expect("lock") = key_set(&[&old, &new]);
    assert_eq!(
        call(gw.channel(), LIST, &token(&new), None).await,
        Code::Unavailable
    );
    assert_eq!(
        call(gw.channel(), LIST, &token(&old), None).await,
        Code::Unavailable
    );

    // The old key is withdrawn; the periodic refresh drops it.
    *idp.body.lock().expect("lock") = key_set(&[&new]);
    assert_eq!(verifier.reload().await.expect("reload"), 1);
    assert_eq!(
        call(gw.channel(), LIST, &token(&old), None).await,
        Code::Unauthenticated
    );
    assert_eq!(
        call(gw.channel(), LIST, &token(&new), None).await,
        Code::Unavailable
    );
}

#[tokio::test]
async fn random_kids_reload_the_key_set_at_most_ten_times_a_minute() {
    let known = issuer();
    let idp = provider(key_set(&[&known])).await;
    let verifier = Arc::new(
        Verifier::load(
            KeySource::Url(idp.url.clone()),
            "https://id.example.org",
            "dps-suite",
        )
        .await
        .expect("keys"),
    );
    let (_db, gw) = gateway_on(verifier).await;
    for _ in 0..40 {
        let stranger = issuer();
        let token = stranger.token("acme-north", "mallory", &["dpo"], 600);
        assert_eq!(
            call(gw.channel(), LIST, &token, None).await,
            Code::Unauthenticated
        );
    }
    assert_eq!(
        idp.fetches.load(Ordering::SeqCst),
        1 + ON_DEMAND_RELOADS_PER_MINUTE,
        "the first load, then at most ten"
    );
    // Known keys still work while unknown ones are throttled.
    let token = known.token("acme-north", "sam", &["staff"], 600);
    assert_eq!(
        call(gw.channel(), LIST, &token, None).await,
        Code::Unavailable
    );
}

#[tokio::test]
async fn a_provider_that_serves_garbage_keeps_the_current_keys() {
    let known = issuer();
    let idp = provider(key_set(&[&known])).await;
    let verifier = Verifier::load(
        KeySource::Url(idp.url.clone()),
        "https://id.example.org",
        "dps-suite",
    )
    .await
    .expect("keys");
    *idp.body.lock().expect("lock") = "<html>maintenance</html>".into();
    assert!(verifier.reload().await.is_err());
    let token = known.token("acme-north", "sam", &["staff"], 600);
    assert!(verifier.verify(&token).is_ok());
    // And a provider that cannot be reached at start fails the start.
    assert!(
        Verifier::load(
            KeySource::Url(format!("{CLOSED}/jwks.json")),
            "https://id.example.org",
            "dps-suite"
        )
        .await
        .is_err()
    );
}
