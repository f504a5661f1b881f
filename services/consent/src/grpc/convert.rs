//! Protobuf messages to domain values and back. Messages are destructured without `..`, so a new
//! field stops the build until someone decides what it means here.

use dps_platform::proto_time;
use dps_proto::common::v1 as common;
use dps_proto::consent::v1 as pb;
use dps_types::{FieldViolation, prefixed};
use prost_types::Timestamp;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Error;
use crate::check::Outcome;
use crate::domain::{
    Audience, AuthoriserRole, CaptureMethod, ConsentAction, ConsentCapture, GiverRole,
    Jurisdiction, LawfulBasis, ObjectionKind, Purpose, PurposeInput, Reason, RecognisedCondition,
    Record, RestrictionExemption, RestrictionGround, Settings, SpecialCategoryCondition,
};
use crate::store::{
    Acknowledgement, ChangeKind, ChangeRow, ConsentRow, DisclosureRow, Notice, ObjectionRow,
    RestrictionRow,
};

/// Maps a proto enum to a domain enum with the same variant names, both ways.
macro_rules! enum_map {
    ($from:ident, $to:ident, $pb:path, $domain:ident { $($variant:ident),+ $(,)? }) => {
        /// `None` for the proto3 zero value (not given).
        pub(super) fn $from(value: $pb) -> Option<$domain> {
            use $pb as P;
            match value {
                P::Unspecified => None,
                $(P::$variant => Some($domain::$variant)),+
            }
        }

        pub(super) fn $to(value: $domain) -> $pb {
            use $pb as P;
            match value {
                $($domain::$variant => P::$variant),+
            }
        }
    };
}

enum_map!(
    basis_from,
    basis_to,
    pb::LawfulBasis,
    LawfulBasis {
        Consent,
        Contract,
        LegalObligation,
        VitalInterests,
        PublicTask,
        LegitimateInterests,
        RecognisedLegitimateInterests,
    }
);
enum_map!(
    recognised_from,
    recognised_to,
    pb::RecognisedCondition,
    RecognisedCondition {
        PublicTaskDisclosure,
        NationalSecurity,
        Emergencies,
        Crime,
        Safeguarding,
    }
);
enum_map!(
    special_from,
    special_to,
    pb::SpecialCategoryCondition,
    SpecialCategoryCondition {
        ExplicitConsent,
        Employment,
        VitalInterests,
        LegalClaims,
        SubstantialPublicInterest,
        HealthOrSocialCare,
        PublicHealth,
        Research,
    }
);
enum_map!(
    exemption_from,
    exemption_to,
    pb::RestrictionExemption,
    RestrictionExemption {
        LegalClaims,
        ProtectOthers,
        PublicInterest,
    }
);
enum_map!(
    audience_from,
    audience_to,
    pb::Audience,
    Audience {
        ServiceUsers,
        Employees,
        Applicants,
    }
);
enum_map!(
    method_from,
    method_to,
    pb::CaptureMethod,
    CaptureMethod {
        Written,
        Verbal,
        Electronic,
    }
);
enum_map!(
    action_from,
    action_to,
    pb::ConsentAction,
    ConsentAction {
        OptIn,
        ExpressStatement,
        PreTicked,
        Implied,
    }
);
enum_map!(
    ground_from,
    ground_to,
    pb::RestrictionGround,
    RestrictionGround {
        AccuracyContested,
        UnlawfulProcessing,
        LegalClaims,
        ObjectionPending,
        ErasureRequested,
    }
);
enum_map!(
    objection_from,
    objection_to,
    pb::ObjectionKind,
    ObjectionKind {
        General,
        DirectMarketing,
        NationalDataOptOut,
    }
);
enum_map!(
    authoriser_from,
    authoriser_to,
    pb::AuthoriserRole,
    AuthoriserRole {
        SeniorManager,
        RegisteredManager,
        DataProtectionOfficer,
        CaldicottGuardian,
    }
);
enum_map!(
    jurisdiction_from,
    jurisdiction_to,
    common::Jurisdiction,
    Jurisdiction {
        EnglandAndWales,
        Scotland,
        NorthernIreland,
        Jersey,
    }
);

