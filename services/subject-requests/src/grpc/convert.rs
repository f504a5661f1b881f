//! Protobuf messages to domain values and back. Messages are destructured without `..`, so a new
//! field stops the build until someone decides what it means here.

use dps_crypto::ShredReport;
use dps_platform::proto_time;
use dps_proto::common::v1 as common;
use dps_proto::subject_requests::v1 as pb;
use dps_types::{FieldViolation, prefixed};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::Error;
use crate::domain::accuracy::AccuracyCheck;
use crate::domain::clock::{ClockEventInput, FeeGround};
use crate::domain::pack::Supplementary;
use crate::domain::refusal::{RefusalGround, RefusalInput};
use crate::domain::review::{
    Exemption, NewReviewPart, ReviewPart, ReviewPartId, ReviewPartInput, ThirdParty,
};
use crate::domain::tasks::{self, FulfilmentTask, TaskAction, TaskId, TaskSpec, TaskState};
use crate::domain::{
    Channel, ClockEvent, ClockStatus, IntakeInput, Jurisdiction, NewSubjectRequest,
    PortabilityCheck, Refusal, Relationship, Remedy, RequestKind, RequestState, Step,
    SubjectRequest, SubjectRequestId, TenantSettings,
};
use crate::store::{Figures, HistoryEntry, ListFilter, PackInfo, PageKey, TaskPageKey};

/// Default and largest page sizes.
const DEFAULT_PAGE: i32 = 50;
const MAX_PAGE: i32 = 200;

pub(super) fn violation(field: &str, description: &str) -> FieldViolation {
    FieldViolation {
        field: field.into(),
        description: description.into(),
    }
}

fn invalid(field: &str, description: &str) -> Error {
    Error::InvalidArgument(vec![violation(field, description)])
}

fn unknown_value(field: &str) -> FieldViolation {
    violation(field, "unknown value")
}

/// An enum field: `Ok(None)` for the zero value, an "unknown value" violation otherwise.
pub(super) fn enum_field<P: TryFrom<i32>, D>(
    violations: &mut Vec<FieldViolation>,
    field: &str,
    raw: i32,
    map: impl FnOnce(P) -> Option<D>,
) -> Option<D> {
    match P::try_from(raw) {
        Ok(value) => map(value),
        Err(_) => {
            violations.push(unknown_value(field));
            None
        }
    }
}

pub(super) fn instant(
    violations: &mut Vec<FieldViolation>,
    field: &str,
    t: Option<prost_types::Timestamp>,
) -> Option<OffsetDateTime> {
    t.and_then(|t| {
        let instant = proto_time::from_proto(&t);
        if instant.is_none() {
            violations.push(violation(field, "out of range"));
        }
        instant
    })
}

/// A local date, `YYYY-MM-DD`.
pub(super) fn date_to_proto(date: Option<Date>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

fn parse_date(field: &str, raw: &str) -> Result<Option<Date>, Error> {
    if raw.is_empty() {
        return Ok(None);
    }
    Date::parse(
        raw,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map(Some)
    .map_err(|_| invalid(field, "must be a date, YYYY-MM-DD"))
}

pub(super) fn finish<T>(violations: Vec<FieldViolation>, parsed: Option<T>) -> Result<T, Error> {
    match parsed {
        Some(value) if violations.is_empty() => Ok(value),
        // An out-of-range value is reported as such, not also as missing.
        _ => Err(Error::InvalidArgument(dps_types::first_per_field(
            violations,
        ))),
    }
}

/// The request to record, checked against `now` and the tenant's jurisdiction, and its tasks.
pub(super) fn create_subject_request(
    request: pb::CreateSubjectRequestRequest,
    jurisdiction: Jurisdiction,
    now: OffsetDateTime,
) -> Result<(Option<Uuid>, NewSubjectRequest, Vec<TaskSpec>), Error> {
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
        violations.push(violation("subject_request", "required"));
        return Err(Error::InvalidArgument(violations));
    };
    // Output-only fields are ignored on create.
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
        requester_relationship,
        requester_basis,
        child_competence,
        portability_check,
        requested_kind: _,
        kind_reason: _,
        deadlines: _,
        handler: _,
        refusal: _,
        jurisdiction: _,
        fulfilment_tasks,
        automated_decision_remedies,
    } = subject_request;
    let kind = enum_field(
        &mut violations,
        "subject_request.kind",
        kind,
        kind_from_proto,
    );
    let channel = enum_field(
        &mut violations,
        "subject_request.channel",
        channel,
        channel_from_proto,
    );
    let relationship = enum_field(
        &mut violations,
        "subject_request.requester_relationship",
        requester_relationship,
        relationship_from_proto,
    );
    let remedies = automated_decision_remedies
        .into_iter()
        .filter_map(|r| {
            enum_field(
                &mut violations,
                "subject_request.automated_decision_remedies",
                r,
                remedy_from_proto,
            )
        })
        .collect();
    let received_at = instant(
        &mut violations,
        "subject_request.receive_time",
        receive_time,
    );
    let child = child_competence.map(|c| {
        let pb::ChildCompetence { age, note } = c;
        (age, note)
    });
    let portability = portability_check.map(|p| {
        let pb::PortabilityCheck {
            provided_by_person,
            consent_or_contract,
            automated_processing,
        } = p;
        PortabilityCheck {
            provided_by_person,
            consent_or_contract,
            automated_processing,
        }
    });
    let parsed = NewSubjectRequest::parse(
        IntakeInput {
            kind,
            channel,
            person_id: &person_id,
            received_at,
            requester_name: &requester_name,
            requester_contact: &requester_contact,
            details: &details,
            relationship,
            requester_basis: &requester_basis,
            child: child.as_ref().map(|(age, note)| (*age, note.as_str())),
            portability,
            remedies,
        },
        jurisdiction,
        now,
    )
    .map_err(|v| violations.extend(prefixed("subject_request", v)))
    .ok();
    let specs = fulfilment_tasks
        .into_iter()
        .enumerate()
        .map(|(i, spec)| {
            let pb::FulfilmentTaskSpec { system, action } = spec;
            let action = enum_field(
                &mut violations,
                &format!("subject_request.fulfilment_tasks[{i}].action"),
                action,
                action_from_proto,
            );
            (system, action)
        })
        .collect();
    let tasks = tasks::parse_task_specs(specs)
        .map_err(|v| violations.extend(prefixed("subject_request", v)))
        .ok();
    let parsed = parsed.zip(tasks).map(|(r, t)| (request_id, r, t));
    finish(violations, parsed)
}

