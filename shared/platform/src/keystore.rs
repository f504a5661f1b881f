//! The key store every service opens at start: the database holding people's wrapped data keys
//! (separate from the service's own, docs/encryption.md) and the key file.
//!
//! | variable | default |
//! |---|---|
//! | `DPS_KEYSTORE_DATABASE_URL` | required: the key-store database, runtime role |
//! | `DPS_KEYSTORE_MIGRATION_DATABASE_URL` | the runtime URL: its schema owner, for migrations |
//! | `DPS_KEY_FILE` | required: root key-encryption keys and the blind-index key |
//! | `DPS_KEYSTORE_BACKUP_RETENTION_DAYS` | 7: how long key-store backups are kept |

use std::path::PathBuf;
use std::sync::Arc;

use dps_crypto::{BlindIndexKey, KeyFile, Vault, VaultError};
use dps_types::Masked;

use crate::config::{ConfigError, Env};
use crate::db::{self, DbConfig};
use crate::error::{ErrorCode, ServiceError};

/// Where the key store and the keys are.
#[derive(Debug, Clone)]
pub struct KeystoreConfig {
    /// The key-store pool (same pool settings as the service's own).
    pub database: DbConfig,
    /// The key-store schema owner's URL.
    pub migration_url: Masked<String>,
    /// The key file.
    pub key_file: PathBuf,
    /// Key-store backup retention, reported with every shred.
    pub backup_retention: time::Duration,
}

impl KeystoreConfig {
    /// Reads the key-store settings; `pool` supplies the pool sizes and timeouts.
    pub fn from_env(env: &Env, pool: &DbConfig) -> Result<Self, ConfigError> {
        let url = env.get("DPS_KEYSTORE_DATABASE_URL").ok_or_else(|| {
            ConfigError::new(
                "DPS_KEYSTORE_DATABASE_URL",
                "not set: people's data keys live in a database of their own, apart from the \
                 service's data and its backups",
            )
        })?;
        let key_file = env.get("DPS_KEY_FILE").ok_or_else(|| {
            ConfigError::new(
                "DPS_KEY_FILE",
                "not set: the file of key-encryption keys (docs/encryption.md)",
            )
        })?;
        let days = env.parse_or("DPS_KEYSTORE_BACKUP_RETENTION_DAYS", 7u16)?;
        let url = Masked::new(url.to_owned());
        Ok(Self {
            migration_url: env
                .get("DPS_KEYSTORE_MIGRATION_DATABASE_URL")
                .map_or_else(|| url.clone(), |u| Masked::new(u.to_owned())),
            database: DbConfig {
                url,
                ..pool.clone()
            },
            key_file: PathBuf::from(key_file),
            backup_retention: time::Duration::days(i64::from(days)),
        })
    }
}

/// The key store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// The key file is missing or wrong.
    #[error("{0} (DPS_KEY_FILE)")]
    KeyFile(#[from] dps_crypto::keys::KeyFileError),
    /// The key-store pool could not connect.
    #[error("key store: {0}")]
    Connect(#[from] db::ConnectError),
}

/// Reads the key file and connects to the migrated key store: the vault services use.
pub async fn open(config: &KeystoreConfig) -> Result<Vault, KeystoreError> {
    let keys = KeyFile::read(&config.key_file)?;
    let pool = db::connect(&config.database).await?;
    Ok(Vault::new(
        pool,
        Arc::new(keys.keyring),
        BlindIndexKey::new(keys.blind_index),
    )
    .with_backup_retention(config.backup_retention))
}

impl ServiceError for VaultError {
    fn code(&self) -> ErrorCode {
        match self {
            VaultError::InvalidIdentifier(_) | VaultError::InvalidPerson => {
                ErrorCode::InvalidArgument
            }
            VaultError::Tampered { .. } | VaultError::Malformed | VaultError::UnknownKek(_) => {
                ErrorCode::Internal
            }
            VaultError::Store(e) => db::classify(e).code(),
        }
    }
}
