//! Protobuf messages to domain values and back. Messages are destructured without `..`, so a new
//! field stops the build until someone decides what it means here.

use dps_platform::proto_time;
use dps_proto::consent::v1 as pb;
use dps_types::{FieldViolation, prefixed};
use uuid::Uuid;

use super::Error;
use crate::domain::{LawfulBasis, NewPurpose, Purpose, PurposeId};

pub(super) fn create_purpose(
    request: pb::CreatePurposeRequest,
) -> Result<(Option<Uuid>, NewPurpose), Error> {
    let pb::CreatePurposeRequest {
        purpose,
        request_id: raw_request_id,
    } = request;
    let mut violations = Vec::new();
    let request_id = dps_types::parse_request_id(&raw_request_id)
        .map_err(|v| violations.push(v))
        .ok()
        .flatten();
    let Some(purpose) = purpose else {
        violations.push(FieldViolation {
            field: "purpose".into(),
            description: "required".into(),
        });
        return Err(Error::InvalidArgument(violations));
    };
    // `name` and `create_time` are output only and ignored on create.
    let pb::Purpose {
        name: _,
        display_name,
        description,
        lawful_basis,
        create_time: _,
    } = purpose;
    let basis = match pb::LawfulBasis::try_from(lawful_basis) {
        Ok(basis) => basis_from_proto(basis),
        Err(_) => {
            violations.push(FieldViolation {
                field: "purpose.lawful_basis".into(),
                description: "unknown value".into(),
            });
            None
        }
    };
    let parsed = NewPurpose::parse(&display_name, &description, basis)
        .map_err(|v| violations.extend(prefixed("purpose", v)));
    match parsed {
        Ok(purpose) if violations.is_empty() => Ok((request_id, purpose)),
        // An out-of-range enum value is reported as unknown, not also as missing.
        _ => Err(Error::InvalidArgument(dps_types::first_per_field(
            violations,
        ))),
    }
}

pub(super) fn purpose_name(name: &str) -> Result<PurposeId, Error> {
    PurposeId::parse_name(name).ok_or_else(|| {
        Error::InvalidArgument(vec![FieldViolation {
            field: "name".into(),
            description: "must be purposes/{uuid}".into(),
        }])
    })
}

/// `None` for the proto3 zero value: the basis was not given.
fn basis_from_proto(basis: pb::LawfulBasis) -> Option<LawfulBasis> {
    Some(match basis {
        pb::LawfulBasis::Unspecified => return None,
        pb::LawfulBasis::Consent => LawfulBasis::Consent,
        pb::LawfulBasis::Contract => LawfulBasis::Contract,
        pb::LawfulBasis::LegalObligation => LawfulBasis::LegalObligation,
        pb::LawfulBasis::VitalInterests => LawfulBasis::VitalInterests,
        pb::LawfulBasis::PublicTask => LawfulBasis::PublicTask,
        pb::LawfulBasis::LegitimateInterests => LawfulBasis::LegitimateInterests,
        pb::LawfulBasis::RecognisedLegitimateInterests => {
            LawfulBasis::RecognisedLegitimateInterests
        }
    })
}

fn basis_to_proto(basis: LawfulBasis) -> pb::LawfulBasis {
    match basis {
        LawfulBasis::Consent => pb::LawfulBasis::Consent,
        LawfulBasis::Contract => pb::LawfulBasis::Contract,
        LawfulBasis::LegalObligation => pb::LawfulBasis::LegalObligation,
        LawfulBasis::VitalInterests => pb::LawfulBasis::VitalInterests,
        LawfulBasis::PublicTask => pb::LawfulBasis::PublicTask,
        LawfulBasis::LegitimateInterests => pb::LawfulBasis::LegitimateInterests,
        LawfulBasis::RecognisedLegitimateInterests => {
            pb::LawfulBasis::RecognisedLegitimateInterests
        }
    }
}

pub(super) fn purpose_to_proto(purpose: &Purpose) -> pb::Purpose {
    pb::Purpose {
        name: purpose.id.to_string(),
        display_name: purpose.spec.display_name().to_owned(),
        description: purpose.spec.description().to_owned(),
        lawful_basis: basis_to_proto(purpose.spec.lawful_basis()).into(),
        create_time: Some(proto_time::to_proto(purpose.created_at)),
    }
}
