//! Data-protection complaints (DPA 2018 s164A; issue 17) over a real socket against real
//! Postgres: intake, the acknowledgement clock worked by hand, handling, the outcome, the link to
//! a subject request, lists and figures, and every refusal with nothing stored.

use dps_platform::error::field_violations;
use dps_platform::proto_time;
use dps_proto::common::v1::Channel as PbChannel;
use dps_proto::subject_requests::v1 as pb;
use dps_test_support::{TestDb, TestServer, boxed_caller};
use pb::complaint_service_client::ComplaintServiceClient;
use time::macros::{date, datetime};
use time::{Date, Duration, OffsetDateTime};
use tonic::Code;
use tonic::codegen::InterceptedService;
use tonic::transport::Channel;

use super::lifecycle::{created, noon, refusal, request};
use super::{client as requests_client, start};

type Complaints = ComplaintServiceClient<InterceptedService<Channel, dps_test_support::Caller>>;

const PERSON: &str = "person-0193f1a4";
const SUBJECT: &str = "my care notes were posted to my neighbour";

fn complaints(server: &TestServer, tenant: &str) -> Complaints {
    ComplaintServiceClient::with_interceptor(server.channel(), boxed_caller(tenant))
}

fn at(instant: OffsetDateTime) -> Option<prost_types::Timestamp> {
    Some(proto_time::to_proto(instant))
}

/// A complaint by the person themselves through the web form, received at `received`.
fn complaint(received: OffsetDateTime) -> pb::Complaint {
    pb::Complaint {
        person_id: PERSON.into(),
        complainant_name: "Edith Marsh".into(),
        complainant_contact: "edith.marsh@example.org".into(),
        subject: SUBJECT.into(),
        receive_time: at(received),
        channel: PbChannel::WebForm.into(),
        ..Default::default()
    }
}

fn intake(complaint: pb::Complaint) -> pb::CreateComplaintRequest {
    pb::CreateComplaintRequest {
        complaint: Some(complaint),
        request_id: String::new(),
    }
}

async fn filed(client: &mut Complaints, c: pb::Complaint) -> pb::Complaint {
    client
        .create_complaint(intake(c))
        .await
        .expect("recorded")
        .into_inner()
}

fn acknowledgement(name: &str, when: OffsetDateTime) -> pb::AcknowledgeComplaintRequest {
    pb::AcknowledgeComplaintRequest {
        name: name.into(),
        acknowledgement: Some(pb::Acknowledgement {
            acknowledge_time: at(when),
            channel: PbChannel::Email.into(),
            ..Default::default()
        }),
    }
}

fn outcome(
    name: &str,
    outcome: pb::ComplaintOutcome,
    reply: &str,
    when: OffsetDateTime,
) -> pb::RecordComplaintOutcomeRequest {
    pb::RecordComplaintOutcomeRequest {
        name: name.into(),
        outcome: outcome.into(),
        reply: reply.into(),
        reply_time: at(when),
        reply_channel: PbChannel::Letter.into(),
    }
}

fn clock(c: &pb::Complaint) -> &pb::AcknowledgementClock {
    c.acknowledgement_clock.as_ref().expect("clock")
}

async fn stored_complaints(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM subject_requests.complaints")
        .fetch_one(db.pool())
        .await
        .expect("count")
}

async fn history(client: &mut Complaints, name: &str) -> Vec<pb::ComplaintHistoryEntry> {
    client
        .list_complaint_history(pb::ListComplaintHistoryRequest { name: name.into() })
        .await
        .expect("history")
        .into_inner()
        .entries
}

