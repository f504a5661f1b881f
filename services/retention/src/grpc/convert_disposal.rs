//! Protobuf messages to domain values and back, for disposal, holds and the asset register.

use dps_proto::retention::v1 as pb;
use dps_types::Violations;
use time::Date;
use uuid::Uuid;

use super::Error;
use super::convert::{date_text, time};
use crate::domain::{
    AssetId, Category, CertificateId, DecisionInput, HoldId, NewAsset, NewHold, RecordId, ReviewId,
    ReviewState, TaskId, Transfer, parse_date,
};
use crate::store::{CertificateRow, HoldRow, ReviewRow, TaskRow};

fn decision_to_proto(code: &str) -> pb::Decision {
    match code {
        "destroy" => pb::Decision::Destroy,
        "transfer" => pb::Decision::Transfer,
        "extend" => pb::Decision::Extend,
        _ => pb::Decision::Unspecified,
    }
}

pub(super) fn review_state_from_proto(value: i32) -> Result<Option<ReviewState>, Error> {
    match pb::ReviewState::try_from(value) {
        Ok(pb::ReviewState::Unspecified) => Ok(None),
        Ok(pb::ReviewState::Open) => Ok(Some(ReviewState::Open)),
        Ok(pb::ReviewState::Approved) => Ok(Some(ReviewState::Approved)),
        Ok(pb::ReviewState::Extended) => Ok(Some(ReviewState::Extended)),
        Ok(pb::ReviewState::Withdrawn) => Ok(Some(ReviewState::Withdrawn)),
        Err(_) => Err(Error::field("state", "unknown review state")),
    }
}

pub(super) fn review_to_proto(row: &ReviewRow) -> pb::DisposalReview {
    let state = match ReviewState::from_code(&row.state) {
        Some(ReviewState::Open) => pb::ReviewState::Open,
        Some(ReviewState::Approved) => pb::ReviewState::Approved,
        Some(ReviewState::Extended) => pb::ReviewState::Extended,
        Some(ReviewState::Withdrawn) => pb::ReviewState::Withdrawn,
        None => pb::ReviewState::Unspecified,
    };
    pb::DisposalReview {
        name: ReviewId::from_uuid(row.review_id).to_string(),
        record: RecordId::from_uuid(row.record_id).to_string(),
        record_class_code: row.code.clone(),
        system: row.system.clone(),
        external_id: row.external_id.clone(),
        person_id: row.person_id.clone().unwrap_or_default(),
        review_date: date_text(row.review_on),
        explanation: row.explanation.clone(),
        state: state as i32,
        early: row.early,
        raise_time: time(row.raised_at),
        decision: row
            .decision
            .as_deref()
            .map_or(pb::Decision::Unspecified, decision_to_proto) as i32,
        decided_by: row.decided_by.clone().unwrap_or_default(),
        decide_time: row.decided_at.and_then(time),
        reason: row.reason.clone().unwrap_or_default(),
        method: row.method.clone().unwrap_or_default(),
        extended_until: date_text(row.extended_until),
    }
}

/// The page key `YYYY-MM-DD/uuid` of the last review on a page (undated reviews sort first).
pub(super) fn page_token(row: &ReviewRow) -> String {
    let date = row.review_on.unwrap_or(time::macros::date!(0001 - 01 - 01));
    format!("{date}/{}", row.review_id)
}

pub(super) fn parse_page_token(token: &str) -> Result<Option<(Date, Uuid)>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || Error::field("page_token", "not a token this service issued");
    let (date, id) = token.split_once('/').ok_or_else(bad)?;
    let mut v = Violations::new();
    let date = parse_date(&mut v, "page_token", date)
        .or_else(|| (date == "0001-01-01").then_some(time::macros::date!(0001 - 01 - 01)))
        .ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(Some((date, id)))
}

