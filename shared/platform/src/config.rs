//! Configuration from environment variables, all prefixed `DPS_` except the standard ones
//! (`DATABASE_URL`, `RUST_LOG`, `OTEL_*`). Parsed from a map so tests pass their own.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use dps_types::Masked;

use crate::db::DbConfig;
use crate::keystore::KeystoreConfig;
use crate::telemetry::TelemetryConfig;

/// A variable that is missing or cannot be used. Printed to the operator as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {var}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// A new error about `var`.
    pub fn new(var: &str, reason: impl Into<String>) -> Self {
        Self {
            var: var.to_owned(),
            reason: reason.into(),
        }
    }
}

/// A snapshot of environment variables. Empty values count as unset.
#[derive(Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be secrets (database passwords): show only the names.
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    /// The given pairs only (tests).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Sets a variable, replacing any earlier value.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), value.into());
    }

    /// The value of `key`, if set and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// Parses `key`, or returns `default` when unset.
    pub fn parse_or<T: FromStr>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e| ConfigError::new(key, format!("cannot parse {raw:?}: {e}"))),
        }
    }

    /// A boolean flag (`true`/`false`, `1`/`0`, `yes`/`no`), or `default` when unset.
    pub fn flag_or(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["true", "1", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["false", "0", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(ConfigError::new(
                key,
                format!("expected true or false, got {v:?}"),
            )),
        }
    }

    /// A duration in milliseconds, or `default` when unset. Zero is refused.
    pub fn millis_or(&self, key: &str, default: Duration) -> Result<Duration, ConfigError> {
        let ms: u64 = self.parse_or(key, u64::try_from(default.as_millis()).unwrap_or(u64::MAX))?;
        if ms == 0 {
            return Err(ConfigError::new(key, "must be greater than zero"));
        }
        Ok(Duration::from_millis(ms))
    }
}

/// What every backend service reads from its environment.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `DPS_LISTEN_ADDR` | `0.0.0.0:50051` | gRPC listen address |
/// | `DPS_DATABASE_URL` or `DATABASE_URL` | required | runtime role: neither superuser nor table owner |
/// | `DPS_MIGRATION_DATABASE_URL` | the runtime URL | schema owner, used only to migrate |
/// | `DPS_MIGRATE_ON_START` | `true` | apply pending migrations before serving |
/// | see [`DbConfig::from_env`] and [`TelemetryConfig::from_env`] | | pool and telemetry |
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Where the gRPC server listens.
    pub listen_addr: SocketAddr,
    /// The runtime connection pool.
    pub database: DbConfig,
    /// The schema owner's URL, for migrations.
    pub migration_url: Masked<String>,
    /// Whether to migrate before serving.
    pub migrate_on_start: bool,
    /// The key store and key file (see [`crate::keystore`]).
    pub keystore: KeystoreConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
    /// Keys that seal the gateway's verified identities (`DPS_IDENTITY_KEYS`: base64, comma-
    /// separated, the sealing key first).
    pub identity_keys: Vec<crate::identity::IdentityKey>,
}

/// Reads `DPS_IDENTITY_KEYS` (base64 keys of 32 bytes, comma-separated, the sealing key
/// first); an empty list when unset, an error when malformed.
pub fn identity_keys(env: &Env) -> Result<Vec<crate::identity::IdentityKey>, ConfigError> {
    match env.get("DPS_IDENTITY_KEYS") {
        None => Ok(Vec::new()),
        Some(text) => crate::identity::parse_keys(text).ok_or_else(|| {
            ConfigError::new(
                "DPS_IDENTITY_KEYS",
                "expected base64 keys of 32 bytes, comma-separated (`openssl rand -base64 32`)",
            )
        }),
    }
}

/// Why a server without identity keys refuses to start.
pub const IDENTITY_KEYS_REQUIRED: &str = "DPS_IDENTITY_KEYS: required to serve: the key shared with the gateway that seals each caller's identity (32 random bytes in base64; `openssl rand -base64 32`)";

