//! Complaints (issue 17) are served by the subject-requests service inside the suite and reached
//! through the gateway's `/dps.subject_requests.` route like the requests themselves.

use dps_proto::common::v1::Channel;
use dps_proto::subject_requests::v1 as sr;
use sr::complaint_service_client::ComplaintServiceClient;

use crate::harness::{self, bearer};

#[tokio::test]
async fn a_complaint_is_recorded_and_read_back_through_the_gateway() {
    let suite = harness::start().await;
    let token = suite.token("acme-north");
    let mut complaints =
        ComplaintServiceClient::with_interceptor(suite.gateway(), bearer(Some(token), &[]));
    let created = complaints
        .create_complaint(sr::CreateComplaintRequest {
            complaint: Some(sr::Complaint {
                person_id: "person-e2e".into(),
                complainant_contact: "01632 960123".into(),
                subject: "the home shared my diagnosis with a visitor".into(),
                receive_time: Some(dps_platform::proto_time::to_proto(
                    time::OffsetDateTime::now_utc(),
                )),
                channel: Channel::Phone.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .expect("created through the gateway")
        .into_inner();
    assert_eq!(created.state(), sr::ComplaintState::Received);
    assert!(
        !created
            .acknowledgement_clock
            .expect("clock")
            .due_date
            .is_empty()
    );
    let read = complaints
        .get_complaint(sr::GetComplaintRequest {
            name: created.name.clone(),
        })
        .await
        .expect("read through the gateway")
        .into_inner();
    assert_eq!(read.subject, "the home shared my diagnosis with a visitor");
    // The tenant comes from the token: another subsidiary cannot see it.
    let other = suite.token("acme-south");
    let status =
        ComplaintServiceClient::with_interceptor(suite.gateway(), bearer(Some(other), &[]))
            .get_complaint(sr::GetComplaintRequest { name: created.name })
            .await
            .expect_err("isolated");
    assert_eq!(status.code(), tonic::Code::NotFound);
    suite.suite.shutdown().await;
}
