//! Reports to the regulator (phased; late ones carry the reasons for delay; ICO or Jersey form)
//! and notices to individuals (sealed at rest).

use super::*;
use dps_proto::common::v1::{Channel, Jurisdiction};

/// An initial report of `parent`, submitted `hours` hours ago.
pub(super) fn initial(parent: &str, hours: i64) -> pb::NotifyRegulatorRequest {
    pb::NotifyRegulatorRequest {
        parent: parent.into(),
        notification: Some(pb::RegulatorNotification {
            phase: pb::NotificationPhase::Initial.into(),
            submit_time: hours_ago(hours),
            content: Some(pb::ReportContent {
                data_categories: vec!["health".into(), "contact details".into()],
                subject_categories: vec!["service users".into()],
                approximate_subjects: 1,
                approximate_records: 1,
                nature: "A care plan was emailed to the wrong family".into(),
                likely_consequences: "Distress; loss of confidentiality of health data".into(),
                measures: "Recall attempted; deletion confirmed in writing".into(),
            }),
            signed_by: "Jo Compliance".into(),
            ..Default::default()
        }),
    }
}

fn with(
    mut request: pb::NotifyRegulatorRequest,
    f: impl FnOnce(&mut pb::RegulatorNotification),
) -> pb::NotifyRegulatorRequest {
    f(request.notification.as_mut().expect("set"));
    request
}

async fn open_names(client: &mut Client) -> Vec<String> {
    client
        .list_open_breaches(pb::ListOpenBreachesRequest::default())
        .await
        .expect("listed")
        .into_inner()
        .breaches
        .into_iter()
        .map(|b| b.name)
        .collect()
}

#[tokio::test]
async fn a_breach_reported_late_carries_the_reason_for_delay() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    settings(&mut client, Jurisdiction::EnglandAndWales).await;
    // Aware 100 hours ago: the 72 hours ran out 28 hours ago.
    let incident = breach(&mut client, "Laptop stolen from car", 100).await;
    let status = client
        .notify_regulator(initial(&incident.name, 0))
        .await
        .expect_err("late without reason");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(fields(&status), ["notification.delay_reason"]);
    assert_eq!(count(&db, "regulator_notifications").await, 0);
    assert_eq!(
        open_names(&mut client).await,
        std::slice::from_ref(&incident.name)
    );

    let report = client
        .notify_regulator(with(initial(&incident.name, 0), |n| {
            n.delay_reason = "the theft was reported to us by the police on day 3".into();
            n.further_information = "device forensics expected within 7 days".into();
        }))
        .await
        .expect("reported")
        .into_inner();
    assert!(
        report
            .name
            .starts_with(&format!("{}/regulatorNotifications/", incident.name))
    );
    let Some(pb::regulator_notification::Document::IcoReport(ico)) = report.document else {
        panic!("an ICO report for an English tenant");
    };
    assert_eq!(ico.report_type, "initial report");
    assert!(!ico.reported_within_72_hours);
    assert_eq!(
        ico.delay_reason,
        "the theft was reported to us by the police on day 3"
    );
    assert_eq!(ico.dpo.expect("contact").name, "Jo Compliance");
    assert_eq!(ico.organisation, "LV Care Group");
    assert_eq!(ico.individuals_told, "not yet assessed");
    assert_eq!(ico.approximate_subjects, 1);

    // The clock stops, late; the breach leaves the alarm list.
    let read = client
        .get_incident(pb::GetIncidentRequest {
            name: incident.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    let clock = read.clock.expect("clock");
    assert!(!clock.running && clock.reported_late);
    assert!(open_names(&mut client).await.is_empty());

    // Phased: follow-ups come after; a second initial report does not.
    let status = client
        .notify_regulator(with(initial(&incident.name, 0), |n| {
            n.delay_reason = "x".into();
        }))
        .await
        .expect_err("second initial");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let follow = client
        .notify_regulator(with(initial(&incident.name, 0), |n| {
            n.phase = pb::NotificationPhase::FollowUp.into();
        }))
        .await
        .expect("follow-up")
        .into_inner();
    let Some(pb::regulator_notification::Document::IcoReport(ico)) = follow.document else {
        panic!("ICO");
    };
    assert_eq!(ico.report_type, "follow-up report");
    assert_eq!(count(&db, "regulator_notifications").await, 2);
    // A reported breach stays a breach.
    let status = client
        .classify_incident(pb::ClassifyIncidentRequest {
            name: incident.name.clone(),
            classification: Some(pb::Classification::default()),
        })
        .await
        .expect_err("stays a breach");
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn a_report_within_72_hours_needs_no_reason_and_a_follow_up_needs_an_initial() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    settings(&mut client, Jurisdiction::Scotland).await;
    let incident = breach(&mut client, "Care plan emailed to wrong family", 71).await;
    let status = client
        .notify_regulator(with(initial(&incident.name, 0), |n| {
            n.phase = pb::NotificationPhase::FollowUp.into();
        }))
        .await
        .expect_err("no initial yet");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let report = client
        .notify_regulator(initial(&incident.name, 0))
        .await
        .expect("on time")
        .into_inner();
    let Some(pb::regulator_notification::Document::IcoReport(ico)) = report.document else {
        panic!("ICO");
    };
    assert!(ico.reported_within_72_hours);
    assert_eq!(count(&db, "regulator_notifications").await, 1);
}

#[tokio::test]
async fn bad_reports_are_refused_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "t", 2).await;
    // No DPO named in the settings yet (003 §12.2.2).
    let status = client
        .notify_regulator(initial(&incident.name, 0))
        .await
        .expect_err("no DPO");
    assert_eq!(status.code(), Code::FailedPrecondition);
    settings(&mut client, Jurisdiction::EnglandAndWales).await;
    let status = client
        .notify_regulator(with(initial(&incident.name, -2), |n| {
            let c = n.content.as_mut().expect("set");
            c.data_categories.clear();
            c.nature = " ".into();
            c.approximate_records = -1;
            n.signed_by.clear();
        }))
        .await
        .expect_err("invalid");
    assert_eq!(
        fields(&status),
        [
            "notification.submit_time",
            "notification.content.data_categories",
            "notification.content.approximate_records",
            "notification.content.nature",
            "notification.signed_by",
        ]
    );
    // Before awareness (aware 2 hours ago).
    let status = client
        .notify_regulator(initial(&incident.name, 3))
        .await
        .expect_err("before awareness");
    assert_eq!(fields(&status), ["notification.submit_time"]);
    let status = client
        .notify_regulator(initial("incidents/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e", 0))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(count(&db, "regulator_notifications").await, 0);
}