/// Parses a `subjectRequests/{uuid}` name given in `field`.
pub(super) fn subject_request_name(field: &str, name: &str) -> Result<SubjectRequestId, Error> {
    SubjectRequestId::parse_name(name)
        .ok_or_else(|| invalid(field, "must be subjectRequests/{uuid}"))
}

pub(super) fn task_name(name: &str) -> Result<TaskId, Error> {
    TaskId::parse_name(name).ok_or_else(|| invalid("name", "must be fulfilmentTasks/{uuid}"))
}

/// A clock event to record.
pub(super) fn clock_event(
    request: pb::RecordClockEventRequest,
    now: OffsetDateTime,
) -> Result<(SubjectRequestId, ClockEvent), Error> {
    let pb::RecordClockEventRequest {
        name,
        kind,
        occur_time,
        reason,
        fee_ground,
        fee_amount_pence,
    } = request;
    let id = subject_request_name("name", &name)?;
    let mut violations = Vec::new();
    let ground = enum_field(&mut violations, "fee_ground", fee_ground, |g| match g {
        pb::FeeGround::Unspecified => None,
        pb::FeeGround::FurtherCopy => Some(FeeGround::FurtherCopy),
        pb::FeeGround::ManifestlyUnfounded => Some(FeeGround::ManifestlyUnfounded),
        pb::FeeGround::ManifestlyExcessive => Some(FeeGround::ManifestlyExcessive),
    });
    let kind = enum_field(&mut violations, "kind", kind, |k| {
        use pb::ClockEventKind as K;
        Some(match k {
            K::Unspecified => return None,
            K::IdentityRequested => ClockEventInput::IdentityRequested,
            K::IdentityReceived => ClockEventInput::IdentityReceived,
            K::FeeRequested => ClockEventInput::FeeRequested {
                ground,
                amount_pence: fee_amount_pence,
            },
            K::FeePaid => ClockEventInput::FeePaid,
            K::ClarificationRequested => ClockEventInput::ClarificationRequested,
            K::ClarificationReceived => ClockEventInput::ClarificationReceived,
            K::Extended => ClockEventInput::Extended,
        })
    });
    let is_fee = matches!(kind, Some(ClockEventInput::FeeRequested { .. }));
    if !is_fee && (ground.is_some() || fee_amount_pence != 0) {
        violations.push(violation("fee_ground", "only for a fee request"));
    }
    let at = instant(&mut violations, "occur_time", occur_time);
    let parsed = ClockEvent::parse(kind, at, &reason, now)
        .map_err(|v| violations.extend(v))
        .ok();
    finish(violations, parsed.map(|e| (id, e)))
}

