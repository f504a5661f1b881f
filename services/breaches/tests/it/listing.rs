//! The DPO's alarm view (open breaches by time left, a page at a time) and dashboard figures.

use super::*;
use dps_proto::common::v1::Jurisdiction;

async fn page(client: &mut Client, size: i32, token: &str) -> pb::ListOpenBreachesResponse {
    client
        .list_open_breaches(pb::ListOpenBreachesRequest {
            page_size: size,
            page_token: token.into(),
        })
        .await
        .expect("listed")
        .into_inner()
}

#[tokio::test]
async fn open_breaches_are_listed_least_time_left_first_a_page_at_a_time() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    // Aware 10, 80 (overdue), 40 and 70 hours ago; plus an unclassified incident and another
    // tenant's breach, neither of which belongs in this list.
    let b10 = breach(&mut client, "ten", 10).await;
    let b80 = breach(&mut client, "eighty", 80).await;
    let b40 = breach(&mut client, "forty", 40).await;
    let b70 = breach(&mut client, "seventy", 70).await;
    client
        .create_incident(create(misdirected_email()))
        .await
        .expect("unclassified");
    breach(&mut super::client(&server, "acme-south"), "theirs", 75).await;

    let first = page(&mut client, 3, "").await;
    let names: Vec<&str> = first.breaches.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, [&b80.name, &b70.name, &b40.name]);
    let overdue = &first.breaches[0];
    assert!(overdue.overdue);
    // 72 - 80 = -8 hours, give or take the test's own seconds.
    assert!((-8 * 3600 - 60..=-8 * 3600 + 60).contains(&overdue.seconds_remaining));
    assert!(!first.breaches[1].overdue);
    assert!(!first.next_page_token.is_empty());
    let second = page(&mut client, 3, &first.next_page_token).await;
    assert_eq!(
        second
            .breaches
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>(),
        [b10.name.as_str()]
    );
    assert!(second.next_page_token.is_empty());
}

#[tokio::test]
async fn bad_pages_are_named() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    for (size, token, field) in [
        (201, "", "page_size"),
        (-1, "", "page_size"),
        (0, "b1:x/y", "page_token"),
        (0, "r1:1/2", "page_token"),
    ] {
        let status = client
            .list_open_breaches(pb::ListOpenBreachesRequest {
                page_size: size,
                page_token: token.into(),
            })
            .await
            .expect_err("bad page");
        assert_eq!(fields(&status), [field]);
    }
}

#[tokio::test]
async fn the_dashboard_counts_per_tenant_and_for_the_group() {
    let (_db, server) = start().await;
    let mut north = client(&server, "acme-north");
    let mut south = client(&server, "acme-south");
    settings(&mut north, Jurisdiction::EnglandAndWales).await;
    let late = breach(&mut north, "late", 100).await;
    north
        .notify_regulator(pb::NotifyRegulatorRequest {
            parent: late.name.clone(),
            notification: super::reports::initial(&late.name, 0)
                .notification
                .map(|n| pb::RegulatorNotification {
                    delay_reason: "police report on day 3".into(),
                    ..n
                }),
        })
        .await
        .expect("late report");
    let on_time = breach(&mut north, "on time", 10).await;
    north
        .notify_regulator(super::reports::initial(&on_time.name, 0))
        .await
        .expect("on-time report");
    let low = breach(&mut north, "low", 5).await;
    assess(
        &mut north,
        &low.name,
        pb::RiskAssessment {
            rationale: "no risk".into(),
            ..assessment(inputs(
                1.0,
                1.0,
                pb::Loss::Limited,
                pb::Loss::None,
                pb::Loss::None,
                false,
            ))
        },
    )
    .await
    .expect("not reportable");
    breach(&mut north, "due soon", 60).await;
    breach(&mut south, "overdue", 80).await;
    south
        .create_incident(create(misdirected_email()))
        .await
        .expect("not classified");

    let mine = north
        .get_dashboard(pb::GetDashboardRequest { group_wide: false })
        .await
        .expect("own figures")
        .into_inner();
    assert_eq!(mine.tenants.len(), 1);
    let n = &mine.tenants[0];
    assert_eq!(n.tenant, "acme-north");
    assert_eq!((n.incidents, n.breaches), (4, 4));
    assert_eq!(
        (n.open, n.open_overdue, n.open_due_within_24_hours),
        (1, 0, 1)
    );
    assert_eq!(
        (n.reported_on_time, n.reported_late, n.not_reportable),
        (1, 1, 1)
    );
    assert_eq!(n.by_kind.get("confidentiality"), Some(&4));
    assert_eq!(n.by_severity.get("low"), Some(&1));
    assert_eq!(n.by_severity.get("unassessed"), Some(&3));

    let group = north
        .get_dashboard(pb::GetDashboardRequest { group_wide: true })
        .await
        .expect("dpo sees the group")
        .into_inner();
    assert_eq!(group.tenants.len(), 2);
    let total = group.total.expect("total");
    assert_eq!((total.incidents, total.breaches), (6, 5));
    assert_eq!((total.open, total.open_overdue), (2, 1));
    assert_eq!(total.by_kind.get("confidentiality"), Some(&5));

    let mut staff = pb::breaches_service_client::BreachesServiceClient::with_interceptor(
        server.channel(),
        Box::new(dps_test_support::caller_with_roles(
            "acme-north",
            "carer",
            &["staff"],
        )) as dps_test_support::Caller,
    );
    let status = staff
        .get_dashboard(pb::GetDashboardRequest { group_wide: true })
        .await
        .expect_err("staff see their own tenant only");
    assert_eq!(status.code(), Code::PermissionDenied);
}
