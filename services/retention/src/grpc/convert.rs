//! Protobuf messages to domain values and back, for the schedule and the registry. Messages are
//! destructured without `..`, so a new field stops the build until someone decides what it means.

use dps_platform::proto_time;
use dps_proto::retention::v1 as pb;
use dps_types::{FieldViolation, Violations, prefixed};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::Error;
use crate::domain::{
    ClassChange, EndAction, Event, NewRecord, NewRecordClass, Record, RecordClass, RecordClassId,
    RecordId, RecordInput, RecordState, parse_date,
};

pub(super) fn date_text(date: Option<Date>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

pub(super) fn time(at: OffsetDateTime) -> Option<prost_types::Timestamp> {
    Some(proto_time::to_proto(at))
}

pub(super) fn event_from_proto(value: i32) -> Option<Event> {
    Some(match pb::TriggerEvent::try_from(value).ok()? {
        pb::TriggerEvent::Unspecified => return None,
        pb::TriggerEvent::Created => Event::Created,
        pb::TriggerEvent::Discharged => Event::Discharged,
        pb::TriggerEvent::Died => Event::Died,
        pb::TriggerEvent::LeftEmployment => Event::LeftEmployment,
        pb::TriggerEvent::Closed => Event::Closed,
        pb::TriggerEvent::AppealClosed => Event::AppealClosed,
        pb::TriggerEvent::TrainingCompleted => Event::TrainingCompleted,
        pb::TriggerEvent::RecruitmentDecided => Event::RecruitmentDecided,
        pb::TriggerEvent::OrganisationEnded => Event::OrganisationEnded,
    })
}

fn event_to_proto(event: Event) -> pb::TriggerEvent {
    match event {
        Event::Created => pb::TriggerEvent::Created,
        Event::Discharged => pb::TriggerEvent::Discharged,
        Event::Died => pb::TriggerEvent::Died,
        Event::LeftEmployment => pb::TriggerEvent::LeftEmployment,
        Event::Closed => pb::TriggerEvent::Closed,
        Event::AppealClosed => pb::TriggerEvent::AppealClosed,
        Event::TrainingCompleted => pb::TriggerEvent::TrainingCompleted,
        Event::RecruitmentDecided => pb::TriggerEvent::RecruitmentDecided,
        Event::OrganisationEnded => pb::TriggerEvent::OrganisationEnded,
    }
}

/// A class's mutable fields; output-only fields are ignored. Field names carry no prefix.
fn class_change(
    class: pb::RecordClass,
) -> (String, String, Result<ClassChange, Vec<FieldViolation>>) {
    let pb::RecordClass {
        name,
        code,
        display_name,
        description,
        create_time: _,
        triggers: raw_triggers,
        rule,
        end_action,
        note,
        schedule_version: _,
        warnings: _,
    } = class;
    let mut v = Violations::new();
    let mut triggers = Vec::new();
    for (i, raw) in raw_triggers.iter().enumerate() {
        match event_from_proto(*raw) {
            Some(event) => triggers.push(event),
            None => v.add(
                format!("triggers[{i}]"),
                "unknown or unspecified trigger event",
            ),
        }
    }
    let end_action = match pb::EndAction::try_from(end_action) {
        Ok(pb::EndAction::ReviewThenDestroy) => Some(EndAction::ReviewThenDestroy),
        Ok(pb::EndAction::ReviewThenTransfer) => Some(EndAction::ReviewThenTransfer),
        _ => None,
    };
    let parsed = ClassChange::parse(
        &display_name,
        &description,
        &triggers,
        &rule,
        end_action,
        &note,
    );
    let change = match (v.finish(()), parsed) {
        (Ok(()), parsed) => parsed,
        (Err(mut mine), parsed) => {
            // An unmappable trigger was reported by position; "at least one" would repeat it.
            let named_trigger = mine.iter().any(|m| m.field.starts_with("triggers["));
            mine.extend(
                parsed
                    .err()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|d| !(named_trigger && d.field == "triggers")),
            );
            Err(mine)
        }
    };
    (name, code, change)
}