/// A lifecycle move with its reason.
pub(super) fn transition(
    request: pb::TransitionSubjectRequestRequest,
) -> Result<(SubjectRequestId, Step, String), Error> {
    let pb::TransitionSubjectRequestRequest {
        name,
        transition,
        reason,
    } = request;
    let id = subject_request_name("name", &name)?;
    let mut violations = Vec::new();
    let step = enum_field(&mut violations, "transition", transition, |t| {
        use pb::Transition as T;
        Some(match t {
            T::Unspecified => return None,
            T::Start => Step::Start,
            T::SubmitForReview => Step::SubmitForReview,
            T::Complete => Step::Complete,
            T::Withdraw => Step::Withdraw,
            T::Appeal => Step::Appeal,
            T::Close => Step::Close,
        })
    });
    if step.is_none() && violations.is_empty() {
        violations.push(violation("transition", "required"));
    }
    let reason = reason.trim().to_owned();
    // Ending a request early, challenging it or closing it is explained in the record.
    if matches!(step, Some(Step::Withdraw | Step::Appeal | Step::Close)) && reason.is_empty() {
        violations.push(violation("reason", "required to withdraw, appeal or close"));
    }
    if reason.chars().count() > crate::domain::MAX_REASON {
        violations.push(violation("reason", "at most 2000 characters"));
    }
    finish(violations, step.map(|s| (id, s, reason)))
}

/// A refusal.
pub(super) fn refusal(
    request: pb::RefuseSubjectRequestRequest,
    now: OffsetDateTime,
) -> Result<(SubjectRequestId, Refusal), Error> {
    let pb::RefuseSubjectRequestRequest { name, refusal } = request;
    let id = subject_request_name("name", &name)?;
    let Some(refusal) = refusal else {
        return Err(invalid("refusal", "required"));
    };
    let pb::Refusal {
        ground,
        reason,
        exemption,
        told_right_to_complain_to_controller,
        told_right_to_complain_to_regulator,
        told_right_to_go_to_court,
        refuse_time,
        refused_by: _,
    } = refusal;
    let mut violations = Vec::new();
    let ground = enum_field(&mut violations, "refusal.ground", ground, |g| match g {
        pb::RefusalGround::Unspecified => None,
        pb::RefusalGround::ManifestlyUnfounded => Some(RefusalGround::ManifestlyUnfounded),
        pb::RefusalGround::ManifestlyExcessive => Some(RefusalGround::ManifestlyExcessive),
        pb::RefusalGround::Exemption => Some(RefusalGround::Exemption),
    });
    let at = instant(&mut violations, "refusal.refuse_time", refuse_time);
    let parsed = Refusal::parse(
        RefusalInput {
            ground,
            reason: &reason,
            exemption: &exemption,
            told: [
                told_right_to_complain_to_controller,
                told_right_to_complain_to_regulator,
                told_right_to_go_to_court,
            ],
            at,
        },
        now,
    )
    .map_err(|v| violations.extend(prefixed("refusal", v)))
    .ok();
    finish(violations, parsed.map(|r| (id, r)))
}

/// The handler to assign; `None` unassigns.
pub(super) fn assignment(
    request: pb::AssignSubjectRequestRequest,
) -> Result<(SubjectRequestId, Option<String>), Error> {
    let pb::AssignSubjectRequestRequest { name, handler } = request;
    let id = subject_request_name("name", &name)?;
    let handler = handler.trim();
    if handler.chars().count() > tasks::MAX_SYSTEM {
        return Err(invalid("handler", "at most 200 characters"));
    }
    Ok((id, (!handler.is_empty()).then(|| handler.to_owned())))
}

pub(super) fn page_size(raw: i32) -> Result<i64, Error> {
    match raw {
        0 => Ok(i64::from(DEFAULT_PAGE)),
        1..=MAX_PAGE => Ok(i64::from(raw)),
        _ => Err(invalid("page_size", "must be between 0 and 200")),
    }
}

pub(super) fn bad_token() -> Error {
    invalid("page_token", "not a token from a previous page")
}

/// The filters and page of a listing; `today` is the tenant's local date, for "overdue".
pub(super) fn list_request(
    request: pb::ListSubjectRequestsRequest,
    today: Date,
) -> Result<(ListFilter, i64, Option<PageKey>), Error> {
    let pb::ListSubjectRequestsRequest {
        page_size: raw_size,
        page_token,
        states,
        open_only,
        kinds,
        due_on_or_before,
        overdue_only,
        handler,
    } = request;
    let size = page_size(raw_size)?;
    let mut violations = Vec::new();
    let states = states
        .into_iter()
        .filter_map(|s| enum_field(&mut violations, "states", s, state_from_proto))
        .collect();
    let kinds = kinds
        .into_iter()
        .filter_map(|k| enum_field(&mut violations, "kinds", k, kind_from_proto))
        .collect();
    if !violations.is_empty() {
        return Err(Error::InvalidArgument(violations));
    }
    let due_on_or_before = parse_date("due_on_or_before", &due_on_or_before)?;
    let after = if page_token.is_empty() {
        None
    } else {
        let (due_sort, id) = page_token
            .strip_prefix("r1:")
            .and_then(|t| t.split_once('/'))
            .ok_or_else(bad_token)?;
        if due_sort != "infinity" {
            parse_date("page_token", due_sort).map_err(|_| bad_token())?;
        }
        Some(PageKey {
            due_sort: due_sort.to_owned(),
            id: Uuid::parse_str(id).map_err(|_| bad_token())?,
        })
    };
    let handler = handler.trim();
    let filter = ListFilter {
        states,
        open_only,
        kinds,
        due_on_or_before,
        overdue_on: overdue_only.then_some(today),
        handler: (!handler.is_empty()).then(|| handler.to_owned()),
    };
    Ok((filter, size, after))
}

