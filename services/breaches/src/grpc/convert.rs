//! Protobuf messages to domain values and back. Messages are destructured without `..`, so a new
//! field stops the build until someone decides what it means here.

use dps_platform::proto_time;
use dps_proto::breaches::v1 as pb;
use dps_proto::common::v1 as common;
use dps_types::{FieldViolation, first_per_field, prefixed};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Error;
use crate::domain::assessment::{
    Assessment, AssessmentInput, BandMapping, IndividualException, Likelihood, Outcome,
};
use crate::domain::followup::{Action, NewAction, Party, Playbook, Review, ThirdPartyNotice};
use crate::domain::individuals::{Audience, Channel, IndividualNotice};
use crate::domain::regulator::{
    Document, IncidentTimes, NewRegulatorNotification, Phase, RegulatorNotification, ReportContent,
};
use crate::domain::settings::{BreachSettings, DpoContact, Jurisdiction};
use crate::domain::severity::{Loss, Severity, SeverityInputs};
use crate::domain::{
    BreachKind, Classification, Incident, IncidentDetails, IncidentId, NewIncident, OpenBreach,
};
use crate::store::{Figures, PageKey};

/// Most breaches on a page of the alarm view, and the default.
pub(super) const MAX_PAGE: i32 = 200;
const DEFAULT_PAGE: u8 = 50;

fn violation(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field: field.into(),
        description: description.into(),
    }
}

fn invalid(field: &str, description: &str) -> Error {
    Error::InvalidArgument(vec![violation(field, description)])
}

/// A timestamp, or a violation of `field` when out of range.
fn instant(
    violations: &mut Vec<FieldViolation>,
    field: &str,
    timestamp: Option<prost_types::Timestamp>,
) -> Option<OffsetDateTime> {
    let timestamp = timestamp?;
    let instant = proto_time::from_proto(&timestamp);
    if instant.is_none() {
        violations.push(violation(field, "out of range"));
    }
    instant
}

fn ts(instant: OffsetDateTime) -> Option<prost_types::Timestamp> {
    Some(proto_time::to_proto(instant))
}

/// An enum field: `None` (with a violation) when unspecified or unknown, unless `optional`.
fn enum_field<P, D>(
    violations: &mut Vec<FieldViolation>,
    field: &str,
    raw: i32,
    optional: bool,
    map: impl Fn(P) -> Option<D>,
) -> Option<D>
where
    P: TryFrom<i32>,
{
    let value = P::try_from(raw).ok().and_then(map);
    if value.is_none() && (raw != 0 || !optional) {
        violations.push(violation(
            field,
            if raw == 0 {
                "required"
            } else {
                "unknown value"
            },
        ));
    }
    value
}

fn finish<T>(violations: Vec<FieldViolation>, value: Option<T>) -> Result<T, Error> {
    match value {
        Some(v) if violations.is_empty() => Ok(v),
        _ => Err(Error::InvalidArgument(first_per_field(violations))),
    }
}

/// `incidents/{uuid}` in `field`.
pub(super) fn incident_name(field: &str, name: &str) -> Result<IncidentId, Error> {
    IncidentId::parse_name(name).ok_or_else(|| invalid(field, "must be incidents/{uuid}"))
}

/// `incidents/{uuid}/actions/{uuid}`.
pub(super) fn action_name(name: &str) -> Result<(IncidentId, Uuid), Error> {
    name.split_once("/actions/")
        .and_then(|(incident, action)| {
            Some((
                IncidentId::parse_name(incident)?,
                Uuid::parse_str(action).ok()?,
            ))
        })
        .ok_or_else(|| invalid("name", "must be incidents/{uuid}/actions/{uuid}"))
}

fn kind_from(k: pb::BreachKind) -> Option<BreachKind> {
    match k {
        pb::BreachKind::Unspecified => None,
        pb::BreachKind::Confidentiality => Some(BreachKind::Confidentiality),
        pb::BreachKind::Integrity => Some(BreachKind::Integrity),
        pb::BreachKind::Availability => Some(BreachKind::Availability),
    }
}

fn kind_to(k: BreachKind) -> pb::BreachKind {
    match k {
        BreachKind::Confidentiality => pb::BreachKind::Confidentiality,
        BreachKind::Integrity => pb::BreachKind::Integrity,
        BreachKind::Availability => pb::BreachKind::Availability,
    }
}

