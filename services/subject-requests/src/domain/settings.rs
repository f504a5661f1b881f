//! The tenant's settings that decide a request's rules: the law, its bank-holiday calendar and
//! the zone its days are counted in (DESIGN §3.1, §4).

use dps_deadlines::{Calendar, Clock, Profile, Zone};

/// The law and calendar a tenant is subject to. The zone follows: Europe/London for the UK,
/// Europe/Jersey for Jersey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jurisdiction {
    /// UK GDPR, England and Wales bank holidays.
    EnglandAndWales,
    /// UK GDPR, Scottish bank holidays; a child of 12 or over is presumed competent (DPA 2018
    /// s208).
    Scotland,
    /// UK GDPR, Northern Ireland bank holidays.
    NorthernIreland,
    /// Data Protection (Jersey) Law 2018: four weeks, extendable by eight (003 §13.1).
    Jersey,
}

impl Jurisdiction {
    /// Every jurisdiction with its stored code.
    pub const ALL: [(Self, &'static str); 4] = [
        (Self::EnglandAndWales, "england_and_wales"),
        (Self::Scotland, "scotland"),
        (Self::NorthernIreland, "northern_ireland"),
        (Self::Jersey, "jersey"),
    ];

    /// Tenants that have not saved settings: most of the group is in England.
    pub const DEFAULT: Self = Self::EnglandAndWales;

    /// The stored code.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(j, _)| *j == self)
            .map_or("", |(_, c)| c)
    }

    /// Parses a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(j, _)| *j)
    }

    /// Whether UK GDPR applies (rather than the Jersey law).
    pub fn is_uk(self) -> bool {
        self != Self::Jersey
    }

    /// The bank holidays that move a UK due date.
    pub fn calendar(self) -> Calendar {
        match self {
            Self::EnglandAndWales => Calendar::EnglandAndWales,
            Self::Scotland => Calendar::Scotland,
            Self::NorthernIreland => Calendar::NorthernIreland,
            Self::Jersey => Calendar::Jersey,
        }
    }

    /// The zone the law's days are counted in.
    pub fn zone(self) -> Zone {
        if self.is_uk() {
            Zone::EuropeLondon
        } else {
            Zone::EuropeJersey
        }
    }

    /// The deadline engine's clock for rights requests under this law.
    pub fn clock(self) -> Clock {
        let profile = if self.is_uk() {
            Profile::uk_gdpr_rights()
        } else {
            Profile::jersey_rights()
        };
        Clock::new(profile, self.calendar(), self.zone())
    }
}

/// A tenant's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantSettings {
    /// The law and calendar.
    pub jurisdiction: Jurisdiction,
    /// 003 §11.4: health data goes out only once a health professional approved it (default).
    pub health_release_needs_approval: bool,
    /// False while the defaults apply.
    pub saved: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            jurisdiction: Jurisdiction::DEFAULT,
            health_release_needs_approval: true,
            saved: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_jersey_counts_in_its_own_zone() {
        for (j, code) in Jurisdiction::ALL {
            assert_eq!(Jurisdiction::from_code(code), Some(j));
        }
        assert_eq!(Jurisdiction::Jersey.zone(), Zone::EuropeJersey);
        assert_eq!(Jurisdiction::Scotland.calendar(), Calendar::Scotland);
        assert!(!Jurisdiction::Jersey.is_uk());
    }
}