fn giver_from(value: pb::GiverRole) -> Option<GiverRole> {
    Some(match value {
        pb::GiverRole::Unspecified => return None,
        pb::GiverRole::Self_ => GiverRole::Person,
        pb::GiverRole::ParentalResponsibility => GiverRole::ParentalResponsibility,
        pb::GiverRole::Attorney => GiverRole::Attorney,
        pb::GiverRole::Deputy => GiverRole::Deputy,
        pb::GiverRole::Advocate => GiverRole::Advocate,
    })
}

fn giver_to(value: GiverRole) -> pb::GiverRole {
    match value {
        GiverRole::Person => pb::GiverRole::Self_,
        GiverRole::ParentalResponsibility => pb::GiverRole::ParentalResponsibility,
        GiverRole::Attorney => pb::GiverRole::Attorney,
        GiverRole::Deputy => pb::GiverRole::Deputy,
        GiverRole::Advocate => pb::GiverRole::Advocate,
    }
}

/// Collects the violations of one request while its fields are read.
#[derive(Debug, Default)]
pub(super) struct Reader {
    violations: Vec<FieldViolation>,
}

impl Reader {
    pub(super) fn add(&mut self, field: &str, description: &str) {
        self.violations.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// An enum field: `None` when not given or unknown (reported).
    pub(super) fn enumeration<P: TryFrom<i32>, D>(
        &mut self,
        field: &str,
        raw: i32,
        map: fn(P) -> Option<D>,
    ) -> Option<D> {
        match P::try_from(raw) {
            Ok(value) => map(value),
            Err(_) => {
                self.add(field, "unknown value");
                None
            }
        }
    }

    pub(super) fn time(&mut self, field: &str, t: Option<Timestamp>) -> Option<OffsetDateTime> {
        let t = t?;
        let instant = proto_time::from_proto(&t);
        if instant.is_none() {
            self.add(field, "out of range");
        }
        instant
    }

    pub(super) fn request_id(&mut self, raw: &str) -> Option<Uuid> {
        dps_types::parse_request_id(raw)
            .map_err(|v| self.violations.push(v))
            .ok()
            .flatten()
    }

    /// A resource name; `None` when empty (not reported: the caller decides if required).
    pub(super) fn name<T>(
        &mut self,
        field: &str,
        raw: &str,
        parse: fn(&str) -> Option<T>,
        pattern: &str,
    ) -> Option<T> {
        if raw.is_empty() {
            return None;
        }
        let parsed = parse(raw);
        if parsed.is_none() {
            self.add(field, &format!("must be {pattern}"));
        }
        parsed
    }

    /// A message field that must be present.
    pub(super) fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.add(field, "required");
        }
        value
    }

    /// The domain's verdict, its fields under `prefix` (empty for top-level).
    pub(super) fn domain<T>(
        &mut self,
        prefix: &str,
        result: Result<T, Vec<FieldViolation>>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(v) if prefix.is_empty() => {
                self.violations.extend(v);
                None
            }
            Err(v) => {
                self.violations.extend(prefixed(prefix, v));
                None
            }
        }
    }

    /// The value if nothing was reported; otherwise every violation (one per field: an unknown
    /// enum value is not also reported as missing).
    pub(super) fn finish<T>(self, value: Option<T>) -> Result<T, Error> {
        match value {
            Some(value) if self.violations.is_empty() => Ok(value),
            _ if self.violations.is_empty() => Err(Error::Internal("no value and no violation")),
            _ => Err(Error::InvalidArgument(dps_types::first_per_field(
                self.violations,
            ))),
        }
    }
}

fn ts(t: OffsetDateTime) -> Option<Timestamp> {
    Some(proto_time::to_proto(t))
}

fn opt_ts(t: Option<OffsetDateTime>) -> Option<Timestamp> {
    t.map(proto_time::to_proto)
}

pub(super) fn settings_to_proto(s: &Settings, updated: Option<OffsetDateTime>) -> pb::Settings {
    pb::Settings {
        jurisdiction: jurisdiction_to(s.jurisdiction).into(),
        child_consent_age: u32::from(s.child_consent_age),
        national_data_opt_out: s.national_data_opt_out,
        update_time: opt_ts(updated),
    }
}

