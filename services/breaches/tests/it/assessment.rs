//! ENISA assessments over gRPC: scores worked out by hand for the policies' scenarios, the
//! decision rules and the exceptions to telling individuals (003 §12.5-12.6).

use super::*;
use pb::Loss::{Limited, None as NoLoss, Severe};

#[tokio::test]
async fn misdirected_email_with_health_data_scores_very_high_and_tells_individuals() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "Care plan emailed to wrong family", 2).await;
    // By hand: health data (DPC 4) naming the service user (EI 1), disclosed to one known
    // family (confidentiality +0.25), no alteration or loss, a mistake: SE = 4 × 1 + 0.25 = 4.25
    // → very high; the default mapping (high+) says tell the individuals.
    let assessed = assess(
        &mut client,
        &incident.name,
        assessment(inputs(4.0, 1.0, Limited, NoLoss, NoLoss, false)),
    )
    .await
    .expect("assessed");
    let a = assessed.assessment.expect("stored");
    assert_eq!(a.score, 4.25);
    assert_eq!(a.severity(), pb::Severity::VeryHigh);
    assert_eq!(a.computed_outcome(), pb::Outcome::TellIndividuals);
    assert_eq!(a.outcome(), pb::Outcome::TellIndividuals);
    assert_eq!(
        a.explanation.last().map(String::as_str),
        Some(
            "severity (SE) = DPC × EI + CB = 4.25 → very high (ENISA 2013: low < 2, medium < 3, \
             high < 4, very high ≥ 4)"
        )
    );
    assert_eq!(a.assessed_by, "test-caller");
    assert_eq!(count(&db, "assessments").await, 1);
}

#[tokio::test]
async fn stolen_unencrypted_laptop_scores_five() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "Laptop stolen from car", 5).await;
    // By hand (004 §15: "theft of a company laptop containing non-encrypted personal data"):
    // care records (DPC 4), named (EI 1), exposed without evidence yet of misuse (+0.25), the
    // only copy of a day's notes gone for now (availability +0.25), theft (+0.5):
    // SE = 4 + 0.25 + 0 + 0.25 + 0.5 = 5 → very high.
    let a = assess(
        &mut client,
        &incident.name,
        assessment(inputs(4.0, 1.0, Limited, NoLoss, Limited, true)),
    )
    .await
    .expect("assessed")
    .assessment
    .expect("stored");
    assert_eq!((a.score, a.severity()), (5.0, pb::Severity::VeryHigh));
}

#[tokio::test]
async fn a_hacked_bank_provider_is_very_high_on_the_boundary() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "Bank provider hacked", 5).await;
    // By hand (004 appendix 1): staff bank details (financial, DPC 3), named (EI 1), taken by
    // an unknown attacker (confidentiality +0.5), malicious (+0.5): SE = 3 + 1 = 4 → very high.
    let a = assess(
        &mut client,
        &incident.name,
        assessment(inputs(3.0, 1.0, Severe, NoLoss, NoLoss, true)),
    )
    .await
    .expect("assessed")
    .assessment
    .expect("stored");
    assert_eq!((a.score, a.severity()), (4.0, pb::Severity::VeryHigh));
}

#[tokio::test]
async fn a_not_reportable_decision_needs_its_rationale_and_stays_on_the_register() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "Rota emailed to wrong colleague", 2).await;
    // By hand: names and home numbers (DPC 1), named (EI 1), one known colleague who deleted it
    // (+0.25): SE = 1.25 → low → not reportable, but only with the reasons written down (001).
    let low = assessment(inputs(1.0, 1.0, Limited, NoLoss, NoLoss, false));
    let status = assess(&mut client, &incident.name, low.clone())
        .await
        .expect_err("no rationale");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["assessment.rationale"]);
    assert_eq!(count(&db, "assessments").await, 0);

    let decided = assess(
        &mut client,
        &incident.name,
        pb::RiskAssessment {
            rationale: "contact details only; recipient is a colleague who confirmed deletion"
                .into(),
            ..low
        },
    )
    .await
    .expect("decided");
    let a = decided.assessment.expect("stored");
    assert_eq!(a.outcome(), pb::Outcome::NotReportable);
    assert!(a.rationale.starts_with("contact details only"));
    let clock = decided.clock.expect("a breach has a clock");
    assert!(!clock.running, "not reportable: no clock to watch");
    // Off the alarm list, still on the register.
    let open = client
        .list_open_breaches(pb::ListOpenBreachesRequest::default())
        .await
        .expect("listed")
        .into_inner();
    assert!(open.breaches.is_empty());
    let read = client
        .get_incident(pb::GetIncidentRequest {
            name: incident.name.clone(),
        })
        .await
        .expect("kept")
        .into_inner();
    assert_eq!(read.assessment.expect("kept").rationale, a.rationale);
    // Reporting it now needs a new assessment first.
    settings(
        &mut client,
        dps_proto::common::v1::Jurisdiction::EnglandAndWales,
    )
    .await;
    let status = client
        .notify_regulator(super::reports::initial(&incident.name, 0))
        .await
        .expect_err("decided not reportable");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(count(&db, "regulator_notifications").await, 0);
}