fn fields(status: &tonic::Status) -> Vec<String> {
    field_violations(status)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

#[tokio::test]
async fn a_complaint_received_on_a_friday_is_acknowledged_handled_and_answered() {
    let (db, server) = start().await;
    let mut client = complaints(&server, "acme-north");
    // Received Fri 28 Aug 2026 at 00:30 BST (Thu 23:30 UTC): day 1 is Fri 28 Aug, so day 30 is
    // Sat 26 Sep 2026. s164A has no next-working-day rule: not moved to Mon 28 Sep; the bank
    // holiday on Mon 31 Aug changes nothing.
    let received = datetime!(2026-08-27 23:30 UTC);
    let c = filed(&mut client, complaint(received)).await;
    assert!(c.name.starts_with("complaints/"), "{}", c.name);
    assert_eq!(c.state(), pb::ComplaintState::Received);
    assert_eq!(clock(&c).due_date, "2026-09-26");
    assert!(clock(&c).statutory);
    assert!(
        clock(&c).explanation.iter().any(|l| l.contains("s164A")),
        "{:?}",
        clock(&c).explanation
    );
    // A Saturday: kept, with a warning for the DPO.
    assert_eq!(clock(&c).warnings.len(), 1, "{:?}", clock(&c).warnings);
    // Long past and not acknowledged.
    assert!(clock(&c).overdue);
    assert_eq!(c.subject, SUBJECT);

    // Acknowledged by email on Tue 1 Sep: in time.
    let acked = client
        .acknowledge_complaint(acknowledgement(&c.name, datetime!(2026-09-01 10:00 UTC)))
        .await
        .expect("acknowledged")
        .into_inner();
    assert_eq!(acked.state(), pb::ComplaintState::Acknowledged);
    let a = acked.acknowledgement.clone().expect("recorded");
    assert!(!a.late);
    assert_eq!(a.channel(), PbChannel::Email);
    assert_eq!(a.acknowledged_by, "test-caller");
    assert!(!clock(&acked).overdue);
    // Acknowledging again changes nothing.
    let again = client
        .acknowledge_complaint(acknowledgement(&c.name, datetime!(2026-09-03 10:00 UTC)))
        .await
        .expect("idempotent")
        .into_inner();
    assert_eq!(again, acked);

    let assigned = client
        .assign_complaint(pb::AssignComplaintRequest {
            name: c.name.clone(),
            assignee: "dpo-jane".into(),
        })
        .await
        .expect("assigned")
        .into_inner();
    assert_eq!(assigned.assignee, "dpo-jane");
    let step = client
        .add_complaint_entry(pb::AddComplaintEntryRequest {
            name: c.name.clone(),
            kind: pb::ComplaintEntryKind::StepTaken.into(),
            text: "asked the home manager for the post log of 20 Aug".into(),
        })
        .await
        .expect("step")
        .into_inner();
    assert_eq!(step.state(), pb::ComplaintState::Investigating);

    // Replied Thu 1 Oct 2026 at 00:30 BST: 34 local days after Fri 28 Aug.
    let closed = client
        .record_complaint_outcome(outcome(
            &c.name,
            pb::ComplaintOutcome::PartlyUpheld,
            "we are sorry: the letter went astray; the post process has changed",
            datetime!(2026-09-30 23:30 UTC),
        ))
        .await
        .expect("answered")
        .into_inner();
    assert_eq!(closed.state(), pb::ComplaintState::Closed);
    let r = closed.resolution.clone().expect("resolution");
    assert_eq!(r.outcome(), pb::ComplaintOutcome::PartlyUpheld);
    assert_eq!(r.days_to_outcome, 34);
    assert!(r.reply.starts_with("we are sorry"));

    let actions: Vec<(String, pb::ComplaintState)> = history(&mut client, &c.name)
        .await
        .into_iter()
        .map(|e| (e.action.clone(), e.to_state()))
        .collect();
    assert_eq!(
        actions,
        [
            ("created".to_owned(), pb::ComplaintState::Received),
            ("acknowledge".to_owned(), pb::ComplaintState::Acknowledged),
            ("assign".to_owned(), pb::ComplaintState::Acknowledged),
            ("step_taken".to_owned(), pb::ComplaintState::Investigating),
            ("outcome".to_owned(), pb::ComplaintState::Closed),
        ]
    );
    let entries = history(&mut client, &c.name).await;
    assert_eq!(
        entries[3].text,
        "asked the home manager for the post log of 20 Aug"
    );

    // Sealed at rest: the subject, the contact, the step and the reply are not in clear.
    let row: (Vec<u8>, Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT subject, complainant_contact, reply FROM subject_requests.complaints",
    )
    .fetch_one(db.pool())
    .await
    .expect("row");
    for (bytes, clear) in [
        (&row.0, SUBJECT),
        (&row.1, "edith.marsh@example.org"),
        (&row.2, "we are sorry"),
    ] {
        assert!(!String::from_utf8_lossy(bytes).contains(clear), "{clear}");
    }

    // A closed complaint takes no more work.
    let status = client
        .add_complaint_entry(pb::AddComplaintEntryRequest {
            name: c.name.clone(),
            kind: pb::ComplaintEntryKind::Note.into(),
            text: "late note".into(),
        })
        .await
        .expect_err("closed");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        status.message(),
        "cannot add a note to a complaint that is closed"
    );
}

