//! The vault: seals and opens a person's fields with their data key, finds people by blind index,
//! and shreds a person by destroying their key. Backed by the key store database (never the
//! services' own), as `dps_app`.

use std::collections::HashMap;
use std::sync::Arc;

use dps_types::{Masked, TenantId};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::blind::{BlindIndexKey, IdentifierKind, InvalidIdentifier};
use crate::cipher::{self, SecretKey};
use crate::keys::{KekId, KeyEncryptionKeys, UnwrapError};

/// Version byte of the sealed-field format: version ‖ data-key id (16) ‖ nonce (24) ‖ ciphertext ‖
/// tag (16).
const FIELD_V1: u8 = 1;
const HEADER: usize = 1 + 16;

/// A field value sealed with a person's data key: store it as `bytea`. Carries the id of the key
/// that sealed it, so it can be opened after the person's key or the KEK changed.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(Vec<u8>);

impl Sealed {
    /// Bytes as stored.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The sealed bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The data key that sealed it.
    pub fn key_id(&self) -> Option<Uuid> {
        (self.0.len() > HEADER && self.0[0] == FIELD_V1)
            .then(|| Uuid::from_slice(&self.0[1..HEADER]).ok())
            .flatten()
    }
}

impl From<Vec<u8>> for Sealed {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.0.len())
    }
}

/// An opened field: the value, or the explicit marker that the person was erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The value, masked in logs.
    Value(Masked<String>),
    /// The person's key was shredded: the value is gone for good.
    Erased,
}

impl Opened {
    /// The value, or `None` when erased.
    pub fn value(&self) -> Option<&str> {
        match self {
            Opened::Value(value) => Some(value.expose().as_str()),
            Opened::Erased => None,
        }
    }
}

/// What shredding destroyed, for the DPO's record of the erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShredReport {
    /// The person.
    pub person_id: String,
    /// The data keys destroyed: every field they sealed, in every service and every backup of the
    /// services' data, now reads as erased.
    pub key_ids: Vec<Uuid>,
    /// Blind-index entries deleted.
    pub blind_index_entries: u64,
    /// When.
    pub shredded_at: OffsetDateTime,
    /// When the last key-store backup that still holds the keys expires: erasure is complete
    /// everywhere from then on.
    pub backups_clear_by: OffsetDateTime,
}

/// Why the vault could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// `INVALID_ARGUMENT`: not an identifier of its kind.
    #[error(transparent)]
    InvalidIdentifier(#[from] InvalidIdentifier),
    /// `INVALID_ARGUMENT`: a person reference is 1-200 visible characters.
    #[error("a person reference is 1-200 visible characters")]
    InvalidPerson,
    /// `INTERNAL`: a sealed field or wrapped key failed authentication: altered, or moved between
    /// tenants, people or fields. Never returned as data.
    #[error("sealed data failed authentication (key {key_id})")]
    Tampered {
        /// The data key involved.
        key_id: Uuid,
    },
    /// `INTERNAL`: the bytes are not a sealed field.
    #[error("not a sealed field")]
    Malformed,
    /// `INTERNAL`: a key-encryption key needed to unwrap is not configured.
    #[error("key-encryption key {0:?} is not configured")]
    UnknownKek(String),
    /// `UNAVAILABLE`, `ABORTED` or `INTERNAL` as the platform classifies it: the key store failed.
    #[error("key store: {0}")]
    Store(#[from] sqlx::Error),
}

/// The key store's handle.
#[derive(Clone)]
pub struct Vault {
    pool: PgPool,
    keks: Arc<dyn KeyEncryptionKeys>,
    index: BlindIndexKey,
    backup_retention: Duration,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("current_kek", self.keks.current())
            .finish_non_exhaustive()
    }
}

/// A key-store row.
#[derive(sqlx::FromRow)]
struct KeyRow {
    key_id: Uuid,
    person_id: String,
    kek_id: String,
    wrapped: Vec<u8>,
}

/// A key-store row with its tenant, for the re-wrap job that crosses tenants.
#[derive(sqlx::FromRow)]
struct TenantKeyRow {
    tenant_id: String,
    #[sqlx(flatten)]
    key: KeyRow,
}

impl Vault {
    /// Key-store backups are kept this long unless configured otherwise.
    pub const DEFAULT_BACKUP_RETENTION: Duration = Duration::days(7);

    /// A vault on the key-store pool.
    pub fn new(pool: PgPool, keks: Arc<dyn KeyEncryptionKeys>, index: BlindIndexKey) -> Self {
        Self {
            pool,
            keks,
            index,
            backup_retention: Self::DEFAULT_BACKUP_RETENTION,
        }
    }

    /// How long the key store's own backups are kept (reported with every shred).
    pub fn with_backup_retention(mut self, retention: Duration) -> Self {
        self.backup_retention = retention;
        self
    }

