//! Reports to the regulator (003 §12.2-12.3, 12.7; 004 appendix 1) and the documents generated
//! from them: the UK ICO's breach report and the Jersey form of 003 appendix c (boxes 1-8).
//!
//! A report may be phased: an initial report and follow-ups as information arrives (003
//! §12.3.1). The initial report made more than 72 hours after awareness carries the reasons for
//! the delay (Art 33(1); 003 §12.3; Jersey box 7).

use dps_deadlines::BreachClock;
use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

use super::settings::{DpoContact, Jurisdiction};
use super::{CLOCK_SKEW, MAX_TEXT, Rejection, code_of, from_code};

/// Where the Jersey form is sent (003 appendix c).
pub const JERSEY_SEND_TO: &str = "breach@OICJersey.org";
/// Most entries in a list of categories, and characters in each.
pub const MAX_CATEGORIES: usize = 20;

/// Initial report or follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The first report: the one the 72 hours apply to.
    Initial,
    /// Further information (003 §12.3.1).
    FollowUp,
}

impl Phase {
    /// Every phase with its stored code.
    pub const ALL: [(Self, &'static str); 2] =
        [(Self::Initial, "initial"), (Self::FollowUp, "follow_up")];

    /// The stored code.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        from_code(&Self::ALL, code)
    }
}

/// What a report says (003 §12.2.1-12.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportContent {
    /// Categories of personal data.
    pub data_categories: Vec<String>,
    /// Categories of people.
    pub subject_categories: Vec<String>,
    /// Approximate number of people.
    pub approximate_subjects: i64,
    /// Approximate number of records.
    pub approximate_records: i64,
    /// The nature of the breach.
    pub nature: String,
    /// Likely consequences.
    pub likely_consequences: String,
    /// Measures taken or proposed.
    pub measures: String,
}

/// A report as sent, before it is checked against the incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRegulatorNotification {
    /// Initial or follow-up.
    pub phase: Phase,
    /// When it was submitted.
    pub submitted_at: OffsetDateTime,
    /// What it says.
    pub content: ReportContent,
    /// Reasons for a delay beyond 72 hours.
    pub delay_reason: String,
    /// When further information is expected.
    pub further_information: String,
    /// Jersey: must the Financial Services Commission be told too (003 §12.7)?
    pub financial_services_commission: Option<bool>,
    /// Who signs it (Jersey box 8).
    pub signed_by: String,
}

fn clean_list(v: &mut Violations, field: &str, list: Vec<String>, required: bool) -> Vec<String> {
    let list: Vec<String> = list
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    v.check(!required || !list.is_empty(), field, "at least one");
    v.check(
        list.len() <= MAX_CATEGORIES && list.iter().all(|s| s.chars().count() <= super::MAX_SHORT),
        field,
        "at most 20 entries of 200 characters",
    );
    list
}

pub(crate) fn text(v: &mut Violations, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    v.check(!value.is_empty(), field, "required");
    v.check(
        value.chars().count() <= max,
        field,
        &format!("at most {max} characters"),
    );
    value.to_owned()
}

