//! Encryption at rest for personal data, with a key per person so that erasure is permanent even
//! in backups (crypto-shredding; DESIGN §5, issue 4, docs/encryption.md).
//!
//! - [`cipher`]: XChaCha20-Poly1305 sealing with bound context;
//! - [`keys`]: key-encryption keys (the [`KeyEncryptionKeys`] interface a KMS can implement, and
//!   the key-file [`LocalKeyring`]);
//! - [`blind`]: keyed hashes of identifiers for lookups;
//! - [`vault`]: the key store (its own database): seal, open, find, shred, re-wrap.
//!
//! The rule for every service: names, contact details, identifiers, free text and exported
//! payloads about a person are stored only as [`Sealed`] with that person's key; ids, dates,
//! states, kinds and the tenant stay in clear for queries; identifiers are looked up through
//! [`Vault::find`], never stored.

pub mod blind;
pub mod cipher;
pub mod keys;
pub mod vault;

pub use blind::{BlindIndexKey, IdentifierKind, InvalidIdentifier};
pub use cipher::SecretKey;
pub use keys::{KekId, KeyEncryptionKeys, KeyFile, LocalKeyring};
pub use vault::{Opened, Sealed, ShredReport, Vault, VaultError};

/// The key store's migrations (schema `keystore`, in the key-store database).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();
