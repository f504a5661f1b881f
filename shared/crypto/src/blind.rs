//! Blind indexes: a keyed hash of an identifier, so a service can find a person by NHS number or
//! email without storing either. Each tenant has its own index key (derived from the root), so the
//! same NHS number hashes differently in two subsidiaries. Identifiers are normalised first, so
//! "943 476 5919" and "9434765919" find the same person.

use dps_types::TenantId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::cipher::SecretKey;
use crate::keys::derive;

/// The kinds of identifier a person can be looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierKind {
    /// NHS number (England, Wales, Isle of Man): 10 digits, modulus-11 check digit. Scotland's CHI
    /// number is 10 digits too, with a different check; it is [`IdentifierKind::Reference`].
    NhsNumber,
    /// Email address, compared case-insensitively.
    Email,
    /// Telephone number, compared on its digits (and a leading `+`).
    Phone,
    /// Any other reference (CHI number, payroll number, care-record id), compared as written
    /// without surrounding spaces.
    Reference,
}

impl IdentifierKind {
    /// Stored beside the hash.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierKind::NhsNumber => "nhs_number",
            IdentifierKind::Email => "email",
            IdentifierKind::Phone => "phone",
            IdentifierKind::Reference => "reference",
        }
    }

    /// The canonical form of `value`, or why it is not an identifier of this kind.
    pub fn normalise(self, value: &str) -> Result<String, InvalidIdentifier> {
        let value = value.trim();
        let normal = match self {
            IdentifierKind::NhsNumber => {
                let digits: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
                if !valid_nhs_number(&digits) {
                    return Err(InvalidIdentifier(
                        "an NHS number is 10 digits with a valid check digit",
                    ));
                }
                digits
            }
            IdentifierKind::Email => {
                let lower = value.to_lowercase();
                match lower.split_once('@') {
                    Some((local, domain)) if !local.is_empty() && domain.contains('.') => lower,
                    _ => {
                        return Err(InvalidIdentifier(
                            "an email address has a name, @ and a domain",
                        ));
                    }
                }
            }
            IdentifierKind::Phone => {
                let plus = if value.starts_with('+') { "+" } else { "" };
                let digits: String = value.chars().filter(char::is_ascii_digit).collect();
                if !(7..=15).contains(&digits.len())
                    || value
                        .chars()
                        .any(|c| !(c.is_ascii_digit() || " +-()".contains(c)))
                {
                    return Err(InvalidIdentifier(
                        "a telephone number is 7-15 digits, with spaces, dashes or brackets",
                    ));
                }
                format!("{plus}{digits}")
            }
            IdentifierKind::Reference => {
                if value.is_empty() || value.len() > 200 {
                    return Err(InvalidIdentifier("a reference is 1-200 characters"));
                }
                value.to_owned()
            }
        };
        Ok(normal)
    }
}

/// A value that is not an identifier of its kind; says what the kind requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidIdentifier(pub &'static str);

/// NHS number check digit: weights 10 down to 2 on the first nine digits; 11 minus the sum
/// modulo 11 is the tenth digit (11 counts as 0; 10 means no valid number).
fn valid_nhs_number(digits: &str) -> bool {
    let values: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if values.len() != 10 || digits.len() != 10 {
        return false;
    }
    let sum: u32 = values[..9]
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| d * w)
        .sum();
    match 11 - sum % 11 {
        11 => values[9] == 0,
        10 => false,
        check => values[9] == check,
    }
}

/// The root key of every tenant's blind-index key.
#[derive(Debug, Clone)]
pub struct BlindIndexKey(SecretKey);

impl BlindIndexKey {
    /// The root key.
    pub fn new(root: SecretKey) -> Self {
        Self(root)
    }

    /// The tenant-scoped keyed hash of an identifier, after normalising it.
    pub fn digest(
        &self,
        tenant: &TenantId,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<[u8; 32], InvalidIdentifier> {
        let normal = zeroize::Zeroizing::new(kind.normalise(value)?);
        let key = derive(&self.0, b"dps.blind-index.v1", tenant.as_str().as_bytes());
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.bytes())
            .expect("HMAC takes a key of any length");
        mac.update(kind.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(normal.as_bytes());
        Ok(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_are_checked_and_normalised() {
        // 943 476 5919: 9×10+4×9+3×8+4×7+7×6+6×5+5×4+9×3+1×2 = 299; 299 mod 11 = 2; 11-2 = 9.
        assert_eq!(
            IdentifierKind::NhsNumber.normalise(" 943 476 5919 "),
            Ok("9434765919".to_owned())
        );
        assert_eq!(
            IdentifierKind::NhsNumber.normalise("943-476-5919"),
            Ok("9434765919".to_owned())
        );
        assert!(IdentifierKind::NhsNumber.normalise("9434765918").is_err());
        assert!(IdentifierKind::NhsNumber.normalise("943476591").is_err());
        assert!(IdentifierKind::NhsNumber.normalise("94347659１9").is_err());
    }

    #[test]
    fn other_kinds_normalise_to_one_form() {
        assert_eq!(
            IdentifierKind::Email.normalise(" Ada@Example.ORG"),
            Ok("ada@example.org".to_owned())
        );
        assert!(IdentifierKind::Email.normalise("ada.example.org").is_err());
        assert_eq!(
            IdentifierKind::Phone.normalise("+44 (0)1534 123-456"),
            Ok("+4401534123456".to_owned())
        );
        assert!(IdentifierKind::Phone.normalise("call me").is_err());
    }

    #[test]
    fn digests_differ_by_tenant_and_kind_and_not_by_spelling() {
        let key = BlindIndexKey::new(SecretKey::generate());
        let acorn = TenantId::parse("acorn-care").expect("valid");
        let birch = TenantId::parse("birch-homes").expect("valid");
        let a = key.digest(&acorn, IdentifierKind::NhsNumber, "943 476 5919");
        assert_eq!(
            a,
            key.digest(&acorn, IdentifierKind::NhsNumber, "9434765919")
        );
        assert_ne!(
            a,
            key.digest(&birch, IdentifierKind::NhsNumber, "9434765919")
        );
        assert_ne!(
            a.expect("valid"),
            key.digest(&acorn, IdentifierKind::Reference, "9434765919")
                .expect("valid")
        );
    }
}
