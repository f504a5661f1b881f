//! No personal data in clear at rest, whichever service it went through (issue 4): known strings
//! are written through the gateway, then a `pg_dump` of every database is searched for them.

use std::process::Command;

use dps_proto::common::v1::Channel;
use dps_proto::subject_requests::v1 as sr;
use dps_test_support::TestDb;
use sr::subject_requests_service_client::SubjectRequestsServiceClient;

use crate::harness::{self, bearer};

/// Strings no column may hold in clear.
const KNOWN: [&str; 4] = [
    "Bartholomew Quennell-Ashby",
    "bartholomew.qa@example.org",
    "07700 900461",
    "falls at Hazelmere Lodge",
];

fn dump(db: &TestDb) -> String {
    let pg_dump = dps_pgcluster::client_program("pg_dump").expect("pg_dump installed");
    let out = Command::new(pg_dump)
        .args(["--format=plain", "--data-only"])
        .arg(db.admin_url().expose())
        .output()
        .expect("pg_dump runs");
    assert!(out.status.success(), "pg_dump failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_dump_of_every_database_holds_no_personal_data_in_clear() {
    let suite = harness::start().await;
    let token = suite.token("acme-north");
    let mut requests =
        SubjectRequestsServiceClient::with_interceptor(suite.gateway(), bearer(Some(token), &[]));
    let created = requests
        .create_subject_request(sr::CreateSubjectRequestRequest {
            subject_request: Some(sr::SubjectRequest {
                kind: sr::RequestKind::Access.into(),
                channel: Channel::Email.into(),
                person_id: "person-bqa".into(),
                receive_time: Some(dps_platform::proto_time::to_proto(
                    time::OffsetDateTime::now_utc(),
                )),
                requester_name: KNOWN[0].into(),
                requester_contact: format!("{} / {}", KNOWN[1], KNOWN[2]),
                details: format!("Records about my {} in May", KNOWN[3]),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("created through the gateway")
        .into_inner();
    assert_eq!(created.requester_name, KNOWN[0]);

    let data = dump(&suite.db);
    assert!(
        data.contains("person-bqa"),
        "the dump should hold the request's row"
    );
    let keys = dump(&suite.keys_db);
    for known in KNOWN {
        assert!(
            !data.contains(known),
            "the services' database holds {known:?}"
        );
        assert!(!keys.contains(known), "the key store holds {known:?}");
    }
}