/// A classification, fields under `path`.
pub(super) fn classification(
    violations: &mut Vec<FieldViolation>,
    path: &str,
    c: pb::Classification,
) -> Option<Classification> {
    let pb::Classification {
        personal_data_breach,
        serious,
        kinds,
    } = c;
    let before = violations.len();
    let kinds: Vec<BreachKind> = kinds
        .into_iter()
        .filter_map(|k| enum_field(violations, &format!("{path}.kinds"), k, false, kind_from))
        .collect();
    if violations.len() > before {
        return None;
    }
    Classification::parse(personal_data_breach, serious, kinds)
        .map_err(|v| violations.extend(prefixed(path, v)))
        .ok()
}

/// The incident to record, checked against `now`.
pub(super) fn create_incident(
    request: pb::CreateIncidentRequest,
    now: OffsetDateTime,
) -> Result<
    (
        Option<Uuid>,
        NewIncident,
        IncidentDetails,
        Option<Classification>,
    ),
    Error,
> {
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
        violations.push(violation("incident", "required"));
        return Err(Error::InvalidArgument(violations));
    };
    // Output-only fields are ignored on create.
    let pb::Incident {
        name: _,
        title,
        occur_time,
        discover_time,
        aware_time,
        create_time: _,
        reported_by,
        report_to_dpo_time,
        description,
        systems,
        classification: raw_classification,
        clock: _,
        assessment: _,
        regulator_notifications: _,
        individual_notifications: _,
        actions: _,
        third_party_notices: _,
        review: _,
    } = incident;
    let occurred_at = instant(&mut violations, "incident.occur_time", occur_time);
    let discovered_at = instant(&mut violations, "incident.discover_time", discover_time);
    let aware_at = instant(&mut violations, "incident.aware_time", aware_time);
    let to_dpo = instant(
        &mut violations,
        "incident.report_to_dpo_time",
        report_to_dpo_time,
    );
    let parsed = NewIncident::parse(&title, occurred_at, discovered_at, aware_at, now)
        .map_err(|v| violations.extend(prefixed("incident", v)))
        .ok();
    let details = parsed.as_ref().and_then(|times| {
        IncidentDetails::parse(&reported_by, &description, to_dpo, systems, times, now)
            .map_err(|v| violations.extend(prefixed("incident", v)))
            .ok()
    });
    if parsed.is_none() && reported_by.trim().is_empty() {
        violations.push(violation("incident.reported_by", "required"));
    }
    let classification = raw_classification
        .and_then(|c| classification(&mut violations, "incident.classification", c));
    // An out-of-range time is reported as such, not also as missing.
    let value = parsed
        .zip(details)
        .map(|(incident, details)| (request_id, incident, details, classification));
    finish(violations, value)
}

/// The name and classification of a reclassification.
pub(super) fn classify(
    request: pb::ClassifyIncidentRequest,
) -> Result<(IncidentId, Classification), Error> {
    let pb::ClassifyIncidentRequest {
        name,
        classification: raw,
    } = request;
    let id = incident_name("name", &name)?;
    let mut violations = Vec::new();
    let value = match raw {
        None => {
            violations.push(violation("classification", "required"));
            None
        }
        Some(c) => classification(&mut violations, "classification", c),
    };
    finish(violations, value).map(|c| (id, c))
}

fn severity_to(s: Severity) -> pb::Severity {
    match s {
        Severity::Low => pb::Severity::Low,
        Severity::Medium => pb::Severity::Medium,
        Severity::High => pb::Severity::High,
        Severity::VeryHigh => pb::Severity::VeryHigh,
    }
}

fn severity_from(s: pb::Severity) -> Option<Severity> {
    match s {
        pb::Severity::Unspecified => None,
        pb::Severity::Low => Some(Severity::Low),
        pb::Severity::Medium => Some(Severity::Medium),
        pb::Severity::High => Some(Severity::High),
        pb::Severity::VeryHigh => Some(Severity::VeryHigh),
    }
}

fn outcome_to(o: Outcome) -> pb::Outcome {
    match o {
        Outcome::NotReportable => pb::Outcome::NotReportable,
        Outcome::ReportToRegulator => pb::Outcome::ReportToRegulator,
        Outcome::TellIndividuals => pb::Outcome::TellIndividuals,
    }
}

fn loss_from(l: pb::Loss) -> Option<Loss> {
    match l {
        pb::Loss::Unspecified => None,
        pb::Loss::None => Some(Loss::None),
        pb::Loss::Limited => Some(Loss::Limited),
        pb::Loss::Severe => Some(Loss::Severe),
    }
}

fn loss_to(l: Loss) -> pb::Loss {
    match l {
        Loss::None => pb::Loss::None,
        Loss::Limited => pb::Loss::Limited,
        Loss::Severe => pb::Loss::Severe,
    }
}

