//! The risk assessment and the decision it leads to (003 §12.1-12.6; 001; 004 appendix 1).
//!
//! ENISA scores severity only; the tenant's band mapping suggests an outcome, and a person
//! decides. Not reporting needs a documented rationale "so that it can be justified at a later
//! date" (001); departing from the suggestion needs a reason; the exceptions to telling the
//! individuals (003 §12.6) are recorded when used.

use dps_types::{FieldViolation, Violations};
use time::OffsetDateTime;

use super::severity::{Severity, SeverityInputs};
use super::{MAX_REASON, code_of, from_code};

/// What an assessment decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// No risk: kept on the register with the rationale, not reported (003 §12.1.1).
    NotReportable,
    /// Risk: report to the regulator within 72 hours of awareness (003 §12.2).
    ReportToRegulator,
    /// High risk: report, and tell the individuals (003 §12.5).
    TellIndividuals,
}

impl Outcome {
    /// Every outcome with its stored code.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::NotReportable, "not_reportable"),
        (Self::ReportToRegulator, "report_to_regulator"),
        (Self::TellIndividuals, "tell_individuals"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        from_code(&Self::ALL, code)
    }

    fn words(self) -> &'static str {
        match self {
            Self::NotReportable => "not reportable",
            Self::ReportToRegulator => "report to the regulator",
            Self::TellIndividuals => "report and tell the individuals",
        }
    }
}

/// 003 §12.6: why individuals need not be told although the risk is high.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndividualException {
    /// 12.6.1: unintelligible to anyone not authorised (encrypted, key safe).
    Unintelligible,
    /// 12.6.2: measures since taken make the high risk no longer likely.
    RiskMitigated,
    /// 12.6.3: disproportionate effort; a public communication instead.
    DisproportionateEffort,
}

impl IndividualException {
    /// Every exception with its stored code.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::Unintelligible, "unintelligible"),
        (Self::RiskMitigated, "risk_mitigated"),
        (Self::DisproportionateEffort, "disproportionate_effort"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        from_code(&Self::ALL, code)
    }

    /// As the ICO report says it.
    pub fn words(self) -> &'static str {
        match self {
            Self::Unintelligible => "the data is unintelligible to anyone not authorised",
            Self::RiskMitigated => "measures taken mean the high risk is no longer likely",
            Self::DisproportionateEffort => {
                "telling each person would take disproportionate effort: public communication"
            }
        }
    }
}

/// How likely the harm is, stored beside the severity (DESIGN §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likelihood {
    /// Remote.
    Remote,
    /// Possible.
    Possible,
    /// Likely.
    Likely,
    /// Certain or has happened.
    Certain,
}

impl Likelihood {
    /// Every likelihood with its stored code.
    pub const ALL: [(Self, &'static str); 4] = [
        (Self::Remote, "remote"),
        (Self::Possible, "possible"),
        (Self::Likely, "likely"),
        (Self::Certain, "certain"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        from_code(&Self::ALL, code)
    }
}

/// The tenant's band → outcome mapping (DESIGN §3.2: "keep the band → outcome mapping as tenant
/// data (suggested: medium+ → report, high+ → tell individuals)").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandMapping {
    report_from: Severity,
    tell_individuals_from: Severity,
}

impl Default for BandMapping {
    fn default() -> Self {
        Self {
            report_from: Severity::Medium,
            tell_individuals_from: Severity::High,
        }
    }
}

impl BandMapping {
    /// Telling individuals implies reporting, so its band is not below the reporting band.
    pub fn new(report_from: Severity, tell_individuals_from: Severity) -> Option<Self> {
        (tell_individuals_from >= report_from).then_some(Self {
            report_from,
            tell_individuals_from,
        })
    }

    /// Least severity reported.
    pub fn report_from(&self) -> Severity {
        self.report_from
    }

    /// Least severity that tells individuals.
    pub fn tell_individuals_from(&self) -> Severity {
        self.tell_individuals_from
    }

