//! The statutory deadline engine shared by subject requests, complaints and breaches (DESIGN §4).
//!
//! Pure: it depends on a date crate only, does no I/O and reads no clock. The parts:
//! - [`calendar`]: bank-holiday calendars per jurisdiction, for any year;
//! - [`zone`]: the local date of an instant in a tenant's zone (the law counts local days);
//! - [`period`]: counting months, weeks, days and elapsed hours;
//! - [`profile`]: a law's periods and clock rules as date-effective data;
//! - [`clock`]: a request's events → due, refusal and extension-notice dates, with an explanation;
//! - [`breach`]: the 72-hour clock for reporting a breach.
//!
//! ```
//! use dps_deadlines::{Calendar, Clock, Event, EventKind, Profile, Zone};
//! use time::macros::{date, datetime};
//!
//! let clock = Clock::new(Profile::uk_gdpr_rights(), Calendar::EnglandAndWales, Zone::EuropeLondon);
//! let received = Event::new(datetime!(2025-09-03 10:00 UTC), EventKind::Received);
//! let deadlines = clock.evaluate(&[received]).unwrap();
//! assert_eq!(deadlines.due.unwrap().date, date!(2025 - 10 - 03));
//! ```

pub mod breach;
pub mod calendar;
pub mod clock;
mod explain;
pub mod period;
pub mod profile;
pub mod zone;

pub use breach::BreachClock;
pub use calendar::Calendar;
pub use clock::{Clock, ClockError, Deadlines, Due, Event, EventKind, Status};
pub use profile::{Extension, PauseRule, Period, Profile, RuleSet, StartRule};
pub use zone::Zone;