fn exception_to(e: IndividualException) -> pb::IndividualException {
    match e {
        IndividualException::Unintelligible => pb::IndividualException::Unintelligible,
        IndividualException::RiskMitigated => pb::IndividualException::RiskMitigated,
        IndividualException::DisproportionateEffort => {
            pb::IndividualException::DisproportionateEffort
        }
    }
}

fn likelihood_to(l: Likelihood) -> pb::Likelihood {
    match l {
        Likelihood::Remote => pb::Likelihood::Remote,
        Likelihood::Possible => pb::Likelihood::Possible,
        Likelihood::Likely => pb::Likelihood::Likely,
        Likelihood::Certain => pb::Likelihood::Certain,
    }
}

/// An assessment request: the incident and what the assessor sent.
pub(super) fn assess(
    request: pb::AssessRiskRequest,
) -> Result<(IncidentId, AssessmentInput), Error> {
    let pb::AssessRiskRequest { name, assessment } = request;
    let id = incident_name("name", &name)?;
    let Some(assessment) = assessment else {
        return Err(invalid("assessment", "required"));
    };
    let pb::RiskAssessment {
        inputs,
        score: _,
        severity: _,
        explanation: _,
        likelihood,
        approximate_subjects,
        approximate_records,
        computed_outcome: _,
        outcome,
        rationale,
        individual_exception,
        exception_detail,
        assessed_by: _,
        assess_time: _,
    } = assessment;
    let mut violations = Vec::new();
    let inputs = match inputs {
        None => {
            violations.push(violation("assessment.inputs", "required"));
            None
        }
        Some(i) => {
            let pb::SeverityInputs {
                data_processing_context,
                ease_of_identification,
                confidentiality,
                integrity,
                availability,
                malicious,
            } = i;
            let mut loss = |field: &str, raw: i32| {
                enum_field(
                    &mut violations,
                    &format!("assessment.inputs.{field}"),
                    raw,
                    true,
                    loss_from,
                )
            };
            let c = loss("confidentiality", confidentiality);
            let g = loss("integrity", integrity);
            let a = loss("availability", availability);
            SeverityInputs::parse(
                data_processing_context,
                ease_of_identification,
                c,
                g,
                a,
                malicious,
            )
            .map_err(|v| violations.extend(prefixed("assessment.inputs", v)))
            .ok()
        }
    };
    let likelihood = enum_field(
        &mut violations,
        "assessment.likelihood",
        likelihood,
        false,
        |l: pb::Likelihood| match l {
            pb::Likelihood::Unspecified => None,
            pb::Likelihood::Remote => Some(Likelihood::Remote),
            pb::Likelihood::Possible => Some(Likelihood::Possible),
            pb::Likelihood::Likely => Some(Likelihood::Likely),
            pb::Likelihood::Certain => Some(Likelihood::Certain),
        },
    );
    let outcome = enum_field(
        &mut violations,
        "assessment.outcome",
        outcome,
        true,
        |o: pb::Outcome| match o {
            pb::Outcome::Unspecified => None,
            pb::Outcome::NotReportable => Some(Outcome::NotReportable),
            pb::Outcome::ReportToRegulator => Some(Outcome::ReportToRegulator),
            pb::Outcome::TellIndividuals => Some(Outcome::TellIndividuals),
        },
    );
    let exception = enum_field(
        &mut violations,
        "assessment.individual_exception",
        individual_exception,
        true,
        |e: pb::IndividualException| match e {
            pb::IndividualException::Unspecified => None,
            pb::IndividualException::Unintelligible => Some(IndividualException::Unintelligible),
            pb::IndividualException::RiskMitigated => Some(IndividualException::RiskMitigated),
            pb::IndividualException::DisproportionateEffort => {
                Some(IndividualException::DisproportionateEffort)
            }
        },
    );
    let value = inputs
        .zip(likelihood)
        .map(|(inputs, likelihood)| AssessmentInput {
            inputs,
            likelihood,
            approximate_subjects,
            approximate_records,
            outcome,
            rationale,
            exception,
            exception_detail,
        });
    finish(violations, value).map(|input| (id, input))
}

