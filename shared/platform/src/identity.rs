//! The verified caller's identity, sealed by the gateway for the backends (issue 9 §3).
//!
//! The gateway writes the tenant, caller and roles into `x-dps-*` metadata and adds
//! `x-dps-identity: v1.<expiry>.<tag>`, an HMAC-SHA256 over those values and the expiry, under a
//! key the gateway and the services share (`DPS_IDENTITY_KEYS`). A pod inside the cluster that
//! can reach a backend cannot forge an identity without the key, and a captured header is useless
//! after its expiry. HMAC rather than a signature: verification runs on every processing check,
//! where a microsecond matters; the price is that a service holding the key could mint
//! identities too, so the key is only ever given to the suite's own services.
//!
//! The keys a process trusts are process-wide ([`trust`]): the first signs, all verify, so keys
//! rotate by adding the new one second, then first, then removing the old one.

use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// Metadata key of the identity seal.
pub const IDENTITY_HEADER: &str = "x-dps-identity";

/// How long a seal is valid after the gateway makes it.
pub const LIFETIME_SECONDS: i64 = 300;

/// A shared identity key: 32 random bytes.
#[derive(Clone)]
pub struct IdentityKey([u8; 32]);

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKey(..)")
    }
}

impl IdentityKey {
    /// The key from its raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A new random key (development, tests, the all-in-one binary).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        Self(bytes)
    }

    /// Parses one base64 key of 32 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    /// The key in base64, as `DPS_IDENTITY_KEYS` takes it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// The MAC over length-prefixed fields and the expiry, ready to finalise or verify.
    fn mac(&self, tenant: &str, caller: &str, roles: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("any key length works");
        for part in [tenant, caller, roles] {
            mac.update(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.update(&expires.to_be_bytes());
        mac
    }

    fn tag(&self, tenant: &str, caller: &str, roles: &str, expires: i64) -> [u8; 32] {
        self.mac(tenant, caller, roles, expires)
            .finalize()
            .into_bytes()
            .into()
    }
}

/// Parses `DPS_IDENTITY_KEYS`: base64 keys, comma-separated, the signing key first.
pub fn parse_keys(text: &str) -> Option<Vec<IdentityKey>> {
    let keys: Option<Vec<IdentityKey>> = text
        .split(',')
        .filter(|k| !k.trim().is_empty())
        .map(IdentityKey::parse)
        .collect();
    keys.filter(|k| !k.is_empty())
}

static TRUSTED: RwLock<Vec<IdentityKey>> = RwLock::new(Vec::new());

/// Adds `key` to the keys this process trusts (the first one added also seals).
pub fn trust(key: IdentityKey) {
    let mut keys = TRUSTED.write().unwrap_or_else(|e| e.into_inner());
    if !keys.iter().any(|k| k.0 == key.0) {
        keys.push(key);
    }
}

/// The key this process seals with, trusting a new random one first if it has none (one
/// process holding both the gateway and the services, development, tests).
pub fn ensure_key() -> IdentityKey {
    let mut keys = TRUSTED.write().unwrap_or_else(|e| e.into_inner());
    if keys.is_empty() {
        keys.push(IdentityKey::generate());
    }
    keys[0].clone()
}

/// The seal of an identity at `now` (Unix seconds), with the process's signing key; `None` when
/// the process trusts no key.
pub fn seal(tenant: &str, caller: &str, roles: &str, now: i64) -> Option<String> {
    let keys = TRUSTED.read().unwrap_or_else(|e| e.into_inner());
    let key = keys.first()?;
    let expires = now + LIFETIME_SECONDS;
    let tag = key.tag(tenant, caller, roles, expires);
    Some(format!("v1.{expires}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

/// Whether `seal` proves this identity at `now` under a trusted key.
pub fn verify(tenant: &str, caller: &str, roles: &str, seal: &str, now: i64) -> bool {
    let mut parts = seal.splitn(3, '.');
    let (Some("v1"), Some(expires), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    // Expired, or claiming a longer life than the gateway ever gives.
    if expires < now || expires > now + LIFETIME_SECONDS + 60 {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    let keys = TRUSTED.read().unwrap_or_else(|e| e.into_inner());
    // `verify_slice` compares in constant time.
    keys.iter().any(|key| {
        key.mac(tenant, caller, roles, expires)
            .verify_slice(&tag)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_proves_exactly_its_identity_until_it_expires() {
        trust(IdentityKey::from_bytes([3; 32]));
        let now = 1_796_000_000;
        let seal = seal("acme-north", "jane", "dpo", now).expect("a key is trusted");
        assert!(verify("acme-north", "jane", "dpo", &seal, now));
        assert!(verify(
            "acme-north",
            "jane",
            "dpo",
            &seal,
            now + LIFETIME_SECONDS
        ));
        assert!(!verify(
            "acme-north",
            "jane",
            "dpo",
            &seal,
            now + LIFETIME_SECONDS + 1
        ));
        assert!(
            !verify("acme-south", "jane", "dpo", &seal, now),
            "another tenant"
        );
        assert!(
            !verify("acme-north", "jane", "dpo,staff", &seal, now),
            "more roles"
        );
        assert!(
            !verify("acme-north", "mallory", "dpo", &seal, now),
            "another caller"
        );
        // Field boundaries count: moving a character between fields breaks the seal.
        assert!(!verify("acme-nort", "hjane", "dpo", &seal, now));
        let forged = format!(
            "v1.{}.{}",
            now + 100_000,
            seal.rsplit('.').next().unwrap_or("")
        );
        assert!(!verify("acme-north", "jane", "dpo", &forged, now));
        assert!(!verify("acme-north", "jane", "dpo", "v1.x.y", now));
        let other = IdentityKey::from_bytes([9; 32]);
        let foreign = format!(
            "v1.{}.{}",
            now + 10,
            URL_SAFE_NO_PAD.encode(other.tag("acme-north", "jane", "dpo", now + 10))
        );
        assert!(
            !verify("acme-north", "jane", "dpo", &foreign, now),
            "an untrusted key"
        );
    }

    #[test]
    fn keys_parse_from_base64_lists() {
        let key = IdentityKey::generate();
        let text = format!(
            "{}, {}",
            key.to_base64(),
            IdentityKey::generate().to_base64()
        );
        assert_eq!(parse_keys(&text).map(|k| k.len()), Some(2));
        assert!(parse_keys("").is_none());
        assert!(parse_keys("c2hvcnQ=").is_none(), "not 32 bytes");
    }
}