pub(super) fn create_record_class(
    request: pb::CreateRecordClassRequest,
) -> Result<(Option<Uuid>, NewRecordClass), Error> {
    let pb::CreateRecordClassRequest {
        record_class,
        request_id: raw_request_id,
    } = request;
    let mut violations = Vec::new();
    let request_id = dps_types::parse_request_id(&raw_request_id)
        .map_err(|v| violations.push(v))
        .ok()
        .flatten();
    let Some(record_class) = record_class else {
        violations.push(FieldViolation {
            field: "record_class".into(),
            description: "required".into(),
        });
        return Err(Error::InvalidArgument(violations));
    };
    let (_, code, change) = class_change(record_class);
    match NewRecordClass::parse(&code, change) {
        Ok(class) if violations.is_empty() => Ok((request_id, class)),
        Ok(_) => Err(Error::InvalidArgument(violations)),
        Err(v) => {
            violations.extend(prefixed("record_class", v));
            Err(Error::InvalidArgument(violations))
        }
    }
}

pub(super) fn update_record_class(
    request: pb::UpdateRecordClassRequest,
) -> Result<(RecordClassId, String, ClassChange, String), Error> {
    let pb::UpdateRecordClassRequest {
        record_class,
        reason,
    } = request;
    let Some(record_class) = record_class else {
        return Err(Error::field("record_class", "required"));
    };
    let (name, code, change) = class_change(record_class);
    let mut v = Vec::new();
    let id = RecordClassId::parse_name(&name);
    if id.is_none() {
        v.push(FieldViolation {
            field: "record_class.name".into(),
            description: "must be recordClasses/{uuid}".into(),
        });
    }
    let change = change
        .map_err(|e| v.extend(prefixed("record_class", e)))
        .ok();
    let mut reasons = Violations::new();
    let reason =
        crate::domain::required_text(&mut reasons, "reason", &reason, crate::domain::MAX_REASON);
    v.extend(reasons.finish(()).err().unwrap_or_default());
    match (id, change) {
        (Some(id), Some(change)) if v.is_empty() => Ok((id, code, change, reason)),
        _ => Err(Error::InvalidArgument(v)),
    }
}

pub(super) fn parse_name<T>(
    field: &str,
    name: &str,
    parse: fn(&str) -> Option<T>,
    collection: &str,
) -> Result<T, Error> {
    parse(name).ok_or_else(|| Error::field(field, format!("must be {collection}/{{uuid}}")))
}

pub(super) fn record_class_to_proto(class: &RecordClass) -> pb::RecordClass {
    let spec = &class.spec;
    pb::RecordClass {
        name: class.id.to_string(),
        code: class.code.clone(),
        display_name: spec.display_name().to_owned(),
        description: spec.description().to_owned(),
        create_time: time(class.created_at),
        triggers: spec
            .triggers()
            .iter()
            .map(|t| event_to_proto(*t) as i32)
            .collect(),
        rule: spec.rule().to_string(),
        end_action: match spec.end_action() {
            EndAction::ReviewThenDestroy => pb::EndAction::ReviewThenDestroy,
            EndAction::ReviewThenTransfer => pb::EndAction::ReviewThenTransfer,
        } as i32,
        note: spec.note().to_owned(),
        schedule_version: class.schedule_version,
        warnings: spec.warnings(),
    }
}

