//! The statutory deadline engine shared by subject requests, complaints and breaches (DESIGN §4).
//!
//! Pure: it depends on a date crate only, does no I/O and reads no clock. So far it holds the
//! building blocks: bank-holiday calendars ([`calendar`]), period counting ([`period`]) and the
//! local date of an instant in a tenant's zone ([`zone`]). Jurisdiction profiles with restarts,
//! pauses, extensions and explanations follow (issue 14).

pub mod calendar;
pub mod period;
pub mod zone;

pub use calendar::Calendar;
pub use zone::Zone;
