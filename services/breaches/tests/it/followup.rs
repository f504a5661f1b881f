//! Classification, containment actions, the misdirected-email playbook, third parties and the
//! post-incident review.

use super::*;

#[tokio::test]
async fn classification_needs_a_kind_for_a_breach_and_can_be_revised_before_reporting() {
    let (_db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = client
        .create_incident(create(misdirected_email()))
        .await
        .expect("created")
        .into_inner();
    assert!(incident.classification.is_none() && incident.clock.is_none());
    let status = client
        .classify_incident(pb::ClassifyIncidentRequest {
            name: incident.name.clone(),
            classification: Some(pb::Classification {
                personal_data_breach: true,
                serious: true,
                kinds: vec![],
            }),
        })
        .await
        .expect_err("no kind");
    assert_eq!(fields(&status), ["classification.kinds"]);
    let classified = client
        .classify_incident(pb::ClassifyIncidentRequest {
            name: incident.name.clone(),
            classification: Some(pb::Classification {
                personal_data_breach: true,
                serious: true,
                kinds: vec![
                    pb::BreachKind::Availability.into(),
                    pb::BreachKind::Confidentiality.into(),
                ],
            }),
        })
        .await
        .expect("classified")
        .into_inner();
    let c = classified.classification.expect("set");
    assert_eq!(
        c.kinds().collect::<Vec<_>>(),
        [
            pb::BreachKind::Confidentiality,
            pb::BreachKind::Availability
        ]
    );
    let clock = classified.clock.expect("a breach's clock");
    assert!(clock.running && !clock.overdue);
    // Aware an hour ago: 71 hours left, give or take the test's own seconds.
    assert!((71 * 3600 - 60..=71 * 3600 + 60).contains(&clock.seconds_remaining));
    assert_eq!(clock.explanation.len(), 2);
    // Not yet reported, so it may still be found not to be a breach.
    let revised = client
        .classify_incident(pb::ClassifyIncidentRequest {
            name: incident.name,
            classification: Some(pb::Classification::default()),
        })
        .await
        .expect("revised")
        .into_inner();
    assert!(revised.clock.is_none());
}

#[tokio::test]
async fn the_misdirected_email_playbook_creates_its_actions_once() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "Care plan emailed to wrong family", 2).await;
    let request = pb::ApplyPlaybookRequest {
        parent: incident.name.clone(),
        playbook: pb::Playbook::MisdirectedEmail.into(),
        owner: "Rose House manager".into(),
    };
    let actions = client
        .apply_playbook(request.clone())
        .await
        .expect("applied")
        .into_inner()
        .actions;
    let aware = incident.aware_time.expect("aware").seconds;
    let steps: Vec<(String, i64)> = actions
        .iter()
        .map(|a| {
            (
                a.description
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_owned(),
                (a.due_time.expect("due").seconds - aware) / 3600,
            )
        })
        .collect();
    // 004 appendix 1: recall, contact the recipients, written confirmation, internet search.
    assert_eq!(
        steps,
        [
            ("Recall".to_owned(), 1),
            ("Contact".to_owned(), 24),
            ("Obtain".to_owned(), 48),
            ("Search".to_owned(), 72),
        ]
    );
    assert!(actions.iter().all(|a| a.playbook == "misdirected_email"));
    let status = client.apply_playbook(request).await.expect_err("twice");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(count(&db, "actions").await, 4);

    let done = client
        .complete_action(pb::CompleteActionRequest {
            name: actions[0].name.clone(),
            outcome: "recalled by ICT at 10:12".into(),
        })
        .await
        .expect("done")
        .into_inner();
    assert!(done.complete_time.is_some());
    let status = client
        .complete_action(pb::CompleteActionRequest {
            name: actions[0].name.clone(),
            outcome: String::new(),
        })
        .await
        .expect_err("already done");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let read = client
        .get_incident(pb::GetIncidentRequest {
            name: incident.name,
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read.actions.len(), 4);
    assert_eq!(read.actions[0].outcome, "recalled by ICT at 10:12");
}