impl NewRegulatorNotification {
    /// Checks what can be checked without the incident (fields as in the notification message).
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        phase: Option<Phase>,
        submitted_at: Option<OffsetDateTime>,
        content: Option<ReportContent>,
        delay_reason: &str,
        further_information: &str,
        financial_services_commission: Option<bool>,
        signed_by: &str,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        v.check(phase.is_some(), "phase", "required");
        match submitted_at {
            None => v.add("submit_time", "required"),
            Some(at) => v.check(
                at <= now + CLOCK_SKEW,
                "submit_time",
                "must not be in the future",
            ),
        }
        let content = match content {
            None => {
                v.add("content", "required");
                None
            }
            Some(c) => {
                let data_categories =
                    clean_list(&mut v, "content.data_categories", c.data_categories, true);
                let subject_categories = clean_list(
                    &mut v,
                    "content.subject_categories",
                    c.subject_categories,
                    false,
                );
                v.check(
                    c.approximate_subjects >= 0,
                    "content.approximate_subjects",
                    "must not be negative",
                );
                v.check(
                    c.approximate_records >= 0,
                    "content.approximate_records",
                    "must not be negative",
                );
                Some(ReportContent {
                    data_categories,
                    subject_categories,
                    approximate_subjects: c.approximate_subjects,
                    approximate_records: c.approximate_records,
                    nature: text(&mut v, "content.nature", &c.nature, MAX_TEXT),
                    likely_consequences: text(
                        &mut v,
                        "content.likely_consequences",
                        &c.likely_consequences,
                        MAX_TEXT,
                    ),
                    measures: text(&mut v, "content.measures", &c.measures, MAX_TEXT),
                })
            }
        };
        let signed_by = text(&mut v, "signed_by", signed_by, super::MAX_SHORT);
        v.check(
            delay_reason.trim().chars().count() <= MAX_TEXT
                && further_information.trim().chars().count() <= MAX_TEXT,
            if delay_reason.trim().chars().count() > MAX_TEXT {
                "delay_reason"
            } else {
                "further_information"
            },
            "at most 5000 characters",
        );
        v.finish(())?;
        Ok(Self {
            phase: phase.expect("checked above"),
            submitted_at: submitted_at.expect("checked above"),
            content: content.expect("checked above"),
            delay_reason: delay_reason.trim().to_owned(),
            further_information: further_information.trim().to_owned(),
            financial_services_commission,
            signed_by,
        })
    }

    /// Checks the report against the incident and the tenant's law: the order of phases, the
    /// reason for a late first report, and the Jersey Financial Services Commission question.
    pub fn check(&self, facts: &ReportFacts, jurisdiction: Jurisdiction) -> Result<(), Rejection> {
        if !facts.personal_data_breach {
            return Err(Rejection::Precondition(
                "only a personal-data breach is reported to the regulator: classify it first"
                    .into(),
            ));
        }
        if facts.decided_not_reportable {
            return Err(Rejection::Precondition(
                "the breach was decided not reportable: assess it again before reporting".into(),
            ));
        }
        match (self.phase, facts.has_initial) {
            (Phase::Initial, true) => {
                return Err(Rejection::Precondition(
                    "the initial report was already made: send a follow-up".into(),
                ));
            }
            (Phase::FollowUp, false) => {
                return Err(Rejection::Precondition(
                    "a follow-up needs an initial report first".into(),
                ));
            }
            _ => {}
        }
        if facts.dpo_missing {
            return Err(Rejection::Precondition(
                "set the DPO's name in the breach settings first: every report names who to \
                 contact (003 §12.2.2)"
                    .into(),
            ));
        }
        let mut v = Violations::new();
        v.check(
            self.submitted_at >= facts.aware_at,
            "notification.submit_time",
            "must not be before the incident's aware_time",
        );
        let clock = BreachClock::statutory(facts.aware_at);
        if self.phase == Phase::Initial
            && clock.is_late(self.submitted_at)
            && self.delay_reason.is_empty()
        {
            v.add(
                "notification.delay_reason",
                "required: submitted more than 72 hours after awareness (Art 33(1))",
            );
        }
        match (jurisdiction, self.financial_services_commission) {
            (Jurisdiction::Jersey, None) => v.add(
                "notification.financial_services_commission",
                "required for Jersey: must the Financial Services Commission also be told \
                 (003 §12.7)",
            ),
            (j, Some(_)) if j.is_uk() => v.add(
                "notification.financial_services_commission",
                "only for Jersey tenants",
            ),
            _ => {}
        }
        v.finish(()).map_err(Rejection::Invalid)
    }
}

/// What a report is checked against, read from the incident.
#[derive(Debug, Clone, Copy)]
pub struct ReportFacts {
    /// Classified as a personal-data breach.
    pub personal_data_breach: bool,
    /// The latest decision is "not reportable".
    pub decided_not_reportable: bool,
    /// An initial report exists.
    pub has_initial: bool,
    /// The settings name no DPO.
    pub dpo_missing: bool,
    /// Awareness.
    pub aware_at: OffsetDateTime,
}

/// A recorded report with what the document needs, fixed when it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegulatorNotification {
    /// Its id.
    pub id: uuid::Uuid,
    /// What was sent.
    pub spec: NewRegulatorNotification,
    /// The law at the time.
    pub jurisdiction: Jurisdiction,
    /// The controller's name at the time.
    pub organisation: String,
    /// The contact at the time.
    pub dpo: DpoContact,
    /// "very high (5)" etc., or empty when not assessed.
    pub severity: String,
    /// Whether individuals were told, in the ICO's words.
    pub individuals_told: String,
    /// Whether it was made more than 72 hours after awareness (initial only).
    pub late: bool,
}

/// The incident times a document quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentTimes {
    /// Occurrence.
    pub occurred_at: Option<OffsetDateTime>,
    /// Discovery.
    pub discovered_at: Option<OffsetDateTime>,
    /// Awareness.
    pub aware_at: OffsetDateTime,
}