pub(super) fn decide(
    request: pb::DecideDisposalReviewRequest,
) -> Result<(ReviewId, DecisionInput, Violations), Error> {
    let pb::DecideDisposalReviewRequest {
        name,
        decision,
        method,
        reason,
        extend_until,
    } = request;
    let id = ReviewId::parse_name(&name)
        .ok_or_else(|| Error::field("name", "must be disposalReviews/{uuid}"))?;
    let mut v = Violations::new();
    let kind = match pb::Decision::try_from(decision) {
        Ok(pb::Decision::Destroy) => Some("destroy"),
        Ok(pb::Decision::Transfer) => Some("transfer"),
        Ok(pb::Decision::Extend) => Some("extend"),
        _ => None,
    };
    let extend_until = parse_date(&mut v, "extend_until", &extend_until);
    Ok((
        id,
        DecisionInput {
            kind,
            method,
            reason,
            extend_until,
        },
        v,
    ))
}

pub(super) fn task_to_proto(row: &TaskRow) -> pb::DisposalTask {
    let state = match row.state.as_str() {
        "pending" => pb::TaskState::Pending,
        "claimed" => pb::TaskState::Claimed,
        "done" => pb::TaskState::Done,
        "cancelled" => pb::TaskState::Cancelled,
        _ => pb::TaskState::Unspecified,
    };
    pb::DisposalTask {
        name: TaskId::from_uuid(row.task_id).to_string(),
        record: RecordId::from_uuid(row.record_id).to_string(),
        system: row.system.clone(),
        external_id: row.external_id.clone(),
        action: decision_to_proto(&row.action) as i32,
        method: row.method.clone(),
        state: state as i32,
        create_time: time(row.created_at),
    }
}

pub(super) fn certificate_to_proto(row: &CertificateRow) -> pb::DisposalCertificate {
    pb::DisposalCertificate {
        name: CertificateId::from_uuid(row.certificate_id).to_string(),
        record: RecordId::from_uuid(row.record_id).to_string(),
        record_class_code: row.record_class_code.clone(),
        system: row.system.clone(),
        external_id: row.external_id.clone(),
        person_id: row.person_id.clone().unwrap_or_default(),
        action: decision_to_proto(&row.action) as i32,
        method: row.method.clone(),
        review_date: date_text(row.review_on),
        explanation: row.explanation.clone(),
        schedule_version: row.schedule_version,
        approved_by: row.approved_by.clone(),
        approve_time: time(row.approved_at),
        confirmed_by: row.confirmed_by.clone(),
        dispose_time: time(row.disposed_at),
        outside_schedule_reason: row.outside_schedule_reason.clone().unwrap_or_default(),
    }
}

pub(super) fn place_hold(
    request: pb::PlaceLegalHoldRequest,
) -> Result<(Option<Uuid>, NewHold), Error> {
    let pb::PlaceLegalHoldRequest {
        legal_hold,
        request_id,
    } = request;
    let mut v = Violations::new();
    let request_id = match dps_types::parse_request_id(&request_id) {
        Ok(id) => id,
        Err(violation) => {
            v.add(violation.field, violation.description);
            None
        }
    };
    let Some(hold) = legal_hold else {
        return Err(Error::field("legal_hold", "required"));
    };
    let pb::LegalHold {
        name: _,
        person_id,
        record_class_code,
        records: names,
        reason,
        authority,
        placed_by: _,
        place_time: _,
        active: _,
        released_by: _,
        release_time: _,
        release_reason: _,
    } = hold;
    let mut hold_v = Violations::new();
    let mut records = Vec::new();
    for (i, name) in names.iter().enumerate() {
        match RecordId::parse_name(name) {
            Some(id) => records.push(id),
            None => hold_v.add(format!("records[{i}]"), "must be records/{uuid}"),
        }
    }
    let parsed = NewHold::parse(
        hold_v,
        &person_id,
        &record_class_code,
        records,
        &reason,
        &authority,
    );
    let mut all = v.finish(()).err().unwrap_or_default();
    match parsed {
        Ok(hold) if all.is_empty() => Ok((request_id, hold)),
        Ok(_) => Err(Error::InvalidArgument(all)),
        Err(e) => {
            all.extend(dps_types::prefixed("legal_hold", e));
            Err(Error::InvalidArgument(all))
        }
    }
}

pub(super) fn hold_name(name: &str) -> Result<HoldId, Error> {
    HoldId::parse_name(name).ok_or_else(|| Error::field("name", "must be legalHolds/{uuid}"))
}