pub(super) fn settings(request: pb::UpdateSettingsRequest) -> Result<Settings, Error> {
    let mut r = Reader::default();
    let settings = r.required("settings", request.settings);
    let parsed = settings.and_then(|s| {
        let pb::Settings {
            jurisdiction,
            child_consent_age,
            national_data_opt_out,
            update_time: _,
        } = s;
        let j = r.enumeration("settings.jurisdiction", jurisdiction, jurisdiction_from);
        r.domain(
            "settings",
            Settings::parse(j, child_consent_age, national_data_opt_out),
        )
    });
    r.finish(parsed)
}

/// A purpose message as domain input, with the violations of its enums (under `purpose.`).
pub(super) fn purpose_input(r: &mut Reader, p: pb::Purpose) -> PurposeInput {
    let pb::Purpose {
        name: _,
        display_name,
        description,
        lawful_basis,
        create_time: _,
        legitimate_interests_assessment,
        recognised_condition,
        special_category_condition,
        data_categories,
        direct_marketing,
        child_online_service,
        research_planning,
        restriction_exemption,
        notice_audience,
        update_time: _,
    } = p;
    PurposeInput {
        display_name,
        description,
        lawful_basis: r.enumeration("purpose.lawful_basis", lawful_basis, basis_from),
        legitimate_interests_assessment,
        recognised_condition: r.enumeration(
            "purpose.recognised_condition",
            recognised_condition,
            recognised_from,
        ),
        special_category_condition: r.enumeration(
            "purpose.special_category_condition",
            special_category_condition,
            special_from,
        ),
        data_categories,
        direct_marketing,
        child_online_service,
        research_planning,
        restriction_exemption: r.enumeration(
            "purpose.restriction_exemption",
            restriction_exemption,
            exemption_from,
        ),
        notice_audience: r.enumeration("purpose.notice_audience", notice_audience, audience_from),
    }
}

pub(super) fn purpose_to_proto(p: &Purpose) -> pb::Purpose {
    let s = &p.spec;
    pb::Purpose {
        name: p.id.to_string(),
        display_name: s.display_name.clone(),
        description: s.description.clone(),
        lawful_basis: basis_to(s.lawful_basis).into(),
        create_time: ts(p.created_at),
        legitimate_interests_assessment: s.legitimate_interests_assessment.clone(),
        recognised_condition: s
            .recognised_condition
            .map_or(pb::RecognisedCondition::Unspecified, recognised_to)
            .into(),
        special_category_condition: s
            .special_category_condition
            .map_or(pb::SpecialCategoryCondition::Unspecified, special_to)
            .into(),
        data_categories: s.data_categories.clone(),
        direct_marketing: s.direct_marketing,
        child_online_service: s.child_online_service,
        research_planning: s.research_planning,
        restriction_exemption: s
            .restriction_exemption
            .map_or(pb::RestrictionExemption::Unspecified, exemption_to)
            .into(),
        notice_audience: audience_to(s.notice_audience).into(),
        update_time: ts(p.updated_at),
    }
}

pub(super) fn notice_to_proto(n: &Notice) -> pb::Notice {
    pb::Notice {
        name: n.id.to_string(),
        audience: audience_to(n.audience).into(),
        version: n.version,
        title: n.title.clone(),
        uri: n.uri.clone(),
        material_change: n.material_change && n.version > 1,
        publish_time: ts(n.published_at),
    }
}

pub(super) fn acknowledgement_to_proto(a: &Acknowledgement) -> pb::NoticeAcknowledgement {
    pb::NoticeAcknowledgement {
        name: a.id.to_string(),
        person_id: a.person_id.clone(),
        notice: a.notice_id.to_string(),
        notice_version: a.notice_version,
        method: method_to(a.method).into(),
        acknowledge_time: ts(a.acknowledged_at),
    }
}

/// The consent fields of a `RecordConsentRequest` (names and ids are read by the handler).
pub(super) fn capture(
    r: &mut Reader,
    request: &pb::RecordConsentRequest,
) -> Option<ConsentCapture> {
    let giver = r.required("giver", request.giver.clone())?;
    let pb::ConsentGiver {
        role,
        name,
        authority_reference,
        within_scope,
        authority_expire_time,
    } = giver;
    Some(ConsentCapture {
        method: r.enumeration("method", request.method, method_from),
        action: r.enumeration("action", request.action, action_from),
        consent_time: r.time("consent_time", request.consent_time),
        expire_time: r.time("expire_time", request.expire_time),
        giver_role: r.enumeration("giver.role", role, giver_from),
        giver_name: name,
        authority_reference,
        within_scope,
        authority_expire_time: r.time("giver.authority_expire_time", authority_expire_time),
        evidence_reference: request.evidence_reference.clone(),
        condition_of_service: request.condition_of_service,
        subject_age: request.subject_age,
        competence_assessment: request.competence_assessment.clone(),
        lacks_capacity: request.lacks_capacity,
    })
}

