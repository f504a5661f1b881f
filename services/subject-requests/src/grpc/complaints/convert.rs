//! Complaint messages to domain values and back. Messages are destructured without `..`, so a new
//! field stops the build until someone decides what it means here.

use dps_platform::proto_time;
use dps_proto::subject_requests::v1 as pb;
use dps_types::prefixed;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::super::Error;
use super::super::convert::{
    bad_token, channel_from_proto, channel_to_proto, date_to_proto, enum_field, finish, instant,
    jurisdiction_to_proto, page_size, relationship_from_proto, relationship_to_proto, violation,
};
use crate::domain::SubjectRequestId;
use crate::domain::complaint::{
    About, Acknowledgement, Complaint, ComplaintId, ComplaintInput, ComplaintOutcome,
    ComplaintState, Entry, IncidentRef, NewComplaint, Resolution,
};
use crate::store::{ComplaintFigures, ComplaintFilter, ComplaintHistoryEntry, ComplaintPageKey};

/// Parses a `complaints/{uuid}` name given in `field`.
pub(super) fn complaint_name(field: &str, name: &str) -> Result<ComplaintId, Error> {
    ComplaintId::parse_name(name)
        .ok_or_else(|| Error::InvalidArgument(vec![violation(field, "must be complaints/{uuid}")]))
}

/// The complaint to record, checked against `now`.
pub(super) fn create_complaint(
    request: pb::CreateComplaintRequest,
    now: OffsetDateTime,
) -> Result<(Option<Uuid>, NewComplaint), Error> {
    let pb::CreateComplaintRequest {
        complaint,
        request_id: raw_request_id,
    } = request;
    let mut violations = Vec::new();
    let request_id = dps_types::parse_request_id(&raw_request_id)
        .map_err(|v| violations.push(v))
        .ok()
        .flatten();
    let Some(complaint) = complaint else {
        violations.push(violation("complaint", "required"));
        return Err(Error::InvalidArgument(violations));
    };
    // Output-only fields are ignored on create.
    let pb::Complaint {
        name: _,
        person_id,
        complainant_name,
        complainant_contact,
        complainant_relationship,
        complainant_basis,
        subject,
        about,
        receive_time,
        channel,
        state: _,
        acknowledgement_clock: _,
        acknowledgement: _,
        assignee: _,
        resolution: _,
        jurisdiction: _,
        create_time: _,
        personal_data_erased: _,
    } = complaint;
    let mut local = Vec::new();
    let relationship = enum_field(
        &mut local,
        "complainant_relationship",
        complainant_relationship,
        relationship_from_proto,
    );
    let channel = enum_field(&mut local, "channel", channel, channel_from_proto);
    let received_at = instant(&mut local, "receive_time", receive_time);
    let about = match about {
        None => None,
        Some(pb::complaint::About::SubjectRequest(name)) => {
            match SubjectRequestId::parse_name(&name) {
                Some(id) => Some(About::SubjectRequest(id)),
                None => {
                    local.push(violation(
                        "subject_request",
                        "must be subjectRequests/{uuid}",
                    ));
                    None
                }
            }
        }
        Some(pb::complaint::About::Incident(name)) => match IncidentRef::parse_name(&name) {
            Some(id) => Some(About::Incident(id)),
            None => {
                local.push(violation("incident", "must be incidents/{uuid}"));
                None
            }
        },
        Some(pb::complaint::About::ProcessingMatter(matter)) => {
            Some(About::ProcessingMatter(matter))
        }
    };
    let parsed = NewComplaint::parse(
        ComplaintInput {
            person_id: &person_id,
            complainant_name: &complainant_name,
            complainant_contact: &complainant_contact,
            relationship,
            complainant_basis: &complainant_basis,
            subject: &subject,
            about,
            received_at,
            channel,
        },
        now,
    );
    // A field already reported as malformed is not also reported as missing.
    let parsed = match parsed {
        Ok(c) => Some(c),
        Err(v) => {
            local.extend(v);
            None
        }
    };
    violations.extend(prefixed("complaint", local));
    finish(violations, parsed.map(|c| (request_id, c)))
}

