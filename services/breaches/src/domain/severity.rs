//! ENISA's breach-severity method (Recommendations for a methodology of the assessment of
//! severity of personal data breaches, v1.0, Dec 2013), as DESIGN §3.2 asks: a published,
//! explainable score rather than a gut-feel dropdown.
//!
//! SE = DPC × EI + CB, where DPC (data processing context) is 1-4, EI (ease of identification)
//! is 0.25, 0.5, 0.75 or 1, and CB (circumstances of the breach) adds 0, 0.25 or 0.5 for each of
//! confidentiality, integrity and availability lost, and 0.5 for malicious intent (0-2 in all).
//! Bands: low < 2, medium 2-<3, high 3-<4, very high ≥ 4.
//!
//! Every input is a whole number of quarters, so the score is kept exactly in sixteenths: a score
//! of 3 is high, never 2.9999 by floating-point accident.

use dps_types::Violations;

/// How far a security property was lost (ENISA "circumstances of the breach").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Adds 0.
    None,
    /// Adds 0.25: confidentiality exposed to known recipients or without evidence of unlawful
    /// processing; integrity altered but recoverable; availability temporarily lost.
    Limited,
    /// Adds 0.5: disclosed to unknown recipients or with evidence of unlawful processing; altered
    /// and possibly used; permanently lost.
    Severe,
}

impl Loss {
    /// Every loss with its stored code.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::None, "none"),
        (Self::Limited, "limited"),
        (Self::Severe, "severe"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        crate::domain::code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        crate::domain::from_code(&Self::ALL, code)
    }

    fn quarters(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Limited => 1,
            Self::Severe => 2,
        }
    }
}

/// ENISA's severity levels, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// SE < 2.
    Low,
    /// 2 ≤ SE < 3.
    Medium,
    /// 3 ≤ SE < 4.
    High,
    /// SE ≥ 4.
    VeryHigh,
}

impl Severity {
    /// Every severity with its stored code, lowest first.
    pub const ALL: [(Self, &'static str); 4] = [
        (Self::Low, "low"),
        (Self::Medium, "medium"),
        (Self::High, "high"),
        (Self::VeryHigh, "very_high"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        crate::domain::code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        crate::domain::from_code(&Self::ALL, code)
    }

    /// The band of a score in sixteenths.
    fn of(sixteenths: u32) -> Self {
        match sixteenths {
            0..32 => Self::Low,
            32..48 => Self::Medium,
            48..64 => Self::High,
            _ => Self::VeryHigh,
        }
    }

    /// As a DPO writes it.
    pub fn words(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::VeryHigh => "very high",
        }
    }
}

/// ENISA's inputs, valid by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeverityInputs {
    dpc_quarters: u32,
    ei_quarters: u32,
    /// Loss of confidentiality.
    pub confidentiality: Loss,
    /// Loss of integrity.
    pub integrity: Loss,
    /// Loss of availability.
    pub availability: Loss,
    /// Malicious intent (theft, hacking, selling data): adds 0.5.
    pub malicious: bool,
}

/// A whole number of quarters between `min` and `max` quarters, or `None`.
fn quarters(value: f64, min: u32, max: u32) -> Option<u32> {
    let q = value * 4.0;
    let whole = q.round();
    if !q.is_finite() || (q - whole).abs() > 1e-9 || whole < f64::from(min) {
        return None;
    }
    // In range and whole, so the conversion is exact.
    let whole = whole as u32;
    (whole <= max).then_some(whole)
}

impl SeverityInputs {
    /// Checks ENISA's ranges, naming each field (`inputs.…`) at fault. A loss left unspecified
    /// is `None` here and reported as required.
    pub fn parse(
        data_processing_context: f64,
        ease_of_identification: f64,
        confidentiality: Option<Loss>,
        integrity: Option<Loss>,
        availability: Option<Loss>,
        malicious: bool,
    ) -> Result<Self, Vec<dps_types::FieldViolation>> {
        let mut v = Violations::new();
        let dpc = quarters(data_processing_context, 4, 16);
        v.check(
            dpc.is_some(),
            "data_processing_context",
            "must be from 1 to 4 in steps of 0.25",
        );
        let ei = quarters(ease_of_identification, 1, 4);
        v.check(
            ei.is_some(),
            "ease_of_identification",
            "must be 0.25, 0.5, 0.75 or 1",
        );
        for (field, loss) in [
            ("confidentiality", confidentiality),
            ("integrity", integrity),
            ("availability", availability),
        ] {
            v.check(loss.is_some(), field, "required");
        }
        v.finish(())?;
        Ok(Self {
            dpc_quarters: dpc.expect("checked above"),
            ei_quarters: ei.expect("checked above"),
            confidentiality: confidentiality.expect("checked above"),
            integrity: integrity.expect("checked above"),
            availability: availability.expect("checked above"),
            malicious,
        })
    }