#[tokio::test]
async fn a_jersey_tenant_gets_the_appendix_c_form_and_is_asked_about_the_commission() {
    let (db, server) = start().await;
    let mut client = client(&server, "lv-jersey");
    settings(&mut client, Jurisdiction::Jersey).await;
    let incident = breach(&mut client, "Care plan emailed to wrong family", 30).await;
    let status = client
        .notify_regulator(initial(&incident.name, 0))
        .await
        .expect_err("commission question unanswered");
    assert_eq!(
        fields(&status),
        ["notification.financial_services_commission"]
    );
    assert_eq!(count(&db, "regulator_notifications").await, 0);
    let report = client
        .notify_regulator(with(initial(&incident.name, 0), |n| {
            n.financial_services_commission = Some(false);
        }))
        .await
        .expect("reported")
        .into_inner();
    assert_eq!(report.jurisdiction(), Jurisdiction::Jersey);
    let Some(pb::regulator_notification::Document::JerseyForm(form)) = report.document else {
        panic!("the Jersey form");
    };
    let contact = form.box1_contact.expect("box 1");
    assert_eq!(
        (contact.name.as_str(), contact.designation.as_str()),
        ("Jo Compliance", "Compliance and Special Projects Manager")
    );
    assert_eq!(form.box2_notified_time, incident.aware_time);
    assert!(
        form.box3_nature
            .contains("Categories of data: health, contact details.")
    );
    assert!(
        form.box3_nature
            .ends_with("Approximate number of people affected: 1; of records: 1.")
    );
    assert_eq!(
        form.box4_consequences,
        "Distress; loss of confidentiality of health data"
    );
    assert_eq!(
        form.box5_measures,
        "Recall attempted; deletion confirmed in writing"
    );
    assert!(form.box6_submitted_time.is_some());
    assert_eq!(form.box7_delay_reason, "", "within 72 hours");
    assert_eq!(form.box8_signed_by, "Jo Compliance");
    assert_eq!(form.send_to, "breach@OICJersey.org");
    assert!(!form.financial_services_commission);
}

