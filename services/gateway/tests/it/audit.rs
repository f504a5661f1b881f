//! Issue 9 §6: every call audited, the hash chain verified, tampering found, no fork under
//! concurrent writers, append-only for the runtime role, and fail-closed when auditing fails.

use dps_gateway::audit::AuditRecord;
use dps_gateway::audit::store::{AuditStore, EventFilter};
use dps_proto::gateway::v1 as pb;
use dps_proto::subject_requests::v1::GetSubjectRequestRequest;
use sqlx::Connection as _;
use tonic::Code;

use super::{Gateway, call, call_with, gateway};

const GET: &str = "/dps.subject_requests.v1.SubjectRequestsService/GetSubjectRequest";
const CREATE: &str = "/dps.subject_requests.v1.SubjectRequestsService/CreateSubjectRequest";
const LIST_AUDIT: &str = "/dps.gateway.v1.AuditService/ListAuditEvents";
const NAME: &str = "subjectRequests/0193f1a4-0000-7000-8000-000000000001";

async fn verify(gw: &Gateway) -> dps_gateway::audit::Report {
    gw.audit.verify().await.expect("verify")
}

/// Runs `sql` on the test database as the superuser (a tamperer with database access).
async fn as_admin(gw: &Gateway, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(gw.db.admin_url().expose())
        .await
        .expect("admin");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .expect("tamper");
}

/// Makes `n` audited calls (denied ones: no backend needed).
async fn calls(gw: &Gateway, n: usize) {
    let auditor = gw.token(&["auditor"]);
    for _ in 0..n {
        let code = call(gw.server.channel(), CREATE, &auditor, None).await;
        assert_eq!(code, Code::PermissionDenied);
    }
}

#[tokio::test]
async fn every_call_is_audited_with_its_outcome_and_the_names_it_named() {
    let gw = gateway().await;
    let channel = || gw.server.channel();
    assert_eq!(
        call(channel(), GET, "garbage", None).await,
        Code::Unauthenticated
    );
    let auditor = gw.token(&["auditor"]);
    assert_eq!(
        call(channel(), CREATE, &auditor, None).await,
        Code::PermissionDenied
    );
    let staff = gw.token(&["staff"]);
    let get = GetSubjectRequestRequest { name: NAME.into() };
    assert_eq!(
        call_with(channel(), GET, &staff, None, get).await,
        Code::Unavailable
    );

    let listed = {
        let mut request = tonic::Request::new(pb::ListAuditEventsRequest::default());
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {auditor}").parse().expect("ascii"),
        );
        pb::audit_service_client::AuditServiceClient::new(channel())
            .list_audit_events(request)
            .await
            .expect("auditors list")
            .into_inner()
            .audit_events
    };
    let seen: Vec<(&str, i32, &str)> = listed
        .iter()
        .map(|e| (e.method.as_str(), e.status_code, e.caller.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (GET, Code::Unavailable as i32, "someone"),
            (CREATE, Code::PermissionDenied as i32, "someone"),
        ],
        "newest first, this tenant's only"
    );
    assert_eq!(listed[0].resource_names, [NAME]);
    assert_eq!(listed[0].roles, ["staff"]);
    assert!(listed[1].refusal_cause.contains("role table"));

    // The unauthenticated call has no tenant; its real cause is kept, never told to the caller.
    let store = AuditStore::new(gw.db.pool().clone());
    let anonymous = store.list(&EventFilter::default(), 10).await.expect("list");
    assert_eq!(anonymous.len(), 1);
    assert_eq!(
        anonymous[0].record.status_code,
        Code::Unauthenticated as i32
    );
    assert!(!anonymous[0].record.refusal_cause.is_empty());

    // The listing itself is audited once it is answered.
    let report = verify(&gw).await;
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.checked, 4);
    let last = store
        .list(
            &EventFilter {
                tenant: "acme-north".into(),
                ..EventFilter::default()
            },
            1,
        )
        .await
        .expect("list");
    assert_eq!(last[0].record.method, LIST_AUDIT);
}

#[tokio::test]
async fn a_changed_row_is_found_at_its_sequence() {
    let gw = gateway().await;
    calls(&gw, 5).await;
    assert!(verify(&gw).await.intact());
    as_admin(
        &gw,
        "UPDATE gateway.audit_events SET caller = 'nobody' WHERE sequence = 3",
    )
    .await;
    let report = verify(&gw).await;
    assert!(!report.intact());
    assert_eq!(report.first_broken, 3, "{report:?}");
    assert_eq!(report.checked, 2);
}

#[tokio::test]
async fn a_deleted_tail_is_found_against_the_exported_head() {
    let gw = gateway().await;
    calls(&gw, 5).await;
    assert_eq!(gw.audit.export_head().await.expect("export"), 5);
    // The chain alone cannot tell that its last rows are gone...
    as_admin(&gw, "DELETE FROM gateway.audit_events WHERE sequence >= 4").await;
    let report = verify(&gw).await;
    // ...the signed head outside the database can.
    assert!(!report.intact());
    assert_eq!((report.first_broken, report.exported_head), (4, 5));
    assert!(report.problem.contains("deleted"), "{}", report.problem);
}

#[tokio::test]
async fn a_rewritten_chain_is_found_against_the_exported_head() {
    let gw = gateway().await;
    calls(&gw, 5).await;
    gw.audit.export_head().await.expect("export");
    // Someone with database access deletes rows 3..5 and appends a consistent new tail.
    as_admin(&gw, "DELETE FROM gateway.audit_events WHERE sequence >= 3").await;
    let forger = AuditStore::new(gw.db.pool().clone());
    let fake: Vec<AuditRecord> = (0..3)
        .map(|_| AuditRecord::new("/forged", time::OffsetDateTime::now_utc()))
        .collect();
    forger.append(&fake).await.expect("append");
    let report = verify(&gw).await;
    assert_eq!(report.first_broken, 5, "{report:?}");
    assert!(report.problem.contains("rewritten"), "{}", report.problem);
}