pub(super) fn page_token(key: Option<PageKey>) -> String {
    key.map(|k| format!("r1:{}/{}", k.due_sort, k.id))
        .unwrap_or_default()
}

/// Which tasks to list.
#[derive(Debug)]
pub(super) enum TaskListing {
    /// A system's pending tasks, a page at a time.
    Pending(String, i64, Option<TaskPageKey>),
    /// Every task of one request.
    OfRequest(SubjectRequestId),
}

/// The system and page of a task listing, or the request whose tasks to list.
pub(super) fn task_list(request: pb::ListFulfilmentTasksRequest) -> Result<TaskListing, Error> {
    let pb::ListFulfilmentTasksRequest {
        system,
        page_size: raw_size,
        page_token,
        subject_request,
    } = request;
    let system = system.trim();
    match (system.is_empty(), subject_request.is_empty()) {
        (true, true) => return Err(invalid("system", "required, or subject_request")),
        (false, false) => {
            return Err(invalid(
                "subject_request",
                "give either system or subject_request",
            ));
        }
        (true, false) => {
            let id = subject_request_name("subject_request", &subject_request)?;
            return Ok(TaskListing::OfRequest(id));
        }
        (false, true) => {}
    }
    let size = page_size(raw_size)?;
    let after = if page_token.is_empty() {
        None
    } else {
        let (nanos, id) = page_token
            .strip_prefix("t1:")
            .and_then(|t| t.split_once('/'))
            .ok_or_else(bad_token)?;
        let nanos: i128 = nanos.parse().map_err(|_| bad_token())?;
        Some(TaskPageKey {
            created_at: OffsetDateTime::from_unix_timestamp_nanos(nanos)
                .map_err(|_| bad_token())?,
            id: Uuid::parse_str(id).map_err(|_| bad_token())?,
        })
    };
    Ok(TaskListing::Pending(system.to_owned(), size, after))
}

