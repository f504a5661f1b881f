//! Dashboard figures per tenant and group-wide.

use dps_proto::subject_requests::v1 as pb;
use time::macros::date;
use time::{Date, Duration, OffsetDateTime};
use tonic::Code;

use super::lifecycle::{created, dates, request, transition};
use super::{Client, client, client_with_roles, start};

async fn complete(client: &mut Client, name: &str) {
    transition(client, name, pb::Transition::Start, "")
        .await
        .expect("started");
    transition(client, name, pb::Transition::Complete, "")
        .await
        .expect("completed");
}

fn due(r: &pb::SubjectRequest) -> Date {
    Date::parse(
        &dates(r).0,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .expect("a due date")
}

#[tokio::test]
async fn figures_count_states_due_overdue_and_time_to_complete() {
    let (_db, server) = start().await;
    let mut north = client(&server, "acme-north");
    let today = OffsetDateTime::now_utc().date();
    // Open, due about three days from now (28 days ago + one month).
    let soon = created(
        &mut north,
        request(pb::RequestKind::Access, today - Duration::days(28)),
    )
    .await;
    // Open, due Thu 2 Apr 2026: overdue.
    created(
        &mut north,
        request(pb::RequestKind::Access, date!(2026 - 03 - 02)),
    )
    .await;
    // Due Thu 1 Oct 2026, completed today: late.
    let late = created(
        &mut north,
        request(pb::RequestKind::Objection, date!(2026 - 09 - 01)),
    )
    .await;
    complete(&mut north, &late.name).await;
    // Received two days ago, completed today: on time, 2 days.
    let quick = created(
        &mut north,
        request(pb::RequestKind::Access, today - Duration::days(2)),
    )
    .await;
    complete(&mut north, &quick.name).await;
    let mut south = client(&server, "acme-south");
    created(
        &mut south,
        request(pb::RequestKind::Access, date!(2026 - 03 - 02)),
    )
    .await;

    let own = north
        .get_dashboard(pb::GetDashboardRequest { group_wide: false })
        .await
        .expect("figures")
        .into_inner();
    assert_eq!(own.tenants.len(), 1);
    let f = &own.tenants[0];
    assert_eq!(f.tenant, "acme-north");
    assert_eq!(f.count_by_state.get("received"), Some(&2));
    assert_eq!(f.count_by_state.get("completed"), Some(&2));
    assert_eq!(f.overdue, 1);
    let soon_due = due(&soon);
    let expected_soon = i64::from(soon_due >= today && soon_due <= today + Duration::days(7));
    assert_eq!(f.due_in_7_days, expected_soon);
    assert_eq!(f.completed, 2);
    assert!((f.percent_completed_on_time - 50.0).abs() < 1e-9);
    let late_days = (today - date!(2026 - 09 - 01)).whole_days() as f64;
    assert!(
        (f.median_days_to_complete - (late_days + 2.0) / 2.0).abs() < 1e-9,
        "{}",
        f.median_days_to_complete
    );
    assert_eq!(own.total.as_ref().map(|t| t.overdue), Some(1));

    let group = north
        .get_dashboard(pb::GetDashboardRequest { group_wide: true })
        .await
        .expect("group")
        .into_inner();
    let tenants: Vec<&str> = group.tenants.iter().map(|t| t.tenant.as_str()).collect();
    assert_eq!(tenants, ["acme-north", "acme-south"]);
    let total = group.total.expect("total");
    assert_eq!(total.overdue, 2);
    assert_eq!(total.count_by_state.get("received"), Some(&3));

    let status = client_with_roles(&server, "acme-north", "carer-1", &["staff"])
        .get_dashboard(pb::GetDashboardRequest { group_wide: true })
        .await
        .expect_err("not group-wide");
    assert_eq!(status.code(), Code::PermissionDenied);
}