#[tokio::test]
async fn a_high_risk_breach_on_an_encrypted_laptop_need_not_be_told_to_individuals() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "Encrypted laptop stolen", 3).await;
    // By hand: care records (DPC 4, EI 1), stolen (+0.25 exposed, +0.5 malicious), the notes
    // synced so nothing lost: SE = 4 + 0.75 = 4.75 → very high → tell individuals, unless the
    // data is unintelligible (003 §12.6.1): full-disk encryption, key held centrally.
    let mut high = assessment(inputs(4.0, 1.0, Limited, NoLoss, NoLoss, true));
    high.individual_exception = pb::IndividualException::Unintelligible.into();
    let status = assess(&mut client, &incident.name, high.clone())
        .await
        .expect_err("exception without detail");
    assert_eq!(fields(&status), ["assessment.exception_detail"]);
    high.exception_detail = "BitLocker full-disk encryption, key escrowed in Intune".into();
    let a = assess(&mut client, &incident.name, high)
        .await
        .expect("assessed")
        .assessment
        .expect("stored");
    assert_eq!((a.score, a.severity()), (4.75, pb::Severity::VeryHigh));
    assert_eq!(a.outcome(), pb::Outcome::TellIndividuals);
    assert_eq!(
        a.individual_exception(),
        pb::IndividualException::Unintelligible
    );
    // The report to the ICO says why individuals were not told.
    settings(
        &mut client,
        dps_proto::common::v1::Jurisdiction::EnglandAndWales,
    )
    .await;
    let report = client
        .notify_regulator(super::reports::initial(&incident.name, 0))
        .await
        .expect("reported")
        .into_inner();
    let Some(pb::regulator_notification::Document::IcoReport(ico)) = report.document else {
        panic!("an ICO report for an English tenant");
    };
    assert_eq!(
        ico.individuals_told,
        "no: the data is unintelligible to anyone not authorised"
    );
    assert_eq!(ico.severity, "very high (4.75)");
}

#[tokio::test]
async fn overriding_the_computed_outcome_needs_a_reason() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "Care plan emailed to wrong family", 2).await;
    let mut a = assessment(inputs(4.0, 1.0, Limited, NoLoss, NoLoss, false));
    a.outcome = pb::Outcome::ReportToRegulator.into();
    let status = assess(&mut client, &incident.name, a.clone())
        .await
        .expect_err("no reason");
    assert_eq!(
        field_violations(&status),
        [(
            "assessment.rationale".to_owned(),
            "required to override the computed outcome (report and tell the individuals)"
                .to_owned()
        )]
    );
    a.rationale = "the recipient is the service user's daughter and holds LPA".into();
    let decided = assess(&mut client, &incident.name, a)
        .await
        .expect("overridden")
        .assessment
        .expect("stored");
    assert_eq!(decided.computed_outcome(), pb::Outcome::TellIndividuals);
    assert_eq!(decided.outcome(), pb::Outcome::ReportToRegulator);
}

#[tokio::test]
async fn severity_inputs_out_of_range_are_named_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "t", 2).await;
    let mut bad = assessment(inputs(4.5, 0.3, NoLoss, NoLoss, NoLoss, false));
    bad.inputs.as_mut().expect("set").availability = 0;
    bad.likelihood = 0;
    bad.approximate_subjects = -1;
    let status = assess(&mut client, &incident.name, bad)
        .await
        .expect_err("out of range");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&status),
        [
            "assessment.inputs.data_processing_context",
            "assessment.inputs.ease_of_identification",
            "assessment.inputs.availability",
            "assessment.likelihood",
        ]
    );
    assert_eq!(count(&db, "assessments").await, 0);
    let status = assess(
        &mut client,
        &incident.name,
        pb::RiskAssessment {
            approximate_subjects: -1,
            ..assessment(inputs(4.0, 1.0, NoLoss, NoLoss, NoLoss, false))
        },
    )
    .await
    .expect_err("negative count");
    assert_eq!(fields(&status), ["assessment.approximate_subjects"]);
    assert_eq!(count(&db, "assessments").await, 0);
}

#[tokio::test]
async fn only_a_known_personal_data_breach_is_assessed() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let unclassified = client
        .create_incident(create(misdirected_email()))
        .await
        .expect("created")
        .into_inner();
    let a = assessment(inputs(4.0, 1.0, Limited, NoLoss, NoLoss, false));
    let status = assess(&mut client, &unclassified.name, a.clone())
        .await
        .expect_err("not a breach");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = assess(
        &mut client,
        "incidents/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e",
        a.clone(),
    )
    .await
    .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    // Another tenant's breach is unknown too.
    let theirs = breach(&mut super::client(&server, "acme-south"), "theirs", 1).await;
    let status = assess(&mut client, &theirs.name, a)
        .await
        .expect_err("other tenant");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(count(&db, "assessments").await, 0);
}