pub(super) fn acknowledgement(
    request: pb::AcknowledgeComplaintRequest,
    now: OffsetDateTime,
) -> Result<(ComplaintId, Acknowledgement), Error> {
    let pb::AcknowledgeComplaintRequest {
        name,
        acknowledgement,
    } = request;
    let id = complaint_name("name", &name)?;
    let Some(pb::Acknowledgement {
        acknowledge_time,
        channel,
        acknowledged_by: _,
        late: _,
    }) = acknowledgement
    else {
        return Err(Error::InvalidArgument(vec![violation(
            "acknowledgement",
            "required",
        )]));
    };
    let mut violations = Vec::new();
    let at = instant(
        &mut violations,
        "acknowledgement.acknowledge_time",
        acknowledge_time,
    );
    let channel = enum_field(
        &mut violations,
        "acknowledgement.channel",
        channel,
        channel_from_proto,
    );
    let parsed = Acknowledgement::parse(at, channel, now)
        .map_err(|v| violations.extend(v))
        .ok();
    finish(violations, parsed.map(|a| (id, a)))
}

pub(super) fn assignment(
    request: pb::AssignComplaintRequest,
) -> Result<(ComplaintId, Option<String>), Error> {
    let pb::AssignComplaintRequest { name, assignee } = request;
    let id = complaint_name("name", &name)?;
    let assignee = assignee.trim();
    if assignee.chars().count() > crate::domain::MAX_PERSON_ID {
        return Err(Error::InvalidArgument(vec![violation(
            "assignee",
            "at most 200 characters",
        )]));
    }
    Ok((id, (!assignee.is_empty()).then(|| assignee.to_owned())))
}

pub(super) fn entry(request: pb::AddComplaintEntryRequest) -> Result<(ComplaintId, Entry), Error> {
    let pb::AddComplaintEntryRequest { name, kind, text } = request;
    let id = complaint_name("name", &name)?;
    let mut violations = Vec::new();
    let step_taken = enum_field(&mut violations, "kind", kind, |k| match k {
        pb::ComplaintEntryKind::Unspecified => None,
        pb::ComplaintEntryKind::Note => Some(false),
        pb::ComplaintEntryKind::StepTaken => Some(true),
    });
    let parsed = Entry::parse(step_taken, &text)
        .map_err(|v| violations.extend(v))
        .ok();
    finish(violations, parsed.map(|e| (id, e)))
}

pub(super) fn outcome(
    request: pb::RecordComplaintOutcomeRequest,
    now: OffsetDateTime,
) -> Result<(ComplaintId, Resolution), Error> {
    let pb::RecordComplaintOutcomeRequest {
        name,
        outcome,
        reply,
        reply_time,
        reply_channel,
    } = request;
    let id = complaint_name("name", &name)?;
    let mut violations = Vec::new();
    let outcome = enum_field(&mut violations, "outcome", outcome, outcome_from_proto);
    let replied_at = instant(&mut violations, "reply_time", reply_time);
    let channel = enum_field(
        &mut violations,
        "reply_channel",
        reply_channel,
        channel_from_proto,
    );
    let parsed = Resolution::parse(outcome, &reply, replied_at, channel, now)
        .map_err(|v| violations.extend(v))
        .ok();
    finish(violations, parsed.map(|r| (id, r)))
}

/// The filters and page of a listing; `today` is the tenant's local date, for "overdue".
pub(super) fn list_request(
    request: pb::ListComplaintsRequest,
    today: Date,
) -> Result<(ComplaintFilter, i64, Option<ComplaintPageKey>), Error> {
    let pb::ListComplaintsRequest {
        page_size: raw_size,
        page_token,
        open_only,
        acknowledgement_overdue_only,
    } = request;
    let size = page_size(raw_size)?;
    let after = if page_token.is_empty() {
        None
    } else {
        let (due_sort, id) = page_token
            .strip_prefix("c1:")
            .and_then(|t| t.split_once('/'))
            .ok_or_else(bad_token)?;
        if due_sort != "infinity" {
            Date::parse(
                due_sort,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| bad_token())?;
        }
        Some(ComplaintPageKey {
            due_sort: due_sort.to_owned(),
            id: Uuid::parse_str(id).map_err(|_| bad_token())?,
        })
    };
    let filter = ComplaintFilter {
        open_only,
        ack_overdue_on: acknowledgement_overdue_only.then_some(today),
    };
    Ok((filter, size, after))
}

pub(super) fn page_token(key: Option<ComplaintPageKey>) -> String {
    key.map(|k| format!("c1:{}/{}", k.due_sort, k.id))
        .unwrap_or_default()
}

fn outcome_from_proto(o: pb::ComplaintOutcome) -> Option<ComplaintOutcome> {
    Some(match o {
        pb::ComplaintOutcome::Unspecified => return None,
        pb::ComplaintOutcome::Upheld => ComplaintOutcome::Upheld,
        pb::ComplaintOutcome::PartlyUpheld => ComplaintOutcome::PartlyUpheld,
        pb::ComplaintOutcome::NotUpheld => ComplaintOutcome::NotUpheld,
        pb::ComplaintOutcome::Withdrawn => ComplaintOutcome::Withdrawn,
    })
}