    /// The outcome this mapping suggests for `severity`.
    pub fn suggest(&self, severity: Severity) -> Outcome {
        if severity >= self.tell_individuals_from {
            Outcome::TellIndividuals
        } else if severity >= self.report_from {
            Outcome::ReportToRegulator
        } else {
            Outcome::NotReportable
        }
    }
}

/// What the assessor sends, before the decision is checked.
#[derive(Debug, Clone)]
pub struct AssessmentInput {
    /// ENISA's inputs.
    pub inputs: SeverityInputs,
    /// How likely the harm is.
    pub likelihood: Likelihood,
    /// Approximate number of people affected.
    pub approximate_subjects: i64,
    /// Approximate number of records affected.
    pub approximate_records: i64,
    /// The decision, when the assessor chose one; else the suggestion stands.
    pub outcome: Option<Outcome>,
    /// Why.
    pub rationale: String,
    /// An exception to telling individuals, with what makes it apply.
    pub exception: Option<IndividualException>,
    /// What makes the exception apply.
    pub exception_detail: String,
}

/// A decided assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// ENISA's inputs.
    pub inputs: SeverityInputs,
    /// How likely the harm is.
    pub likelihood: Likelihood,
    /// Approximate number of people affected.
    pub approximate_subjects: i64,
    /// Approximate number of records affected.
    pub approximate_records: i64,
    /// What the band mapping suggested.
    pub computed: Outcome,
    /// What was decided.
    pub outcome: Outcome,
    /// Why (required for not reportable and for an override).
    pub rationale: String,
    /// 003 §12.6, when used, with what makes it apply.
    pub exception: Option<(IndividualException, String)>,
    /// Who decided.
    pub assessed_by: String,
    /// When.
    pub assessed_at: OffsetDateTime,
}

impl Assessment {
    /// Decides on `input` under `mapping`, naming every field at fault.
    pub fn decide(
        input: AssessmentInput,
        mapping: BandMapping,
        assessed_by: &str,
        assessed_at: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let computed = mapping.suggest(input.inputs.severity());
        let outcome = input.outcome.unwrap_or(computed);
        let rationale = input.rationale.trim();
        let detail = input.exception_detail.trim();
        let mut v = Violations::new();
        v.check(
            input.approximate_subjects >= 0,
            "approximate_subjects",
            "must not be negative",
        );
        v.check(
            input.approximate_records >= 0,
            "approximate_records",
            "must not be negative",
        );
        if rationale.is_empty() {
            if outcome == Outcome::NotReportable {
                // 001: "the rationale must be documented so that it can be justified".
                v.add(
                    "rationale",
                    "required when a breach is not reported: it is kept for the regulator",
                );
            } else if outcome != computed {
                v.add(
                    "rationale",
                    format!(
                        "required to override the computed outcome ({})",
                        computed.words()
                    ),
                );
            }
        }
        v.check(
            rationale.chars().count() <= MAX_REASON,
            "rationale",
            "at most 2000 characters",
        );
        match input.exception {
            Some(_) if outcome != Outcome::TellIndividuals => v.add(
                "individual_exception",
                "only when the outcome is to tell the individuals",
            ),
            Some(_) if detail.is_empty() => {
                v.add("exception_detail", "required with an individual_exception")
            }
            None if !detail.is_empty() => {
                v.add("exception_detail", "only with an individual_exception")
            }
            _ => {}
        }
        v.check(
            detail.chars().count() <= MAX_REASON,
            "exception_detail",
            "at most 2000 characters",
        );
        v.finish(())?;
        Ok(Self {
            inputs: input.inputs,
            likelihood: input.likelihood,
            approximate_subjects: input.approximate_subjects,
            approximate_records: input.approximate_records,
            computed,
            outcome,
            rationale: rationale.to_owned(),
            exception: input.exception.map(|e| (e, detail.to_owned())),
            assessed_by: assessed_by.to_owned(),
            assessed_at,
        })
    }

