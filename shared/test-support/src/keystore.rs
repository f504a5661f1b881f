//! A key store for tests: its own fresh database (as in production, apart from the service's)
//! and random keys.

use std::sync::Arc;

use dps_crypto::{BlindIndexKey, KekId, LocalKeyring, SecretKey, Vault};

use crate::TestDb;

/// A migrated key-store database and a vault on it with fresh random keys.
#[derive(Debug)]
pub struct TestKeystore {
    db: TestDb,
    vault: Vault,
}

impl TestKeystore {
    /// A fresh key store.
    pub async fn new() -> Self {
        let db = TestDb::new(&[&dps_crypto::MIGRATOR]).await;
        let keyring = LocalKeyring::new(vec![(
            KekId::parse("test").expect("valid id"),
            SecretKey::generate(),
        )])
        .expect("one key");
        let vault = Vault::new(
            db.pool().clone(),
            Arc::new(keyring),
            BlindIndexKey::new(SecretKey::generate()),
        );
        Self { db, vault }
    }

    /// The vault services are given.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The key-store database.
    pub fn db(&self) -> &TestDb {
        &self.db
    }
}

/// A key file with fresh random keys in the temp directory, deleted when dropped: what a service
/// binary or the suite reads through `DPS_KEY_FILE`.
#[derive(Debug)]
pub struct TestKeyFile(std::path::PathBuf);

impl TestKeyFile {
    /// Writes a new key file.
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("dps-test-keys-{}", uuid::Uuid::new_v4()));
        let kek = KekId::parse("test").expect("valid id");
        std::fs::write(&path, dps_crypto::KeyFile::generate(&kek)).expect("writes the key file");
        Self(path)
    }

    /// Where it is.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Default for TestKeyFile {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestKeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
