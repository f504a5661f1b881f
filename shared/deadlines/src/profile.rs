//! Jurisdiction profiles: the periods and clock rules of a law, as data.
//!
//! A profile is a list of rule sets, each in force for requests received from a date, because the
//! rules change by statute (UK GDPR Art 12A, inserted by the Data (Use and Access) Act 2025, in
//! force 5 Feb 2026) and a request keeps the rules in force when it was received. A new
//! jurisdiction, or an internal non-statutory target, is a new profile built in code or read from
//! configuration (profiles deserialize from JSON), not a change to the engine.

use serde::{Deserialize, Serialize};
use time::{Date, macros::date};

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// How long a period runs, counted from its first day (the day of receipt is day 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// Calendar months to the corresponding date; when that month has no such date, its last day
    /// (the UK regulator's method: received 3 Sep → 3 Oct).
    Months(u32),
    /// Whole weeks: the same weekday `n` weeks on (DPJL 2018 Art 27: "four weeks").
    Weeks(u32),
    /// A period of `n` days *beginning with* the first day, which is day 1 (DPA 2018 s164A(3):
    /// "the period of 30 days beginning with the day on which the complaint is received").
    DaysBeginningWith(u32),
}

/// When the period starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartRule {
    /// The day the request is received; identity and fee waits do not apply.
    Receipt,
    /// The latest of: receipt of the request, receipt of identity information the controller asked
    /// for, payment of a fee that is due. Each is a restart of the whole period, not a pause
    /// (UK GDPR Art 12A(2); DPJL 2018 Art 27 for Jersey; the ICO's guidance before 2026).
    LatestOfReceiptIdentityFee,
}

/// Whether, and how, a request for clarification stops the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseRule {
    /// Clarification does not stop the clock (Jersey; complaint acknowledgements).
    None,
    /// The period from the day the controller asks to the day it receives the answer, *both days
    /// counted*, does not count (UK GDPR Art 12A(3)–(4): "the period beginning with the day on
    /// which the controller makes the request and ending with the day on which the controller
    /// receives the information").
    BothDaysCounted,
    /// The clock stops for the number of days the person takes to answer: the days between asking
    /// and the answer (the ICO's "stop the clock" guidance of October 2020, used until Art 12A).
    DaysBetween,
}

/// An extension of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The whole extended period, counted from the same start as the first period: "three months
    /// from the original start date" (ICO), not two months from the first due date.
    pub total: Period,
    /// Whether a pause also moves the deadline for telling the person of the extension
    /// (Art 12A(4)(b): yes; before Art 12A the notice was due "within one month of receipt").
    pub pause_moves_notice: bool,
}

/// The rules for requests received on or after `effective_from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    /// The first day of receipt these rules govern.
    #[serde(with = "iso_date")]
    pub effective_from: Date,
    /// The provisions, in words a DPO recognises: the first line of every explanation.
    pub label: String,
    /// False for internal targets, which are labelled as such in every explanation.
    pub statutory: bool,
    /// The period to respond.
    pub period: Period,
    /// When the period starts.
    pub start: StartRule,
    /// Whether clarification stops the clock.
    pub pause: PauseRule,
    /// The one extension allowed, if any.
    pub extension: Option<Extension>,
    /// Whether a final day that is a weekend or bank holiday moves to the next working day. The
    /// UK regulator's method does; the Jersey law and DPA 2018 s164A have no such rule.
    pub roll_forward: bool,
}

/// A named, date-effective list of rule sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// What the clock is for, e.g. "UK GDPR rights request".
    pub name: String,
    /// Rule sets in order of `effective_from`.
    pub rule_sets: Vec<RuleSet>,
}

/// UK GDPR applies in the UK from 25 May 2018 (and so does DPJL 2018 in Jersey).
const GDPR_DAY: Date = date!(2018 - 05 - 25);
/// Data (Use and Access) Act 2025 s76 inserting Art 12A: in force 5 Feb 2026.
pub const ART_12A_IN_FORCE: Date = date!(2026 - 02 - 05);
/// DPA 2018 s164A (complaints to the controller): in force 19 Jun 2026.
pub const S164A_IN_FORCE: Date = date!(2026 - 06 - 19);

