//! Protobuf messages to domain values and back. Messages are destructured without `..`, so a new
//! field stops the build until someone decides what it means here.

use dps_platform::proto_time;
use dps_proto::retention::v1 as pb;
use dps_types::{FieldViolation, prefixed};
use uuid::Uuid;

use super::Error;
use crate::domain::{NewRecordClass, RecordClass, RecordClassId};

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
    // `name` and `create_time` are output only and ignored on create.
    let pb::RecordClass {
        name: _,
        code,
        display_name,
        description,
        create_time: _,
    } = record_class;
    let parsed = NewRecordClass::parse(&code, &display_name, &description)
        .map_err(|v| violations.extend(prefixed("record_class", v)));
    match parsed {
        Ok(class) if violations.is_empty() => Ok((request_id, class)),
        _ => Err(Error::InvalidArgument(violations)),
    }
}

pub(super) fn record_class_name(name: &str) -> Result<RecordClassId, Error> {
    RecordClassId::parse_name(name).ok_or_else(|| {
        Error::InvalidArgument(vec![FieldViolation {
            field: "name".into(),
            description: "must be recordClasses/{uuid}".into(),
        }])
    })
}

pub(super) fn record_class_to_proto(class: &RecordClass) -> pb::RecordClass {
    pb::RecordClass {
        name: class.id.to_string(),
        code: class.spec.code().to_owned(),
        display_name: class.spec.display_name().to_owned(),
        description: class.spec.description().to_owned(),
        create_time: Some(proto_time::to_proto(class.created_at)),
    }
}