    /// Seals each `(field, plaintext)` about `person` with their data key, creating the key on
    /// first use. `field` names the column, binding the ciphertext to it.
    pub async fn seal(
        &self,
        tenant: &TenantId,
        person: &str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<Sealed>, VaultError> {
        check_person(person)?;
        let (key_id, key) = self.data_key(tenant, person).await?;
        Ok(fields
            .iter()
            .map(|(field, plaintext)| {
                let mut out = Vec::with_capacity(HEADER + cipher::OVERHEAD + plaintext.len());
                out.push(FIELD_V1);
                out.extend_from_slice(key_id.as_bytes());
                out.extend_from_slice(&cipher::seal(
                    &key,
                    &field_aad(tenant, field, key_id),
                    plaintext.as_bytes(),
                ));
                Sealed(out)
            })
            .collect())
    }

    /// Opens sealed fields of any people in `tenant` with one key-store query. A field whose key
    /// was shredded opens as [`Opened::Erased`].
    pub async fn open(
        &self,
        tenant: &TenantId,
        fields: &[(&str, &Sealed)],
    ) -> Result<Vec<Opened>, VaultError> {
        let mut key_ids: Vec<Uuid> = Vec::with_capacity(fields.len());
        for (_, sealed) in fields {
            let key_id = sealed.key_id().ok_or(VaultError::Malformed)?;
            if !key_ids.contains(&key_id) {
                key_ids.push(key_id);
            }
        }
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT key_id, person_id, kek_id, wrapped FROM keystore.data_keys \
             WHERE tenant_id = $1 AND key_id = ANY($2)",
        )
        .bind(tenant.as_str())
        .bind(&key_ids)
        .fetch_all(&self.pool)
        .await?;
        let mut keys: HashMap<Uuid, SecretKey> = HashMap::with_capacity(rows.len());
        for row in rows {
            keys.insert(row.key_id, self.unwrap(tenant, &row)?);
        }
        fields
            .iter()
            .map(|(field, sealed)| {
                let key_id = sealed.key_id().ok_or(VaultError::Malformed)?;
                let Some(key) = keys.get(&key_id) else {
                    return Ok(Opened::Erased);
                };
                let plain = cipher::open(
                    key,
                    &field_aad(tenant, field, key_id),
                    &sealed.as_bytes()[HEADER..],
                )
                .map_err(|_| VaultError::Tampered { key_id })?;
                let text = String::from_utf8(plain.to_vec()).map_err(|_| VaultError::Malformed)?;
                Ok(Opened::Value(Masked::new(text)))
            })
            .collect()
    }

