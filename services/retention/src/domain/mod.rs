//! Rules of the retention domain (DESIGN §3.3): the rule language, the schedule and its default,
//! record dating, disposal decisions, legal holds and the asset register. No sqlx, tonic or
//! tokio here.

/// Declares an enum stored as a short text code, with its codes.
macro_rules! coded_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored code.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code),+
                }
            }

            /// Parses a stored code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

mod asset;
mod class;
mod disposal;
mod hold;
mod record;
pub mod rule;
mod schedule;

pub use asset::{AssetId, Category, InformationAsset, NewAsset, Transfer};
pub use class::{
    ClassChange, EndAction, MAX_CODE, MAX_DESCRIPTION, MAX_DISPLAY_NAME, NewRecordClass,
    RecordClass, RecordClassId, is_valid_code,
};
pub use disposal::{
    APPROVER_ROLES, CertificateId, Decision, DecisionInput, LATE_AFTER_MONTHS, ReviewId,
    ReviewState, SCHEDULE_ROLES, TaskId, TaskState, has_any_role, outside_schedule,
};
pub use hold::{HoldId, HoldScope, NewHold};
pub use record::{
    Dating, HoldNote, MAX_PERSON_ID, NewRecord, Record, RecordId, RecordInput, RecordState,
    check_event_date, check_person_id, date_record, erasure_verdict, parse_date,
};
pub use rule::{Event, Facts, Rule};
pub use schedule::default_schedule;

/// Most characters in a reason (extension, hold, schedule change).
pub const MAX_REASON: usize = 2000;

/// A required, trimmed, bounded text field.
pub(crate) fn required_text(
    v: &mut dps_types::Violations,
    field: &str,
    value: &str,
    max: usize,
) -> String {
    let value = value.trim();
    if value.is_empty() {
        v.add(field, "required");
    } else if value.chars().count() > max {
        v.add(field, format!("at most {max} characters"));
    }
    value.to_owned()
}