pub(super) fn task_page_token(key: Option<TaskPageKey>) -> String {
    key.map(|k| format!("t1:{}/{}", k.created_at.unix_timestamp_nanos(), k.id))
        .unwrap_or_default()
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

/// `None` for the proto3 zero value, which names no remedy.
fn remedy_from_proto(remedy: pb::AutomatedDecisionRemedy) -> Option<Remedy> {
    Some(match remedy {
        pb::AutomatedDecisionRemedy::Unspecified => return None,
        pb::AutomatedDecisionRemedy::Information => Remedy::Information,
        pb::AutomatedDecisionRemedy::Representations => Remedy::Representations,
        pb::AutomatedDecisionRemedy::HumanIntervention => Remedy::HumanIntervention,
        pb::AutomatedDecisionRemedy::Contest => Remedy::Contest,
        pb::AutomatedDecisionRemedy::Objection => Remedy::Objection,
    })
}

fn remedy_to_proto(remedy: Remedy) -> pb::AutomatedDecisionRemedy {
    match remedy {
        Remedy::Information => pb::AutomatedDecisionRemedy::Information,
        Remedy::Representations => pb::AutomatedDecisionRemedy::Representations,
        Remedy::HumanIntervention => pb::AutomatedDecisionRemedy::HumanIntervention,
        Remedy::Contest => pb::AutomatedDecisionRemedy::Contest,
        Remedy::Objection => pb::AutomatedDecisionRemedy::Objection,
    }
}

/// `None` for the proto3 zero value: the channel was not given.
pub(super) fn channel_from_proto(channel: common::Channel) -> Option<Channel> {
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

pub(super) fn channel_to_proto(channel: Channel) -> common::Channel {
    match channel {
        Channel::Letter => common::Channel::Letter,
        Channel::Email => common::Channel::Email,
        Channel::Phone => common::Channel::Phone,
        Channel::InPerson => common::Channel::InPerson,
        Channel::WebForm => common::Channel::WebForm,
        Channel::Platform => common::Channel::Platform,
    }
}

/// `None` for the zero value: the requester is the person.
pub(super) fn relationship_from_proto(r: pb::RequesterRelationship) -> Option<Relationship> {
    use pb::RequesterRelationship as R;
    Some(match r {
        R::Unspecified => return None,
        R::DataSubject => Relationship::Subject,
        R::ParentOrGuardian => Relationship::ParentOrGuardian,
        R::AttorneyOrDeputy => Relationship::AttorneyOrDeputy,
        R::RelativeWithConsent => Relationship::RelativeWithConsent,
        R::Solicitor => Relationship::Solicitor,
        R::Other => Relationship::Other,
    })
}

pub(super) fn relationship_to_proto(r: Relationship) -> pb::RequesterRelationship {
    use pb::RequesterRelationship as R;
    match r {
        Relationship::Subject => R::DataSubject,
        Relationship::ParentOrGuardian => R::ParentOrGuardian,
        Relationship::AttorneyOrDeputy => R::AttorneyOrDeputy,
        Relationship::RelativeWithConsent => R::RelativeWithConsent,
        Relationship::Solicitor => R::Solicitor,
        Relationship::Other => R::Other,
    }
}

fn action_from_proto(a: pb::TaskAction) -> Option<TaskAction> {
    Some(match a {
        pb::TaskAction::Unspecified => return None,
        pb::TaskAction::Export => TaskAction::Export,
        pb::TaskAction::Erase => TaskAction::Erase,
        pb::TaskAction::Rectify => TaskAction::Rectify,
        pb::TaskAction::Restrict => TaskAction::Restrict,
        pb::TaskAction::NotifyRecipient => TaskAction::NotifyRecipient,
        pb::TaskAction::NotifyPerson => TaskAction::NotifyPerson,
    })
}

fn action_to_proto(a: TaskAction) -> pb::TaskAction {
    match a {
        TaskAction::Export => pb::TaskAction::Export,
        TaskAction::Erase => pb::TaskAction::Erase,
        TaskAction::Rectify => pb::TaskAction::Rectify,
        TaskAction::Restrict => pb::TaskAction::Restrict,
        TaskAction::NotifyRecipient => pb::TaskAction::NotifyRecipient,
        TaskAction::NotifyPerson => pb::TaskAction::NotifyPerson,
    }
}

fn state_from_proto(state: pb::RequestState) -> Option<RequestState> {
    use pb::RequestState as P;
    Some(match state {
        P::Unspecified => return None,
        P::Received => RequestState::Received,
        P::AwaitingIdentity => RequestState::AwaitingIdentity,
        P::AwaitingClarification => RequestState::AwaitingClarification,
        P::AwaitingFee => RequestState::AwaitingFee,
        P::InProgress => RequestState::InProgress,
        P::AwaitingReview => RequestState::AwaitingReview,
        P::Completed => RequestState::Completed,
        P::Refused => RequestState::Refused,
        P::Withdrawn => RequestState::Withdrawn,
        P::Appealed => RequestState::Appealed,
        P::Closed => RequestState::Closed,
    })
}

fn state_to_proto(state: RequestState) -> pb::RequestState {
    use pb::RequestState as P;
    match state {
        RequestState::Received => P::Received,
        RequestState::AwaitingIdentity => P::AwaitingIdentity,
        RequestState::AwaitingClarification => P::AwaitingClarification,
        RequestState::AwaitingFee => P::AwaitingFee,
        RequestState::InProgress => P::InProgress,
        RequestState::AwaitingReview => P::AwaitingReview,
        RequestState::Completed => P::Completed,
        RequestState::Refused => P::Refused,
        RequestState::Withdrawn => P::Withdrawn,
        RequestState::Appealed => P::Appealed,
        RequestState::Closed => P::Closed,
    }
}

fn clock_status_to_proto(status: ClockStatus) -> pb::ClockStatus {
    match status {
        ClockStatus::Running => pb::ClockStatus::Running,
        ClockStatus::AwaitingIdentity => pb::ClockStatus::AwaitingIdentity,
        ClockStatus::AwaitingFee => pb::ClockStatus::AwaitingFee,
        ClockStatus::Paused => pb::ClockStatus::Paused,
        ClockStatus::Refused => pb::ClockStatus::Refused,
    }
}

fn refusal_ground_to_proto(g: RefusalGround) -> pb::RefusalGround {
    match g {
        RefusalGround::ManifestlyUnfounded => pb::RefusalGround::ManifestlyUnfounded,
        RefusalGround::ManifestlyExcessive => pb::RefusalGround::ManifestlyExcessive,
        RefusalGround::Exemption => pb::RefusalGround::Exemption,
    }
}

fn jurisdiction_from_proto(j: common::Jurisdiction) -> Option<Jurisdiction> {
    Some(match j {
        common::Jurisdiction::Unspecified => return None,
        common::Jurisdiction::EnglandAndWales => Jurisdiction::EnglandAndWales,
        common::Jurisdiction::Scotland => Jurisdiction::Scotland,
        common::Jurisdiction::NorthernIreland => Jurisdiction::NorthernIreland,
        common::Jurisdiction::Jersey => Jurisdiction::Jersey,
    })
}

pub(super) fn jurisdiction_to_proto(j: Jurisdiction) -> common::Jurisdiction {
    match j {
        Jurisdiction::EnglandAndWales => common::Jurisdiction::EnglandAndWales,
        Jurisdiction::Scotland => common::Jurisdiction::Scotland,
        Jurisdiction::NorthernIreland => common::Jurisdiction::NorthernIreland,
        Jurisdiction::Jersey => common::Jurisdiction::Jersey,
    }
}

/// A request as returned; `today` (the tenant's local date) decides "overdue".
pub(super) fn subject_request_to_proto(
    request: &SubjectRequest,
    today: Date,
) -> pb::SubjectRequest {
    let spec = &request.spec;
    let d = &request.deadlines;
    let personal = spec.personal();
    pb::SubjectRequest {
        name: request.id.to_string(),
        kind: kind_to_proto(spec.kind()).into(),
        channel: channel_to_proto(spec.channel()).into(),
        person_id: spec.person_id().expose().clone(),
        receive_time: Some(proto_time::to_proto(spec.received_at())),
        state: state_to_proto(request.state).into(),
        create_time: Some(proto_time::to_proto(request.created_at)),
        requester_name: personal.requester_name.expose().clone(),
        requester_contact: personal.requester_contact.expose().clone(),
        details: personal.details.expose().clone(),
        personal_data_erased: request.personal_data_erased,
        requester_relationship: relationship_to_proto(spec.relationship()).into(),
        requester_basis: personal.requester_basis.expose().clone(),
        child_competence: spec.child_age().map(|age| pb::ChildCompetence {
            age,
            note: personal.competence_note.expose().clone(),
        }),
        portability_check: None,
        requested_kind: kind_to_proto(spec.requested_kind()).into(),
        kind_reason: spec.kind_reason().to_owned(),
        automated_decision_remedies: spec
            .remedies()
            .iter()
            .map(|r| remedy_to_proto(*r).into())
            .collect(),
        deadlines: Some(pb::Deadlines {
            status: clock_status_to_proto(d.status).into(),
            start_date: date_to_proto(d.start),
            due_date: date_to_proto(d.due),
            refusal_due_date: date_to_proto(d.refusal_due),
            extension_notice_due_date: date_to_proto(d.extension_notice_due),
            extended_date: date_to_proto(d.extended_on),
            explanation: d.explanation.clone(),
            warnings: d.warnings.clone(),
            overdue: d.overdue(request.state.is_open(), today),
        }),
        handler: request.handler.clone().unwrap_or_default(),
        refusal: request.refusal.as_ref().map(|r| pb::Refusal {
            ground: refusal_ground_to_proto(r.refusal.ground).into(),
            reason: r.refusal.reason.clone(),
            exemption: r.refusal.exemption.clone(),
            // Recorded only when all three were told (RefuseSubjectRequest refuses otherwise).
            told_right_to_complain_to_controller: true,
            told_right_to_complain_to_regulator: true,
            told_right_to_go_to_court: true,
            refuse_time: Some(proto_time::to_proto(r.refusal.at)),
            refused_by: r.refused_by.clone(),
        }),
        jurisdiction: jurisdiction_to_proto(request.jurisdiction).into(),
        fulfilment_tasks: Vec::new(),
    }
}

pub(super) fn history_to_proto(entry: &HistoryEntry) -> pb::HistoryEntry {
    let state = |code: &str| {
        RequestState::from_code(code)
            .map_or(pb::RequestState::Unspecified, state_to_proto)
            .into()
    };
    pb::HistoryEntry {
        action: entry.action.clone(),
        from_state: entry.from_state.as_deref().map_or(0, state),
        to_state: state(&entry.to_state),
        actor: entry.actor.clone(),
        record_time: Some(proto_time::to_proto(entry.recorded_at)),
        reason: entry.reason.clone(),
    }
}

pub(super) fn task_to_proto(task: &FulfilmentTask) -> pb::FulfilmentTask {
    pb::FulfilmentTask {
        name: task.id.to_string(),
        subject_request: task.request.to_string(),
        system: task.system.clone(),
        action: action_to_proto(task.action).into(),
        state: match task.state {
            TaskState::Pending => pb::TaskState::Pending,
            TaskState::Completed => pb::TaskState::Completed,
            TaskState::Waived => pb::TaskState::Waived,
        }
        .into(),
        person_id: task.person_id.expose().clone(),
        export_json: task.export_json.expose().clone(),
        affected_records: task.affected_records.unwrap_or_default(),
        waiver_reason: task.waiver_reason.clone().unwrap_or_default(),
        disproportionate_justification: task.justification.clone().unwrap_or_default(),
        done_by: task.done_by.clone().unwrap_or_default(),
        done_time: task.done_at.map(proto_time::to_proto),
        create_time: Some(proto_time::to_proto(task.created_at)),
        records: task.records.clone(),
        notice: task.notice.clone().unwrap_or_default(),
    }
}

/// The settings to save.
pub(super) fn settings(request: pb::UpdateTenantSettingsRequest) -> Result<TenantSettings, Error> {
    let pb::UpdateTenantSettingsRequest { settings } = request;
    let Some(settings) = settings else {
        return Err(invalid("settings", "required"));
    };
    let pb::TenantSettings {
        jurisdiction,
        time_zone: _,
        saved: _,
        health_release_without_approval,
    } = settings;
    let mut violations = Vec::new();
    let jurisdiction = enum_field(
        &mut violations,
        "settings.jurisdiction",
        jurisdiction,
        jurisdiction_from_proto,
    );
    if jurisdiction.is_none() && violations.is_empty() {
        violations.push(violation(
            "settings.jurisdiction",
            "required: England and Wales, Scotland, Northern Ireland or Jersey",
        ));
    }
    finish(
        violations,
        jurisdiction.map(|jurisdiction| TenantSettings {
            jurisdiction,
            health_release_needs_approval: !health_release_without_approval,
            saved: true,
        }),
    )
}

pub(super) fn settings_to_proto(settings: &TenantSettings) -> pb::TenantSettings {
    pb::TenantSettings {
        jurisdiction: jurisdiction_to_proto(settings.jurisdiction).into(),
        time_zone: settings.jurisdiction.zone().name().to_owned(),
        saved: settings.saved,
        health_release_without_approval: !settings.health_release_needs_approval,
    }
}

/// A part to record for review.
pub(super) fn review_part(
    request: pb::AddReviewPartRequest,
    now: OffsetDateTime,
) -> Result<(SubjectRequestId, NewReviewPart), Error> {
    let pb::AddReviewPartRequest {
        subject_request,
        review_part,
    } = request;
    let id = subject_request_name("subject_request", &subject_request)?;
    let Some(part) = review_part else {
        return Err(invalid("review_part", "required"));
    };
    // Output-only fields are ignored.
    let pb::ReviewPart {
        name: _,
        subject_request: _,
        description,
        third_party,
        health_data,
        exemption,
        withheld_what,
        health_opinion_by,
        health_opinion_date,
        approved_by: _,
        approve_time: _,
        created_by: _,
    } = part;
    let mut violations = Vec::new();
    let third_party = enum_field(
        &mut violations,
        "review_part.third_party",
        third_party,
        |t| match t {
            pb::ThirdPartyHandling::Unspecified => None,
            pb::ThirdPartyHandling::None => Some(ThirdParty::None),
            pb::ThirdPartyHandling::Redacted => Some(ThirdParty::Redacted),
            pb::ThirdPartyHandling::Consented => Some(ThirdParty::Consented),
        },
    );
    let exemption = enum_field(&mut violations, "review_part.exemption", exemption, |e| {
        use pb::Exemption as E;
        Some(match e {
            E::Unspecified => return None,
            E::LegalPrivilege => Exemption::LegalPrivilege,
            E::SeriousHarm => Exemption::SeriousHarm,
            E::ChildAtRisk => Exemption::ChildAtRisk,
            E::AdoptionOrCourtRecords => Exemption::AdoptionOrCourtRecords,
            E::Other => Exemption::Other,
        })
    });
    let opinion_on = parse_date("review_part.health_opinion_date", &health_opinion_date)
        .map_err(|e| {
            if let Error::InvalidArgument(v) = e {
                violations.extend(v);
            }
        })
        .ok()
        .flatten();
    let parsed = NewReviewPart::parse(
        ReviewPartInput {
            description: &description,
            third_party,
            health_data,
            exemption,
            withheld_what: &withheld_what,
            opinion_by: &health_opinion_by,
            opinion_on,
        },
        now,
    )
    .map_err(|v| violations.extend(prefixed("review_part", v)))
    .ok();
    finish(violations, parsed.map(|p| (id, p)))
}

pub(super) fn review_part_name(name: &str) -> Result<ReviewPartId, Error> {
    ReviewPartId::parse_name(name).ok_or_else(|| invalid("name", "must be reviewParts/{uuid}"))
}

pub(super) fn review_part_to_proto(part: &ReviewPart) -> pb::ReviewPart {
    let withholding = part.part.withholding.as_ref();
    let opinion = withholding.and_then(|w| w.opinion.as_ref());
    pb::ReviewPart {
        name: part.id.to_string(),
        subject_request: part.request.to_string(),
        description: part.part.description.clone(),
        third_party: match part.part.third_party {
            ThirdParty::None => pb::ThirdPartyHandling::None,
            ThirdParty::Redacted => pb::ThirdPartyHandling::Redacted,
            ThirdParty::Consented => pb::ThirdPartyHandling::Consented,
        }
        .into(),
        health_data: part.part.health_data,
        exemption: withholding
            .map_or(pb::Exemption::Unspecified, |w| match w.exemption {
                Exemption::LegalPrivilege => pb::Exemption::LegalPrivilege,
                Exemption::SeriousHarm => pb::Exemption::SeriousHarm,
                Exemption::ChildAtRisk => pb::Exemption::ChildAtRisk,
                Exemption::AdoptionOrCourtRecords => pb::Exemption::AdoptionOrCourtRecords,
                Exemption::Other => pb::Exemption::Other,
            })
            .into(),
        withheld_what: withholding.map(|w| w.what.clone()).unwrap_or_default(),
        health_opinion_by: opinion.map(|o| o.by.clone()).unwrap_or_default(),
        health_opinion_date: date_to_proto(opinion.map(|o| o.on)),
        approved_by: part
            .approval
            .as_ref()
            .map(|(by, _)| by.clone())
            .unwrap_or_default(),
        approve_time: part
            .approval
            .as_ref()
            .map(|(_, at)| proto_time::to_proto(*at)),
        created_by: part.created_by.clone(),
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

pub(super) fn figures_to_proto(f: &Figures) -> pb::DashboardFigures {
    pb::DashboardFigures {
        tenant: f.tenant.clone().unwrap_or_default(),
        count_by_state: f.by_state.iter().cloned().collect(),
        due_in_7_days: f.due_in_7_days,
        overdue: f.overdue,
        median_days_to_complete: f.median_days.unwrap_or_default(),
        percent_completed_on_time: f.percent_on_time.unwrap_or_default(),
        completed: f.completed,
    }
}

/// The request whose pack to build, and the supplementary information.
pub(super) fn build_pack(
    request: pb::BuildResponsePackRequest,
) -> Result<(SubjectRequestId, Supplementary), Error> {
    let pb::BuildResponsePackRequest {
        subject_request,
        supplementary_information,
    } = request;
    let id = subject_request_name("subject_request", &subject_request)?;
    let Some(info) = supplementary_information else {
        return Err(invalid("supplementary_information", "required"));
    };
    let pb::SupplementaryInformation {
        purposes,
        categories,
        recipients,
        retention,
        sources,
        automated_decision_making,
        international_transfer_safeguards,
    } = info;
    // Checked once the lists left empty are filled from the other services (the store).
    let supplementary = Supplementary {
        purposes,
        categories,
        recipients,
        retention,
        sources,
        automated_decision_making,
        international_transfer_safeguards,
    };
    Ok((id, supplementary))
}

pub(super) fn pack_info_to_proto(id: SubjectRequestId, info: &PackInfo) -> pb::ResponsePackInfo {
    pb::ResponsePackInfo {
        subject_request: id.to_string(),
        size_bytes: info.size_bytes,
        build_time: Some(proto_time::to_proto(info.built_at)),
        built_by: info.built_by.clone(),
    }
}

/// The system a `WatchPendingTasks` call follows.
pub(super) fn watched_system(request: pb::WatchPendingTasksRequest) -> Result<String, Error> {
    let pb::WatchPendingTasksRequest { system } = request;
    let system = system.trim();
    if system.is_empty() {
        return Err(invalid("system", "required"));
    }
    Ok(system.to_owned())
}

/// `LiftAccuracyRestriction`'s request and the time the person was told.
pub(super) fn lift(
    request: pb::LiftAccuracyRestrictionRequest,
) -> Result<(SubjectRequestId, Option<OffsetDateTime>), Error> {
    let pb::LiftAccuracyRestrictionRequest {
        subject_request,
        told_time,
    } = request;
    let id = subject_request_name("subject_request", &subject_request)?;
    let mut violations = Vec::new();
    let told = instant(&mut violations, "told_time", told_time);
    if violations.is_empty() {
        Ok((id, told))
    } else {
        Err(Error::InvalidArgument(violations))
    }
}

pub(super) fn accuracy_to_proto(id: SubjectRequestId, check: &AccuracyCheck) -> pb::AccuracyCheck {
    let lifted = check.lifted.as_ref();
    let dispute = check.dispute.as_ref();
    pb::AccuracyCheck {
        name: format!("{id}/accuracyCheck"),
        restricted: check.is_restricted(),
        restrict_time: check
            .restricted
            .as_ref()
            .map(|(at, _)| proto_time::to_proto(*at)),
        restricted_by: check
            .restricted
            .as_ref()
            .map(|(_, by)| by.clone())
            .unwrap_or_default(),
        told_time: lifted.map(|l| proto_time::to_proto(l.told_at)),
        lift_time: lifted.map(|l| proto_time::to_proto(l.at)),
        lifted_by: lifted.map(|l| l.by.clone()).unwrap_or_default(),
        disputed_accuracy_note: dispute
            .map(|d| d.note.expose().to_owned())
            .unwrap_or_default(),
        dispute_time: dispute.map(|d| proto_time::to_proto(d.at)),
        dispute_recorded_by: dispute.map(|d| d.by.clone()).unwrap_or_default(),
    }
}

pub(super) fn erasure_retention_to_proto(
    retention: &crate::domain::erasure::ErasureRetention,
) -> pb::ListErasureRetentionResponse {
    pb::ListErasureRetentionResponse {
        checked: retention.checked,
        records: retention
            .records
            .iter()
            .map(|r| pb::ErasureRetention {
                record: r.record.clone(),
                record_class_code: r.record_class_code.clone(),
                system: r.system.clone(),
                external_id: r.external_id.clone(),
                must_keep: r.must_keep,
                reasons: r.reasons.clone(),
            })
            .collect(),
    }
}