    /// Whether the individuals must be told: high risk and no exception (003 §12.5-12.6).
    pub fn individuals_must_be_told(&self) -> bool {
        self.outcome == Outcome::TellIndividuals && self.exception.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::severity::Loss;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn input(dpc: f64, outcome: Option<Outcome>, rationale: &str) -> AssessmentInput {
        AssessmentInput {
            inputs: SeverityInputs::parse(
                dpc,
                1.0,
                Some(Loss::Limited),
                Some(Loss::None),
                Some(Loss::None),
                false,
            )
            .expect("valid"),
            likelihood: Likelihood::Possible,
            approximate_subjects: 1,
            approximate_records: 1,
            outcome,
            rationale: rationale.into(),
            exception: None,
            exception_detail: String::new(),
        }
    }

    fn fields(err: Vec<FieldViolation>) -> Vec<String> {
        err.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn the_default_mapping_reports_from_medium_and_tells_from_high() {
        let m = BandMapping::default();
        assert_eq!(m.suggest(Severity::Low), Outcome::NotReportable);
        assert_eq!(m.suggest(Severity::Medium), Outcome::ReportToRegulator);
        assert_eq!(m.suggest(Severity::High), Outcome::TellIndividuals);
        assert_eq!(m.suggest(Severity::VeryHigh), Outcome::TellIndividuals);
        let strict = BandMapping::new(Severity::Low, Severity::Medium).expect("ordered");
        assert_eq!(strict.suggest(Severity::Low), Outcome::ReportToRegulator);
        assert!(BandMapping::new(Severity::High, Severity::Medium).is_none());
    }

    #[test]
    fn not_reportable_needs_a_rationale_even_when_computed() {
        // DPC 1 × EI 1 + 0.25 = 1.25: low → not reportable, but the reasons must be written.
        let err = Assessment::decide(input(1.0, None, " "), BandMapping::default(), "dpo", NOW)
            .expect_err("no rationale");
        assert_eq!(fields(err), ["rationale"]);
        let ok = Assessment::decide(
            input(1.0, None, "names and rota only; recipient deleted it"),
            BandMapping::default(),
            "dpo",
            NOW,
        )
        .expect("documented");
        assert_eq!(ok.outcome, Outcome::NotReportable);
        assert_eq!(ok.computed, Outcome::NotReportable);
    }

    #[test]
    fn an_override_needs_a_reason() {
        // 4.25 → tell individuals; the DPO decides to report only.
        let err = Assessment::decide(
            input(4.0, Some(Outcome::ReportToRegulator), ""),
            BandMapping::default(),
            "dpo",
            NOW,
        )
        .expect_err("override without reason");
        assert_eq!(
            err[0].description,
            "required to override the computed outcome (report and tell the individuals)"
        );
        let ok = Assessment::decide(
            input(
                4.0,
                Some(Outcome::ReportToRegulator),
                "recipient is a nurse",
            ),
            BandMapping::default(),
            "dpo",
            NOW,
        )
        .expect("with reason");
        assert_eq!(
            (ok.computed, ok.outcome),
            (Outcome::TellIndividuals, Outcome::ReportToRegulator)
        );
        // Agreeing with the suggestion needs no reason.
        assert!(
            Assessment::decide(
                input(4.0, Some(Outcome::TellIndividuals), ""),
                BandMapping::default(),
                "dpo",
                NOW
            )
            .is_ok()
        );
    }

    #[test]
    fn exceptions_apply_only_to_telling_individuals_and_need_detail() {
        let mut with = input(4.0, None, "");
        with.exception = Some(IndividualException::Unintelligible);
        let err = Assessment::decide(with.clone(), BandMapping::default(), "dpo", NOW)
            .expect_err("no detail");
        assert_eq!(fields(err), ["exception_detail"]);
        with.exception_detail = "AES-256 full-disk encryption; key held centrally".into();
        let ok = Assessment::decide(with.clone(), BandMapping::default(), "dpo", NOW)
            .expect("exception");
        assert!(!ok.individuals_must_be_told());
        let mut low = with;
        low.inputs = input(1.0, None, "").inputs;
        low.rationale = "low".into();
        let err =
            Assessment::decide(low, BandMapping::default(), "dpo", NOW).expect_err("not high");
        assert_eq!(fields(err), ["individual_exception"]);
        let mut stray = input(4.0, None, "");
        stray.exception_detail = "x".into();
        stray.approximate_records = -1;
        let err = Assessment::decide(stray, BandMapping::default(), "dpo", NOW).expect_err("stray");
        assert_eq!(fields(err), ["approximate_records", "exception_detail"]);
    }
}