fn assessment_to_proto(a: &Assessment) -> pb::RiskAssessment {
    pb::RiskAssessment {
        inputs: Some(pb::SeverityInputs {
            data_processing_context: a.inputs.data_processing_context(),
            ease_of_identification: a.inputs.ease_of_identification(),
            confidentiality: loss_to(a.inputs.confidentiality).into(),
            integrity: loss_to(a.inputs.integrity).into(),
            availability: loss_to(a.inputs.availability).into(),
            malicious: a.inputs.malicious,
        }),
        score: a.inputs.score(),
        severity: severity_to(a.inputs.severity()).into(),
        explanation: a.inputs.explanation(),
        likelihood: likelihood_to(a.likelihood).into(),
        approximate_subjects: a.approximate_subjects,
        approximate_records: a.approximate_records,
        computed_outcome: outcome_to(a.computed).into(),
        outcome: outcome_to(a.outcome).into(),
        rationale: a.rationale.clone(),
        individual_exception: a
            .exception
            .as_ref()
            .map_or(0, |(e, _)| exception_to(*e).into()),
        exception_detail: a
            .exception
            .as_ref()
            .map(|(_, d)| d.clone())
            .unwrap_or_default(),
        assessed_by: a.assessed_by.clone(),
        assess_time: ts(a.assessed_at),
    }
}

/// A report to the regulator, checked against `now`.
pub(super) fn notify_regulator(
    request: pb::NotifyRegulatorRequest,
    now: OffsetDateTime,
) -> Result<(IncidentId, NewRegulatorNotification), Error> {
    let pb::NotifyRegulatorRequest {
        parent,
        notification,
    } = request;
    let id = incident_name("parent", &parent)?;
    let Some(n) = notification else {
        return Err(invalid("notification", "required"));
    };
    let pb::RegulatorNotification {
        name: _,
        phase,
        submit_time,
        content,
        delay_reason,
        further_information,
        financial_services_commission,
        signed_by,
        document: _,
        jurisdiction: _,
    } = n;
    let mut violations = Vec::new();
    let phase = enum_field(
        &mut violations,
        "notification.phase",
        phase,
        true,
        |p: pb::NotificationPhase| match p {
            pb::NotificationPhase::Unspecified => None,
            pb::NotificationPhase::Initial => Some(Phase::Initial),
            pb::NotificationPhase::FollowUp => Some(Phase::FollowUp),
        },
    );
    let submitted_at = instant(&mut violations, "notification.submit_time", submit_time);
    let content = content.map(|c| {
        let pb::ReportContent {
            data_categories,
            subject_categories,
            approximate_subjects,
            approximate_records,
            nature,
            likely_consequences,
            measures,
        } = c;
        ReportContent {
            data_categories,
            subject_categories,
            approximate_subjects,
            approximate_records,
            nature,
            likely_consequences,
            measures,
        }
    });
    let parsed = NewRegulatorNotification::parse(
        phase,
        submitted_at,
        content,
        &delay_reason,
        &further_information,
        financial_services_commission,
        &signed_by,
        now,
    )
    .map_err(|v| violations.extend(prefixed("notification", v)))
    .ok();
    finish(violations, parsed).map(|n| (id, n))
}

fn dpo_to(d: &DpoContact) -> pb::DpoContact {
    pb::DpoContact {
        name: d.name.clone(),
        designation: d.designation.clone(),
        work_address: d.work_address.clone(),
        telephone: d.telephone.clone(),
        email: d.email.clone(),
    }
}

fn jurisdiction_to(j: Jurisdiction) -> common::Jurisdiction {
    match j {
        Jurisdiction::EnglandAndWales => common::Jurisdiction::EnglandAndWales,
        Jurisdiction::Scotland => common::Jurisdiction::Scotland,
        Jurisdiction::NorthernIreland => common::Jurisdiction::NorthernIreland,
        Jurisdiction::Jersey => common::Jurisdiction::Jersey,
    }
}

fn times(incident: &NewIncident) -> IncidentTimes {
    IncidentTimes {
        occurred_at: incident.occurred_at(),
        discovered_at: incident.discovered_at(),
        aware_at: incident.aware_at(),
    }
}

