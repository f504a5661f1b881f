//! The information asset register, which systems may hold a person's data, and the erasure
//! check.

use tonic::Code;

use super::*;

fn care_records() -> pb::InformationAsset {
    pb::InformationAsset {
        system: "care-records".into(),
        display_name: "Care record platform".into(),
        owner: "Registered manager, North".into(),
        service_area: "Residential care".into(),
        data_subjects: vec!["service users".into()],
        categories: vec![
            pb::DataCategory {
                name: "contact details".into(),
                special_category: false,
            },
            pb::DataCategory {
                name: "health".into(),
                special_category: true,
            },
        ],
        protection_measures: vec!["role-based access".into(), "encrypted at rest".into()],
        retention: "adult-health-record, child-health-record".into(),
        recipients: vec!["GP practices".into()],
        international_transfers: vec![pb::InternationalTransfer {
            destination: "Ireland (hosting)".into(),
            safeguard: "UK adequacy regulations".into(),
        }],
        registers_records: true,
        ..Default::default()
    }
}

fn create(asset: pb::InformationAsset) -> pb::CreateInformationAssetRequest {
    pb::CreateInformationAssetRequest {
        information_asset: Some(asset),
        request_id: String::new(),
    }
}

#[tokio::test]
async fn an_asset_is_registered_with_its_processing_details() {
    let (_db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    let created = dpo
        .create_information_asset(create(care_records()))
        .await
        .expect("created")
        .into_inner();
    assert!(created.holds_special_category);
    let read = dpo
        .get_information_asset(pb::GetInformationAssetRequest {
            name: created.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read, created);
    let status = dpo
        .create_information_asset(create(care_records()))
        .await
        .expect_err("same system");
    assert_eq!(status.code(), Code::AlreadyExists);
    let listed = dpo
        .list_information_assets(pb::ListInformationAssetsRequest {})
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.information_assets, vec![created]);
}

#[tokio::test]
async fn bad_assets_are_refused_naming_each_field() {
    let (db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    let status = dpo
        .create_information_asset(create(pb::InformationAsset {
            owner: String::new(),
            categories: vec![],
            international_transfers: vec![pb::InternationalTransfer {
                destination: "USA".into(),
                safeguard: String::new(),
            }],
            ..care_records()
        }))
        .await
        .expect_err("bad");
    assert_eq!(
        fields(&status),
        [
            "information_asset.owner",
            "information_asset.categories",
            "information_asset.international_transfers[0].safeguard"
        ]
    );
    let status = client_as(&server, "acme-north", "staff-1", &["staff"])
        .create_information_asset(create(care_records()))
        .await
        .expect_err("staff");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        count(&db, "SELECT count(*) FROM retention.information_assets").await,
        0
    );
}

#[tokio::test]
async fn systems_that_may_hold_a_person_are_those_with_their_records_and_unregistered_ones() {
    let (_db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    dpo.create_information_asset(create(care_records()))
        .await
        .expect("care");
    dpo.create_information_asset(create(pb::InformationAsset {
        system: "paper-files".into(),
        display_name: "Office filing cabinets".into(),
        data_subjects: vec!["service users".into(), "employees".into()],
        registers_records: false,
        ..care_records()
    }))
    .await
    .expect("paper");
    dpo.create_information_asset(create(pb::InformationAsset {
        system: "payroll".into(),
        display_name: "Payroll".into(),
        ..care_records()
    }))
    .await
    .expect("payroll");
    register(&mut dpo, record("complaint", "c-1", "2021-05-10", |_| {})).await;
    register(
        &mut dpo,
        record("complaint", "c-2", "2021-05-10", |r| {
            r.system = "email-archive".into()
        }),
    )
    .await;
    let found = dpo
        .find_systems_for_person(pb::FindSystemsForPersonRequest {
            person_id: "person-1".into(),
        })
        .await
        .expect("found")
        .into_inner()
        .systems;
    let systems: Vec<(&str, i64)> = found
        .iter()
        .map(|s| (s.system.as_str(), s.registered_records))
        .collect();
    assert_eq!(
        systems,
        [
            ("care-records", 1),
            ("email-archive", 1),
            ("paper-files", 0)
        ]
    );
    assert!(found[1].information_asset.is_none());
    assert!(
        found[1]
            .reason
            .contains("not in the information asset register")
    );
    assert!(found[2].reason.contains("search it"));
    let status = dpo
        .find_systems_for_person(pb::FindSystemsForPersonRequest {
            person_id: " ".into(),
        })
        .await
        .expect_err("no person");
    assert_eq!(fields(&status), ["person_id"]);
}

async fn check(client: &mut Client, person: &str) -> pb::CheckErasureResponse {
    client
        .check_erasure(pb::CheckErasureRequest {
            person_id: person.into(),
        })
        .await
        .expect("check")
        .into_inner()
}

#[tokio::test]
async fn the_erasure_check_says_which_records_must_be_kept_and_why() {
    let (_db, server) = start().await;
    let mut dpo = client(&server, "acme-north");
    // Ended: SAR closed 2022-03-31 → 2025-03-31.
    register(
        &mut dpo,
        record("subject-access-request", "sar-1", "2022-01-10", |r| {
            r.close_date = "2022-03-31".into();
        }),
    )
    .await;
    let only_ended = check(&mut dpo, "person-1").await;
    assert!(only_ended.may_erase);
    assert!(only_ended.records[0].reasons[0].starts_with("retention ended on 2025-03-31"));
    // Running: adult record discharged 2024-03-15 → 2044-03-15. Not started: an open complaint.
    register(
        &mut dpo,
        record("adult-health-record", "a-1", "2020-01-01", |r| {
            r.discharge_date = "2024-03-15".into();
        }),
    )
    .await;
    register(&mut dpo, record("complaint", "c-1", "2025-01-01", |_| {})).await;
    let result = check(&mut dpo, "person-1").await;
    assert!(!result.may_erase);
    let by_id = |id: &str| {
        result
            .records
            .iter()
            .find(|r| r.record.as_ref().is_some_and(|rec| rec.external_id == id))
            .expect(id)
    };
    assert!(!by_id("sar-1").must_keep);
    assert!(by_id("a-1").must_keep);
    assert!(
        by_id("a-1").reasons[0].starts_with("retention runs to 2044-03-15"),
        "{:?}",
        by_id("a-1").reasons
    );
    assert!(by_id("c-1").reasons[0].starts_with("retention has not started"));
    let nobody = dpo
        .check_erasure(pb::CheckErasureRequest {
            person_id: "person-9".into(),
        })
        .await
        .expect("nobody")
        .into_inner();
    assert!(nobody.may_erase && nobody.records.is_empty());
}