fn notice(audience: pb::Audience, person_id: &str) -> pb::IndividualNotification {
    pb::IndividualNotification {
        audience: audience.into(),
        person_id: person_id.into(),
        recipient: "Mrs Agnes Example".into(),
        what_happened: "Your care plan was emailed to another family by mistake".into(),
        likely_consequences: "They may have read details of your health".into(),
        measures_taken: "They deleted it and confirmed so in writing".into(),
        what_they_can_do: "Call us if you are worried; you may complain to the ICO".into(),
        channel: Channel::Letter.into(),
        send_time: hours_ago(0),
        ..Default::default()
    }
}

#[tokio::test]
async fn individuals_are_told_in_plain_language_and_the_notice_is_sealed() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    settings(&mut client, Jurisdiction::EnglandAndWales).await;
    let incident = breach(&mut client, "Care plan emailed to wrong family", 2).await;
    let sent = client
        .notify_individuals(pb::NotifyIndividualsRequest {
            parent: incident.name.clone(),
            notification: Some(notice(pb::Audience::Person, "person-17")),
        })
        .await
        .expect("recorded")
        .into_inner();
    assert_eq!(sent.channel(), Channel::Letter);
    assert_eq!(sent.dpo.expect("contact").telephone, "01534 000000");
    // At rest only ciphertext: neither the name nor the content appears in the row.
    let raw: Vec<u8> = sqlx::query_scalar(
        "SELECT recipient || what_happened FROM breaches.individual_notifications",
    )
    .fetch_one(db.pool())
    .await
    .expect("row");
    assert!(!String::from_utf8_lossy(&raw).contains("Agnes"));
    let description: Vec<u8> = sqlx::query_scalar("SELECT description FROM breaches.incidents")
        .fetch_one(db.pool())
        .await
        .expect("row");
    assert!(!String::from_utf8_lossy(&description).contains("care plan"));
    let read = client
        .get_incident(pb::GetIncidentRequest {
            name: incident.name.clone(),
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read.individual_notifications.len(), 1);
    assert_eq!(
        read.individual_notifications[0].recipient,
        "Mrs Agnes Example"
    );
    assert!(read.description.starts_with("Mrs A's care plan"));
    // The ICO report now says they were told.
    assess(
        &mut client,
        &incident.name,
        assessment(inputs(
            4.0,
            1.0,
            pb::Loss::Limited,
            pb::Loss::None,
            pb::Loss::None,
            false,
        )),
    )
    .await
    .expect("assessed");
    let report = client
        .notify_regulator(initial(&incident.name, 0))
        .await
        .expect("reported")
        .into_inner();
    let Some(pb::regulator_notification::Document::IcoReport(ico)) = report.document else {
        panic!("ICO");
    };
    assert_eq!(ico.individuals_told, "yes");
}

#[tokio::test]
async fn bad_notices_are_refused_and_nothing_is_stored() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "t", 2).await;
    let mut bad = notice(pb::Audience::Person, "");
    bad.what_they_can_do = " ".into();
    bad.channel = 0;
    bad.send_time = hours_ago(3);
    let status = client
        .notify_individuals(pb::NotifyIndividualsRequest {
            parent: incident.name.clone(),
            notification: Some(bad),
        })
        .await
        .expect_err("invalid");
    assert_eq!(
        fields(&status),
        [
            "notification.person_id",
            "notification.what_they_can_do",
            "notification.channel",
            "notification.send_time",
        ]
    );
    let not_breach = client
        .create_incident(create(misdirected_email()))
        .await
        .expect("created")
        .into_inner();
    let status = client
        .notify_individuals(pb::NotifyIndividualsRequest {
            parent: not_breach.name,
            notification: Some(notice(pb::Audience::Group, "")),
        })
        .await
        .expect_err("not a breach");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(count(&db, "individual_notifications").await, 0);
}