fn outcome_to_proto(o: ComplaintOutcome) -> pb::ComplaintOutcome {
    match o {
        ComplaintOutcome::Upheld => pb::ComplaintOutcome::Upheld,
        ComplaintOutcome::PartlyUpheld => pb::ComplaintOutcome::PartlyUpheld,
        ComplaintOutcome::NotUpheld => pb::ComplaintOutcome::NotUpheld,
        ComplaintOutcome::Withdrawn => pb::ComplaintOutcome::Withdrawn,
    }
}

fn state_to_proto(s: ComplaintState) -> pb::ComplaintState {
    match s {
        ComplaintState::Received => pb::ComplaintState::Received,
        ComplaintState::Acknowledged => pb::ComplaintState::Acknowledged,
        ComplaintState::Investigating => pb::ComplaintState::Investigating,
        ComplaintState::Closed => pb::ComplaintState::Closed,
    }
}

/// A complaint as the API shows it; `today` is the tenant's local date, for "overdue".
pub(super) fn complaint_to_proto(c: &Complaint, today: Date) -> pb::Complaint {
    let about = c.spec.about.as_ref().map(|about| match about {
        About::SubjectRequest(id) => pb::complaint::About::SubjectRequest(id.to_string()),
        About::Incident(id) => pb::complaint::About::Incident(id.to_string()),
        About::ProcessingMatter(m) => pb::complaint::About::ProcessingMatter(m.clone()),
    });
    let details = &c.spec.details;
    pb::Complaint {
        name: c.id.to_string(),
        person_id: c.spec.person_id.expose().clone(),
        complainant_name: details.complainant_name.expose().clone(),
        complainant_contact: details.complainant_contact.expose().clone(),
        complainant_relationship: relationship_to_proto(c.spec.relationship).into(),
        complainant_basis: details.complainant_basis.expose().clone(),
        subject: details.subject.expose().clone(),
        about,
        receive_time: Some(proto_time::to_proto(c.spec.received_at)),
        channel: channel_to_proto(c.spec.channel).into(),
        state: state_to_proto(c.state).into(),
        acknowledgement_clock: Some(pb::AcknowledgementClock {
            due_date: date_to_proto(c.clock.due),
            statutory: c.clock.statutory,
            explanation: c.clock.explanation.clone(),
            warnings: c.clock.warnings.clone(),
            overdue: c.clock.overdue(c.state == ComplaintState::Received, today),
        }),
        acknowledgement: c.acknowledgement.as_ref().map(|a| pb::Acknowledgement {
            acknowledge_time: Some(proto_time::to_proto(a.acknowledgement.at)),
            channel: channel_to_proto(a.acknowledgement.channel).into(),
            acknowledged_by: a.by.clone(),
            late: a.late,
        }),
        assignee: c.assignee.clone().unwrap_or_default(),
        resolution: c.resolution.as_ref().map(|r| pb::ComplaintResolution {
            outcome: outcome_to_proto(r.resolution.outcome).into(),
            reply: r.resolution.reply.expose().clone(),
            reply_time: Some(proto_time::to_proto(r.resolution.replied_at)),
            reply_channel: channel_to_proto(r.resolution.channel).into(),
            recorded_by: r.by.clone(),
            days_to_outcome: r.days_to_outcome,
        }),
        jurisdiction: jurisdiction_to_proto(c.jurisdiction).into(),
        create_time: Some(proto_time::to_proto(c.created_at)),
        personal_data_erased: c.personal_data_erased,
    }
}

pub(super) fn history_to_proto(e: &ComplaintHistoryEntry) -> pb::ComplaintHistoryEntry {
    pb::ComplaintHistoryEntry {
        action: e.action.clone(),
        from_state: e
            .from_state
            .map_or(pb::ComplaintState::Unspecified, state_to_proto)
            .into(),
        to_state: state_to_proto(e.to_state).into(),
        actor: e.actor.clone(),
        record_time: Some(proto_time::to_proto(e.recorded_at)),
        text: e.text.expose().clone(),
    }
}

pub(super) fn figures_to_proto(f: &ComplaintFigures) -> pb::ComplaintFigures {
    pb::ComplaintFigures {
        tenant: f.tenant.clone().unwrap_or_default(),
        open: f.open,
        awaiting_acknowledgement: f.awaiting_acknowledgement,
        acknowledgement_overdue: f.acknowledgement_overdue,
        acknowledged_late: f.acknowledged_late,
        closed: f.closed,
        count_by_outcome: f.by_outcome.iter().cloned().collect(),
        median_days_to_outcome: f.median_days.unwrap_or_default(),
    }
}
