//! Issue 9 §2–3: the role table and the tenant scope, through the real gateway.

use dps_gateway::policy::{self, Role};
use tonic::Code;

use super::{call, gateway};

#[tokio::test]
async fn every_method_is_allowed_to_exactly_the_roles_the_table_names() {
    let gw = gateway().await;
    let mut checked = 0;
    for (role, code) in Role::ALL {
        let token = gw.token(&[code]);
        for (path, allowed) in policy::TABLE {
            let got = call(gw.server.channel(), path, &token, None).await;
            let local = path.starts_with("/dps.gateway.") || path.starts_with("/grpc.reflection.");
            if !allowed.contains(&role) {
                assert_eq!(got, Code::PermissionDenied, "{code} calling {path}");
            } else if local {
                // Served by the gateway itself: it answers (reflection dislikes an empty
                // message, which is still an answer from past the role table).
                assert!(
                    !matches!(got, Code::PermissionDenied | Code::Unauthenticated),
                    "{code} calling {path}: {got:?}"
                );
            } else {
                assert_eq!(got, Code::Unavailable, "{code} calling {path}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, Role::ALL.len() * policy::TABLE.len());
    // A method of a known service that is not in the table, and a token without known roles.
    let dpo = gw.token(&["dpo"]);
    let unlisted = "/dps.consent.v1.ConsentService/DropAllTables";
    assert_eq!(
        call(gw.server.channel(), unlisted, &dpo, None).await,
        Code::PermissionDenied
    );
    let nobody = gw.token(&["superuser"]);
    let listed = "/dps.consent.v1.ConsentService/ListPurposes";
    assert_eq!(
        call(gw.server.channel(), listed, &nobody, None).await,
        Code::PermissionDenied
    );
    assert_eq!(
        call(gw.server.channel(), listed, "not-a-token", None).await,
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn only_group_wide_roles_act_for_another_tenant_and_only_where_granted() {
    let gw = gateway().await;
    let issuer = &gw.issuer;
    let list = "/dps.subject_requests.v1.SubjectRequestsService/ListSubjectRequests";
    let staff = issuer.token_for_group("acme-north", "sam", &["staff"], &["*"], 600);
    let channel = || gw.server.channel();
    assert_eq!(
        call(channel(), list, &staff, Some("acme-south")).await,
        Code::PermissionDenied
    );
    assert_eq!(
        call(channel(), list, &staff, Some("acme-north")).await,
        Code::Unavailable
    );
    let dpo = issuer.token_for_group("acme-north", "jane", &["dpo"], &["acme-south"], 600);
    assert_eq!(
        call(channel(), list, &dpo, Some("acme-south")).await,
        Code::Unavailable
    );
    assert_eq!(
        call(channel(), list, &dpo, Some("acme-east")).await,
        Code::PermissionDenied
    );
    // In another tenant only the group-wide role travels: a DPO who is also a health
    // professional at home cannot approve a health release elsewhere.
    let approve = "/dps.subject_requests.v1.SubjectRequestsService/ApproveHealthRelease";
    let both = issuer.token_for_group(
        "acme-north",
        "jo",
        &["dpo", "health_professional"],
        &["*"],
        600,
    );
    assert_eq!(
        call(channel(), approve, &both, None).await,
        Code::Unavailable
    );
    assert_eq!(
        call(channel(), approve, &both, Some("acme-south")).await,
        Code::PermissionDenied
    );
}