    /// Records that `person` has this identifier, as a keyed hash.
    pub async fn index(
        &self,
        tenant: &TenantId,
        person: &str,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<(), VaultError> {
        check_person(person)?;
        let digest = self.index.digest(tenant, kind, value)?;
        sqlx::query(
            "INSERT INTO keystore.blind_index (tenant_id, kind, digest, person_id) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(kind.as_str())
        .bind(&digest[..])
        .bind(person)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The people in `tenant` with this identifier.
    pub async fn find(
        &self,
        tenant: &TenantId,
        kind: IdentifierKind,
        value: &str,
    ) -> Result<Vec<String>, VaultError> {
        let digest = self.index.digest(tenant, kind, value)?;
        Ok(sqlx::query_scalar(
            "SELECT person_id FROM keystore.blind_index \
             WHERE tenant_id = $1 AND kind = $2 AND digest = $3 ORDER BY person_id",
        )
        .bind(tenant.as_str())
        .bind(kind.as_str())
        .bind(&digest[..])
        .fetch_all(&self.pool)
        .await?)
    }

    /// Destroys `person`'s data key and blind-index entries in `tenant`, and records the shred.
    /// Idempotent: shredding again destroys nothing more and is recorded again.
    pub async fn shred(
        &self,
        tenant: &TenantId,
        person: &str,
        shredded_by: &str,
    ) -> Result<ShredReport, VaultError> {
        check_person(person)?;
        let mut tx = self.pool.begin().await?;
        let key_ids: Vec<Uuid> = sqlx::query_scalar(
            "DELETE FROM keystore.data_keys WHERE tenant_id = $1 AND person_id = $2 \
             RETURNING key_id",
        )
        .bind(tenant.as_str())
        .bind(person)
        .fetch_all(&mut *tx)
        .await?;
        let blind_index_entries =
            sqlx::query("DELETE FROM keystore.blind_index WHERE tenant_id = $1 AND person_id = $2")
                .bind(tenant.as_str())
                .bind(person)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let shredded_at: OffsetDateTime = sqlx::query_scalar(
            "INSERT INTO keystore.shreds \
             (tenant_id, person_id, key_ids, blind_index_entries, shredded_by) \
             VALUES ($1, $2, $3, $4, $5) RETURNING shredded_at",
        )
        .bind(tenant.as_str())
        .bind(person)
        .bind(&key_ids)
        .bind(i32::try_from(blind_index_entries).unwrap_or(i32::MAX))
        .bind(shredded_by)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ShredReport {
            person_id: person.to_owned(),
            key_ids,
            blind_index_entries,
            shredded_at,
            backups_clear_by: shredded_at + self.backup_retention,
        })
    }

    /// Moves up to `batch` data keys wrapped by an older KEK to the current one; returns how many
    /// moved (0 when done). Safe to run from several replicas at once.
    pub async fn rewrap(&self, batch: i64) -> Result<u64, VaultError> {
        let current = self.keks.current().clone();
        let mut tx = self.pool.begin().await?;
        let rows: Vec<TenantKeyRow> = sqlx::query_as(
            "SELECT tenant_id, key_id, person_id, kek_id, wrapped FROM keystore.data_keys \
             WHERE kek_id <> $1 ORDER BY tenant_id, key_id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(current.as_str())
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        let moved = rows.len() as u64;
        for TenantKeyRow {
            tenant_id,
            key: row,
        } in rows
        {
            let tenant = TenantId::parse(&tenant_id).map_err(|_| VaultError::Malformed)?;
            let key = self.unwrap(&tenant, &row)?;
            let wrapped = self
                .keks
                .wrap(
                    &tenant,
                    &current,
                    &key,
                    &key_aad(&tenant, &row.person_id, row.key_id, &current),
                )
                .map_err(unwrap_error(row.key_id))?;
            sqlx::query(
                "UPDATE keystore.data_keys SET kek_id = $3, wrapped = $4 \
                 WHERE tenant_id = $1 AND key_id = $2",
            )
            .bind(tenant.as_str())
            .bind(row.key_id)
            .bind(current.as_str())
            .bind(wrapped)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// The person's data key, created and stored wrapped on first use.
    async fn data_key(
        &self,
        tenant: &TenantId,
        person: &str,
    ) -> Result<(Uuid, SecretKey), VaultError> {
        let select = || {
            sqlx::query_as::<_, KeyRow>(
                "SELECT key_id, person_id, kek_id, wrapped FROM keystore.data_keys \
                 WHERE tenant_id = $1 AND person_id = $2",
            )
            .bind(tenant.as_str())
            .bind(person)
        };
        if let Some(row) = select().fetch_optional(&self.pool).await? {
            return Ok((row.key_id, self.unwrap(tenant, &row)?));
        }
        let key = SecretKey::generate();
        let key_id = Uuid::now_v7();
        let kek = self.keks.current();
        let wrapped = self
            .keks
            .wrap(tenant, kek, &key, &key_aad(tenant, person, key_id, kek))
            .map_err(unwrap_error(key_id))?;
        // Two writers racing for a new person: one insert wins and both use the winner's key.
        let inserted = sqlx::query(
            "INSERT INTO keystore.data_keys (tenant_id, key_id, person_id, kek_id, wrapped) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, person_id) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(key_id)
        .bind(person)
        .bind(kek.as_str())
        .bind(wrapped)
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok((key_id, key));
        }
        let row = select().fetch_one(&self.pool).await?;
        Ok((row.key_id, self.unwrap(tenant, &row)?))
    }

    fn unwrap(&self, tenant: &TenantId, row: &KeyRow) -> Result<SecretKey, VaultError> {
        let kek = KekId::parse(&row.kek_id).ok_or(VaultError::Malformed)?;
        self.keks
            .unwrap(
                tenant,
                &kek,
                &row.wrapped,
                &key_aad(tenant, &row.person_id, row.key_id, &kek),
            )
            .map_err(unwrap_error(row.key_id))
    }
}

fn unwrap_error(key_id: Uuid) -> impl Fn(UnwrapError) -> VaultError {
    move |err| match err {
        UnwrapError::UnknownKek(kek) => VaultError::UnknownKek(kek),
        UnwrapError::Tampered => VaultError::Tampered { key_id },
    }
}

fn check_person(person: &str) -> Result<(), VaultError> {
    let ok = (1..=200).contains(&person.len()) && person.chars().all(|c| !c.is_control());
    if ok {
        Ok(())
    } else {
        Err(VaultError::InvalidPerson)
    }
}

/// Binds a wrapped data key to its tenant, person, key id and KEK: a wrapped key copied to another
/// row fails to unwrap.
fn key_aad(tenant: &TenantId, person: &str, key_id: Uuid, kek: &KekId) -> Vec<u8> {
    aad(&[
        b"dps.dek.v1",
        tenant.as_str().as_bytes(),
        person.as_bytes(),
        key_id.as_bytes(),
        kek.as_str().as_bytes(),
    ])
}

/// Binds a sealed field to its tenant, column and key: a value copied to another column or row
/// fails to open.
fn field_aad(tenant: &TenantId, field: &str, key_id: Uuid) -> Vec<u8> {
    aad(&[
        b"dps.field.v1",
        tenant.as_str().as_bytes(),
        field.as_bytes(),
        key_id.as_bytes(),
    ])
}

/// Length-prefixed parts, so no two different lists give the same bytes.
fn aad(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}