pub(super) fn hold_to_proto(row: &HoldRow) -> pb::LegalHold {
    pb::LegalHold {
        name: HoldId::from_uuid(row.hold_id).to_string(),
        person_id: row.person_id.clone().unwrap_or_default(),
        record_class_code: row.code.clone().unwrap_or_default(),
        records: row
            .records
            .iter()
            .map(|r| RecordId::from_uuid(*r).to_string())
            .collect(),
        reason: row.reason.clone(),
        authority: row.authority.clone(),
        placed_by: row.placed_by.clone(),
        place_time: time(row.placed_at),
        active: row.released_at.is_none(),
        released_by: row.released_by.clone().unwrap_or_default(),
        release_time: row.released_at.and_then(time),
        release_reason: row.release_reason.clone().unwrap_or_default(),
    }
}

pub(super) fn create_asset(
    request: pb::CreateInformationAssetRequest,
) -> Result<(Option<Uuid>, NewAsset), Error> {
    let pb::CreateInformationAssetRequest {
        information_asset,
        request_id,
    } = request;
    let mut all = Vec::new();
    let request_id = dps_types::parse_request_id(&request_id)
        .map_err(|v| all.push(v))
        .ok()
        .flatten();
    let Some(asset) = information_asset else {
        return Err(Error::field("information_asset", "required"));
    };
    let pb::InformationAsset {
        name: _,
        system,
        display_name,
        owner,
        service_area,
        data_subjects,
        categories,
        protection_measures,
        retention,
        recipients,
        international_transfers,
        registers_records,
        holds_special_category: _,
        create_time: _,
    } = asset;
    let asset = NewAsset {
        system,
        display_name,
        owner,
        service_area,
        data_subjects,
        categories: categories
            .into_iter()
            .map(
                |pb::DataCategory {
                     name,
                     special_category,
                 }| Category {
                    name,
                    special: special_category,
                },
            )
            .collect(),
        protection_measures,
        retention,
        recipients,
        transfers: international_transfers
            .into_iter()
            .map(
                |pb::InternationalTransfer {
                     destination,
                     safeguard,
                 }| Transfer {
                    destination,
                    safeguard,
                },
            )
            .collect(),
        registers_records,
    };
    match asset.parse() {
        Ok(asset) if all.is_empty() => Ok((request_id, asset)),
        Ok(_) => Err(Error::InvalidArgument(all)),
        Err(e) => {
            all.extend(dps_types::prefixed("information_asset", e));
            Err(Error::InvalidArgument(all))
        }
    }
}

pub(super) fn asset_name(name: &str) -> Result<AssetId, Error> {
    AssetId::parse_name(name)
        .ok_or_else(|| Error::field("name", "must be informationAssets/{uuid}"))
}

pub(super) fn asset_to_proto(asset: &crate::domain::InformationAsset) -> pb::InformationAsset {
    let a = &asset.spec;
    pb::InformationAsset {
        name: asset.id.to_string(),
        system: a.system.clone(),
        display_name: a.display_name.clone(),
        owner: a.owner.clone(),
        service_area: a.service_area.clone(),
        data_subjects: a.data_subjects.clone(),
        categories: a
            .categories
            .iter()
            .map(|c| pb::DataCategory {
                name: c.name.clone(),
                special_category: c.special,
            })
            .collect(),
        protection_measures: a.protection_measures.clone(),
        retention: a.retention.clone(),
        recipients: a.recipients.clone(),
        international_transfers: a
            .transfers
            .iter()
            .map(|t| pb::InternationalTransfer {
                destination: t.destination.clone(),
                safeguard: t.safeguard.clone(),
            })
            .collect(),
        registers_records: a.registers_records,
        holds_special_category: a.holds_special_category(),
        create_time: time(asset.created_at),
    }
}

/// A required person id.
pub(super) fn person_id(person_id: &str) -> Result<String, Error> {
    let mut v = Violations::new();
    let person =
        crate::domain::required_text(&mut v, "person_id", person_id, crate::domain::MAX_PERSON_ID);
    v.finish(person).map_err(Error::InvalidArgument)
}