/// A record as sent; `prefix` names it in violations (`records[7]` in a bulk stream).
pub(super) fn new_record(
    record: pb::Record,
    today: Date,
) -> Result<NewRecord, Vec<FieldViolation>> {
    let pb::Record {
        name: _,
        record_class_code,
        person_id,
        system,
        external_id,
        create_date,
        birth_date,
        discharge_date,
        death_date,
        died_in_care,
        leave_date,
        close_date,
        appeal_close_date,
        training_complete_date,
        recruitment_decision_date,
        organisation_end_date,
        review_date: _,
        explanation: _,
        schedule_version: _,
        state: _,
        extended_until: _,
        create_time: _,
    } = record;
    let mut v = Violations::new();
    let created = parse_date(&mut v, "create_date", &create_date);
    let born = parse_date(&mut v, "birth_date", &birth_date);
    let mut events = Vec::new();
    for (event, field, raw) in [
        (Event::Discharged, "discharge_date", &discharge_date),
        (Event::Died, "death_date", &death_date),
        (Event::LeftEmployment, "leave_date", &leave_date),
        (Event::Closed, "close_date", &close_date),
        (Event::AppealClosed, "appeal_close_date", &appeal_close_date),
        (
            Event::TrainingCompleted,
            "training_complete_date",
            &training_complete_date,
        ),
        (
            Event::RecruitmentDecided,
            "recruitment_decision_date",
            &recruitment_decision_date,
        ),
        (
            Event::OrganisationEnded,
            "organisation_end_date",
            &organisation_end_date,
        ),
    ] {
        if let Some(date) = parse_date(&mut v, field, raw) {
            events.push((event, field, date));
        }
    }
    let input = RecordInput {
        class_code: record_class_code,
        person_id,
        system,
        external_id,
        created,
        born,
        events,
        died_in_care,
    };
    NewRecord::parse(v, input, today).map_err(dps_types::first_per_field)
}

fn state_to_proto(state: RecordState) -> pb::RecordState {
    match state {
        RecordState::Active => pb::RecordState::Active,
        RecordState::UnderReview => pb::RecordState::UnderReview,
        RecordState::DisposalApproved => pb::RecordState::DisposalApproved,
        RecordState::Destroyed => pb::RecordState::Destroyed,
        RecordState::Transferred => pb::RecordState::Transferred,
    }
}

pub(super) fn record_to_proto(record: &Record) -> pb::Record {
    let f = &record.facts;
    let d = |e: Event| date_text(f.date(e));
    pb::Record {
        name: record.id.to_string(),
        record_class_code: record.class_code.clone(),
        person_id: record.person_id.clone().unwrap_or_default(),
        system: record.system.clone(),
        external_id: record.external_id.clone(),
        create_date: d(Event::Created),
        birth_date: date_text(f.born),
        discharge_date: d(Event::Discharged),
        death_date: d(Event::Died),
        died_in_care: f.died_in_care,
        leave_date: d(Event::LeftEmployment),
        close_date: d(Event::Closed),
        appeal_close_date: d(Event::AppealClosed),
        training_complete_date: d(Event::TrainingCompleted),
        recruitment_decision_date: d(Event::RecruitmentDecided),
        organisation_end_date: d(Event::OrganisationEnded),
        review_date: date_text(record.dating.review_on),
        explanation: record.dating.explanation.clone(),
        schedule_version: record.schedule_version,
        state: state_to_proto(record.state) as i32,
        extended_until: date_text(record.extended_until),
        create_time: time(record.created_at),
    }
}

pub(super) fn record_event(
    request: pb::RecordEventRequest,
) -> Result<(RecordId, Event, Date, bool), Error> {
    let pb::RecordEventRequest {
        name,
        event,
        date,
        died_in_care,
    } = request;
    let mut v = Violations::new();
    let id = RecordId::parse_name(&name);
    if id.is_none() {
        v.add("name", "must be records/{uuid}");
    }
    let event = match event_from_proto(event) {
        Some(Event::Created) => {
            v.add("event", "creation is given when the record is registered");
            None
        }
        None => {
            v.add("event", "required");
            None
        }
        some => some,
    };
    let parsed = parse_date(&mut v, "date", &date);
    if date.is_empty() {
        v.add("date", "required");
    }
    if died_in_care && event != Some(Event::Died) {
        v.add("died_in_care", "only with a DIED event");
    }
    match (id, event, parsed, v.finish(())) {
        (Some(id), Some(event), Some(date), Ok(())) => Ok((id, event, date, died_in_care)),
        (.., result) => Err(Error::InvalidArgument(result.err().unwrap_or_default())),
    }
}