#[tokio::test]
async fn actions_third_parties_and_the_review_are_recorded_and_bad_ones_refused() {
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = breach(&mut client, "Laptop stolen from car", 30).await;
    let status = client
        .add_action(pb::AddActionRequest {
            parent: incident.name.clone(),
            action: Some(pb::Action {
                description: " ".into(),
                ..Default::default()
            }),
        })
        .await
        .expect_err("invalid");
    assert_eq!(
        fields(&status),
        ["action.description", "action.owner", "action.due_time"]
    );
    let status = client
        .add_action(pb::AddActionRequest {
            parent: "incidents/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e".into(),
            action: Some(pb::Action {
                description: "Wipe the device remotely".into(),
                owner: "ICT".into(),
                due_time: hours_ago(-4),
                ..Default::default()
            }),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(count(&db, "actions").await, 0);
    client
        .add_action(pb::AddActionRequest {
            parent: incident.name.clone(),
            action: Some(pb::Action {
                description: "Wipe the device remotely".into(),
                owner: "ICT".into(),
                due_time: hours_ago(-4),
                ..Default::default()
            }),
        })
        .await
        .expect("added");

    let police = pb::ThirdPartyNotice {
        party: pb::third_party_notice::Party::Police.into(),
        organisation: "States of Jersey Police".into(),
        reference: "CR-2026-1142".into(),
        notify_time: hours_ago(31),
    };
    let status = client
        .record_third_party_notice(pb::RecordThirdPartyNoticeRequest {
            parent: incident.name.clone(),
            notice: Some(police.clone()),
        })
        .await
        .expect_err("before awareness");
    assert_eq!(fields(&status), ["notice.notify_time"]);
    assert_eq!(count(&db, "third_party_notices").await, 0);
    let told = client
        .record_third_party_notice(pb::RecordThirdPartyNoticeRequest {
            parent: incident.name.clone(),
            notice: Some(pb::ThirdPartyNotice {
                notify_time: hours_ago(29),
                ..police
            }),
        })
        .await
        .expect("told")
        .into_inner();
    assert_eq!(told.reference, "CR-2026-1142");

    let review = pb::Review {
        facts_and_cause: "Laptop left visible in a car overnight".into(),
        effects: "Care records of 40 residents exposed".into(),
        lessons_learned: "No records on laptops without encryption; staff retrained".into(),
        review_time: hours_ago(0),
        reviewed_by: String::new(),
    };
    let status = client
        .record_review(pb::RecordReviewRequest {
            name: incident.name.clone(),
            review: Some(pb::Review {
                lessons_learned: String::new(),
                ..review.clone()
            }),
        })
        .await
        .expect_err("no lessons");
    assert_eq!(fields(&status), ["review.lessons_learned"]);
    let reviewed = client
        .record_review(pb::RecordReviewRequest {
            name: incident.name.clone(),
            review: Some(review.clone()),
        })
        .await
        .expect("reviewed")
        .into_inner();
    let r = reviewed.review.expect("kept");
    assert_eq!(r.reviewed_by, "test-caller");
    assert_eq!(reviewed.third_party_notices.len(), 1);
    assert_eq!(reviewed.actions.len(), 1);
    let status = client
        .record_review(pb::RecordReviewRequest {
            name: incident.name,
            review: Some(review),
        })
        .await
        .expect_err("once");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(count(&db, "reviews").await, 1);
}

#[tokio::test]
async fn the_review_closes_an_incident_and_owes_retention_its_record_once() {
    use dps_breaches::domain::IncidentId;
    use dps_breaches::store::Outbox;
    let (db, server) = start().await;
    let mut client = client(&server, "acme-north");
    let incident = client
        .create_incident(create(misdirected_email()))
        .await
        .expect("created")
        .into_inner();
    let review = pb::Review {
        facts_and_cause: "Wrong address picked from autocomplete".into(),
        effects: "One family received another resident's care plan".into(),
        lessons_learned: "Autocomplete off for external addresses".into(),
        review_time: hours_ago(0),
        reviewed_by: String::new(),
    };
    // Unclassified: whether it is serious decides its retention, so it cannot close yet.
    let status = client
        .record_review(pb::RecordReviewRequest {
            name: incident.name.clone(),
            review: Some(review.clone()),
        })
        .await
        .expect_err("not classified");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("classify"), "{status:?}");
    assert_eq!(count(&db, "reviews").await, 0);
    assert_eq!(count(&db, "outbox").await, 0);

    client
        .classify_incident(pb::ClassifyIncidentRequest {
            name: incident.name.clone(),
            classification: Some(pb::Classification {
                personal_data_breach: true,
                serious: true,
                kinds: vec![pb::BreachKind::Confidentiality.into()],
            }),
        })
        .await
        .expect("classified");
    client
        .record_review(pb::RecordReviewRequest {
            name: incident.name.clone(),
            review: Some(review.clone()),
        })
        .await
        .expect("reviewed");
    let outbox = Outbox::new(db.pool().clone());
    let tenant = dps_types::TenantId::parse("acme-north").expect("tenant");
    let id = IncidentId::parse_name(&incident.name).expect("name");
    let owed = outbox.of_incident(&tenant, id).await.expect("read");
    assert_eq!(owed.len(), 1);
    assert_eq!(owed[0].effect, "retention.register_closed_incident");
    assert_eq!(owed[0].record_class_code, "serious-incident");
    assert_eq!((owed[0].attempts, owed[0].delivered_at), (0, None));
    // No dispatcher here: it waits. A second review is refused and owes nothing more.
    client
        .record_review(pb::RecordReviewRequest {
            name: incident.name.clone(),
            review: Some(review),
        })
        .await
        .expect_err("once");
    assert_eq!(
        outbox.of_incident(&tenant, id).await.expect("read").len(),
        1
    );
    let claimed = outbox
        .claim(10, std::time::Duration::from_secs(30))
        .await
        .expect("claimed");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].external_id(), incident.name);
}
