//! The DPO's view: requests listed by due date, filtered, a page at a time.

use dps_platform::error::field_violations;
use dps_proto::subject_requests::v1 as pb;
use time::macros::date;
use tonic::Code;

use super::lifecycle::{created, dates, event, record, request, transition};
use super::{Client, client, start};

async fn list(
    client: &mut Client,
    request: pb::ListSubjectRequestsRequest,
) -> pb::ListSubjectRequestsResponse {
    client
        .list_subject_requests(request)
        .await
        .expect("listed")
        .into_inner()
}

fn dues(response: &pb::ListSubjectRequestsResponse) -> Vec<String> {
    response
        .subject_requests
        .iter()
        .map(|r| dates(r).0)
        .collect()
}

#[tokio::test]
async fn open_requests_are_listed_soonest_due_first_with_filters_and_pages() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    // Received → due (England and Wales):
    //   Mon 2 Nov 2026 → Wed 2 Dec 2026 (erasure)
    //   Tue 3 Mar 2026 → Fri 3 Apr is Good Friday, Mon 6 Apr Easter Monday → Tue 7 Apr 2026
    //   Fri 31 Jul 2026 → Mon 31 Aug is the summer bank holiday → Tue 1 Sep 2026
    //   Tue 1 Sep 2026 → Thu 1 Oct 2026, then completed
    //   Mon 16 Nov 2026, identity awaited: no due date, listed last
    let erasure = created(
        &mut client,
        request(pb::RequestKind::Erasure, date!(2026 - 11 - 02)),
    )
    .await;
    let easter = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 03 - 03)),
    )
    .await;
    let august = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 07 - 31)),
    )
    .await;
    assert_eq!(dates(&easter).0, "2026-04-07");
    assert_eq!(dates(&august).0, "2026-09-01");
    let done = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 09 - 01)),
    )
    .await;
    transition(&mut client, &done.name, pb::Transition::Start, "")
        .await
        .expect("started");
    transition(&mut client, &done.name, pb::Transition::Complete, "")
        .await
        .expect("completed");
    let waiting = created(
        &mut client,
        request(pb::RequestKind::Access, date!(2026 - 11 - 16)),
    )
    .await;
    record(
        &mut client,
        event(
            &waiting.name,
            pb::ClockEventKind::IdentityRequested,
            date!(2026 - 11 - 17),
            "",
        ),
    )
    .await;

    let open = list(
        &mut client,
        pb::ListSubjectRequestsRequest {
            open_only: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(dues(&open), ["2026-04-07", "2026-09-01", "2026-12-02", ""]);
    assert_eq!(open.next_page_token, "");
    let all = list(&mut client, pb::ListSubjectRequestsRequest::default()).await;
    assert_eq!(
        dues(&all),
        ["2026-04-07", "2026-09-01", "2026-10-01", "2026-12-02", ""]
    );

    // Two at a time: three pages, the last with no token.
    let mut seen = Vec::new();
    let mut token = String::new();
    for _ in 0..3 {
        let page = list(
            &mut client,
            pb::ListSubjectRequestsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await;
        seen.extend(dues(&page));
        token = page.next_page_token;
    }
    assert_eq!(token, "");
    assert_eq!(seen, dues(&all));

    // "What is due by the end of the year", erasures only, overdue, by state.
    let due = list(
        &mut client,
        pb::ListSubjectRequestsRequest {
            open_only: true,
            due_on_or_before: "2026-12-02".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(dues(&due), ["2026-04-07", "2026-09-01", "2026-12-02"]);
    let erasures = list(
        &mut client,
        pb::ListSubjectRequestsRequest {
            kinds: vec![pb::RequestKind::Erasure.into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(erasures.subject_requests[0].name, erasure.name);
    assert_eq!(erasures.subject_requests.len(), 1);
    let overdue = list(
        &mut client,
        pb::ListSubjectRequestsRequest {
            overdue_only: true,
            ..Default::default()
        },
    )
    .await;
    // Today is after 1 Sep 2026; the completed request's 1 Oct is never overdue; the erasure's
    // 2 Dec is once that day has passed.
    let mut expected = vec!["2026-04-07", "2026-09-01"];
    if time::OffsetDateTime::now_utc().date() > date!(2026 - 12 - 02) {
        expected.push("2026-12-02");
    }
    assert_eq!(dues(&overdue), expected);
    assert!(
        overdue.subject_requests[0]
            .deadlines
            .as_ref()
            .expect("d")
            .overdue
    );
    let awaiting = list(
        &mut client,
        pb::ListSubjectRequestsRequest {
            states: vec![pb::RequestState::AwaitingIdentity.into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(awaiting.subject_requests[0].name, waiting.name);

    // Assigned to a handler.
    let assigned = client
        .assign_subject_request(pb::AssignSubjectRequestRequest {
            name: august.name.clone(),
            handler: "dpo-alice".into(),
        })
        .await
        .expect("assigned")
        .into_inner();
    assert_eq!(assigned.handler, "dpo-alice");
    let mine = list(
        &mut client,
        pb::ListSubjectRequestsRequest {
            handler: "dpo-alice".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(dues(&mine), ["2026-09-01"]);
    // A finished request cannot be assigned.
    let status = client
        .assign_subject_request(pb::AssignSubjectRequestRequest {
            name: done.name.clone(),
            handler: "dpo-alice".into(),
        })
        .await
        .expect_err("completed");
    assert_eq!(status.code(), Code::FailedPrecondition);

    // Another tenant sees none of them.
    let other = list(
        &mut super::client(&server, "acme-south"),
        pb::ListSubjectRequestsRequest::default(),
    )
    .await;
    assert!(other.subject_requests.is_empty());
}

#[tokio::test]
async fn bad_listing_arguments_are_named() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    for (request, field) in [
        (
            pb::ListSubjectRequestsRequest {
                page_size: 500,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListSubjectRequestsRequest {
                page_token: "r1:garbage".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            pb::ListSubjectRequestsRequest {
                due_on_or_before: "2/12/2026".into(),
                ..Default::default()
            },
            "due_on_or_before",
        ),
        (
            pb::ListSubjectRequestsRequest {
                states: vec![99],
                ..Default::default()
            },
            "states",
        ),
    ] {
        let status = client
            .list_subject_requests(request)
            .await
            .expect_err("invalid");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(field_violations(&status)[0].0, field);
    }
}
