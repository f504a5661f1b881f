//! Protobuf messages to domain values and back. Messages are destructured without `..`, so a new
//! field stops the build until someone decides what it means here.

use dps_platform::proto_time;
use dps_proto::breaches::v1 as pb;
use dps_types::{FieldViolation, prefixed};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Error;
use crate::domain::{Incident, IncidentId, NewIncident};

/// The incident to record, checked against `now`.
pub(super) fn create_incident(
    request: pb::CreateIncidentRequest,
    now: OffsetDateTime,
) -> Result<(Option<Uuid>, NewIncident), Error> {
    let pb::CreateIncidentRequest {
        incident,
        request_id: raw_request_id,
    } = request;
    let mut violations = Vec::new();
    let request_id = dps_types::parse_request_id(&raw_request_id)
        .map_err(|v| violations.push(v))
        .ok()
        .flatten();
    let Some(incident) = incident else {
        violations.push(FieldViolation {
            field: "incident".into(),
            description: "required".into(),
        });
        return Err(Error::InvalidArgument(violations));
    };
    // `name` and `create_time` are output only and ignored on create.
    let pb::Incident {
        name: _,
        title,
        occur_time,
        discover_time,
        aware_time,
        create_time: _,
    } = incident;
    let mut instant = |field: &str, timestamp: Option<prost_types::Timestamp>| {
        let timestamp = timestamp?;
        let instant = proto_time::from_proto(&timestamp);
        if instant.is_none() {
            violations.push(FieldViolation {
                field: format!("incident.{field}"),
                description: "out of range".into(),
            });
        }
        instant
    };
    let occurred_at = instant("occur_time", occur_time);
    let discovered_at = instant("discover_time", discover_time);
    let aware_at = instant("aware_time", aware_time);
    let parsed = NewIncident::parse(&title, occurred_at, discovered_at, aware_at, now)
        .map_err(|v| violations.extend(prefixed("incident", v)));
    match parsed {
        Ok(incident) if violations.is_empty() => Ok((request_id, incident)),
        // An out-of-range time is reported as such, not also as missing.
        _ => Err(Error::InvalidArgument(dps_types::first_per_field(
            violations,
        ))),
    }
}

pub(super) fn incident_name(name: &str) -> Result<IncidentId, Error> {
    IncidentId::parse_name(name).ok_or_else(|| {
        Error::InvalidArgument(vec![FieldViolation {
            field: "name".into(),
            description: "must be incidents/{uuid}".into(),
        }])
    })
}

pub(super) fn incident_to_proto(incident: &Incident) -> pb::Incident {
    pb::Incident {
        name: incident.id.to_string(),
        title: incident.spec.title().to_owned(),
        occur_time: incident.spec.occurred_at().map(proto_time::to_proto),
        discover_time: incident.spec.discovered_at().map(proto_time::to_proto),
        aware_time: Some(proto_time::to_proto(incident.spec.aware_at())),
        create_time: Some(proto_time::to_proto(incident.created_at)),
    }
}