impl ServiceConfig {
    /// Reads the configuration of a backend service.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let database = DbConfig::from_env(env)?;
        let migration_url = match env.get("DPS_MIGRATION_DATABASE_URL") {
            Some(url) => Masked::new(url.to_owned()),
            None => database.url.clone(),
        };
        Ok(Self {
            listen_addr: env
                .parse_or("DPS_LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 50051)))?,
            keystore: KeystoreConfig::from_env(env, &database)?,
            database,
            migration_url,
            migrate_on_start: env.flag_or("DPS_MIGRATE_ON_START", true)?,
            telemetry: TelemetryConfig::from_env(env)?,
            identity_keys: identity_keys(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_only_the_database_is_given() {
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://app@db/dps"),
            ("DPS_KEYSTORE_DATABASE_URL", "postgres://app@keys/dps_keys"),
            ("DPS_KEY_FILE", "/etc/dps/keys"),
            (
                "DPS_IDENTITY_KEYS",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ]);
        let cfg = ServiceConfig::from_env(&env).expect("valid");
        assert_eq!(cfg.identity_keys.len(), 1);
        assert_eq!(
            cfg.keystore.database.url.expose(),
            "postgres://app@keys/dps_keys"
        );
        assert_eq!(cfg.keystore.backup_retention, time::Duration::days(7));
        assert_eq!(cfg.listen_addr, "0.0.0.0:50051".parse().expect("addr"));
        assert_eq!(cfg.migration_url.expose(), "postgres://app@db/dps");
        assert!(cfg.migrate_on_start);
    }

    #[test]
    fn a_missing_database_url_names_the_variable() {
        let err = ServiceConfig::from_env(&Env::default()).expect_err("must fail");
        assert_eq!(err.var, "DPS_DATABASE_URL");
        let env = Env::from_pairs([("DATABASE_URL", "postgres://x/y")]);
        let err = ServiceConfig::from_env(&env).expect_err("must fail");
        assert_eq!(err.var, "DPS_KEYSTORE_DATABASE_URL");
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://x/y"),
            ("DPS_KEYSTORE_DATABASE_URL", "postgres://x/k"),
            ("DPS_KEY_FILE", "keys"),
        ]);
        let no_key = ServiceConfig::from_env(&env).expect("migrations need no identity key");
        assert!(no_key.identity_keys.is_empty());
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://x/y"),
            ("DPS_KEYSTORE_DATABASE_URL", "postgres://x/k"),
            ("DPS_KEY_FILE", "keys"),
            ("DPS_IDENTITY_KEYS", "short"),
        ]);
        let err = ServiceConfig::from_env(&env).expect_err("malformed");
        assert_eq!(err.var, "DPS_IDENTITY_KEYS");
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://x/y"),
            ("DPS_KEYSTORE_DATABASE_URL", "postgres://x/k"),
            ("DPS_KEY_FILE", "keys"),
            ("DPS_LISTEN_ADDR", "nowhere"),
        ]);
        let err = ServiceConfig::from_env(&env).expect_err("must fail");
        assert_eq!(err.var, "DPS_LISTEN_ADDR");
        assert!(err.reason.contains("nowhere"), "{err}");
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://x/y"),
            ("DPS_KEYSTORE_DATABASE_URL", "postgres://x/k"),
            ("DPS_KEY_FILE", "keys"),
            ("DPS_MIGRATE_ON_START", "perhaps"),
        ]);
        assert_eq!(
            ServiceConfig::from_env(&env).expect_err("must fail").var,
            "DPS_MIGRATE_ON_START"
        );
    }

    #[test]
    fn debug_output_never_shows_values() {
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("DPS_KEYSTORE_DATABASE_URL", "postgres://u:hunter3@db/k"),
            ("DPS_KEY_FILE", "keys"),
            (
                "DPS_IDENTITY_KEYS",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ]);
        assert!(!format!("{env:?}").contains("hunter2"));
        let cfg = ServiceConfig::from_env(&env).expect("valid");
        assert!(!format!("{cfg:?}").contains("hunter2"));
        assert!(!format!("{cfg:?}").contains("hunter3"));
        assert!(!format!("{cfg:?}").contains("AAECAwQF"));
    }
}
