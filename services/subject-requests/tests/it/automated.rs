//! Automated-decision requests: the remedies asked for follow the tenant's law (UK GDPR Art 22C
//! safeguards; the Jersey objection), are kept, and a wrong one stores nothing.

use dps_proto::common::v1::Jurisdiction as PbJurisdiction;

use super::*;

fn automated(remedies: &[pb::AutomatedDecisionRemedy]) -> pb::SubjectRequest {
    pb::SubjectRequest {
        kind: pb::RequestKind::AutomatedDecisionReview.into(),
        details: "the rota system cut my hours without anyone looking at it".into(),
        automated_decision_remedies: remedies.iter().map(|r| (*r).into()).collect(),
        ..phoned_access_request()
    }
}

#[tokio::test]
async fn remedies_follow_the_tenants_law_and_a_wrong_one_stores_nothing() {
    use pb::AutomatedDecisionRemedy as R;
    let (db, server) = start().await;
    let mut uk = client(&server, "acme-north");
    let r = uk
        .create_subject_request(create(automated(&[R::Contest, R::HumanIntervention])))
        .await
        .expect("UK safeguards")
        .into_inner();
    assert_eq!(
        r.automated_decision_remedies().collect::<Vec<_>>(),
        [R::HumanIntervention, R::Contest]
    );
    let read = uk
        .get_subject_request(pb::GetSubjectRequestRequest { name: r.name })
        .await
        .expect("read back")
        .into_inner();
    assert_eq!(
        read.automated_decision_remedies().collect::<Vec<_>>(),
        [R::HumanIntervention, R::Contest]
    );

    for (remedies, why) in [
        (vec![R::Objection], "objection is not a remedy"),
        (vec![], "required"),
    ] {
        let status = uk
            .create_subject_request(create(automated(&remedies)))
            .await
            .expect_err("wrong remedies");
        assert_eq!(status.code(), Code::InvalidArgument);
        let violations = field_violations(&status);
        assert_eq!(
            violations[0].0,
            "subject_request.automated_decision_remedies"
        );
        assert!(violations[0].1.contains(why), "{violations:?}");
    }
    let status = uk
        .create_subject_request(create(pb::SubjectRequest {
            automated_decision_remedies: vec![R::Contest.into()],
            ..phoned_access_request()
        }))
        .await
        .expect_err("access has no remedies");
    assert_eq!(
        field_violations(&status)[0].0,
        "subject_request.automated_decision_remedies"
    );
    assert_eq!(stored_requests(&db).await, 1);

    let mut jersey = client(&server, "acme-jersey");
    jersey
        .update_tenant_settings(pb::UpdateTenantSettingsRequest {
            settings: Some(pb::TenantSettings {
                jurisdiction: PbJurisdiction::Jersey.into(),
                ..Default::default()
            }),
        })
        .await
        .expect("Jersey settings");
    let status = jersey
        .create_subject_request(create(automated(&[R::HumanIntervention])))
        .await
        .expect_err("Art 22C is UK law");
    assert!(
        field_violations(&status)[0]
            .1
            .contains("expected objection")
    );
    let r = jersey
        .create_subject_request(create(automated(&[R::Objection])))
        .await
        .expect("Jersey objection")
        .into_inner();
    assert_eq!(
        r.automated_decision_remedies().collect::<Vec<_>>(),
        [R::Objection]
    );
    assert_eq!(stored_requests(&db).await, 2);
}