#[tokio::test]
async fn an_acknowledgement_after_day_thirty_is_recorded_as_late() {
    let (_db, server) = start().await;
    let mut client = complaints(&server, "acme-north");
    // Received Fri 30 Oct 2026 (GMT): day 30 is Sat 28 Nov 2026.
    let c = filed(&mut client, complaint(datetime!(2026-10-30 12:00 UTC))).await;
    assert_eq!(clock(&c).due_date, "2026-11-28");
    // Sat 28 Nov 23:59 is still day 30; Sun 29 Nov is late.
    let acked = client
        .acknowledge_complaint(acknowledgement(&c.name, datetime!(2026-11-29 00:00 UTC)))
        .await
        .expect("acknowledged")
        .into_inner();
    assert!(acked.acknowledgement.expect("recorded").late);
}

#[tokio::test]
async fn an_overdue_acknowledgement_shows_in_the_list_and_open_complaints_come_by_due_date() {
    let (_db, server) = start().await;
    let mut client = complaints(&server, "acme-north");
    let today = OffsetDateTime::now_utc();
    // Fri 30 Oct 2026 → due Sat 28 Nov 2026: overdue, not acknowledged.
    let overdue = filed(&mut client, complaint(datetime!(2026-10-30 12:00 UTC))).await;
    // Yesterday: due in 28 days.
    let fresh = filed(&mut client, complaint(today - Duration::days(1))).await;
    // Thu 1 Oct 2026 → due Fri 30 Oct 2026, acknowledged in time: not overdue.
    let answered = filed(&mut client, complaint(datetime!(2026-10-01 12:00 UTC))).await;
    client
        .acknowledge_complaint(acknowledgement(
            &answered.name,
            datetime!(2026-10-02 12:00 UTC),
        ))
        .await
        .expect("acknowledged");
    // Thu 18 Jun 2026, before s164A: recorded without a statutory period, listed last.
    let early = filed(&mut client, complaint(datetime!(2026-06-18 12:00 UTC))).await;
    assert_eq!(clock(&early).due_date, "");
    assert!(!clock(&early).statutory);
    assert!(!clock(&early).overdue);

    let list = |overdue_only, page_size, page_token: String| pb::ListComplaintsRequest {
        page_size,
        page_token,
        open_only: true,
        acknowledgement_overdue_only: overdue_only,
    };
    let listed = client
        .list_complaints(list(true, 0, String::new()))
        .await
        .expect("overdue")
        .into_inner();
    let names: Vec<&str> = listed.complaints.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, [overdue.name.as_str()]);
    assert!(clock(&listed.complaints[0]).overdue);

    // Every open complaint, soonest acknowledgement first, a page of one at a time.
    let mut walked = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_complaints(list(false, 1, token))
            .await
            .expect("page")
            .into_inner();
        walked.extend(page.complaints.into_iter().map(|c| c.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        walked,
        [answered.name, overdue.name, fresh.name, early.name]
    );

    let status = client
        .list_complaints(list(false, 0, "r1:2026-01-01/x".into()))
        .await
        .expect_err("bad token");
    assert_eq!(fields(&status), ["page_token"]);
}