/// A report with its generated document.
pub(super) fn regulator_to_proto(
    incident: IncidentId,
    n: &RegulatorNotification,
    incident_times: IncidentTimes,
) -> pb::RegulatorNotification {
    let s = &n.spec;
    let c = &s.content;
    let document = match n.document(incident_times) {
        Document::Ico(r) => pb::regulator_notification::Document::IcoReport(pb::IcoReport {
            report_type: r.report_type.to_owned(),
            organisation: r.organisation,
            dpo: Some(dpo_to(&r.dpo)),
            what_happened: r.what_happened,
            occur_time: r.times.occurred_at.and_then(ts),
            discover_time: r.times.discovered_at.and_then(ts),
            aware_time: ts(r.times.aware_at),
            submit_time: ts(r.submitted_at),
            reported_within_72_hours: r.within_72_hours,
            delay_reason: r.delay_reason,
            data_categories: r.content.data_categories,
            subject_categories: r.content.subject_categories,
            approximate_subjects: r.content.approximate_subjects,
            approximate_records: r.content.approximate_records,
            likely_consequences: r.content.likely_consequences,
            measures: r.content.measures,
            individuals_told: r.individuals_told,
            severity: r.severity,
            further_information: r.further_information,
        }),
        Document::Jersey(f) => {
            pb::regulator_notification::Document::JerseyForm(pb::JerseyBreachForm {
                box1_contact: Some(dpo_to(&f.box1_contact)),
                box2_notified_time: ts(f.box2_notified),
                box3_nature: f.box3_nature,
                box4_consequences: f.box4_consequences,
                box5_measures: f.box5_measures,
                box6_submitted_time: ts(f.box6_submitted),
                box7_delay_reason: f.box7_delay_reason,
                box8_signed_by: f.box8_signed_by,
                box8_date: ts(f.box6_submitted),
                send_to: crate::domain::regulator::JERSEY_SEND_TO.to_owned(),
                financial_services_commission: f.financial_services_commission,
            })
        }
    };
    pb::RegulatorNotification {
        name: format!("{incident}/regulatorNotifications/{}", n.id),
        phase: match s.phase {
            Phase::Initial => pb::NotificationPhase::Initial,
            Phase::FollowUp => pb::NotificationPhase::FollowUp,
        }
        .into(),
        submit_time: ts(s.submitted_at),
        content: Some(pb::ReportContent {
            data_categories: c.data_categories.clone(),
            subject_categories: c.subject_categories.clone(),
            approximate_subjects: c.approximate_subjects,
            approximate_records: c.approximate_records,
            nature: c.nature.clone(),
            likely_consequences: c.likely_consequences.clone(),
            measures: c.measures.clone(),
        }),
        delay_reason: s.delay_reason.clone(),
        further_information: s.further_information.clone(),
        financial_services_commission: s.financial_services_commission,
        signed_by: s.signed_by.clone(),
        document: Some(document),
        jurisdiction: jurisdiction_to(n.jurisdiction).into(),
    }
}