/// The ICO's breach report content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcoReport {
    /// "initial report" or "follow-up report".
    pub report_type: &'static str,
    /// The controller.
    pub organisation: String,
    /// Who to contact.
    pub dpo: DpoContact,
    /// What happened.
    pub what_happened: String,
    /// Times.
    pub times: IncidentTimes,
    /// Submitted.
    pub submitted_at: OffsetDateTime,
    /// Within 72 hours of awareness.
    pub within_72_hours: bool,
    /// Reasons for delay.
    pub delay_reason: String,
    /// Content.
    pub content: ReportContent,
    /// Individuals told?
    pub individuals_told: String,
    /// Severity.
    pub severity: String,
    /// When more is expected.
    pub further_information: String,
}

/// The Jersey form, boxes 1-8 (003 appendix c).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JerseyForm {
    /// Box 1.
    pub box1_contact: DpoContact,
    /// Box 2: when the controller was notified of the breach (awareness).
    pub box2_notified: OffsetDateTime,
    /// Box 3.
    pub box3_nature: String,
    /// Box 4.
    pub box4_consequences: String,
    /// Box 5.
    pub box5_measures: String,
    /// Box 6.
    pub box6_submitted: OffsetDateTime,
    /// Box 7: reasons for a delay beyond 72 hours (empty when on time).
    pub box7_delay_reason: String,
    /// Box 8: signed by, on box 6's date.
    pub box8_signed_by: String,
    /// 003 §12.7.
    pub financial_services_commission: bool,
}

/// The document for the tenant's regulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// UK.
    Ico(Box<IcoReport>),
    /// Jersey.
    Jersey(Box<JerseyForm>),
}