pub(super) fn consent_to_proto(
    c: &ConsentRow,
    tenant: &str,
    jurisdiction: Jurisdiction,
) -> pb::ConsentRecord {
    let [
        giver_name,
        authority_reference,
        evidence_reference,
        _competence,
    ] = c.sealed.clone();
    let (notice, notice_version, notice_uri) = match &c.notice {
        Some((id, version, uri)) => (id.to_string(), *version, uri.clone()),
        None => (String::new(), 0, String::new()),
    };
    pb::ConsentRecord {
        name: c.id.to_string(),
        schema_version: "ISO/IEC TS 27560:2023".into(),
        controller: tenant.to_owned(),
        jurisdiction: jurisdiction_to(jurisdiction).into(),
        person_id: c.person_id.clone(),
        purpose: c.purpose_id.to_string(),
        purpose_display_name: c.purpose_display_name.clone(),
        lawful_basis: basis_to(c.lawful_basis).into(),
        data_categories: c.data_categories.clone(),
        special_category: c.special_category,
        notice,
        notice_version,
        notice_uri,
        event: if c.given {
            pb::ConsentEvent::Given
        } else {
            pb::ConsentEvent::Withdrawn
        }
        .into(),
        event_time: ts(c.occurred_at),
        method: method_to(c.method).into(),
        action: c
            .action
            .map_or(pb::ConsentAction::Unspecified, action_to)
            .into(),
        explicit: c.action == Some(ConsentAction::ExpressStatement),
        expire_time: opt_ts(c.expires_at),
        giver: c.giver_role.map(|role| pb::ConsentGiver {
            role: giver_to(role).into(),
            name: giver_name,
            authority_reference,
            within_scope: matches!(role, GiverRole::Attorney | GiverRole::Deputy),
            authority_expire_time: opt_ts(c.authority_expires_at),
        }),
        evidence_reference,
        record_time: ts(c.recorded_at),
        personal_data_erased: c.erased,
    }
}

pub(super) fn restriction_to_proto(r: &RestrictionRow, now: OffsetDateTime) -> pb::Restriction {
    pb::Restriction {
        name: r.id.to_string(),
        person_id: r.person_id.clone(),
        ground: ground_to(r.ground).into(),
        reason: r.reason.clone(),
        start_time: ts(r.starts_at),
        end_time: opt_ts(r.ends_at),
        subject_request: r.subject_request.clone(),
        lift_time: opt_ts(r.lifted_at),
        person_told_time: opt_ts(r.person_told_at),
        active: r.lifted_at.is_none()
            && r.starts_at <= now
            && r.ends_at.is_none_or(|end| now < end),
    }
}

pub(super) fn objection_to_proto(o: &ObjectionRow, now: OffsetDateTime) -> pb::Objection {
    let [reason, grounds] = o.sealed.clone();
    let (override_time, override_by) = match &o.overridden {
        Some((at, by)) => (ts(*at), by.clone()),
        None => (None, String::new()),
    };
    pb::Objection {
        name: o.id.to_string(),
        person_id: o.person_id.clone(),
        kind: objection_to(o.kind).into(),
        purpose: o.purpose.map(|p| p.to_string()).unwrap_or_default(),
        reason,
        start_time: ts(o.starts_at),
        subject_request: o.subject_request.clone(),
        override_grounds: grounds,
        override_time,
        override_by,
        withdraw_time: opt_ts(o.withdrawn_at),
        active: o.withdrawn_at.is_none() && o.overridden.is_none() && o.starts_at <= now,
    }
}