impl Profile {
    /// Requests under UK GDPR Arts 15–22D (every right runs on the same period): one month,
    /// extendable once by two further months, rolled to the next working day.
    pub fn uk_gdpr_rights() -> Self {
        let uk = |effective_from, label: &str, pause, pause_moves_notice| RuleSet {
            effective_from,
            label: label.to_owned(),
            statutory: true,
            period: Period::Months(1),
            start: StartRule::LatestOfReceiptIdentityFee,
            pause,
            extension: Some(Extension {
                total: Period::Months(3),
                pause_moves_notice,
            }),
            roll_forward: true,
        };
        Profile {
            name: "UK GDPR rights request".to_owned(),
            rule_sets: vec![
                // Before Art 12A the statute said only "one month of receipt" (Art 12(3)); the
                // restart on identity and fee and the clarification pause came from ICO guidance.
                uk(
                    GDPR_DAY,
                    "UK GDPR Art 12(3) with the ICO's guidance (requests received before 5 Feb 2026)",
                    PauseRule::DaysBetween,
                    false,
                ),
                uk(
                    ART_12A_IN_FORCE,
                    "UK GDPR Art 12(3) and 12A (requests received from 5 Feb 2026)",
                    PauseRule::BothDaysCounted,
                    true,
                ),
            ],
        }
    }

    /// Requests under the Data Protection (Jersey) Law 2018 Art 27 (003 §13.1): four weeks from
    /// receipt, the clock starting once identity is verified, extendable by eight further weeks;
    /// no clarification pause and no next-working-day rule.
    pub fn jersey_rights() -> Self {
        Profile {
            name: "Jersey rights request".to_owned(),
            rule_sets: vec![RuleSet {
                effective_from: GDPR_DAY,
                label: "Data Protection (Jersey) Law 2018 Art 27".to_owned(),
                statutory: true,
                period: Period::Weeks(4),
                start: StartRule::LatestOfReceiptIdentityFee,
                pause: PauseRule::None,
                extension: Some(Extension {
                    total: Period::Weeks(12),
                    pause_moves_notice: false,
                }),
                roll_forward: false,
            }],
        }
    }

    /// Acknowledging a data-protection complaint made to the controller (DPA 2018 s164A(3)):
    /// within 30 days beginning with the day of receipt, not rolled forward.
    pub fn uk_complaint_acknowledgement() -> Self {
        Profile {
            name: "complaint acknowledgement".to_owned(),
            rule_sets: vec![RuleSet {
                effective_from: S164A_IN_FORCE,
                label: "DPA 2018 s164A(3) (complaints received from 19 Jun 2026)".to_owned(),
                statutory: true,
                period: Period::DaysBeginningWith(30),
                start: StartRule::Receipt,
                pause: PauseRule::None,
                extension: None,
                roll_forward: false,
            }],
        }
    }

    /// An internal, non-statutory target of `days` days beginning with receipt, restarting on
    /// identity and fee like the statutory clock, rolled to a working day. The ICO suggests 28 days
    /// where a fixed count is wanted, as it always falls within a calendar month.
    pub fn internal_target(name: &str, days: u32) -> Self {
        Profile {
            name: name.to_owned(),
            rule_sets: vec![RuleSet {
                effective_from: GDPR_DAY,
                label: format!("internal target of {days} days (not statutory)"),
                statutory: false,
                period: Period::DaysBeginningWith(days),
                start: StartRule::LatestOfReceiptIdentityFee,
                pause: PauseRule::BothDaysCounted,
                extension: None,
                roll_forward: true,
            }],
        }
    }

    /// The rule set governing a request received on `received` (a local date): the latest one in
    /// force on that day, or `None` when the profile's rules were not yet in force.
    pub fn rules_for(&self, received: Date) -> Option<&RuleSet> {
        self.rule_sets
            .iter()
            .filter(|set| set.effective_from <= received)
            .max_by_key(|set| set.effective_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_set_is_chosen_by_the_day_of_receipt() {
        let uk = Profile::uk_gdpr_rights();
        let before = uk.rules_for(date!(2026 - 02 - 04)).expect("in force");
        let after = uk.rules_for(date!(2026 - 02 - 05)).expect("in force");
        assert_eq!(before.pause, PauseRule::DaysBetween);
        assert_eq!(after.pause, PauseRule::BothDaysCounted);
        assert!(uk.rules_for(date!(2018 - 05 - 24)).is_none());
        assert!(
            Profile::uk_complaint_acknowledgement()
                .rules_for(date!(2026 - 06 - 18))
                .is_none()
        );
    }

    #[test]
    fn a_profile_is_configuration() {
        let json = r#"{
            "name": "SAR internal target",
            "rule_sets": [{
                "effective_from": "2026-01-01",
                "label": "group policy: 20 days (not statutory)",
                "statutory": false,
                "period": { "days_beginning_with": 20 },
                "start": "latest_of_receipt_identity_fee",
                "pause": "both_days_counted",
                "extension": null,
                "roll_forward": true
            }]
        }"#;
        let profile: Profile = serde_json::from_str(json).expect("valid profile");
        let rules = profile.rules_for(date!(2026 - 03 - 01)).expect("in force");
        assert_eq!(rules.period, Period::DaysBeginningWith(20));
        assert!(!rules.statutory);
        let round_trip: Profile =
            serde_json::from_str(&serde_json::to_string(&profile).expect("serializes"))
                .expect("parses");
        assert_eq!(round_trip, profile);
    }
}