#[tokio::test]
async fn a_complaint_about_a_refused_request_appeals_it_without_rewriting_its_history() {
    let (_db, server) = start().await;
    let mut requests = requests_client(&server, "acme-north");
    let today = OffsetDateTime::now_utc().date();
    let r = created(
        &mut requests,
        request(pb::RequestKind::Access, today - Duration::days(10)),
    )
    .await;
    let mut refuse = refusal(
        today - Duration::days(1),
        "the same records were sent last week",
    );
    refuse.name = r.name.clone();
    let refused = requests
        .refuse_subject_request(refuse)
        .await
        .expect("refused")
        .into_inner();
    assert_eq!(refused.state(), pb::RequestState::Refused);
    let before = requests
        .list_request_history(pb::ListRequestHistoryRequest {
            name: r.name.clone(),
        })
        .await
        .expect("history")
        .into_inner()
        .entries;

    let mut client = complaints(&server, "acme-north");
    let about = pb::Complaint {
        about: Some(pb::complaint::About::SubjectRequest(r.name.clone())),
        receive_time: at(OffsetDateTime::now_utc() - Duration::hours(1)),
        ..complaint(OffsetDateTime::now_utc())
    };
    let retry = pb::CreateComplaintRequest {
        complaint: Some(about),
        request_id: "0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
    };
    let c = client
        .create_complaint(retry.clone())
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(
        c.about,
        Some(pb::complaint::About::SubjectRequest(r.name.clone()))
    );
    // A retried intake neither duplicates the complaint nor appeals twice.
    let second = client
        .create_complaint(retry)
        .await
        .expect("retried")
        .into_inner();
    assert_eq!(second, c);

    let appealed = requests
        .get_subject_request(pb::GetSubjectRequestRequest {
            name: r.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(appealed.state(), pb::RequestState::Appealed);
    // The refusal stays as it was.
    assert_eq!(appealed.refusal, refused.refusal);
    let after = requests
        .list_request_history(pb::ListRequestHistoryRequest {
            name: r.name.clone(),
        })
        .await
        .expect("history")
        .into_inner()
        .entries;
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(&after[..before.len()], &before[..], "earlier history kept");
    let last = after.last().expect("appeal entry");
    assert_eq!(last.action, "appeal");
    assert_eq!(last.from_state(), pb::RequestState::Refused);
    assert_eq!(last.to_state(), pb::RequestState::Appealed);
    assert!(last.reason.contains(&c.name), "{}", last.reason);

    // About an open request: noted in its history, its state unchanged.
    let open = created(
        &mut requests,
        request(pb::RequestKind::Erasure, today - Duration::days(3)),
    )
    .await;
    filed(
        &mut client,
        pb::Complaint {
            about: Some(pb::complaint::About::SubjectRequest(open.name.clone())),
            ..complaint(OffsetDateTime::now_utc() - Duration::hours(1))
        },
    )
    .await;
    let noted = requests
        .list_request_history(pb::ListRequestHistoryRequest {
            name: open.name.clone(),
        })
        .await
        .expect("history")
        .into_inner()
        .entries;
    let last = noted.last().expect("entry");
    assert_eq!(last.action, "complaint");
    assert_eq!(last.from_state(), pb::RequestState::Received);
    assert_eq!(last.to_state(), pb::RequestState::Received);
}

#[tokio::test]
async fn bad_intake_is_refused_naming_the_field_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = complaints(&server, "acme-north");
    let now = OffsetDateTime::now_utc();

    let status = client
        .create_complaint(intake(complaint(now + Duration::hours(1))))
        .await
        .expect_err("future");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        field_violations(&status),
        [(
            "complaint.receive_time".to_owned(),
            "must not be in the future".to_owned()
        )]
    );

    let status = client
        .create_complaint(intake(pb::Complaint {
            subject: "  ".into(),
            ..complaint(now)
        }))
        .await
        .expect_err("empty subject");
    assert_eq!(fields(&status), ["complaint.subject"]);

    let status = client
        .create_complaint(pb::CreateComplaintRequest {
            complaint: Some(pb::Complaint::default()),
            request_id: "nope".into(),
        })
        .await
        .expect_err("empty");
    assert_eq!(
        fields(&status),
        [
            "request_id",
            "complaint.person_id",
            "complaint.complainant_contact",
            "complaint.subject",
            "complaint.channel",
            "complaint.receive_time",
        ]
    );

    let status = client
        .create_complaint(intake(pb::Complaint {
            complainant_relationship: pb::RequesterRelationship::Solicitor.into(),
            ..complaint(now)
        }))
        .await
        .expect_err("no basis");
    assert_eq!(fields(&status), ["complaint.complainant_basis"]);

    let status = client
        .create_complaint(intake(pb::Complaint {
            about: Some(pb::complaint::About::SubjectRequest(
                "subjectRequests/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
            )),
            ..complaint(now)
        }))
        .await
        .expect_err("unknown request");
    assert_eq!(status.code(), Code::NotFound);
    assert!(
        status.message().contains("complaint.subject_request"),
        "{}",
        status.message()
    );

    let status = client
        .create_complaint(intake(pb::Complaint {
            about: Some(pb::complaint::About::Incident("incidents/42".into())),
            ..complaint(now)
        }))
        .await
        .expect_err("malformed incident");
    assert_eq!(fields(&status), ["complaint.incident"]);

    // A request of another person is not this complaint's request.
    let mut requests = requests_client(&server, "acme-north");
    let someone_else = created(
        &mut requests,
        pb::SubjectRequest {
            person_id: "person-other".into(),
            ..request(pb::RequestKind::Access, now.date() - Duration::days(2))
        },
    )
    .await;
    let status = client
        .create_complaint(intake(pb::Complaint {
            about: Some(pb::complaint::About::SubjectRequest(someone_else.name)),
            ..complaint(now)
        }))
        .await
        .expect_err("another person");
    assert_eq!(fields(&status), ["complaint.subject_request"]);

    // The same request, seen from another tenant, does not exist.
    let status = complaints(&server, "acme-south")
        .create_complaint(intake(pb::Complaint {
            about: Some(pb::complaint::About::SubjectRequest(
                created(
                    &mut requests,
                    request(pb::RequestKind::Access, now.date() - Duration::days(1)),
                )
                .await
                .name,
            )),
            ..complaint(now)
        }))
        .await
        .expect_err("other tenant");
    assert_eq!(status.code(), Code::NotFound);

    assert_eq!(stored_complaints(&db).await, 0);
}

