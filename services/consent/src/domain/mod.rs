//! Rules of the consent domain. No sqlx, tonic or tokio here.

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

mod consent;
mod decision;
mod purpose;
mod records;
mod settings;

pub use consent::{
    CaptureMethod, ConsentAction, ConsentCapture, ConsentId, GiverRole, NewConsent, NoticeShown,
};
pub use decision::{
    ConsentState, Decision, ObjectionState, PersonState, PurposeRules, Reason, Record,
    RestrictionState, TenantRules, decide,
};
pub use purpose::{
    Audience, LawfulBasis, NewPurpose, Purpose, PurposeId, PurposeInput, RecognisedCondition,
    RestrictionExemption, SpecialCategoryCondition,
};
pub use records::{
    AcknowledgementId, AuthoriserRole, DisclosureId, DisclosureInput, NewDisclosure, NewNotice,
    NewObjection, NewRestriction, NoticeId, ObjectionId, ObjectionKind, RestrictionGround,
    RestrictionId, check_grounds, check_person_id, check_told_time,
};
pub use settings::{Jurisdiction, Settings};

/// Most characters in a person id.
pub const MAX_PERSON_ID: usize = 200;

/// A required, bounded text field: trimmed, non-empty unless `optional`, at most `max` characters.
fn text(
    v: &mut dps_types::Violations,
    field: &str,
    value: &str,
    max: usize,
    optional: bool,
) -> String {
    let value = value.trim();
    if !optional && value.is_empty() {
        v.add(field, "required");
    }
    if value.chars().count() > max {
        v.add(field, format!("at most {max} characters"));
    }
    value.to_owned()
}
