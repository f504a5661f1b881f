//! Protobuf messages to domain values and back. Messages are destructured without `..`, so a new
//! field stops the build until someone decides what it means here.

use dps_crypto::ShredReport;
use dps_platform::proto_time;
use dps_proto::common::v1 as common;
use dps_proto::subject_requests::v1 as pb;
use dps_types::{FieldViolation, prefixed};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Error;
use crate::domain::{
    Channel, NewSubjectRequest, RequestKind, RequestState, SubjectRequest, SubjectRequestId,
};

/// The request to record, checked against `now`.
pub(super) fn create_subject_request(
    request: pb::CreateSubjectRequestRequest,
    now: OffsetDateTime,
) -> Result<(Option<Uuid>, NewSubjectRequest), Error> {
    let pb::CreateSubjectRequestRequest {
        subject_request,
        request_id: raw_request_id,
    } = request;
    let mut violations = Vec::new();
    let request_id = dps_types::parse_request_id(&raw_request_id)
        .map_err(|v| violations.push(v))
        .ok()
        .flatten();
    let Some(subject_request) = subject_request else {
        violations.push(FieldViolation {
            field: "subject_request".into(),
            description: "required".into(),
        });
        return Err(Error::InvalidArgument(violations));
    };
    // `name`, `state` and `create_time` are output only and ignored on create.
    let pb::SubjectRequest {
        name: _,
        kind,
        channel,
        person_id,
        receive_time,
        state: _,
        create_time: _,
        requester_name,
        requester_contact,
        details,
        personal_data_erased: _,
    } = subject_request;
    let kind = match pb::RequestKind::try_from(kind) {
        Ok(kind) => kind_from_proto(kind),
        Err(_) => {
            violations.push(unknown_value("subject_request.kind"));
            None
        }
    };
    let channel = match common::Channel::try_from(channel) {
        Ok(channel) => channel_from_proto(channel),
        Err(_) => {
            violations.push(unknown_value("subject_request.channel"));
            None
        }
    };
    let received_at = receive_time.and_then(|t| {
        let instant = proto_time::from_proto(&t);
        if instant.is_none() {
            violations.push(FieldViolation {
                field: "subject_request.receive_time".into(),
                description: "out of range".into(),
            });
        }
        instant
    });
    let parsed = NewSubjectRequest::parse(
        kind,
        channel,
        &person_id,
        received_at,
        [&requester_name, &requester_contact, &details],
        now,
    )
    .map_err(|v| violations.extend(prefixed("subject_request", v)));
    match parsed {
        Ok(subject_request) if violations.is_empty() => Ok((request_id, subject_request)),
        // An out-of-range value is reported as such, not also as missing.
        _ => Err(Error::InvalidArgument(dps_types::first_per_field(
            violations,
        ))),
    }
}

fn unknown_value(field: &str) -> FieldViolation {
    FieldViolation {
        field: field.into(),
        description: "unknown value".into(),
    }
}

pub(super) fn subject_request_name(name: &str) -> Result<SubjectRequestId, Error> {
    SubjectRequestId::parse_name(name).ok_or_else(|| {
        Error::InvalidArgument(vec![FieldViolation {
            field: "name".into(),
            description: "must be subjectRequests/{uuid}".into(),
        }])
    })
}

/// `None` for the proto3 zero value: the kind was not given.
fn kind_from_proto(kind: pb::RequestKind) -> Option<RequestKind> {
    Some(match kind {
        pb::RequestKind::Unspecified => return None,
        pb::RequestKind::Access => RequestKind::Access,
        pb::RequestKind::Rectification => RequestKind::Rectification,
        pb::RequestKind::Erasure => RequestKind::Erasure,
        pb::RequestKind::Restriction => RequestKind::Restriction,
        pb::RequestKind::Portability => RequestKind::Portability,
        pb::RequestKind::Objection => RequestKind::Objection,
        pb::RequestKind::DirectMarketingObjection => RequestKind::DirectMarketingObjection,
        pb::RequestKind::AutomatedDecisionReview => RequestKind::AutomatedDecisionReview,
    })
}

fn kind_to_proto(kind: RequestKind) -> pb::RequestKind {
    match kind {
        RequestKind::Access => pb::RequestKind::Access,
        RequestKind::Rectification => pb::RequestKind::Rectification,
        RequestKind::Erasure => pb::RequestKind::Erasure,
        RequestKind::Restriction => pb::RequestKind::Restriction,
        RequestKind::Portability => pb::RequestKind::Portability,
        RequestKind::Objection => pb::RequestKind::Objection,
        RequestKind::DirectMarketingObjection => pb::RequestKind::DirectMarketingObjection,
        RequestKind::AutomatedDecisionReview => pb::RequestKind::AutomatedDecisionReview,
    }
}

/// `None` for the proto3 zero value: the channel was not given.
fn channel_from_proto(channel: common::Channel) -> Option<Channel> {
    Some(match channel {
        common::Channel::Unspecified => return None,
        common::Channel::Letter => Channel::Letter,
        common::Channel::Email => Channel::Email,
        common::Channel::Phone => Channel::Phone,
        common::Channel::InPerson => Channel::InPerson,
        common::Channel::WebForm => Channel::WebForm,
        common::Channel::Platform => Channel::Platform,
    })
}

fn channel_to_proto(channel: Channel) -> common::Channel {
    match channel {
        Channel::Letter => common::Channel::Letter,
        Channel::Email => common::Channel::Email,
        Channel::Phone => common::Channel::Phone,
        Channel::InPerson => common::Channel::InPerson,
        Channel::WebForm => common::Channel::WebForm,
        Channel::Platform => common::Channel::Platform,
    }
}

fn state_to_proto(state: RequestState) -> pb::RequestState {
    match state {
        RequestState::Received => pb::RequestState::Received,
    }
}

pub(super) fn subject_request_to_proto(request: &SubjectRequest) -> pb::SubjectRequest {
    pb::SubjectRequest {
        name: request.id.to_string(),
        kind: kind_to_proto(request.spec.kind()).into(),
        channel: channel_to_proto(request.spec.channel()).into(),
        person_id: request.spec.person_id().expose().clone(),
        receive_time: Some(proto_time::to_proto(request.spec.received_at())),
        state: state_to_proto(request.state).into(),
        create_time: Some(proto_time::to_proto(request.created_at)),
        requester_name: request.spec.personal().requester_name.expose().clone(),
        requester_contact: request.spec.personal().requester_contact.expose().clone(),
        details: request.spec.personal().details.expose().clone(),
        personal_data_erased: request.personal_data_erased,
    }
}

/// The person whose key to shred.
pub(super) fn shred_person(request: pb::ShredPersonalDataRequest) -> Result<String, Error> {
    let pb::ShredPersonalDataRequest { person_id } = request;
    let person_id = person_id.trim();
    let mut violations = dps_types::Violations::new();
    crate::domain::check_person_id(&mut violations, person_id);
    violations
        .finish(person_id.to_owned())
        .map_err(Error::InvalidArgument)
}

pub(super) fn shred_report_to_proto(report: &ShredReport) -> pb::ShredPersonalDataResponse {
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    pb::ShredPersonalDataResponse {
        person_id: report.person_id.clone(),
        destroyed_key_count: count(report.key_ids.len()),
        blind_index_entry_count: count(
            usize::try_from(report.blind_index_entries).unwrap_or(usize::MAX),
        ),
        shred_time: Some(proto_time::to_proto(report.shredded_at)),
        backups_clear_time: Some(proto_time::to_proto(report.backups_clear_by)),
    }
}
