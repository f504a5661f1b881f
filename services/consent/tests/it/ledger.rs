//! Consents, restrictions, objections, the processing check, disclosures and the change stream,
//! end to end over gRPC against real Postgres and a real key store.

use std::time::Duration;

use dps_platform::error::field_violations;
use dps_platform::server::Readiness;
use dps_proto::consent::v1 as pb;
use dps_test_support::{TestDb, spawn};
use pb::DecisionReason as R;
use prost_types::Timestamp;
use tokio_stream::StreamExt;
use tonic::Code;

use super::{Client, care_planning, client, start};

fn ago(seconds: i64) -> Option<Timestamp> {
    let t = time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds);
    Some(dps_platform::proto_time::to_proto(t))
}

fn fields(status: &tonic::Status) -> Vec<String> {
    field_violations(status)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

async fn purpose(c: &mut Client, edit: impl FnOnce(&mut pb::Purpose)) -> String {
    let mut p = care_planning();
    edit(&mut p);
    c.create_purpose(pb::CreatePurposeRequest {
        purpose: Some(p),
        request_id: String::new(),
    })
    .await
    .expect("purpose")
    .into_inner()
    .name
}

fn consent_based(p: &mut pb::Purpose) {
    p.display_name = "Photographs in the newsletter".into();
    p.lawful_basis = pb::LawfulBasis::Consent.into();
    p.special_category_condition = 0;
    p.data_categories = vec!["images".into()];
}

async fn notice(c: &mut Client, material: bool) -> String {
    c.publish_notice(pb::PublishNoticeRequest {
        notice: Some(pb::Notice {
            audience: pb::Audience::ServiceUsers.into(),
            title: "How we use your information".into(),
            uri: "https://example.org/privacy/service-users".into(),
            material_change: material,
            publish_time: ago(86_400 * 30 - i64::from(material) * 86_400),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .expect("notice")
    .into_inner()
    .name
}

fn give(person: &str, purpose: &str, notice: &str) -> pb::RecordConsentRequest {
    pb::RecordConsentRequest {
        person_id: person.into(),
        purpose: purpose.into(),
        notice: notice.into(),
        method: pb::CaptureMethod::Written.into(),
        action: pb::ConsentAction::OptIn.into(),
        consent_time: ago(3600),
        giver: Some(pb::ConsentGiver {
            role: pb::GiverRole::Self_.into(),
            ..Default::default()
        }),
        evidence_reference: "Consent form CF-2026-118, signed".into(),
        ..Default::default()
    }
}

async fn check(c: &mut Client, person: &str, purpose: &str) -> pb::ProcessingDecision {
    c.check_processing(pb::CheckProcessingRequest {
        person_id: person.into(),
        purpose: purpose.into(),
    })
    .await
    .expect("check")
    .into_inner()
}

async fn verdict(c: &mut Client, person: &str, purpose: &str) -> (bool, R) {
    let d = check(c, person, purpose).await;
    (d.allowed, d.reason())
}

async fn withdraw(
    c: &mut Client,
    person: &str,
    purpose: &str,
) -> Result<pb::ConsentRecord, tonic::Status> {
    c.withdraw_consent(pb::WithdrawConsentRequest {
        person_id: person.into(),
        purpose: purpose.into(),
        method: pb::CaptureMethod::Verbal.into(),
        withdraw_time: None,
    })
    .await
    .map(tonic::Response::into_inner)
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let sql = match table {
        "consent_events" => "SELECT count(*) FROM consent.consent_events",
        "restrictions" => "SELECT count(*) FROM consent.restrictions",
        "disclosures" => "SELECT count(*) FROM consent.disclosures",
        "changes" => "SELECT count(*) FROM consent.changes",
        _ => panic!("unknown table {table}"),
    };
    sqlx::query_scalar(sql)
        .fetch_one(db.pool())
        .await
        .expect("count")
}

async fn next_change(changes: &mut tonic::Streaming<pb::Change>) -> pb::Change {
    tokio::time::timeout(Duration::from_secs(10), changes.next())
        .await
        .expect("a change in time")
        .expect("stream open")
        .expect("change")
}

#[tokio::test]
async fn give_check_withdraw_check_and_the_stream_saw_it() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let photos = purpose(&mut c, consent_based).await;
    let notice = notice(&mut c, false).await;
    let mut changes = c
        .watch_changes(pb::WatchChangesRequest {
            cursor: String::new(),
        })
        .await
        .expect("subscribed")
        .into_inner();

    let receipt = c
        .record_consent(give("p-1001", &photos, &notice))
        .await
        .expect("given")
        .into_inner();
    assert!(receipt.name.starts_with("consents/"));
    assert_eq!(receipt.schema_version, "ISO/IEC TS 27560:2023");
    assert_eq!(receipt.controller, "acme-north");
    assert_eq!(receipt.event(), pb::ConsentEvent::Given);
    assert_eq!(receipt.notice_version, 1);
    assert_eq!(
        receipt.purpose_display_name,
        "Photographs in the newsletter"
    );
    assert_eq!(
        receipt.evidence_reference,
        "Consent form CF-2026-118, signed"
    );

    let allowed = check(&mut c, "p-1001", &photos).await;
    assert!(allowed.allowed);
    assert_eq!(allowed.reason(), R::Consent);
    assert_eq!(allowed.record, receipt.name);
    assert_eq!(allowed.lawful_basis(), pb::LawfulBasis::Consent);

    let withdrawal = withdraw(&mut c, "p-1001", &photos)
        .await
        .expect("withdrawn");
    assert_eq!(withdrawal.event(), pb::ConsentEvent::Withdrawn);
    // No stale allow once the withdrawal returned, although the allow above was cached.
    assert_eq!(
        verdict(&mut c, "p-1001", &photos).await,
        (false, R::Withdrawn)
    );

    let again = withdraw(&mut c, "p-1001", &photos)
        .await
        .expect("idempotent");
    assert_eq!(
        again.name, withdrawal.name,
        "withdrawing twice returns the first withdrawal"
    );

    let given = next_change(&mut changes).await;
    assert_eq!(given.kind(), pb::ChangeKind::ConsentGiven);
    let withdrawn = next_change(&mut changes).await;
    assert_eq!(withdrawn.kind(), pb::ChangeKind::ConsentWithdrawn);
    assert_eq!(withdrawn.person_id, "p-1001");
    assert_eq!(withdrawn.purpose, photos);
    assert_eq!(withdrawn.record, withdrawal.name);

    let history = c
        .list_consents(pb::ListConsentsRequest {
            person_id: "p-1001".into(),
            purpose: String::new(),
        })
        .await
        .expect("history")
        .into_inner()
        .consents;
    let events: Vec<_> = history.iter().map(pb::ConsentRecord::event).collect();
    assert_eq!(
        events,
        [pb::ConsentEvent::Given, pb::ConsentEvent::Withdrawn]
    );
}

#[tokio::test]
async fn a_withdrawal_on_one_replica_denies_at_once_on_another() {
    let (db, a) = start().await;
    let b = spawn(
        dps_consent::routes(db.pool().clone(), a.keystore().vault().clone()),
        Readiness::Database(db.pool().clone()),
    )
    .await;
    let (mut on_a, mut on_b) = (client(&a, "acme-north"), client(&b, "acme-north"));
    let photos = purpose(&mut on_a, consent_based).await;
    let notice = notice(&mut on_a, false).await;
    on_a.record_consent(give("p-7", &photos, &notice))
        .await
        .expect("given");
    assert_eq!(verdict(&mut on_b, "p-7", &photos).await, (true, R::Consent));
    withdraw(&mut on_a, "p-7", &photos)
        .await
        .expect("withdrawn on A");
    assert_eq!(
        verdict(&mut on_b, "p-7", &photos).await,
        (false, R::Withdrawn),
        "B had the allow cached; it must catch up before answering"
    );
}

#[tokio::test]
async fn invalid_consents_are_refused_with_the_rule_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let photos = purpose(&mut c, consent_based).await;
    let notice = notice(&mut c, false).await;

    let mut advocate = give("p-1", &photos, &notice);
    advocate.lacks_capacity = true;
    advocate.giver = Some(pb::ConsentGiver {
        role: pb::GiverRole::Advocate.into(),
        name: "IMCA J. Smith".into(),
        ..Default::default()
    });
    let status = c.record_consent(advocate).await.expect_err("advocate");
    assert_eq!(status.code(), Code::InvalidArgument);
    let (field, why) = field_violations(&status).remove(0);
    assert_eq!(field, "giver.role");
    assert!(
        why.contains("advocate") && why.contains("cannot consent"),
        "{why}"
    );

    let mut pre_ticked = give("p-1", &photos, &notice);
    pre_ticked.action = pb::ConsentAction::PreTicked.into();
    assert_eq!(
        fields(&c.record_consent(pre_ticked).await.expect_err("refused")),
        ["action"]
    );

    let mut conditional = give("p-1", &photos, &notice);
    conditional.condition_of_service = true;
    assert_eq!(
        fields(&c.record_consent(conditional).await.expect_err("refused")),
        ["condition_of_service"]
    );

    let mut expired = give("p-1", &photos, &notice);
    expired.expire_time = ago(7200);
    assert_eq!(
        fields(&c.record_consent(expired).await.expect_err("refused")),
        ["expire_time"]
    );

    let app = purpose(&mut c, |p| {
        consent_based(p);
        p.display_name = "Family app".into();
        p.child_online_service = true;
    })
    .await;
    let mut child = give("p-2", &app, &notice);
    child.subject_age = Some(12);
    assert_eq!(
        fields(&c.record_consent(child).await.expect_err("refused")),
        ["giver.role"]
    );

    let missing = c
        .record_consent(pb::RecordConsentRequest::default())
        .await
        .expect_err("empty");
    assert_eq!(
        fields(&missing),
        ["person_id", "purpose", "notice", "giver"]
    );

    let unknown = c
        .record_consent(give(
            "p-1",
            "purposes/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e",
            &notice,
        ))
        .await
        .expect_err("unknown purpose");
    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(count(&db, "consent_events").await, 0);
    let persons: i64 = sqlx::query_scalar("SELECT count(*) FROM consent.persons")
        .fetch_one(db.pool())
        .await
        .expect("persons");
    assert_eq!(persons, 0, "a refused consent registers nobody");
}

#[tokio::test]
async fn an_attorney_within_scope_consents_until_their_authority_ends() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let photos = purpose(&mut c, consent_based).await;
    let notice = notice(&mut c, false).await;
    let mut by_attorney = give("p-3", &photos, &notice);
    by_attorney.lacks_capacity = true;
    by_attorney.giver = Some(pb::ConsentGiver {
        role: pb::GiverRole::Attorney.into(),
        name: "M. Daughter".into(),
        authority_reference: "LPA 7000-1234-5678".into(),
        within_scope: true,
        authority_expire_time: None,
    });
    let receipt = c
        .record_consent(by_attorney.clone())
        .await
        .expect("attorney")
        .into_inner();
    let giver = receipt.giver.expect("giver");
    assert_eq!(giver.name, "M. Daughter");
    assert_eq!(giver.authority_reference, "LPA 7000-1234-5678");
    assert_eq!(verdict(&mut c, "p-3", &photos).await, (true, R::Consent));

    // A deputyship that has since ended: consent given under it no longer counts.
    let mut by_deputy = by_attorney;
    by_deputy.person_id = "p-4".into();
    by_deputy.consent_time = ago(7200);
    by_deputy.giver = Some(pb::ConsentGiver {
        role: pb::GiverRole::Deputy.into(),
        name: "County Council deputy".into(),
        authority_reference: "COP 1234567".into(),
        within_scope: true,
        authority_expire_time: ago(60),
    });
    c.record_consent(by_deputy).await.expect("deputy");
    assert_eq!(
        verdict(&mut c, "p-4", &photos).await,
        (false, R::GiverWithoutAuthority)
    );
}

#[tokio::test]
async fn a_restricted_person_may_still_be_processed_for_a_legal_claim() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let care = purpose(&mut c, |_| {}).await;
    let claims = purpose(&mut c, |p| {
        p.display_name = "Defending a negligence claim".into();
        p.lawful_basis = pb::LawfulBasis::LegalObligation.into();
        p.special_category_condition = pb::SpecialCategoryCondition::LegalClaims.into();
        p.restriction_exemption = pb::RestrictionExemption::LegalClaims.into();
    })
    .await;
    let photos = purpose(&mut c, consent_based).await;
    let notice = notice(&mut c, false).await;
    c.record_consent(give("p-5", &photos, &notice))
        .await
        .expect("given");
    assert_eq!(verdict(&mut c, "p-5", &care).await, (true, R::LawfulBasis));

    let restriction = c
        .record_restriction(pb::RecordRestrictionRequest {
            restriction: Some(pb::Restriction {
                person_id: "p-5".into(),
                ground: pb::RestrictionGround::AccuracyContested.into(),
                reason: "Disputes the recorded allergy".into(),
                start_time: ago(60),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("restricted")
        .into_inner();
    assert!(restriction.active);
    assert_eq!(verdict(&mut c, "p-5", &care).await, (false, R::Restricted));
    let legal = check(&mut c, "p-5", &claims).await;
    assert_eq!(
        (legal.allowed, legal.reason()),
        (true, R::RestrictionExempt)
    );
    assert_eq!(legal.record, restriction.name);
    assert_eq!(
        verdict(&mut c, "p-5", &photos).await,
        (true, R::Consent),
        "processing with the person's consent survives a restriction"
    );

    let untold = c
        .lift_restriction(pb::LiftRestrictionRequest {
            name: restriction.name.clone(),
            person_told_time: None,
        })
        .await
        .expect_err("must tell first");
    assert_eq!(fields(&untold), ["person_told_time"]);
    let lifted = c
        .lift_restriction(pb::LiftRestrictionRequest {
            name: restriction.name.clone(),
            person_told_time: ago(30),
        })
        .await
        .expect("lifted")
        .into_inner();
    assert!(!lifted.active && lifted.lift_time.is_some());
    assert_eq!(verdict(&mut c, "p-5", &care).await, (true, R::LawfulBasis));
    let twice = c
        .lift_restriction(pb::LiftRestrictionRequest {
            name: restriction.name,
            person_told_time: ago(30),
        })
        .await
        .expect_err("already lifted");
    assert_eq!(twice.code(), Code::FailedPrecondition);
}

async fn object(
    c: &mut Client,
    person: &str,
    kind: pb::ObjectionKind,
    purpose: &str,
) -> pb::Objection {
    c.record_objection(pb::RecordObjectionRequest {
        objection: Some(pb::Objection {
            person_id: person.into(),
            kind: kind.into(),
            purpose: purpose.into(),
            reason: "Does not want this".into(),
            start_time: ago(10),
            ..Default::default()
        }),
        request_id: String::new(),
    })
    .await
    .expect("objection")
    .into_inner()
}

#[tokio::test]
async fn objections_deny_until_overridden_except_direct_marketing_which_is_absolute() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let fundraising = purpose(&mut c, |p| {
        p.display_name = "Fundraising newsletter".into();
        p.lawful_basis = pb::LawfulBasis::LegitimateInterests.into();
        p.legitimate_interests_assessment = "LIA-2026-07".into();
        p.special_category_condition = 0;
        p.direct_marketing = true;
    })
    .await;
    let quality = purpose(&mut c, |p| {
        p.display_name = "Service quality review".into();
        p.lawful_basis = pb::LawfulBasis::LegitimateInterests.into();
        p.legitimate_interests_assessment = "LIA-2026-08".into();
    })
    .await;
    c.register_person(pb::RegisterPersonRequest {
        person_id: "p-6".into(),
    })
    .await
    .expect("registered");
    assert_eq!(
        verdict(&mut c, "p-6", &fundraising).await,
        (true, R::LawfulBasis)
    );

    let dm = object(&mut c, "p-6", pb::ObjectionKind::DirectMarketing, "").await;
    assert_eq!(
        verdict(&mut c, "p-6", &fundraising).await,
        (false, R::DirectMarketingObjection)
    );
    let refused = c
        .override_objection(pb::OverrideObjectionRequest {
            name: dm.name,
            grounds: "We really want to".into(),
        })
        .await
        .expect_err("absolute");
    assert_eq!(refused.code(), Code::FailedPrecondition);

    let general = object(&mut c, "p-6", pb::ObjectionKind::General, &quality).await;
    assert_eq!(verdict(&mut c, "p-6", &quality).await, (false, R::Objected));
    let overridden = c
        .override_objection(pb::OverrideObjectionRequest {
            name: general.name.clone(),
            grounds: "Needed to investigate a safeguarding concern about care delivered".into(),
        })
        .await
        .expect("overridden")
        .into_inner();
    assert!(!overridden.active && !overridden.override_by.is_empty());
    assert_eq!(
        verdict(&mut c, "p-6", &quality).await,
        (true, R::ObjectionOverridden)
    );
    let listed = c
        .list_restrictions_and_objections(pb::ListRestrictionsAndObjectionsRequest {
            person_id: "p-6".into(),
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.objections.len(), 2);
    assert_eq!(listed.objections[1].reason, "Does not want this");
}

#[tokio::test]
async fn the_national_data_opt_out_stops_research_in_england_only() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let research = purpose(&mut c, |p| {
        p.display_name = "Service planning analytics".into();
        p.special_category_condition = pb::SpecialCategoryCondition::Research.into();
        p.research_planning = true;
    })
    .await;
    object(&mut c, "p-8", pb::ObjectionKind::NationalDataOptOut, "").await;
    assert_eq!(
        verdict(&mut c, "p-8", &research).await,
        (false, R::OptedOut)
    );
    c.update_settings(pb::UpdateSettingsRequest {
        settings: Some(pb::Settings {
            jurisdiction: dps_proto::common::v1::Jurisdiction::EnglandAndWales.into(),
            child_consent_age: 0,
            national_data_opt_out: false,
            update_time: None,
        }),
    })
    .await
    .expect("a Welsh subsidiary turns it off");
    assert_eq!(
        verdict(&mut c, "p-8", &research).await,
        (true, R::LawfulBasis)
    );
}

#[tokio::test]
async fn a_material_notice_change_requires_renewed_consent() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let photos = purpose(&mut c, consent_based).await;
    let v1 = notice(&mut c, false).await;
    c.record_consent(give("p-9", &photos, &v1))
        .await
        .expect("given");
    let v2 = notice(&mut c, false).await;
    assert_eq!(
        verdict(&mut c, "p-9", &photos).await,
        (true, R::Consent),
        "not material"
    );
    let v3 = notice(&mut c, true).await;
    assert_eq!(
        verdict(&mut c, "p-9", &photos).await,
        (false, R::RenewalRequired)
    );
    let stale = c
        .record_consent(give("p-9", &photos, &v2))
        .await
        .expect_err("v2 was superseded materially before this consent");
    assert_eq!(fields(&stale), ["notice"]);
    let mut renewed = give("p-9", &photos, &v3);
    renewed.consent_time = ago(1);
    c.record_consent(renewed).await.expect("renewed");
    assert_eq!(verdict(&mut c, "p-9", &photos).await, (true, R::Consent));
}

#[tokio::test]
async fn unknown_people_and_purposes_are_not_found_singly_and_reasons_in_a_batch() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let care = purpose(&mut c, |_| {}).await;
    let ghost = "purposes/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e";
    let status = c
        .check_processing(pb::CheckProcessingRequest {
            person_id: "nobody".into(),
            purpose: care.clone(),
        })
        .await
        .expect_err("unknown person");
    assert_eq!(status.code(), Code::NotFound);
    c.register_person(pb::RegisterPersonRequest {
        person_id: "p-10".into(),
    })
    .await
    .expect("registered");
    let status = c
        .check_processing(pb::CheckProcessingRequest {
            person_id: "p-10".into(),
            purpose: ghost.into(),
        })
        .await
        .expect_err("unknown purpose");
    assert_eq!(status.code(), Code::NotFound);
    let withdraw_nothing = withdraw(&mut c, "p-10", &care)
        .await
        .expect_err("never given");
    assert_eq!(withdraw_nothing.code(), Code::NotFound);

    let batch = c
        .batch_check_processing(pb::BatchCheckProcessingRequest {
            checks: vec![
                pb::CheckProcessingRequest {
                    person_id: "p-10".into(),
                    purpose: care.clone(),
                },
                pb::CheckProcessingRequest {
                    person_id: "nobody".into(),
                    purpose: care.clone(),
                },
                pb::CheckProcessingRequest {
                    person_id: "p-10".into(),
                    purpose: ghost.into(),
                },
            ],
        })
        .await
        .expect("batch")
        .into_inner()
        .decisions;
    let reasons: Vec<_> = batch.iter().map(|d| (d.allowed, d.reason())).collect();
    assert_eq!(
        reasons,
        [
            (true, R::LawfulBasis),
            (false, R::PersonUnknown),
            (false, R::PurposeUnknown)
        ]
    );
    let empty = c
        .batch_check_processing(pb::BatchCheckProcessingRequest { checks: vec![] })
        .await
        .expect_err("empty batch");
    assert_eq!(fields(&empty), ["checks"]);
    let other_tenant = client(&server, "acme-south")
        .check_processing(pb::CheckProcessingRequest {
            person_id: "p-10".into(),
            purpose: care,
        })
        .await
        .expect_err("isolated");
    assert_eq!(other_tenant.code(), Code::NotFound);
}

#[tokio::test]
async fn disclosures_are_logged_per_person_and_rest_on_a_current_consent() {
    let (db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let photos = purpose(&mut c, consent_based).await;
    let notice = notice(&mut c, false).await;
    let consent = c
        .record_consent(give("p-11", &photos, &notice))
        .await
        .expect("given")
        .into_inner();
    let disclosure = |consent: &str, role: pb::AuthoriserRole| pb::RecordDisclosureRequest {
        disclosure: Some(pb::Disclosure {
            person_id: "p-11".into(),
            recipient: "Local newspaper".into(),
            data_categories: vec!["images".into()],
            reason: "Article about the summer fete".into(),
            lawful_basis: pb::LawfulBasis::Consent.into(),
            consent: consent.into(),
            authorised_by: "R. Manager".into(),
            authoriser_role: role.into(),
            disclose_time: ago(5),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let unauthorised = c
        .record_disclosure(disclosure(&consent.name, pb::AuthoriserRole::Unspecified))
        .await
        .expect_err("no senior authoriser");
    assert_eq!(fields(&unauthorised), ["disclosure.authoriser_role"]);
    let recorded = c
        .record_disclosure(disclosure(
            &consent.name,
            pb::AuthoriserRole::RegisteredManager,
        ))
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(recorded.reason, "Article about the summer fete");
    withdraw(&mut c, "p-11", &photos).await.expect("withdrawn");
    let stale = c
        .record_disclosure(disclosure(&consent.name, pb::AuthoriserRole::SeniorManager))
        .await
        .expect_err("consent withdrawn");
    assert_eq!(stale.code(), Code::FailedPrecondition);
    let listed = c
        .list_disclosures(pb::ListDisclosuresRequest {
            person_id: "p-11".into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.disclosures, [recorded]);
    assert_eq!(count(&db, "disclosures").await, 1);
}

#[tokio::test]
async fn the_ledger_is_append_only_and_personal_text_is_sealed_then_shreddable() {
    let (db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let photos = purpose(&mut c, consent_based).await;
    let notice = notice(&mut c, false).await;
    c.record_consent(give("p-12", &photos, &notice))
        .await
        .expect("given");
    let raw: Vec<u8> = sqlx::query_scalar("SELECT evidence_reference FROM consent.consent_events")
        .fetch_one(db.pool())
        .await
        .expect("raw");
    assert!(
        !raw.windows(7).any(|w| w == b"CF-2026"),
        "the evidence reference is stored encrypted"
    );
    for sql in [
        "UPDATE consent.consent_events SET event = 'withdrawn'",
        "DELETE FROM consent.consent_events",
        "DELETE FROM consent.changes",
    ] {
        let err = sqlx::query(sql).execute(db.pool()).await.expect_err(sql);
        assert_eq!(
            err.as_database_error().and_then(|e| e.code()).as_deref(),
            Some("42501"),
            "{sql}"
        );
    }
    server
        .keystore()
        .vault()
        .shred(
            &dps_types::TenantId::parse("acme-north").expect("tenant"),
            "p-12",
            "dpo",
        )
        .await
        .expect("shredded");
    let history = c
        .list_consents(pb::ListConsentsRequest {
            person_id: "p-12".into(),
            purpose: String::new(),
        })
        .await
        .expect("history survives")
        .into_inner()
        .consents;
    assert!(history[0].personal_data_erased);
    assert_eq!(history[0].evidence_reference, "");
    assert_eq!(
        verdict(&mut c, "p-12", &photos).await,
        (true, R::Consent),
        "the decision does not rest on the erased text"
    );
}

#[tokio::test]
async fn the_stream_resumes_from_a_cursor_without_gaps() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let photos = purpose(&mut c, consent_based).await;
    let notice = notice(&mut c, false).await;
    for person in ["p-20", "p-21", "p-22"] {
        c.record_consent(give(person, &photos, &notice))
            .await
            .expect("given");
    }
    let first: Vec<pb::Change> = c
        .watch_changes(pb::WatchChangesRequest { cursor: "0".into() })
        .await
        .expect("from the start")
        .into_inner()
        .take(2)
        .collect::<Result<_, _>>()
        .await
        .expect("two changes");
    assert_eq!(first[1].person_id, "p-21");
    // Disconnected after the second; more happens meanwhile.
    withdraw(&mut c, "p-20", &photos).await.expect("withdrawn");
    let resumed: Vec<pb::Change> = c
        .watch_changes(pb::WatchChangesRequest {
            cursor: first[1].cursor.clone(),
        })
        .await
        .expect("resumed")
        .into_inner()
        .take(2)
        .collect::<Result<_, _>>()
        .await
        .expect("two more");
    let seen: Vec<(&str, pb::ChangeKind)> = resumed
        .iter()
        .map(|c| (c.person_id.as_str(), c.kind()))
        .collect();
    assert_eq!(
        seen,
        [
            ("p-22", pb::ChangeKind::ConsentGiven),
            ("p-20", pb::ChangeKind::ConsentWithdrawn)
        ]
    );
    let bad = c
        .watch_changes(pb::WatchChangesRequest {
            cursor: "yesterday".into(),
        })
        .await
        .expect_err("bad cursor");
    assert_eq!(fields(&bad), ["cursor"]);
}

async fn create_rli(c: &mut Client) -> Result<tonic::Response<pb::Purpose>, tonic::Status> {
    let mut p = care_planning();
    p.lawful_basis = pb::LawfulBasis::RecognisedLegitimateInterests.into();
    p.recognised_condition = pb::RecognisedCondition::Safeguarding.into();
    c.create_purpose(pb::CreatePurposeRequest {
        purpose: Some(p),
        request_id: String::new(),
    })
    .await
}

#[tokio::test]
async fn settings_decide_the_law_a_purpose_is_checked_against() {
    let (_db, server) = start().await;
    let mut c = client(&server, "jersey-home");
    create_rli(&mut c).await.expect("UK by default");
    let settings = c
        .update_settings(pb::UpdateSettingsRequest {
            settings: Some(pb::Settings {
                jurisdiction: dps_proto::common::v1::Jurisdiction::Jersey.into(),
                child_consent_age: 0,
                national_data_opt_out: false,
                update_time: None,
            }),
        })
        .await
        .expect("Jersey")
        .into_inner();
    assert_eq!(settings.child_consent_age, 13);
    let refused = create_rli(&mut c)
        .await
        .expect_err("no Art 6(1)(ea) in Jersey");
    assert_eq!(fields(&refused), ["purpose.lawful_basis"]);
    let bad = c
        .update_settings(pb::UpdateSettingsRequest {
            settings: Some(pb::Settings {
                jurisdiction: dps_proto::common::v1::Jurisdiction::Jersey.into(),
                child_consent_age: 18,
                national_data_opt_out: false,
                update_time: None,
            }),
        })
        .await
        .expect_err("age out of range");
    assert_eq!(fields(&bad), ["settings.child_consent_age"]);
}

#[tokio::test]
async fn a_purpose_keeps_its_lawful_basis() {
    let (_db, server) = start().await;
    let mut c = client(&server, "acme-north");
    let name = purpose(&mut c, |_| {}).await;
    let mut changed = care_planning();
    changed.name = name.clone();
    changed.description = "Now also covers discharge planning".into();
    let updated = c
        .update_purpose(pb::UpdatePurposeRequest {
            purpose: Some(changed.clone()),
        })
        .await
        .expect("updated")
        .into_inner();
    assert_eq!(updated.description, "Now also covers discharge planning");
    changed.lawful_basis = pb::LawfulBasis::LegitimateInterests.into();
    changed.legitimate_interests_assessment = "LIA-1".into();
    let refused = c
        .update_purpose(pb::UpdatePurposeRequest {
            purpose: Some(changed),
        })
        .await
        .expect_err("basis change");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let listed = c
        .list_purposes(pb::ListPurposesRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.purposes, [updated]);
}
