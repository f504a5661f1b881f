//! Key-encryption keys (KEKs): they wrap each person's data key and never touch data themselves.
//!
//! [`KeyEncryptionKeys`] is what a cloud KMS or Vault's transit engine implements later (wrap and
//! unwrap by key id, never revealing the key). [`LocalKeyring`] is the implementation from a key
//! file: root keys by id, the last one current, and each tenant's KEK derived from a root key and
//! the tenant id, so tenants never share a KEK and none has to be configured per tenant.
//!
//! Key file (`DPS_KEY_FILE`, one key per line, `#` comments):
//! ```text
//! kek 2026-11 <base64 of 32 random bytes>     # older keys first; the last kek is current
//! blind-index <base64 of 32 random bytes>     # keys the identifier hashes; never rotated lightly
//! ```

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use dps_types::TenantId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::cipher::{self, KEY_LEN, SecretKey, Tampered};

/// The id of a key-encryption key, recorded with everything it wraps so keys can rotate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KekId(String);

impl KekId {
    /// 1-64 characters of ASCII letters, digits, `.`, `_` and `-`.
    pub fn parse(value: &str) -> Option<Self> {
        let ok = (1..=64).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        ok.then(|| Self(value.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a key could not be unwrapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnwrapError {
    /// The KEK that wrapped the key is not configured (retired too early, or a wrong key file).
    #[error("key-encryption key {0:?} is not configured")]
    UnknownKek(String),
    /// The wrapped key was altered, or belongs to another tenant, person or key id.
    #[error("a wrapped data key failed authentication")]
    Tampered,
}

/// Wraps and unwraps data keys under a tenant's key-encryption key.
///
/// Synchronous: the local keyring is pure computation. A remote KMS implementation keeps a
/// short-lived cache of unwrapped tenant keys or calls its client on a blocking thread.
pub trait KeyEncryptionKeys: Send + Sync + 'static {
    /// The KEK new wraps use.
    fn current(&self) -> &KekId;

    /// Wraps `key` for `tenant` under `kek`, binding `aad` (which person and key it is).
    fn wrap(
        &self,
        tenant: &TenantId,
        kek: &KekId,
        key: &SecretKey,
        aad: &[u8],
    ) -> Result<Vec<u8>, UnwrapError>;

    /// The key [`KeyEncryptionKeys::wrap`] wrapped, checked against `aad`.
    fn unwrap(
        &self,
        tenant: &TenantId,
        kek: &KekId,
        wrapped: &[u8],
        aad: &[u8],
    ) -> Result<SecretKey, UnwrapError>;
}

/// Root keys from a key file; each tenant's KEK is HMAC-SHA256(root, tenant).
pub struct LocalKeyring {
    roots: HashMap<KekId, SecretKey>,
    current: KekId,
}

impl std::fmt::Debug for LocalKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeyring")
            .field("current", &self.current)
            .field("keys", &self.roots.len())
            .finish()
    }
}

impl LocalKeyring {
    /// A keyring of these root keys; the last is current.
    pub fn new(roots: Vec<(KekId, SecretKey)>) -> Option<Self> {
        let current = roots.last()?.0.clone();
        Some(Self {
            roots: roots.into_iter().collect(),
            current,
        })
    }

    fn tenant_kek(&self, tenant: &TenantId, kek: &KekId) -> Result<SecretKey, UnwrapError> {
        let root = self
            .roots
            .get(kek)
            .ok_or_else(|| UnwrapError::UnknownKek(kek.as_str().to_owned()))?;
        Ok(derive(
            root,
            b"dps.tenant-kek.v1",
            tenant.as_str().as_bytes(),
        ))
    }
}

impl KeyEncryptionKeys for LocalKeyring {
    fn current(&self) -> &KekId {
        &self.current
    }

    fn wrap(
        &self,
        tenant: &TenantId,
        kek: &KekId,
        key: &SecretKey,
        aad: &[u8],
    ) -> Result<Vec<u8>, UnwrapError> {
        Ok(cipher::seal(
            &self.tenant_kek(tenant, kek)?,
            aad,
            key.bytes(),
        ))
    }

    fn unwrap(
        &self,
        tenant: &TenantId,
        kek: &KekId,
        wrapped: &[u8],
        aad: &[u8],
    ) -> Result<SecretKey, UnwrapError> {
        let bytes = cipher::open(&self.tenant_kek(tenant, kek)?, aad, wrapped)
            .map_err(|Tampered| UnwrapError::Tampered)?;
        let bytes: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| UnwrapError::Tampered)?;
        Ok(SecretKey::from_bytes(bytes))
    }
}

/// HMAC-SHA256 as a key-derivation function: a distinct key per `label` and `context`.
pub(crate) fn derive(root: &SecretKey, label: &[u8], context: &[u8]) -> SecretKey {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(root.bytes())
        .expect("HMAC takes a key of any length");
    mac.update(label);
    mac.update(&[0]);
    mac.update(context);
    SecretKey::from_bytes(mac.finalize().into_bytes().into())
}