impl RegulatorNotification {
    /// What the regulator is sent.
    pub fn document(&self, times: IncidentTimes) -> Document {
        let late = BreachClock::statutory(times.aware_at).is_late(self.spec.submitted_at);
        let c = &self.spec.content;
        if self.jurisdiction == Jurisdiction::Jersey {
            // Box 3 asks for categories and approximate numbers within the description.
            let box3 = format!(
                "{}\nCategories of data: {}.{}\nApproximate number of people affected: {}; of \
                 records: {}.",
                c.nature,
                c.data_categories.join(", "),
                if c.subject_categories.is_empty() {
                    String::new()
                } else {
                    format!(
                        " Categories of people: {}.",
                        c.subject_categories.join(", ")
                    )
                },
                c.approximate_subjects,
                c.approximate_records
            );
            return Document::Jersey(Box::new(JerseyForm {
                box1_contact: self.dpo.clone(),
                box2_notified: times.aware_at,
                box3_nature: box3,
                box4_consequences: c.likely_consequences.clone(),
                box5_measures: c.measures.clone(),
                box6_submitted: self.spec.submitted_at,
                box7_delay_reason: if late {
                    self.spec.delay_reason.clone()
                } else {
                    String::new()
                },
                box8_signed_by: self.spec.signed_by.clone(),
                financial_services_commission: self
                    .spec
                    .financial_services_commission
                    .unwrap_or(false),
            }));
        }
        Document::Ico(Box::new(IcoReport {
            report_type: match self.spec.phase {
                Phase::Initial => "initial report",
                Phase::FollowUp => "follow-up report",
            },
            organisation: self.organisation.clone(),
            dpo: self.dpo.clone(),
            what_happened: c.nature.clone(),
            times,
            submitted_at: self.spec.submitted_at,
            within_72_hours: !late,
            delay_reason: self.spec.delay_reason.clone(),
            content: c.clone(),
            individuals_told: self.individuals_told.clone(),
            severity: self.severity.clone(),
            further_information: self.spec.further_information.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn content() -> ReportContent {
        ReportContent {
            data_categories: vec!["health".into(), " ".into()],
            subject_categories: vec!["service users".into()],
            approximate_subjects: 1,
            approximate_records: 1,
            nature: "Care plan emailed to the wrong family".into(),
            likely_consequences: "Distress".into(),
            measures: "Recall; deletion confirmed".into(),
        }
    }

    fn report(
        submitted: OffsetDateTime,
        delay: &str,
        fsc: Option<bool>,
    ) -> NewRegulatorNotification {
        NewRegulatorNotification::parse(
            Some(Phase::Initial),
            Some(submitted),
            Some(content()),
            delay,
            "",
            fsc,
            "A. Manager",
            NOW,
        )
        .expect("valid")
    }

    fn facts(aware: OffsetDateTime) -> ReportFacts {
        ReportFacts {
            personal_data_breach: true,
            decided_not_reportable: false,
            has_initial: false,
            dpo_missing: false,
            aware_at: aware,
        }
    }

    #[test]
    fn empty_categories_are_dropped_and_missing_fields_named() {
        assert_eq!(report(NOW, "", None).content.data_categories, ["health"]);
        let err = NewRegulatorNotification::parse(None, None, None, "", "", None, " ", NOW)
            .expect_err("empty");
        let fields: Vec<_> = err.into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["phase", "submit_time", "content", "signed_by"]);
    }

    #[test]
    fn a_first_report_after_72_hours_needs_the_reason_for_delay() {
        // Aware Fri 20 Nov 2026 16:00 UTC; due Mon 23 Nov 16:00 UTC, weekend hours counted.
        let aware = datetime!(2026-11-20 16:00 UTC);
        let on_time = report(datetime!(2026-11-23 16:00 UTC), "", None);
        assert!(
            on_time
                .check(&facts(aware), Jurisdiction::EnglandAndWales)
                .is_ok()
        );
        let late = report(datetime!(2026-11-23 16:01 UTC), "", None);
        let Err(Rejection::Invalid(v)) = late.check(&facts(aware), Jurisdiction::EnglandAndWales)
        else {
            panic!("late without reason must be refused")
        };
        assert_eq!(v[0].field, "notification.delay_reason");
        let late = report(
            datetime!(2026-11-23 16:01 UTC),
            "DPO on leave; deputy",
            None,
        );
        assert!(
            late.check(&facts(aware), Jurisdiction::EnglandAndWales)
                .is_ok()
        );
    }

    #[test]
    fn jersey_asks_about_the_financial_services_commission() {
        let aware = datetime!(2026-11-24 09:00 UTC);
        let Err(Rejection::Invalid(v)) =
            report(NOW, "", None).check(&facts(aware), Jurisdiction::Jersey)
        else {
            panic!("must be asked")
        };
        assert_eq!(v[0].field, "notification.financial_services_commission");
        assert!(
            report(NOW, "", Some(false))
                .check(&facts(aware), Jurisdiction::Jersey)
                .is_ok()
        );
        assert!(
            report(NOW, "", Some(true))
                .check(&facts(aware), Jurisdiction::Scotland)
                .is_err()
        );
    }

    #[test]
    fn phases_come_in_order_and_only_for_reportable_breaches() {
        let aware = datetime!(2026-11-24 09:00 UTC);
        let mut f = facts(aware);
        f.has_initial = true;
        assert!(matches!(
            report(NOW, "", None).check(&f, Jurisdiction::EnglandAndWales),
            Err(Rejection::Precondition(_))
        ));
        let mut follow = report(NOW, "", None);
        follow.phase = Phase::FollowUp;
        assert!(follow.check(&f, Jurisdiction::EnglandAndWales).is_ok());
        assert!(matches!(
            follow.check(&facts(aware), Jurisdiction::EnglandAndWales),
            Err(Rejection::Precondition(_))
        ));
        let mut not_breach = facts(aware);
        not_breach.personal_data_breach = false;
        assert!(matches!(
            report(NOW, "", None).check(&not_breach, Jurisdiction::EnglandAndWales),
            Err(Rejection::Precondition(_))
        ));
    }

    #[test]
    fn the_jersey_form_fills_boxes_one_to_eight() {
        let aware = datetime!(2026-11-20 16:00 UTC);
        let n = RegulatorNotification {
            id: uuid::Uuid::nil(),
            spec: report(
                datetime!(2026-11-24 10:00 UTC),
                "waiting for the police",
                Some(true),
            ),
            jurisdiction: Jurisdiction::Jersey,
            organisation: "LV Care Group".into(),
            dpo: DpoContact {
                name: "J. Le Sueur".into(),
                ..Default::default()
            },
            severity: String::new(),
            individuals_told: String::new(),
            late: true,
        };
        let times = IncidentTimes {
            occurred_at: None,
            discovered_at: None,
            aware_at: aware,
        };
        let Document::Jersey(form) = n.document(times) else {
            panic!("Jersey form")
        };
        assert_eq!(form.box1_contact.name, "J. Le Sueur");
        assert_eq!(form.box2_notified, aware);
        assert_eq!(
            form.box3_nature,
            "Care plan emailed to the wrong family\nCategories of data: health. Categories of \
             people: service users.\nApproximate number of people affected: 1; of records: 1."
        );
        assert_eq!(form.box6_submitted, datetime!(2026-11-24 10:00 UTC));
        // 90 hours after box 2: box 7 carries the reason.
        assert_eq!(form.box7_delay_reason, "waiting for the police");
        assert_eq!(form.box8_signed_by, "A. Manager");
        assert!(form.financial_services_commission);
    }
}
