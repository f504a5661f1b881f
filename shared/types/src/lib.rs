//! Small domain types every service shares: who is calling (tenant, caller) and a wrapper that
//! keeps secrets and personal data out of logs.
//!
//! No I/O and no transport types here: these are parsed at the edge and passed inward.

use std::fmt;

/// A tenant: one subsidiary of the care group, a data controller in its own right (003: "the
/// manager for each subsidiary company is deemed the Controller"). Every resource belongs to one.
///
/// A slug: 1-63 characters of lowercase ASCII letters, digits and hyphens, starting with a letter
/// or digit, so it is safe in logs, metrics labels and resource names.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// Parses a tenant slug.
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        parse_slug(value).map(|s| Self(s.to_owned()))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The authenticated caller: a person's or a platform's subject (`sub`) from the identity
/// provider. Part of the idempotency key, so two callers never collide on a client request id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CallerId(String);

impl CallerId {
    /// Parses a caller id: 1-255 printable characters without whitespace.
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        let ok = !value.is_empty()
            && value.len() <= 255
            && value.chars().all(|c| {
                c.is_ascii_graphic() || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
            });
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidId)
        }
    }

    /// The subject string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value that is not a valid identifier of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid identifier")]
pub struct InvalidId;

fn parse_slug(value: &str) -> Result<&str, InvalidId> {
    let ok = (1..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok { Ok(value) } else { Err(InvalidId) }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", self.0)
    }
}

impl fmt::Display for CallerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CallerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallerId({})", self.0)
    }
}

/// Personal data or a secret. `Debug` and `Display` print a mask; only [`Masked::expose`], which
/// is easy to grep for, reveals the value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Masked<T>(T);

impl<T> Masked<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Reveals the value. Every call site is a place personal data or a secret leaves the wrapper.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> From<T> for Masked<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Masked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Masked<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_slugs_are_lowercase_letters_digits_and_inner_hyphens() {
        for ok in ["a", "acme-care-north", "home-2", "0"] {
            assert!(TenantId::parse(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(64);
        for bad in [
            "",
            "Acme",
            "acme_care",
            "-acme",
            "acme-",
            "acme care",
            "acme/../b",
            long.as_str(),
        ] {
            assert_eq!(TenantId::parse(bad), Err(InvalidId), "{bad}");
        }
    }

    #[test]
    fn caller_ids_refuse_empty_whitespace_and_control_characters() {
        assert!(CallerId::parse("hr-platform@acme").is_ok());
        assert!(CallerId::parse("0b8e1c2a-1f2d-4e0b-9c1a-3d2e1f0a9b8c").is_ok());
        for bad in ["", "a b", "a\nb", "\u{7f}"] {
            assert!(CallerId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn masked_values_never_print() {
        let secret = Masked::new("NHS 943 476 5919".to_owned());
        assert_eq!(format!("{secret:?} {secret}"), "*** ***");
        assert_eq!(secret.expose(), "NHS 943 476 5919");
    }
}

/// One rule a request broke, naming the field in the request message (e.g.
/// `purpose.display_name`) and saying in plain words what is wrong. Becomes a `google.rpc`
/// `BadRequest` field violation at the gRPC edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Dotted path of the field in the request message.
    pub field: String,
    /// What rule the value breaks.
    pub description: String,
}

/// Collects every field violation of a request, so the caller learns of all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records a violation of `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, description: &str) {
        if !ok {
            self.add(field, description);
        }
    }

    /// `Ok(value)` when nothing was recorded, else every violation.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldViolation>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// Prefixes each violation's field with the path of the message it sits in, e.g. `purpose`.
pub fn prefixed(
    path: &str,
    violations: Vec<FieldViolation>,
) -> impl Iterator<Item = FieldViolation> + use<'_> {
    violations.into_iter().map(move |v| FieldViolation {
        field: format!("{path}.{}", v.field),
        ..v
    })
}

/// One line listing every violation, for the status message: `purpose.display_name: required`.
pub fn describe_violations(violations: &[FieldViolation]) -> String {
    let parts: Vec<String> = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect();
    format!("invalid request: {}", parts.join("; "))
}

#[doc(hidden)]
pub use uuid as __uuid;

/// Declares the id of a resource collection: a newtype over a time-ordered UUID (v7) whose
/// resource name is `{collection}/{uuid}` (AIP-122), so ids of different resources cannot be
/// swapped.
///
/// ```
/// dps_types::resource_id!(
///     /// Identifies a purpose within its tenant.
///     PurposeId, "purposes"
/// );
/// let id = PurposeId::generate();
/// assert_eq!(PurposeId::parse_name(&id.to_string()), Some(id));
/// assert_eq!(PurposeId::parse_name("incidents/0193f1a4-7b1e-7c3a-9d2e-4f5a6b7c8d9e"), None);
/// ```
#[macro_export]
macro_rules! resource_id {
    ($(#[$meta:meta])* $name:ident, $collection:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name($crate::__uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn generate() -> Self {
                Self($crate::__uuid::Uuid::now_v7())
            }

            /// Wraps a stored id.
            pub fn from_uuid(id: $crate::__uuid::Uuid) -> Self {
                Self(id)
            }

            /// The UUID.
            pub fn as_uuid(&self) -> $crate::__uuid::Uuid {
                self.0
            }

            #[doc = concat!("Parses a resource name `", $collection, "/{uuid}`.")]
            pub fn parse_name(name: &str) -> Option<Self> {
                name.strip_prefix(concat!($collection, "/"))
                    .and_then(|id| $crate::__uuid::Uuid::parse_str(id).ok())
                    .map(Self)
            }
        }

        impl ::std::fmt::Display for $name {
            /// The resource name.
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, concat!($collection, "/{}"), self.0)
            }
        }
    };
}

/// The optional client-chosen id that makes a create idempotent (AIP-155): empty means none,
/// anything else must be a UUID.
pub fn parse_request_id(raw: &str) -> Result<Option<uuid::Uuid>, FieldViolation> {
    if raw.is_empty() {
        return Ok(None);
    }
    uuid::Uuid::parse_str(raw)
        .map(Some)
        .map_err(|_| FieldViolation {
            field: "request_id".into(),
            description: "must be a UUID".into(),
        })
}

/// Keeps the first violation of each field: when a converter has already reported a field (an
/// unknown enum value, a timestamp out of range), the domain's "required" for the same field adds
/// nothing.
pub fn first_per_field(mut violations: Vec<FieldViolation>) -> Vec<FieldViolation> {
    let mut seen = std::collections::HashSet::new();
    violations.retain(|v| seen.insert(v.field.clone()));
    violations
}