    /// DPC.
    pub fn data_processing_context(&self) -> f64 {
        f64::from(self.dpc_quarters) / 4.0
    }

    /// EI.
    pub fn ease_of_identification(&self) -> f64 {
        f64::from(self.ei_quarters) / 4.0
    }

    fn cb_quarters(&self) -> u32 {
        self.confidentiality.quarters()
            + self.integrity.quarters()
            + self.availability.quarters()
            + if self.malicious { 2 } else { 0 }
    }

    /// SE in sixteenths: DPC × EI in sixteenths, plus CB in quarters × 4.
    fn sixteenths(&self) -> u32 {
        self.dpc_quarters * self.ei_quarters + 4 * self.cb_quarters()
    }

    /// SE = DPC × EI + CB.
    pub fn score(&self) -> f64 {
        f64::from(self.sixteenths()) / 16.0
    }

    /// The band of the score.
    pub fn severity(&self) -> Severity {
        Severity::of(self.sixteenths())
    }

    /// How the score was worked out, line by line, for the file and the regulator.
    pub fn explanation(&self) -> Vec<String> {
        let cb = f64::from(self.cb_quarters()) / 4.0;
        let part = |name: &str, loss: Loss| format!("{name} {}", f64::from(loss.quarters()) / 4.0);
        vec![
            format!(
                "data processing context (DPC) {} × ease of identification (EI) {} = {}",
                self.data_processing_context(),
                self.ease_of_identification(),
                f64::from(self.dpc_quarters * self.ei_quarters) / 16.0
            ),
            format!(
                "circumstances of the breach (CB) = {} + {} + {} + malicious intent {} = {cb}",
                part("confidentiality", self.confidentiality),
                part("integrity", self.integrity),
                part("availability", self.availability),
                if self.malicious { 0.5 } else { 0.0 },
            ),
            format!(
                "severity (SE) = DPC × EI + CB = {} → {} (ENISA 2013: low < 2, medium < 3, \
                 high < 4, very high ≥ 4)",
                self.score(),
                self.severity().words()
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dpc: f64, ei: f64, c: Loss, i: Loss, a: Loss, malicious: bool) -> SeverityInputs {
        SeverityInputs::parse(dpc, ei, Some(c), Some(i), Some(a), malicious).expect("valid")
    }

    // The policies' own examples (004 §15 and appendix 1), worked out by hand.

    #[test]
    fn misdirected_email_with_health_data_is_very_high() {
        // A care plan (health: sensitive, DPC 4) emailed to the wrong family. The plan names the
        // service user: EI 1 (maximum). Confidentiality lost to a known recipient: +0.25; no
        // alteration, the original is still held, a mistake: 0 + 0 + 0.
        // SE = 4 × 1 + 0.25 = 4.25 ≥ 4 → very high.
        let se = inputs(4.0, 1.0, Loss::Limited, Loss::None, Loss::None, false);
        assert_eq!(se.score(), 4.25);
        assert_eq!(se.severity(), Severity::VeryHigh);
    }

    #[test]
    fn stolen_unencrypted_laptop_with_care_records_is_very_high() {
        // A laptop holding non-encrypted care records (DPC 4, named: EI 1) is stolen. Exposed
        // without evidence yet of unlawful processing: +0.25; the copy on the laptop was not
        // backed up for a day, so availability temporarily lost: +0.25; theft is malicious:
        // +0.5. SE = 4 × 1 + 0.25 + 0 + 0.25 + 0.5 = 5 → very high.
        let se = inputs(4.0, 1.0, Loss::Limited, Loss::None, Loss::Limited, true);
        assert_eq!(se.score(), 5.0);
        assert_eq!(se.severity(), Severity::VeryHigh);
    }

    #[test]
    fn bank_provider_hacked_with_staff_financial_details_is_very_high() {
        // The bank provider is hacked and staff bank details taken (financial, DPC 3; names with
        // the accounts, EI 1). Disclosed to unknown parties: +0.5; malicious: +0.5.
        // SE = 3 × 1 + 0.5 + 0.5 = 4 → very high (exactly on the boundary).
        let se = inputs(3.0, 1.0, Loss::Severe, Loss::None, Loss::None, true);
        assert_eq!(se.score(), 4.0);
        assert_eq!(se.severity(), Severity::VeryHigh);
    }

    #[test]
    fn staff_rota_with_home_numbers_to_a_colleague_is_low() {
        // A rota with staff names and home telephone numbers (simple data, DPC 1; named, EI 1)
        // emailed to the wrong colleague, who deleted it: +0.25.
        // SE = 1 × 1 + 0.25 = 1.25 < 2 → low: not reportable with a rationale.
        let se = inputs(1.0, 1.0, Loss::Limited, Loss::None, Loss::None, false);
        assert_eq!(se.score(), 1.25);
        assert_eq!(se.severity(), Severity::Low);
    }

    #[test]
    fn pseudonymised_health_extract_sent_to_a_known_wrong_recipient_is_medium() {
        // Test results keyed by a care-home reference only (sensitive, DPC 4; identification
        // needs the key: EI 0.5 limited) sent to a known wrong recipient: +0.25.
        // SE = 4 × 0.5 + 0.25 = 2.25 → medium.
        let se = inputs(4.0, 0.5, Loss::Limited, Loss::None, Loss::None, false);
        assert_eq!(se.score(), 2.25);
        assert_eq!(se.severity(), Severity::Medium);
    }

    #[test]
    fn band_boundaries_are_exact() {
        // 2 × 1 + 0 = 2 is medium, not low; 3 × 1 = 3 high; 2.75 × 1 + 0.25 = 3 high.
        let none = Loss::None;
        assert_eq!(
            inputs(2.0, 1.0, none, none, none, false).severity(),
            Severity::Medium
        );
        assert_eq!(
            inputs(1.75, 1.0, none, none, Loss::Limited, false).severity(),
            Severity::Medium
        );
        assert_eq!(
            inputs(1.75, 1.0, none, none, none, false).severity(),
            Severity::Low
        );
        assert_eq!(
            inputs(3.0, 1.0, none, none, none, false).severity(),
            Severity::High
        );
        assert_eq!(
            inputs(2.75, 1.0, Loss::Limited, none, none, false).severity(),
            Severity::High
        );
        assert_eq!(
            inputs(3.75, 1.0, none, none, none, false).severity(),
            Severity::High
        );
        // The largest possible: 4 × 1 + 0.5 × 3 + 0.5 = 6.
        let all = inputs(4.0, 1.0, Loss::Severe, Loss::Severe, Loss::Severe, true);
        assert_eq!(all.score(), 6.0);
    }

    #[test]
    fn the_explanation_shows_each_step() {
        let se = inputs(4.0, 1.0, Loss::Limited, Loss::None, Loss::Limited, true);
        assert_eq!(
            se.explanation(),
            [
                "data processing context (DPC) 4 × ease of identification (EI) 1 = 4",
                "circumstances of the breach (CB) = confidentiality 0.25 + integrity 0 + \
                 availability 0.25 + malicious intent 0.5 = 1",
                "severity (SE) = DPC × EI + CB = 5 → very high (ENISA 2013: low < 2, medium < 3, \
                 high < 4, very high ≥ 4)",
            ]
        );
    }

    #[test]
    fn inputs_out_of_range_are_named() {
        let fields = |r: Result<SeverityInputs, Vec<dps_types::FieldViolation>>| -> Vec<String> {
            r.expect_err("invalid")
                .into_iter()
                .map(|v| v.field)
                .collect()
        };
        let l = Some(Loss::None);
        for (dpc, ei) in [(0.75, 1.0), (4.25, 1.0), (2.1, 1.0), (f64::NAN, 1.0)] {
            assert_eq!(
                fields(SeverityInputs::parse(dpc, ei, l, l, l, false)),
                ["data_processing_context"],
                "{dpc}"
            );
        }
        for ei in [0.0, 0.3, 1.25, -0.25] {
            assert_eq!(
                fields(SeverityInputs::parse(2.0, ei, l, l, l, false)),
                ["ease_of_identification"],
                "{ei}"
            );
        }
        assert_eq!(
            fields(SeverityInputs::parse(5.0, 0.0, None, l, None, false)),
            [
                "data_processing_context",
                "ease_of_identification",
                "confidentiality",
                "availability"
            ]
        );
    }
}
