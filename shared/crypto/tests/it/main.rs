//! The vault against a real key-store database.

use std::sync::Arc;

use dps_crypto::{
    IdentifierKind, KekId, KeyEncryptionKeys, LocalKeyring, Opened, SecretKey, Vault, VaultError,
    blind::BlindIndexKey,
};
use dps_test_support::TestDb;
use dps_types::TenantId;

fn tenant(slug: &str) -> TenantId {
    TenantId::parse(slug).expect("valid tenant")
}

fn keyring(keys: &[(&str, &SecretKey)]) -> Arc<dyn KeyEncryptionKeys> {
    Arc::new(
        LocalKeyring::new(
            keys.iter()
                .map(|(id, key)| (KekId::parse(id).expect("id"), (*key).clone()))
                .collect(),
        )
        .expect("at least one key"),
    )
}

struct Fixture {
    db: TestDb,
    k1: SecretKey,
    index: BlindIndexKey,
}

impl Fixture {
    async fn new() -> Self {
        Self {
            db: TestDb::new(&[&dps_crypto::MIGRATOR]).await,
            k1: SecretKey::generate(),
            index: BlindIndexKey::new(SecretKey::generate()),
        }
    }

    fn vault(&self, keys: &[(&str, &SecretKey)]) -> Vault {
        Vault::new(self.db.pool().clone(), keyring(keys), self.index.clone())
    }

    fn v1(&self) -> Vault {
        self.vault(&[("k1", &self.k1)])
    }
}

fn values(opened: &[Opened]) -> Vec<Option<&str>> {
    opened.iter().map(Opened::value).collect()
}

#[tokio::test]
async fn sealed_fields_open_to_their_values_and_hold_no_clear_text() {
    let fx = Fixture::new().await;
    let vault = fx.v1();
    let acorn = tenant("acorn-care");
    let sealed = vault
        .seal(
            &acorn,
            "person-1",
            &[("name", "Ada Lovelace"), ("email", "ada@example.org")],
        )
        .await
        .expect("seals");
    for s in &sealed {
        assert!(!s.as_bytes().windows(3).any(|w| w == b"Ada"));
    }
    // The same person's key is reused: one key row.
    vault
        .seal(&acorn, "person-1", &[("name", "A. Lovelace")])
        .await
        .expect("seals");
    let keys: i64 = sqlx::query_scalar("SELECT count(*) FROM keystore.data_keys")
        .fetch_one(fx.db.pool())
        .await
        .expect("counts");
    assert_eq!(keys, 1);
    let opened = vault
        .open(&acorn, &[("name", &sealed[0]), ("email", &sealed[1])])
        .await
        .expect("opens");
    assert_eq!(
        values(&opened),
        [Some("Ada Lovelace"), Some("ada@example.org")]
    );
    assert_eq!(format!("{:?}", opened[0]), "Value(***)");
}

#[tokio::test]
async fn tampered_or_moved_ciphertext_is_rejected() {
    let fx = Fixture::new().await;
    let vault = fx.v1();
    let acorn = tenant("acorn-care");
    let sealed = vault
        .seal(&acorn, "person-1", &[("name", "Ada Lovelace")])
        .await
        .expect("seals")
        .remove(0);
    let mut bytes = sealed.clone().into_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(
        vault.open(&acorn, &[("name", &bytes.into())]).await,
        Err(VaultError::Tampered { .. })
    ));
    // Copied into another column: the field name is bound in.
    assert!(matches!(
        vault.open(&acorn, &[("address", &sealed)]).await,
        Err(VaultError::Tampered { .. })
    ));
    assert!(matches!(
        vault
            .open(&acorn, &[("name", &b"junk".to_vec().into())])
            .await,
        Err(VaultError::Malformed)
    ));
}

#[tokio::test]
async fn another_tenant_cannot_use_a_persons_key() {
    let fx = Fixture::new().await;
    let vault = fx.v1();
    let (acorn, birch) = (tenant("acorn-care"), tenant("birch-homes"));
    let sealed = vault
        .seal(&acorn, "person-1", &[("name", "Ada Lovelace")])
        .await
        .expect("seals")
        .remove(0);
    // Asked in another tenant, the key is simply not there.
    assert_eq!(
        vault
            .open(&birch, &[("name", &sealed)])
            .await
            .expect("opens"),
        [Opened::Erased]
    );
    // Even a wrapped key moved into the other tenant by hand does not unwrap there.
    let admin = sqlx::PgPool::connect(fx.db.admin_url().expose())
        .await
        .expect("admin");
    sqlx::query("UPDATE keystore.data_keys SET tenant_id = 'birch-homes'")
        .execute(&admin)
        .await
        .expect("moves");
    assert!(matches!(
        vault.open(&birch, &[("name", &sealed)]).await,
        Err(VaultError::Tampered { .. })
    ));
}

