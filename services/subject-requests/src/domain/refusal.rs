//! Refusing a request (Art 12(4)-(5); DESIGN §3.1): on a ground, with a reason, within the
//! unextended period, telling the person where they can complain.

use dps_types::{FieldViolation, Violations};
use time::{Date, OffsetDateTime};

use super::MAX_REASON;
use super::Rejection;
use super::clock::check_past_instant;

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalGround {
    /// Manifestly unfounded (Art 12(5)).
    ManifestlyUnfounded,
    /// Manifestly excessive, in particular because repetitive (Art 12(5)).
    ManifestlyExcessive,
    /// An exemption (DPA 2018 Sch 2-4; DPJL Part 7): named in the refusal.
    Exemption,
}

impl RefusalGround {
    /// Every ground with its stored code.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::ManifestlyUnfounded, "manifestly_unfounded"),
        (Self::ManifestlyExcessive, "manifestly_excessive"),
        (Self::Exemption, "exemption"),
    ];

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(g, _)| *g == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(g, _)| *g)
    }
}

/// A refusal, valid by construction: the person was told of all three routes to complain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub ground: RefusalGround,
    /// The reason told to the person.
    pub reason: String,
    /// The exemption relied on, for [`RefusalGround::Exemption`]; empty otherwise.
    pub exemption: String,
    /// When the person was told.
    pub at: OffsetDateTime,
}

/// A refusal's fields as received.
#[derive(Debug, Clone, Copy)]
pub struct RefusalInput<'a> {
    /// `None` when not given.
    pub ground: Option<RefusalGround>,
    /// As given.
    pub reason: &'a str,
    /// As given.
    pub exemption: &'a str,
    /// Told of the right to complain to the controller (DPA 2018 s164A), the regulator, a court.
    pub told: [bool; 3],
    /// When the person was told.
    pub at: Option<OffsetDateTime>,
}

impl Refusal {
    /// Checks a refusal against `now`, reporting every violation at once.
    pub fn parse(
        input: RefusalInput<'_>,
        now: OffsetDateTime,
    ) -> Result<Self, Vec<FieldViolation>> {
        let reason = input.reason.trim();
        let exemption = input.exemption.trim();
        let mut v = Violations::new();
        v.check(
            input.ground.is_some(),
            "ground",
            "required: manifestly unfounded, manifestly excessive, or an exemption",
        );
        v.check(
            !reason.is_empty(),
            "reason",
            "required: a refusal must give the person its reason (Art 12(4))",
        );
        v.check(
            reason.chars().count() <= MAX_REASON,
            "reason",
            "at most 2000 characters",
        );
        if input.ground == Some(RefusalGround::Exemption) {
            v.check(
                !exemption.is_empty(),
                "exemption",
                "required: the exemption relied on",
            );
        }
        v.check(
            exemption.chars().count() <= MAX_REASON,
            "exemption",
            "at most 2000 characters",
        );
        // Art 12(4) and DPA 2018 s164A: every refusal tells the person all three routes.
        for (told, field, whom) in [
            (
                input.told[0],
                "told_right_to_complain_to_controller",
                "to complain to the controller",
            ),
            (
                input.told[1],
                "told_right_to_complain_to_regulator",
                "to complain to the regulator",
            ),
            (
                input.told[2],
                "told_right_to_go_to_court",
                "to seek a judicial remedy",
            ),
        ] {
            v.check(
                told,
                field,
                &format!("the refusal must tell the person of their right {whom}"),
            );
        }
        check_past_instant(&mut v, "refuse_time", input.at, now);
        let (Some(ground), Some(at)) = (input.ground, input.at) else {
            return Err(v.finish(()).err().unwrap_or_default());
        };
        v.finish(Self {
            ground,
            reason: reason.to_owned(),
            exemption: exemption.to_owned(),
            at,
        })
    }

    /// Art 12(4): a refusal is due within the unextended period, even when the request was
    /// extended. `refused_on` is the local day of the refusal.
    pub fn check_in_time(refused_on: Date, refusal_due: Option<Date>) -> Result<(), Rejection> {
        match refusal_due {
            Some(due) if refused_on > due => Err(Rejection::Precondition(format!(
                "a refusal was due by {due} (the unextended period, Art 12(4)); refused on \
                 {refused_on} is too late: the request must be answered"
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-25 09:00 UTC);

    fn input() -> RefusalInput<'static> {
        RefusalInput {
            ground: Some(RefusalGround::ManifestlyExcessive),
            reason: "the fourth identical request this month",
            exemption: "",
            told: [true; 3],
            at: Some(NOW),
        }
    }

    #[test]
    fn a_refusal_needs_a_reason_and_all_three_routes_to_complain() {
        assert!(Refusal::parse(input(), NOW).is_ok());
        let err = Refusal::parse(
            RefusalInput {
                reason: " ",
                told: [true, false, false],
                ..input()
            },
            NOW,
        )
        .expect_err("incomplete");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "reason",
                "told_right_to_complain_to_regulator",
                "told_right_to_go_to_court"
            ]
        );
    }

    #[test]
    fn an_exemption_is_named() {
        let err = Refusal::parse(
            RefusalInput {
                ground: Some(RefusalGround::Exemption),
                ..input()
            },
            NOW,
        )
        .expect_err("unnamed");
        assert_eq!(err[0].field, "exemption");
    }

    #[test]
    fn a_refusal_after_the_unextended_period_is_late() {
        let due = Some(date!(2026 - 04 - 02));
        assert!(Refusal::check_in_time(date!(2026 - 04 - 02), due).is_ok());
        assert!(Refusal::check_in_time(date!(2026 - 04 - 03), due).is_err());
        // The clock has not started (identity awaited): nothing is late yet.
        assert!(Refusal::check_in_time(date!(2026 - 04 - 03), None).is_ok());
    }
}
