//! The statutory deadline engine shared by subject requests, complaints and breaches (DESIGN §4).
//!
//! Pure: it depends on a date crate only, does no I/O and reads no clock. So far it holds the
//! bank-holiday calendars that decide working days; periods, restarts, pauses and extensions
//! follow (issue 14).

pub mod calendar;

pub use calendar::Calendar;
