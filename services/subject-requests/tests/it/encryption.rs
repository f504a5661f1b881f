//! Personal details are stored sealed with the person's key, and shredding the key erases them,
//! in the live database and in a backup restored after the shred (issue 4, docs/encryption.md).

use std::path::Path;
use std::process::Command;

use dps_pgcluster::LocalCluster;
use dps_pgcluster::roles::{self, APP_ROLE};
use dps_platform::db::{self, DbConfig};
use dps_platform::server::Readiness;
use dps_proto::subject_requests::v1 as pb;
use dps_test_support::{TestDb, boxed_caller, spawn};
use pb::subject_requests_service_client::SubjectRequestsServiceClient;
use tonic::Code;

use super::{client, create, phoned_access_request, start};

const NAME: &str = "Winifred Ashdown-Pryce";
const CONTACT: &str = "winifred.ashdown@example.org";
const DETAILS: &str = "All my care notes from Larkfield House since March";

fn with_personal_details() -> pb::SubjectRequest {
    pb::SubjectRequest {
        person_id: "person-winifred".into(),
        requester_name: NAME.into(),
        requester_contact: CONTACT.into(),
        details: DETAILS.into(),
        ..phoned_access_request()
    }
}

/// Every row of the service's schema as text, as a raw `SELECT` shows it.
async fn raw_rows(db: &TestDb) -> String {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT t::text FROM subject_requests.subject_requests t")
            .fetch_all(db.pool())
            .await
            .expect("raw select");
    rows.join("\n")
}

/// A plain-SQL dump of the whole database, as a backup would hold it.
fn pg_dump(db: &TestDb, to: &Path) {
    let pg_dump = dps_pgcluster::client_program("pg_dump").expect("pg_dump installed");
    let status = Command::new(pg_dump)
        .args(["--format=plain", "--file"])
        .arg(to)
        .arg(db.admin_url().expose())
        .status()
        .expect("pg_dump runs");
    assert!(status.success(), "pg_dump failed");
}

fn assert_no_clear_text(haystack: &str, what: &str) {
    for needle in [NAME, CONTACT, DETAILS, "Winifred", "Larkfield"] {
        assert!(
            !haystack.contains(needle),
            "{what} holds {needle:?} in clear"
        );
    }
}

#[tokio::test]
async fn personal_details_are_stored_only_as_ciphertext_and_read_back() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let created = client
        .create_subject_request(create(with_personal_details()))
        .await
        .expect("created")
        .into_inner();
    assert_eq!(
        (
            created.requester_name.as_str(),
            created.requester_contact.as_str(),
            created.details.as_str()
        ),
        (NAME, CONTACT, DETAILS)
    );
    assert!(!created.personal_data_erased);
    assert_no_clear_text(&raw_rows(&db).await, "a raw SELECT");
    let dump = tempfile_path("live");
    pg_dump(&db, &dump);
    assert_no_clear_text(&std::fs::read_to_string(&dump).expect("dump"), "pg_dump");
    let _ = std::fs::remove_file(dump);
    // Nor does the key store hold them: it holds wrapped keys only.
    let keystore = server.keystore().db();
    let keys: Vec<String> = sqlx::query_scalar("SELECT t::text FROM keystore.data_keys t")
        .fetch_all(keystore.pool())
        .await
        .expect("raw select");
    assert_eq!(keys.len(), 1);
    assert_no_clear_text(&keys.join("\n"), "the key store");
}