#[tokio::test]
async fn rotating_the_kek_keeps_old_data_readable_and_rewrap_moves_every_key() {
    let fx = Fixture::new().await;
    let acorn = tenant("acorn-care");
    let old = fx
        .v1()
        .seal(&acorn, "person-1", &[("name", "Ada Lovelace")])
        .await
        .expect("seals")
        .remove(0);
    let k2 = SecretKey::generate();
    let rotated = fx.vault(&[("k1", &fx.k1), ("k2", &k2)]);
    // New people get keys under k2; old data still opens.
    let new = rotated
        .seal(&acorn, "person-2", &[("name", "Grace Hopper")])
        .await
        .expect("seals")
        .remove(0);
    let kek_of = |person: &'static str| {
        sqlx::query_scalar::<_, String>(
            "SELECT kek_id FROM keystore.data_keys WHERE person_id = $1",
        )
        .bind(person)
        .fetch_one(fx.db.pool())
    };
    assert_eq!(kek_of("person-1").await.expect("row"), "k1");
    assert_eq!(kek_of("person-2").await.expect("row"), "k2");
    assert_eq!(
        values(
            &rotated
                .open(&acorn, &[("name", &old)])
                .await
                .expect("opens")
        ),
        [Some("Ada Lovelace")]
    );
    // Re-wrap in batches of one until nothing is left on k1.
    assert_eq!(rotated.rewrap(1).await.expect("rewraps"), 1);
    assert_eq!(rotated.rewrap(1).await.expect("rewraps"), 0);
    assert_eq!(kek_of("person-1").await.expect("row"), "k2");
    // k1 can now be retired: a vault without it opens everything.
    let retired = fx.vault(&[("k2", &k2)]);
    assert_eq!(
        values(
            &retired
                .open(&acorn, &[("name", &old), ("name", &new)])
                .await
                .expect("opens")
        ),
        [Some("Ada Lovelace"), Some("Grace Hopper")]
    );
    // Retiring k1 before the re-wrap would have been caught, not silently read as erased.
    let third = fx
        .v1()
        .seal(&acorn, "person-3", &[("name", "Mary Seacole")])
        .await
        .expect("seals")
        .remove(0);
    assert!(matches!(
        retired.open(&acorn, &[("name", &third)]).await,
        Err(VaultError::UnknownKek(kek)) if kek == "k1"
    ));
}

#[tokio::test]
async fn shredding_erases_a_person_and_only_that_person() {
    let fx = Fixture::new().await;
    let vault = fx.v1();
    let acorn = tenant("acorn-care");
    let ada = vault
        .seal(&acorn, "person-1", &[("name", "Ada Lovelace")])
        .await
        .expect("seals")
        .remove(0);
    let grace = vault
        .seal(&acorn, "person-2", &[("name", "Grace Hopper")])
        .await
        .expect("seals")
        .remove(0);
    vault
        .index(
            &acorn,
            "person-1",
            IdentifierKind::NhsNumber,
            "943 476 5919",
        )
        .await
        .expect("indexes");
    vault
        .index(&acorn, "person-1", IdentifierKind::Email, "ada@example.org")
        .await
        .expect("indexes");
    assert_eq!(
        vault
            .find(&acorn, IdentifierKind::NhsNumber, "9434765919")
            .await
            .expect("finds"),
        ["person-1"]
    );

    let report = vault
        .shred(&acorn, "person-1", "dpo@acorn")
        .await
        .expect("shreds");
    assert_eq!(report.key_ids, [ada.key_id().expect("key id")]);
    assert_eq!(report.blind_index_entries, 2);
    assert_eq!(
        report.backups_clear_by - report.shredded_at,
        Vault::DEFAULT_BACKUP_RETENTION
    );

    // Listing still works: the erased field is a marker, not an error.
    assert_eq!(
        vault
            .open(&acorn, &[("name", &ada), ("name", &grace)])
            .await
            .expect("opens"),
        [
            Opened::Erased,
            Opened::Value("Grace Hopper".to_owned().into())
        ]
    );
    assert!(
        vault
            .find(&acorn, IdentifierKind::NhsNumber, "9434765919")
            .await
            .expect("finds")
            .is_empty()
    );
    // Evidence of the erasure stays, append-only for the runtime role.
    let recorded: i64 = sqlx::query_scalar("SELECT count(*) FROM keystore.shreds")
        .fetch_one(fx.db.pool())
        .await
        .expect("counts");
    assert_eq!(recorded, 1);
    assert!(
        sqlx::query("DELETE FROM keystore.shreds")
            .execute(fx.db.pool())
            .await
            .is_err()
    );
    // Shredding again destroys nothing more.
    let again = vault
        .shred(&acorn, "person-1", "dpo@acorn")
        .await
        .expect("shreds");
    assert!(again.key_ids.is_empty());
    // New data about the same person gets a new key and is readable.
    let later = vault
        .seal(&acorn, "person-1", &[("name", "Ada L.")])
        .await
        .expect("seals")
        .remove(0);
    assert_ne!(later.key_id(), ada.key_id());
}

#[tokio::test]
async fn bad_identifiers_and_people_are_refused_before_anything_is_stored() {
    let fx = Fixture::new().await;
    let vault = fx.v1();
    let acorn = tenant("acorn-care");
    assert!(matches!(
        vault
            .index(&acorn, "person-1", IdentifierKind::NhsNumber, "1234567890")
            .await,
        Err(VaultError::InvalidIdentifier(_))
    ));
    assert!(matches!(
        vault.seal(&acorn, "", &[("name", "x")]).await,
        Err(VaultError::InvalidPerson)
    ));
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM keystore.blind_index) + (SELECT count(*) FROM keystore.data_keys)",
    )
    .fetch_one(fx.db.pool())
    .await
    .expect("counts");
    assert_eq!(rows, 0);
}
