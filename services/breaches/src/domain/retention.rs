//! Incidents as records of our own work (issue 10, flow 5): once closed by its post-incident
//! review, an incident is kept on the retention schedule like any other record, and the
//! retention service is told so through this service's outbox.

use super::Rejection;

/// What the retention service must learn when an incident is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Register the closed incident as a record of its class.
    RegisterClosedIncident,
}

impl Effect {
    /// Every effect with its stored code.
    pub const ALL: [(Self, &'static str); 1] = [(
        Self::RegisterClosedIncident,
        "retention.register_closed_incident",
    )];

    /// The stored code.
    pub fn code(self) -> &'static str {
        super::code_of(&Self::ALL, self)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(e, _)| *e)
    }
}

/// The system our incidents are registered under in the retention registry.
pub const OWN_SYSTEM: &str = "breaches";

/// The retention class of a closed incident. 003 §19: serious incidents are kept 20 years,
/// others 10 (the default schedule's `serious-incident` and `incident`).
///
/// An incident not yet classified cannot be closed: its retention would be a guess, and a
/// serious one filed as ordinary would be destroyed ten years early.
pub fn record_class(serious: Option<bool>) -> Result<&'static str, Rejection> {
    match serious {
        Some(true) => Ok("serious-incident"),
        Some(false) => Ok("incident"),
        None => Err(Rejection::Precondition(
            "classify the incident before its post-incident review: whether it is serious \
             decides how long it is kept (003 §19)"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serious_incidents_are_kept_as_such_and_unclassified_ones_cannot_close() {
        assert_eq!(record_class(Some(true)).ok(), Some("serious-incident"));
        assert_eq!(record_class(Some(false)).ok(), Some("incident"));
        assert!(matches!(
            record_class(None),
            Err(Rejection::Precondition(_))
        ));
    }

    #[test]
    fn codes_round_trip() {
        for (effect, code) in Effect::ALL {
            assert_eq!(Effect::from_code(code), Some(effect));
            assert_eq!(effect.code(), code);
        }
    }
}