#[tokio::test]
async fn bad_handling_is_refused_and_changes_nothing() {
    let (_db, server) = start().await;
    let mut client = complaints(&server, "acme-north");
    let received = datetime!(2026-11-02 12:00 UTC);
    let c = filed(&mut client, complaint(received)).await;

    // The outcome needs the acknowledgement first (except a withdrawal).
    let status = client
        .record_complaint_outcome(outcome(
            &c.name,
            pb::ComplaintOutcome::NotUpheld,
            "not upheld",
            datetime!(2026-11-20 12:00 UTC),
        ))
        .await
        .expect_err("not acknowledged");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = client
        .add_complaint_entry(pb::AddComplaintEntryRequest {
            name: c.name.clone(),
            kind: pb::ComplaintEntryKind::StepTaken.into(),
            text: "called the home".into(),
        })
        .await
        .expect_err("not acknowledged");
    assert_eq!(status.code(), Code::FailedPrecondition);

    // Acknowledged before it arrived, or in the future, or without a channel.
    let status = client
        .acknowledge_complaint(acknowledgement(&c.name, datetime!(2026-11-01 12:00 UTC)))
        .await
        .expect_err("before receipt");
    assert_eq!(fields(&status), ["acknowledgement.acknowledge_time"]);
    let status = client
        .acknowledge_complaint(acknowledgement(
            &c.name,
            OffsetDateTime::now_utc() + Duration::hours(1),
        ))
        .await
        .expect_err("future");
    assert_eq!(fields(&status), ["acknowledgement.acknowledge_time"]);
    let status = client
        .acknowledge_complaint(pb::AcknowledgeComplaintRequest {
            name: c.name.clone(),
            acknowledgement: Some(pb::Acknowledgement {
                acknowledge_time: at(datetime!(2026-11-03 12:00 UTC)),
                ..Default::default()
            }),
        })
        .await
        .expect_err("no channel");
    assert_eq!(fields(&status), ["acknowledgement.channel"]);

    client
        .acknowledge_complaint(acknowledgement(&c.name, datetime!(2026-11-03 12:00 UTC)))
        .await
        .expect("acknowledged");
    // No outcome without the reply telling the complainant (s164A(4)(b)).
    let status = client
        .record_complaint_outcome(outcome(
            &c.name,
            pb::ComplaintOutcome::Upheld,
            " ",
            datetime!(2026-11-20 12:00 UTC),
        ))
        .await
        .expect_err("no reply");
    assert_eq!(fields(&status), ["reply"]);
    let status = client
        .record_complaint_outcome(pb::RecordComplaintOutcomeRequest {
            name: c.name.clone(),
            ..Default::default()
        })
        .await
        .expect_err("nothing");
    assert_eq!(
        fields(&status),
        ["outcome", "reply", "reply_time", "reply_channel"]
    );
    let status = client
        .add_complaint_entry(pb::AddComplaintEntryRequest {
            name: c.name.clone(),
            kind: 0,
            text: String::new(),
        })
        .await
        .expect_err("empty entry");
    assert_eq!(fields(&status), ["kind", "text"]);

    let read = client
        .get_complaint(pb::GetComplaintRequest {
            name: c.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read.state(), pb::ComplaintState::Acknowledged);
    assert_eq!(read.resolution, None);
    assert_eq!(history(&mut client, &c.name).await.len(), 2);

    // Names: malformed, unknown, and another tenant's.
    let status = client
        .get_complaint(pb::GetComplaintRequest {
            name: "complaints/7".into(),
        })
        .await
        .expect_err("malformed");
    assert_eq!(fields(&status), ["name"]);
    let unknown = "complaints/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e";
    let status = client
        .acknowledge_complaint(acknowledgement(unknown, datetime!(2026-11-03 12:00 UTC)))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = complaints(&server, "acme-south")
        .get_complaint(pb::GetComplaintRequest { name: c.name })
        .await
        .expect_err("isolated");
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn a_complainant_may_withdraw_before_being_acknowledged() {
    let (_db, server) = start().await;
    let mut client = complaints(&server, "acme-north");
    let c = filed(&mut client, complaint(datetime!(2026-11-02 12:00 UTC))).await;
    let closed = client
        .record_complaint_outcome(outcome(
            &c.name,
            pb::ComplaintOutcome::Withdrawn,
            "confirming you have withdrawn your complaint",
            datetime!(2026-11-04 12:00 UTC),
        ))
        .await
        .expect("withdrawn")
        .into_inner();
    assert_eq!(closed.state(), pb::ComplaintState::Closed);
    // Closed without an acknowledgement: not overdue, and it cannot be acknowledged now.
    assert!(!clock(&closed).overdue);
    let status = client
        .acknowledge_complaint(acknowledgement(&c.name, datetime!(2026-11-05 12:00 UTC)))
        .await
        .expect_err("closed");
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_jersey_tenant_runs_the_same_period_as_good_practice() {
    let (_db, server) = start().await;
    requests_client(&server, "acme-jersey")
        .update_tenant_settings(pb::UpdateTenantSettingsRequest {
            settings: Some(pb::TenantSettings {
                jurisdiction: dps_proto::common::v1::Jurisdiction::Jersey.into(),
                ..Default::default()
            }),
        })
        .await
        .expect("settings");
    let mut client = complaints(&server, "acme-jersey");
    // Received Mon 2 Feb 2026 (before s164A, which does not apply in Jersey anyway): day 30 is
    // Tue 3 Mar 2026.
    let c = filed(&mut client, complaint(datetime!(2026-02-02 10:00 UTC))).await;
    assert_eq!(clock(&c).due_date, "2026-03-03");
    assert!(!clock(&c).statutory);
    assert!(
        clock(&c).explanation[0].contains("not statutory"),
        "{:?}",
        clock(&c).explanation
    );
}

/// Files a complaint received at noon on `received`, acknowledged the next day and answered
/// `days` days after receipt with `result`.
async fn answered(
    client: &mut Complaints,
    received: Date,
    days: i64,
    result: pb::ComplaintOutcome,
) {
    let c = filed(client, complaint(noon_instant(received))).await;
    client
        .acknowledge_complaint(acknowledgement(
            &c.name,
            noon_instant(received + Duration::days(1)),
        ))
        .await
        .expect("acknowledged");
    client
        .record_complaint_outcome(outcome(
            &c.name,
            result,
            "our reply",
            noon_instant(received + Duration::days(days)),
        ))
        .await
        .expect("answered");
}

fn noon_instant(day: Date) -> OffsetDateTime {
    proto_time::from_proto(&noon(day)).expect("in range")
}

#[tokio::test]
async fn figures_give_the_median_days_to_outcome_per_tenant_and_group_wide() {
    let (_db, server) = start().await;
    let mut north = complaints(&server, "acme-north");
    let start_day = date!(2026 - 07 - 01);
    answered(&mut north, start_day, 10, pb::ComplaintOutcome::Upheld).await;
    answered(&mut north, start_day, 20, pb::ComplaintOutcome::NotUpheld).await;
    answered(&mut north, start_day, 40, pb::ComplaintOutcome::NotUpheld).await;
    // Withdrawn: counted by outcome, not in the median.
    answered(&mut north, start_day, 2, pb::ComplaintOutcome::Withdrawn).await;
    // Open and overdue (received Fri 30 Oct 2026, due Sat 28 Nov).
    filed(&mut north, complaint(datetime!(2026-10-30 12:00 UTC))).await;
    let mut south = complaints(&server, "acme-south");
    answered(&mut south, start_day, 6, pb::ComplaintOutcome::Upheld).await;

    let own = north
        .get_complaint_figures(pb::GetComplaintFiguresRequest { group_wide: false })
        .await
        .expect("figures")
        .into_inner();
    assert_eq!(own.tenants.len(), 1);
    let f = &own.tenants[0];
    assert_eq!(f.tenant, "acme-north");
    assert_eq!(f.open, 1);
    assert_eq!(f.awaiting_acknowledgement, 1);
    assert_eq!(f.acknowledgement_overdue, 1);
    assert_eq!(f.closed, 4);
    assert_eq!(f.count_by_outcome.get("not_upheld"), Some(&2));
    assert_eq!(f.count_by_outcome.get("withdrawn"), Some(&1));
    // Median of 10, 20 and 40 days.
    assert!((f.median_days_to_outcome - 20.0).abs() < 1e-9, "{f:?}");

    let mut staff = ComplaintServiceClient::with_interceptor(
        server.channel(),
        Box::new(dps_test_support::caller_with_roles(
            "acme-north",
            "carer-1",
            &["staff"],
        )),
    );
    let status = staff
        .get_complaint_figures(pb::GetComplaintFiguresRequest { group_wide: true })
        .await
        .expect_err("needs a group-wide role");
    assert_eq!(status.code(), Code::PermissionDenied);
    // The default test caller is a dpo.
    let group = north
        .get_complaint_figures(pb::GetComplaintFiguresRequest { group_wide: true })
        .await
        .expect("group")
        .into_inner();
    let tenants: Vec<&str> = group.tenants.iter().map(|t| t.tenant.as_str()).collect();
    assert_eq!(tenants, ["acme-north", "acme-south"]);
    let total = group.total.expect("total");
    assert_eq!(total.closed, 5);
    assert_eq!(total.count_by_outcome.get("upheld"), Some(&2));
    // Median of 6, 10, 20 and 40 days.
    assert!(
        (total.median_days_to_outcome - 15.0).abs() < 1e-9,
        "{total:?}"
    );
}

#[tokio::test]
async fn shredding_the_persons_key_erases_the_complaints_personal_details() {
    let (_db, server) = start().await;
    let mut client = complaints(&server, "acme-north");
    let c = filed(&mut client, complaint(datetime!(2026-11-02 12:00 UTC))).await;
    client
        .add_complaint_entry(pb::AddComplaintEntryRequest {
            name: c.name.clone(),
            kind: pb::ComplaintEntryKind::Note.into(),
            text: "Edith phoned again about her neighbour".into(),
        })
        .await
        .expect("note");
    requests_client(&server, "acme-north")
        .shred_personal_data(pb::ShredPersonalDataRequest {
            person_id: PERSON.into(),
        })
        .await
        .expect("shredded");
    let read = client
        .get_complaint(pb::GetComplaintRequest {
            name: c.name.clone(),
        })
        .await
        .expect("still readable")
        .into_inner();
    assert!(read.personal_data_erased);
    assert_eq!(read.subject, "");
    assert_eq!(read.complainant_contact, "");
    // What is not personal stays: the dates, the state, the person reference.
    assert_eq!(read.person_id, PERSON);
    assert_eq!(clock(&read).due_date, "2026-12-01");
    let entries = history(&mut client, &c.name).await;
    assert_eq!(entries[1].action, "note");
    assert_eq!(entries[1].text, "");
}
