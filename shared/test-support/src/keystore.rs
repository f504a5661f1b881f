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