/// Everything read from a key file.
#[derive(Debug)]
pub struct KeyFile {
    /// The root key-encryption keys.
    pub keyring: LocalKeyring,
    /// The blind-index root key.
    pub blind_index: SecretKey,
}

/// What is wrong with a key file; never quotes a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key file {path}: {reason}")]
pub struct KeyFileError {
    path: String,
    reason: String,
}

impl KeyFile {
    /// Reads and checks a key file.
    pub fn read(path: &Path) -> Result<Self, KeyFileError> {
        let fail = |reason: String| KeyFileError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Self::parse(&text).map_err(fail)
    }

    /// Parses the key file format (see the module docs).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut roots = Vec::new();
        let mut blind_index = None;
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = |what: &str| format!("line {}: {what}", number + 1);
            match words[..] {
                [] => {}
                ["kek", id, key] => {
                    let id = KekId::parse(id)
                        .ok_or_else(|| at("a kek id is 1-64 of A-Z a-z 0-9 . _ -"))?;
                    if roots.iter().any(|(known, _)| *known == id) {
                        return Err(at("this kek id appears twice"));
                    }
                    roots.push((id, decode_key(key).map_err(|e| at(&e))?));
                }
                ["blind-index", key] => {
                    if blind_index.is_some() {
                        return Err(at("only one blind-index key"));
                    }
                    blind_index = Some(decode_key(key).map_err(|e| at(&e))?);
                }
                _ => return Err(at("expected `kek <id> <base64>` or `blind-index <base64>`")),
            }
        }
        Ok(Self {
            keyring: LocalKeyring::new(roots).ok_or("no kek line")?,
            blind_index: blind_index.ok_or("no blind-index line")?,
        })
    }

    /// A new key file's text with fresh random keys (development and first install).
    pub fn generate(kek_id: &KekId) -> String {
        let encode = |key: SecretKey| STANDARD.encode(key.bytes());
        format!(
            "# dps key file: keep it secret, back it up apart from the databases.\n\
             kek {} {}\nblind-index {}\n",
            kek_id.as_str(),
            encode(SecretKey::generate()),
            encode(SecretKey::generate())
        )
    }
}

fn decode_key(text: &str) -> Result<SecretKey, String> {
    let bytes = zeroize::Zeroizing::new(
        STANDARD
            .decode(text)
            .map_err(|_| "a key is standard base64".to_owned())?,
    );
    let bytes: [u8; KEY_LEN] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("a key is {KEY_LEN} bytes"))?;
    Ok(SecretKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(slug: &str) -> TenantId {
        TenantId::parse(slug).expect("valid")
    }

    #[test]
    fn a_key_wrapped_for_one_tenant_cannot_be_unwrapped_as_another() {
        let ring = LocalKeyring::new(vec![(
            KekId::parse("k1").expect("id"),
            SecretKey::generate(),
        )])
        .expect("one key");
        let data_key = SecretKey::generate();
        let kek = ring.current().clone();
        let wrapped = ring
            .wrap(&tenant("acorn-care"), &kek, &data_key, b"person-1")
            .expect("wraps");
        let back = ring
            .unwrap(&tenant("acorn-care"), &kek, &wrapped, b"person-1")
            .expect("unwraps");
        assert_eq!(back.bytes(), data_key.bytes());
        assert_eq!(
            ring.unwrap(&tenant("birch-homes"), &kek, &wrapped, b"person-1")
                .map(|_| ()),
            Err(UnwrapError::Tampered)
        );
        assert_eq!(
            ring.unwrap(&tenant("acorn-care"), &kek, &wrapped, b"person-2")
                .map(|_| ()),
            Err(UnwrapError::Tampered)
        );
        assert_eq!(
            ring.unwrap(
                &tenant("acorn-care"),
                &KekId::parse("k0").expect("id"),
                &wrapped,
                b"person-1"
            )
            .map(|_| ()),
            Err(UnwrapError::UnknownKek("k0".to_owned()))
        );
    }

    #[test]
    fn key_files_parse_and_say_what_is_wrong_without_quoting_keys() {
        let text = KeyFile::generate(&KekId::parse("2026-11").expect("id"));
        let file = KeyFile::parse(&text).expect("a generated file parses");
        assert_eq!(file.keyring.current().as_str(), "2026-11");

        let two = format!("{text}kek 2027-05 {}\n", STANDARD.encode([7u8; 32]));
        let file = KeyFile::parse(&two).expect("parses");
        assert_eq!(
            file.keyring.current().as_str(),
            "2027-05",
            "the last kek is current"
        );

        let short = "kek k1 c2hvcnQ=\nblind-index c2hvcnQ=\n";
        let err = KeyFile::parse(short).expect_err("short key");
        assert_eq!(err, "line 1: a key is 32 bytes");
        assert!(!err.contains("c2hvcnQ"));
        assert_eq!(
            KeyFile::parse("blind-index AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
                .expect_err("no kek"),
            "no kek line"
        );
        assert_eq!(
            KeyFile::parse("secret xyz\n").expect_err("unknown line"),
            "line 1: expected `kek <id> <base64>` or `blind-index <base64>`"
        );
    }
}