/// A notice to individuals, checked against the incident's awareness and `now`.
pub(super) fn notify_individuals(
    n: Option<pb::IndividualNotification>,
    aware_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<IndividualNotice, Error> {
    let Some(n) = n else {
        return Err(invalid("notification", "required"));
    };
    let pb::IndividualNotification {
        name: _,
        audience,
        person_id,
        recipient,
        what_happened,
        likely_consequences,
        measures_taken,
        what_they_can_do,
        dpo: _,
        channel,
        send_time,
    } = n;
    let mut violations = Vec::new();
    let audience = enum_field(
        &mut violations,
        "notification.audience",
        audience,
        true,
        |a: pb::Audience| match a {
            pb::Audience::Unspecified => None,
            pb::Audience::Person => Some(Audience::Person),
            pb::Audience::Group => Some(Audience::Group),
            pb::Audience::Public => Some(Audience::Public),
        },
    );
    let channel = enum_field(
        &mut violations,
        "notification.channel",
        channel,
        true,
        |c: common::Channel| match c {
            common::Channel::Unspecified => None,
            common::Channel::Letter => Some(Channel::Letter),
            common::Channel::Email => Some(Channel::Email),
            common::Channel::Phone => Some(Channel::Phone),
            common::Channel::InPerson => Some(Channel::InPerson),
            common::Channel::WebForm => Some(Channel::Web),
            common::Channel::Platform => Some(Channel::Platform),
        },
    );
    let sent_at = instant(&mut violations, "notification.send_time", send_time);
    let parsed = IndividualNotice::parse(
        audience,
        &person_id,
        [
            &recipient,
            &what_happened,
            &likely_consequences,
            &measures_taken,
            &what_they_can_do,
        ],
        channel,
        sent_at,
        aware_at,
        now,
    )
    .map_err(|v| violations.extend(v))
    .ok();
    finish(violations, parsed)
}

fn channel_to(c: Channel) -> common::Channel {
    match c {
        Channel::Letter => common::Channel::Letter,
        Channel::Email => common::Channel::Email,
        Channel::Phone => common::Channel::Phone,
        Channel::InPerson => common::Channel::InPerson,
        Channel::Web => common::Channel::WebForm,
        Channel::Platform => common::Channel::Platform,
    }
}

/// A notice, with the DPO contact it gave.
pub(super) fn notice_to_proto(
    incident: IncidentId,
    id: Uuid,
    n: &IndividualNotice,
    dpo: &DpoContact,
) -> pb::IndividualNotification {
    let text = n.text.clone().unwrap_or_default();
    let [recipient, what, consequences, measures, can_do] = text.values().map(str::to_owned);
    pb::IndividualNotification {
        name: format!("{incident}/individualNotifications/{id}"),
        audience: match n.audience {
            Audience::Person => pb::Audience::Person,
            Audience::Group => pb::Audience::Group,
            Audience::Public => pb::Audience::Public,
        }
        .into(),
        person_id: n.person_id.clone().unwrap_or_default(),
        recipient,
        what_happened: what,
        likely_consequences: consequences,
        measures_taken: measures,
        what_they_can_do: can_do,
        dpo: Some(dpo_to(dpo)),
        channel: channel_to(n.channel).into(),
        send_time: ts(n.sent_at),
    }
}

/// An action to add.
pub(super) fn add_action(request: pb::AddActionRequest) -> Result<(IncidentId, NewAction), Error> {
    let pb::AddActionRequest { parent, action } = request;
    let id = incident_name("parent", &parent)?;
    let Some(action) = action else {
        return Err(invalid("action", "required"));
    };
    let pb::Action {
        name: _,
        description,
        owner,
        due_time,
        complete_time: _,
        outcome: _,
        playbook: _,
    } = action;
    let mut violations = Vec::new();
    let due = instant(&mut violations, "action.due_time", due_time);
    let parsed = NewAction::parse(&description, &owner, due)
        .map_err(|v| violations.extend(prefixed("action", v)))
        .ok();
    finish(violations, parsed).map(|a| (id, a))
}

/// An action as shown.
pub(super) fn action_to_proto(incident: IncidentId, a: &Action) -> pb::Action {
    pb::Action {
        name: format!("{incident}/actions/{}", a.id),
        description: a.spec.description.clone(),
        owner: a.spec.owner.clone(),
        due_time: ts(a.spec.due_at),
        complete_time: a.completed.as_ref().and_then(|(at, _)| ts(*at)),
        outcome: a
            .completed
            .as_ref()
            .map(|(_, o)| o.clone())
            .unwrap_or_default(),
        playbook: a
            .spec
            .playbook
            .map(|p| p.code().to_owned())
            .unwrap_or_default(),
    }
}

/// The playbook and owner to apply.
pub(super) fn apply_playbook(
    request: pb::ApplyPlaybookRequest,
) -> Result<(IncidentId, Playbook, String), Error> {
    let pb::ApplyPlaybookRequest {
        parent,
        playbook,
        owner,
    } = request;
    let id = incident_name("parent", &parent)?;
    let mut violations = Vec::new();
    let playbook = enum_field(
        &mut violations,
        "playbook",
        playbook,
        false,
        |p: pb::Playbook| match p {
            pb::Playbook::Unspecified => None,
            pb::Playbook::MisdirectedEmail => Some(Playbook::MisdirectedEmail),
        },
    );
    let owner = owner.trim();
    if owner.is_empty() || owner.chars().count() > crate::domain::MAX_SHORT {
        violations.push(violation("owner", "required, at most 200 characters"));
    }
    finish(violations, playbook).map(|p| (id, p, owner.to_owned()))
}

/// A third-party notice, checked against the incident's awareness.
pub(super) fn third_party(
    notice: Option<pb::ThirdPartyNotice>,
    aware_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<ThirdPartyNotice, Error> {
    let Some(notice) = notice else {
        return Err(invalid("notice", "required"));
    };
    let pb::ThirdPartyNotice {
        party,
        organisation,
        reference,
        notify_time,
    } = notice;
    let mut violations = Vec::new();
    let party = enum_field(
        &mut violations,
        "notice.party",
        party,
        true,
        |p: pb::third_party_notice::Party| {
            use pb::third_party_notice::Party as P;
            match p {
                P::Unspecified => None,
                P::Police => Some(Party::Police),
                P::Insurer => Some(Party::Insurer),
                P::Bank => Some(Party::Bank),
                P::CreditCardCompany => Some(Party::CreditCardCompany),
                P::Other => Some(Party::Other),
            }
        },
    );
    let at = instant(&mut violations, "notice.notify_time", notify_time);
    let parsed = ThirdPartyNotice::parse(party, &organisation, &reference, at, aware_at, now)
        .map_err(|v| violations.extend(v))
        .ok();
    finish(violations, parsed)
}

pub(super) fn third_party_to_proto(n: &ThirdPartyNotice) -> pb::ThirdPartyNotice {
    use pb::third_party_notice::Party as P;
    pb::ThirdPartyNotice {
        party: match n.party {
            Party::Police => P::Police,
            Party::Insurer => P::Insurer,
            Party::Bank => P::Bank,
            Party::CreditCardCompany => P::CreditCardCompany,
            Party::Other => P::Other,
        }
        .into(),
        organisation: n.organisation.clone(),
        reference: n.reference.clone(),
        notify_time: ts(n.notified_at),
    }
}

/// A review, checked against the incident's awareness.
pub(super) fn review(
    review: Option<pb::Review>,
    reviewed_by: &str,
    aware_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Review, Error> {
    let Some(review) = review else {
        return Err(invalid("review", "required"));
    };
    let pb::Review {
        facts_and_cause,
        effects,
        lessons_learned,
        review_time,
        reviewed_by: _,
    } = review;
    let mut violations = Vec::new();
    let at = instant(&mut violations, "review.review_time", review_time);
    let parsed = Review::parse(
        &facts_and_cause,
        &effects,
        &lessons_learned,
        at,
        reviewed_by,
        aware_at,
        now,
    )
    .map_err(|v| violations.extend(v))
    .ok();
    finish(violations, parsed)
}

/// The whole incident as shown at `now`, with local times in the tenant's zone.
pub(super) fn incident_to_proto(
    incident: &Incident,
    settings: &BreachSettings,
    now: OffsetDateTime,
) -> pb::Incident {
    let spec = &incident.spec;
    let text = incident.details.text.clone().unwrap_or_default();
    let clock = incident.is_breach().then(|| {
        let clock = incident.clock();
        let reported = incident.first_reported_at();
        pb::BreachClock {
            due_time: ts(clock.due()),
            seconds_remaining: clock.remaining(now).whole_seconds(),
            overdue: incident.clock_running() && clock.is_overdue(now),
            running: incident.clock_running(),
            reported_time: reported.and_then(ts),
            reported_late: reported.is_some_and(|r| clock.is_late(r)),
            explanation: clock.explanation(settings.jurisdiction.zone()),
        }
    });
    let id = incident.id;
    pb::Incident {
        name: id.to_string(),
        title: spec.title().to_owned(),
        occur_time: spec.occurred_at().and_then(ts),
        discover_time: spec.discovered_at().and_then(ts),
        aware_time: ts(spec.aware_at()),
        create_time: ts(incident.created_at),
        reported_by: text.reported_by.expose().clone(),
        report_to_dpo_time: incident.details.reported_to_dpo_at.and_then(ts),
        description: text.description.expose().clone(),
        systems: incident.details.systems.clone(),
        classification: incident
            .classification
            .as_ref()
            .map(|c| pb::Classification {
                personal_data_breach: c.personal_data_breach(),
                serious: c.serious(),
                kinds: c.kinds().iter().map(|k| kind_to(*k).into()).collect(),
            }),
        clock,
        assessment: incident.assessment.as_ref().map(assessment_to_proto),
        regulator_notifications: incident
            .regulator_notifications
            .iter()
            .map(|n| regulator_to_proto(id, n, times(spec)))
            .collect(),
        individual_notifications: incident
            .individual_notifications
            .iter()
            .map(|(nid, n)| notice_to_proto(id, *nid, n, &settings.dpo))
            .collect(),
        actions: incident
            .actions
            .iter()
            .map(|a| action_to_proto(id, a))
            .collect(),
        third_party_notices: incident
            .third_party_notices
            .iter()
            .map(third_party_to_proto)
            .collect(),
        review: incident.review.as_ref().map(|r| pb::Review {
            facts_and_cause: r.facts_and_cause.clone(),
            effects: r.effects.clone(),
            lessons_learned: r.lessons_learned.clone(),
            review_time: ts(r.reviewed_at),
            reviewed_by: r.reviewed_by.clone(),
        }),
    }
}

/// The incident's times, for a document.
pub(super) fn incident_times(incident: &Incident) -> IncidentTimes {
    times(&incident.spec)
}

/// Page size and start of the alarm view.
pub(super) fn list_open(
    request: pb::ListOpenBreachesRequest,
) -> Result<(u8, Option<PageKey>), Error> {
    let pb::ListOpenBreachesRequest {
        page_size,
        page_token,
    } = request;
    let size = match page_size {
        0 => DEFAULT_PAGE,
        1..=MAX_PAGE => u8::try_from(page_size).expect("at most 200"),
        _ => return Err(invalid("page_size", "must be between 0 and 200")),
    };
    let bad = || invalid("page_token", "not a token from a previous page");
    let after = if page_token.is_empty() {
        None
    } else {
        let (nanos, id) = page_token
            .strip_prefix("b1:")
            .and_then(|t| t.split_once('/'))
            .ok_or_else(bad)?;
        let nanos: i128 = nanos.parse().map_err(|_| bad())?;
        Some(PageKey {
            aware_at: OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| bad())?,
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    };
    Ok((size, after))
}

/// The token of the next page.
pub(super) fn page_token(key: Option<PageKey>) -> String {
    key.map(|k| format!("b1:{}/{}", k.aware_at.unix_timestamp_nanos(), k.id))
        .unwrap_or_default()
}

/// A line of the alarm view at `now`.
pub(super) fn open_breach_to_proto(b: &OpenBreach, now: OffsetDateTime) -> pb::OpenBreach {
    let clock = b.clock();
    pb::OpenBreach {
        name: b.id.to_string(),
        title: b.title.clone(),
        aware_time: ts(b.aware_at),
        due_time: ts(clock.due()),
        seconds_remaining: clock.remaining(now).whole_seconds(),
        overdue: clock.is_overdue(now),
        severity: b.severity.map_or(0, |s| severity_to(s).into()),
    }
}

/// Settings to save.
pub(super) fn settings(request: pb::UpdateBreachSettingsRequest) -> Result<BreachSettings, Error> {
    let pb::UpdateBreachSettingsRequest { settings } = request;
    let Some(settings) = settings else {
        return Err(invalid("settings", "required"));
    };
    let pb::BreachSettings {
        jurisdiction,
        organisation,
        dpo,
        report_from,
        tell_individuals_from,
        saved: _,
    } = settings;
    let mut violations = Vec::new();
    let jurisdiction = enum_field(
        &mut violations,
        "settings.jurisdiction",
        jurisdiction,
        false,
        |j: common::Jurisdiction| match j {
            common::Jurisdiction::Unspecified => None,
            common::Jurisdiction::EnglandAndWales => Some(Jurisdiction::EnglandAndWales),
            common::Jurisdiction::Scotland => Some(Jurisdiction::Scotland),
            common::Jurisdiction::NorthernIreland => Some(Jurisdiction::NorthernIreland),
            common::Jurisdiction::Jersey => Some(Jurisdiction::Jersey),
        },
    );
    let defaults = BandMapping::default();
    let report = enum_field(
        &mut violations,
        "settings.report_from",
        report_from,
        true,
        severity_from,
    )
    .unwrap_or(defaults.report_from());
    let tell = enum_field(
        &mut violations,
        "settings.tell_individuals_from",
        tell_individuals_from,
        true,
        severity_from,
    )
    .unwrap_or(defaults.tell_individuals_from());
    let mapping = BandMapping::new(report, tell);
    if mapping.is_none() {
        violations.push(violation(
            "settings.tell_individuals_from",
            "must not be lower than report_from",
        ));
    }
    let dpo = dpo.map_or_else(DpoContact::default, |d| {
        let pb::DpoContact {
            name,
            designation,
            work_address,
            telephone,
            email,
        } = d;
        DpoContact {
            name,
            designation,
            work_address,
            telephone,
            email,
        }
    });
    let parsed = jurisdiction.zip(mapping).and_then(|(j, m)| {
        BreachSettings::parse(j, &organisation, dpo, m)
            .map_err(|v| violations.extend(prefixed("settings", v)))
            .ok()
    });
    finish(violations, parsed)
}

/// Settings as shown.
pub(super) fn settings_to_proto(s: &BreachSettings) -> pb::BreachSettings {
    pb::BreachSettings {
        jurisdiction: jurisdiction_to(s.jurisdiction).into(),
        organisation: s.organisation.clone(),
        dpo: Some(dpo_to(&s.dpo)),
        report_from: severity_to(s.mapping.report_from()).into(),
        tell_individuals_from: severity_to(s.mapping.tell_individuals_from()).into(),
        saved: s.saved,
    }
}

/// Dashboard figures.
pub(super) fn figures_to_proto(f: &Figures) -> pb::DashboardFigures {
    pb::DashboardFigures {
        tenant: f.tenant.clone().unwrap_or_default(),
        incidents: f.incidents,
        breaches: f.breaches,
        open: f.open,
        open_overdue: f.open_overdue,
        open_due_within_24_hours: f.open_due_within_24_hours,
        reported_on_time: f.reported_on_time,
        reported_late: f.reported_late,
        not_reportable: f.not_reportable,
        by_kind: f.by_kind.iter().cloned().collect(),
        by_severity: f.by_severity.iter().cloned().collect(),
    }
}