#[tokio::test]
async fn shredding_erases_the_person_and_says_what_was_destroyed() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let created = client
        .create_subject_request(create(with_personal_details()))
        .await
        .expect("created")
        .into_inner();
    // Another person's request is untouched.
    let other = client
        .create_subject_request(create(pb::SubjectRequest {
            person_id: "person-other".into(),
            requester_name: "Other Person".into(),
            ..phoned_access_request()
        }))
        .await
        .expect("created")
        .into_inner();

    // Shredding in another tenant destroys nothing here.
    let elsewhere = SubjectRequestsServiceClient::with_interceptor(
        server.channel(),
        boxed_caller("acme-south"),
    )
    .shred_personal_data(pb::ShredPersonalDataRequest {
        person_id: "person-winifred".into(),
    })
    .await
    .expect("shreds")
    .into_inner();
    assert_eq!(elsewhere.destroyed_key_count, 0);

    let report = client
        .shred_personal_data(pb::ShredPersonalDataRequest {
            person_id: " person-winifred ".into(),
        })
        .await
        .expect("shreds")
        .into_inner();
    assert_eq!(report.person_id, "person-winifred");
    assert_eq!(report.destroyed_key_count, 1);
    let (shred, clear) = (
        report.shred_time.expect("time"),
        report.backups_clear_time.expect("time"),
    );
    assert_eq!(clear.seconds - shred.seconds, 7 * 24 * 3600);

    let read = client
        .get_subject_request(pb::GetSubjectRequestRequest {
            name: created.name.clone(),
        })
        .await
        .expect("still readable")
        .into_inner();
    assert!(read.personal_data_erased);
    assert_eq!(
        (
            read.requester_name.as_str(),
            read.requester_contact.as_str(),
            read.details.as_str()
        ),
        ("", "", "")
    );
    // What queries need stays: the request, its kind and dates.
    assert_eq!(read.kind(), pb::RequestKind::Access);
    assert_eq!(read.person_id, "person-winifred");
    let other = client
        .get_subject_request(pb::GetSubjectRequestRequest { name: other.name })
        .await
        .expect("readable")
        .into_inner();
    assert_eq!(other.requester_name, "Other Person");
    assert!(!other.personal_data_erased);
    assert_no_clear_text(&raw_rows(&db).await, "a raw SELECT");

    // A bad person reference is refused, naming the field.
    let err = client
        .shred_personal_data(pb::ShredPersonalDataRequest {
            person_id: "  ".into(),
        })
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        dps_platform::error::field_violations(&err)[0].0,
        "person_id"
    );
    // Nothing was recorded for it: only the two shreds above are in the log.
    let shreds: i64 = sqlx::query_scalar("SELECT count(*) FROM keystore.shreds")
        .fetch_one(server.keystore().db().pool())
        .await
        .expect("counts");
    assert_eq!(shreds, 2);
}

#[tokio::test]
async fn a_backup_restored_after_a_shred_still_reads_as_erased() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let created = client
        .create_subject_request(create(with_personal_details()))
        .await
        .expect("created")
        .into_inner();

    // Last night's backup of the service's database, taken before the erasure.
    let backup = tempfile_path("backup");
    pg_dump(&db, &backup);
    client
        .shred_personal_data(pb::ShredPersonalDataRequest {
            person_id: "person-winifred".into(),
        })
        .await
        .expect("shreds");

    // Disaster: restore that backup into a brand-new cluster and start the service on it, with
    // the live key store.
    let cluster = tokio::task::spawn_blocking(LocalCluster::start_throwaway)
        .await
        .expect("joins")
        .expect("a fresh cluster");
    let admin = cluster.url(dps_pgcluster::SUPERUSER, "postgres");
    roles::ensure_roles(&admin, "restore-pw")
        .await
        .expect("roles");
    roles::ensure_database(&admin, "restored", None)
        .await
        .expect("database");
    let psql = dps_pgcluster::client_program("psql").expect("psql installed");
    let restored = Command::new(psql)
        .args(["--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "--file"])
        .arg(&backup)
        .arg(cluster.url(dps_pgcluster::SUPERUSER, "restored"))
        .output()
        .expect("psql runs");
    assert!(
        restored.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let _ = std::fs::remove_file(&backup);
    let pool = db::connect(&DbConfig::for_url(cluster.url(APP_ROLE, "restored")))
        .await
        .expect("connects to the restored database");
    let restored_server = spawn(
        dps_subject_requests::routes(pool.clone(), server.keystore().vault().clone()),
        Readiness::Database(pool),
    )
    .await;
    let read = SubjectRequestsServiceClient::with_interceptor(
        restored_server.channel(),
        boxed_caller("acme-north"),
    )
    .get_subject_request(pb::GetSubjectRequestRequest { name: created.name })
    .await
    .expect("the restored request is readable")
    .into_inner();
    assert!(read.personal_data_erased, "the shredded person came back");
    assert!(read.requester_name.is_empty() && read.details.is_empty());
    drop(restored_server);
    drop(cluster);
}

fn tempfile_path(what: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "dps-subject-requests-{what}-{}.sql",
        uuid::Uuid::new_v4()
    ))
}