#[tokio::test]
async fn the_runtime_role_can_append_but_never_change_or_remove() {
    let gw = gateway().await;
    calls(&gw, 1).await;
    for sql in [
        "UPDATE gateway.audit_events SET status_code = 0",
        "DELETE FROM gateway.audit_events",
        "TRUNCATE gateway.audit_events",
    ] {
        let err = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(gw.db.pool())
            .await
            .expect_err("refused");
        let code = err
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.to_string());
        assert_eq!(code.as_deref(), Some("42501"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn concurrent_writers_in_two_gateways_never_fork_the_chain() {
    let gw = gateway().await;
    // A second gateway process's writer on the same table.
    let other = dps_gateway::start_audit(
        gw.db.pool().clone(),
        &dps_gateway::AuditConfig {
            key_file: None,
            head_file: None,
            export_every: std::time::Duration::from_secs(3600),
        },
    )
    .expect("second writer");
    let auditor = gw.token(&["auditor"]);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let channel = gw.server.channel();
        let token = auditor.clone();
        let other = other.clone();
        tasks.spawn(async move {
            assert_eq!(
                call(channel, CREATE, &token, None).await,
                Code::PermissionDenied
            );
            let row = other.begin(AuditRecord::new(
                &format!("/other/{i}"),
                time::OffsetDateTime::now_utc(),
            ));
            other.record(row).await.expect("recorded");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    let report = verify(&gw).await;
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.checked, 128);
}

/// A writer whose head went stale while another appended a shorter batch must write none of its
/// own longer batch: rows past the other's would land linked to the stale head and fork.
#[tokio::test]
async fn a_stale_writer_with_a_longer_batch_writes_nothing() {
    let gw = gateway().await;
    let store = AuditStore::new(gw.db.pool().clone());
    let record =
        |i: usize| AuditRecord::new(&format!("/stale/{i}"), time::OffsetDateTime::now_utc());
    let stale = store.head().await.expect("head");
    let short: Vec<_> = (0..2).map(record).collect();
    assert!(
        store
            .append_after(stale, &short)
            .await
            .expect("short")
            .is_some()
    );
    let long: Vec<_> = (10..15).map(record).collect();
    assert_eq!(
        store.append_after(stale, &long).await.expect("no error"),
        None,
        "a stale head inserts nothing"
    );
    let report = verify(&gw).await;
    assert!(report.intact(), "{report:?}");
    assert_eq!(report.checked, 2);
    // Retrying from the real head appends the whole batch.
    let head = store.append(&long).await.expect("append");
    assert_eq!(head.0, 7);
    assert!(verify(&gw).await.intact());
}

/// Names come from callers' requests: whatever they contain is stored and read back exactly,
/// so the chain still verifies.
#[tokio::test]
async fn awkward_names_are_stored_exactly() {
    let gw = gateway().await;
    let store = AuditStore::new(gw.db.pool().clone());
    let mut record = AuditRecord::new("/awkward", time::OffsetDateTime::now_utc());
    record.tenant = "acme-north".into();
    record.roles = vec!["dpo".into(), String::new()];
    record.resource_names = [
        "a,b",
        "{c}",
        "say \"hi\"",
        "back\\slash\\",
        "NULL",
        "",
        " spaced ",
        "ünïcødé ✓",
        "new\nline",
    ]
    .map(String::from)
    .to_vec();
    store
        .append(std::slice::from_ref(&record))
        .await
        .expect("append");
    let filter = EventFilter {
        tenant: "acme-north".into(),
        ..EventFilter::default()
    };
    let stored = store.list(&filter, 10).await.expect("list");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].record, record);
    assert!(verify(&gw).await.intact());
}

#[tokio::test]
async fn a_call_fails_closed_when_it_cannot_be_audited() {
    let gw = gateway().await;
    let auditor = gw.token(&["auditor"]);
    let list = pb::ListAuditEventsRequest::default();
    assert_eq!(
        call_with(
            gw.server.channel(),
            LIST_AUDIT,
            &auditor,
            None,
            list.clone()
        )
        .await,
        Code::Ok
    );
    as_admin(&gw, "REVOKE INSERT ON gateway.audit_events FROM dps_app").await;
    assert_eq!(
        call_with(gw.server.channel(), LIST_AUDIT, &auditor, None, list).await,
        Code::Unavailable,
        "answered, but not audited: withheld"
    );
    // A refusal stays a refusal.
    assert_eq!(
        call(gw.server.channel(), CREATE, &auditor, None).await,
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn a_bad_listing_request_names_its_field() {
    let gw = gateway().await;
    let auditor = gw.token(&["auditor"]);
    for (request, field) in [
        (
            pb::ListAuditEventsRequest {
                page_size: 501,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListAuditEventsRequest {
                page_token: "a1:not-a-number".into(),
                ..Default::default()
            },
            "page_token",
        ),
    ] {
        let mut call = tonic::Request::new(request);
        call.metadata_mut().insert(
            "authorization",
            format!("Bearer {auditor}").parse().expect("ascii"),
        );
        let status = pb::audit_service_client::AuditServiceClient::new(gw.server.channel())
            .list_audit_events(call)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(field), "{}", status.message());
    }
}