pub(super) fn disclosure_to_proto(d: &DisclosureRow) -> pb::Disclosure {
    pb::Disclosure {
        name: d.id.to_string(),
        person_id: d.person_id.clone(),
        recipient: d.recipient.clone(),
        data_categories: d.data_categories.clone(),
        reason: d.reason.clone(),
        lawful_basis: basis_to(d.lawful_basis).into(),
        consent: d.consent.map(|c| c.to_string()).unwrap_or_default(),
        authorised_by: d.authorised_by.clone(),
        authoriser_role: authoriser_to(d.authoriser_role).into(),
        disclose_time: ts(d.disclosed_at),
        record_time: ts(d.recorded_at),
        personal_data_erased: d.erased,
    }
}

fn reason_to(reason: Reason) -> pb::DecisionReason {
    use pb::DecisionReason as P;
    match reason {
        Reason::LawfulBasis => P::LawfulBasis,
        Reason::Consent => P::Consent,
        Reason::RestrictionExempt => P::RestrictionExempt,
        Reason::ObjectionOverridden => P::ObjectionOverridden,
        Reason::NoConsent => P::NoConsent,
        Reason::Withdrawn => P::Withdrawn,
        Reason::Expired => P::Expired,
        Reason::RenewalRequired => P::RenewalRequired,
        Reason::GiverWithoutAuthority => P::GiverWithoutAuthority,
        Reason::Restricted => P::Restricted,
        Reason::Objected => P::Objected,
        Reason::DirectMarketingObjection => P::DirectMarketingObjection,
        Reason::OptedOut => P::OptedOut,
    }
}

pub(super) fn decision_to_proto(
    person_id: String,
    purpose: String,
    outcome: Outcome,
) -> pb::ProcessingDecision {
    let (allowed, reason, basis, record, explanation) = match outcome {
        Outcome::Decided(d, basis) => (
            d.allowed,
            reason_to(d.reason),
            basis_to(basis),
            match d.record {
                Some(Record::Consent(id)) => format!("consents/{id}"),
                Some(Record::Restriction(id)) => format!("restrictions/{id}"),
                Some(Record::Objection(id)) => format!("objections/{id}"),
                None => String::new(),
            },
            d.explanation(),
        ),
        Outcome::PurposeUnknown => (
            false,
            pb::DecisionReason::PurposeUnknown,
            pb::LawfulBasis::Unspecified,
            String::new(),
            "no such purpose in this tenant",
        ),
        Outcome::PersonUnknown => (
            false,
            pb::DecisionReason::PersonUnknown,
            pb::LawfulBasis::Unspecified,
            String::new(),
            "no such person in this tenant",
        ),
    };
    pb::ProcessingDecision {
        person_id,
        purpose,
        allowed,
        reason: reason.into(),
        lawful_basis: basis.into(),
        record,
        explanation: explanation.into(),
    }
}

pub(super) fn change_to_proto(c: ChangeRow) -> pb::Change {
    use pb::ChangeKind as K;
    let kind = match ChangeKind::from_code(&c.kind) {
        Some(ChangeKind::ConsentGiven) => K::ConsentGiven,
        Some(ChangeKind::ConsentWithdrawn) => K::ConsentWithdrawn,
        Some(ChangeKind::RestrictionStarted) => K::RestrictionStarted,
        Some(ChangeKind::RestrictionLifted) => K::RestrictionLifted,
        Some(ChangeKind::ObjectionRecorded) => K::ObjectionRecorded,
        Some(ChangeKind::ObjectionOverridden) => K::ObjectionOverridden,
        Some(ChangeKind::ObjectionWithdrawn) => K::ObjectionWithdrawn,
        Some(ChangeKind::Settings | ChangeKind::Purpose | ChangeKind::Notice) | None => {
            K::Unspecified
        }
    };
    pb::Change {
        cursor: c.seq.to_string(),
        kind: kind.into(),
        person_id: c.person_id.unwrap_or_default(),
        purpose: c
            .purpose_id
            .map(|p| format!("purposes/{p}"))
            .unwrap_or_default(),
        record: c.record,
        change_time: ts(c.changed_at),
    }
}

/// A page size: default 50, at most 500.
pub(super) fn page_size(r: &mut Reader, raw: i32) -> i64 {
    match raw {
        0 => 50,
        1..=500 => i64::from(raw),
        _ => {
            r.add("page_size", "1 to 500 (0 for the default, 50)");
            50
        }
    }
}
