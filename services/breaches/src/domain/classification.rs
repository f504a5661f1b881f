//! Classifying an incident: a personal-data breach or not, serious or not, and which security
//! property was lost (001: "a security incident that has affected the confidentiality, integrity
//! or availability of personal data").

use dps_types::{FieldViolation, Violations};

use super::{Rejection, code_of, from_code};

/// Which security property was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BreachKind {
    /// Disclosed or accessed without authority.
    Confidentiality,
    /// Altered without authority.
    Integrity,
    /// Lost, destroyed or made unavailable.
    Availability,
}

impl BreachKind {
    /// Every kind with its stored code.
    pub const ALL: [(Self, &'static str); 3] = [
        (Self::Confidentiality, "confidentiality"),
        (Self::Integrity, "integrity"),
        (Self::Availability, "availability"),
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

/// A classification, valid by construction: a breach has at least one kind, an incident that is
/// not a breach has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    personal_data_breach: bool,
    serious: bool,
    kinds: Vec<BreachKind>,
}

impl Classification {
    /// Checks a classification (field names relative to the classification message). Kinds are
    /// kept once each, in a fixed order.
    pub fn parse(
        personal_data_breach: bool,
        serious: bool,
        mut kinds: Vec<BreachKind>,
    ) -> Result<Self, Vec<FieldViolation>> {
        kinds.sort();
        kinds.dedup();
        let mut v = Violations::new();
        if personal_data_breach {
            v.check(
                !kinds.is_empty(),
                "kinds",
                "at least one for a personal-data breach",
            );
        } else {
            v.check(kinds.is_empty(), "kinds", "only for a personal-data breach");
        }
        v.finish(Self {
            personal_data_breach,
            serious,
            kinds,
        })
    }

    /// A personal-data breach.
    pub fn personal_data_breach(&self) -> bool {
        self.personal_data_breach
    }

    /// Serious (kept 20 years rather than 10, 003 §19).
    pub fn serious(&self) -> bool {
        self.serious
    }

    /// The kinds.
    pub fn kinds(&self) -> &[BreachKind] {
        &self.kinds
    }

    /// Whether the incident may be reclassified as `self`: once the regulator has been told of a
    /// breach, it stays a breach (003 §12.1.1: every breach stays on the register).
    pub fn check_change(&self, was_breach: bool, reported: bool) -> Result<(), Rejection> {
        if was_breach && reported && !self.personal_data_breach {
            return Err(Rejection::Precondition(
                "the regulator has been told of this breach: it stays a personal-data breach"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breach_has_kinds_and_other_incidents_none() {
        let c = Classification::parse(
            true,
            false,
            vec![
                BreachKind::Availability,
                BreachKind::Confidentiality,
                BreachKind::Availability,
            ],
        )
        .expect("valid");
        assert_eq!(
            c.kinds(),
            [BreachKind::Confidentiality, BreachKind::Availability]
        );
        assert_eq!(
            Classification::parse(true, true, vec![]).expect_err("no kind")[0].field,
            "kinds"
        );
        assert!(Classification::parse(false, false, vec![BreachKind::Integrity]).is_err());
        assert!(Classification::parse(false, true, vec![]).is_ok());
    }

    #[test]
    fn a_reported_breach_stays_a_breach() {
        let not_breach = Classification::parse(false, false, vec![]).expect("valid");
        assert!(not_breach.check_change(true, false).is_ok());
        assert!(matches!(
            not_breach.check_change(true, true),
            Err(Rejection::Precondition(_))
        ));
    }
}
