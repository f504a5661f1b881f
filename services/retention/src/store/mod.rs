//! SQL for the `retention` schema. Every query names its schema and filters on the tenant.
//! Bulk work is set-based: records are inserted and re-dated with `UNNEST` batches, and the sweep
//! is one `INSERT … SELECT` per window of the review-date index.

mod assets;
mod disposal;
mod holds;
mod records;
mod schedule;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use dps_platform::db::DbError;
use dps_types::{FieldViolation, TenantId};
use sqlx::PgPool;

pub use disposal::{CertificateRow, ReviewRow, SWEEP_CHUNK, TaskRow};
pub use holds::HoldRow;
pub use records::BulkRegistration;

/// A storage failure, or a refusal only the stored state can decide.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tenant already has a class with this code (ALREADY_EXISTS).
    #[error("a record class with code {0} already exists")]
    CodeTaken(String),
    /// The tenant already has an asset for this system (ALREADY_EXISTS).
    #[error("the information asset register already has system {0}")]
    SystemTaken(String),
    /// No such resource in the tenant (NOT_FOUND).
    #[error("{0} not found")]
    NotFound(String),
    /// Input that only the stored state shows to be wrong (INVALID_ARGUMENT).
    #[error("{}", dps_types::describe_violations(.0))]
    Invalid(Vec<FieldViolation>),
    /// The resource's state forbids the change (FAILED_PRECONDITION).
    #[error("{0}")]
    Precondition(String),
    /// The database failed (UNAVAILABLE, ABORTED or INTERNAL).
    #[error(transparent)]
    Db(#[from] DbError),
    /// A stored row no longer satisfies the domain's rules (INTERNAL).
    #[error("stored {0} is not valid")]
    Corrupt(&'static str),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e.into())
    }
}

impl StoreError {
    fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

/// The retention service's storage.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    /// Tenants known to have their schedule seeded, so the check costs no query after the first.
    seeded: Arc<Mutex<HashSet<String>>>,
    /// Reviews one sweep statement raises at most ([`SWEEP_CHUNK`] unless a test asks for fewer).
    sweep_chunk: i64,
}

impl Store {
    /// Storage on the runtime pool.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            seeded: Arc::default(),
            sweep_chunk: SWEEP_CHUNK,
        }
    }

    /// The same storage raising at most `chunk` reviews per sweep statement (at least one), so a
    /// test can make a backlog span several windows without registering a quarter of a million
    /// records.
    pub fn with_sweep_chunk(mut self, chunk: i64) -> Self {
        self.sweep_chunk = chunk.max(1);
        self
    }

    /// Gives a tenant the default schedule on its first call (schedule version 1). Concurrent
    /// first calls wait on the tenant row's unique key, so exactly one seeds and every caller
    /// sees the seeded schedule.
    pub async fn ensure_tenant(&self, tenant: &TenantId) -> Result<(), StoreError> {
        if self
            .seeded
            .lock()
            .expect("seeded-set lock is never poisoned: no code panics holding it")
            .contains(tenant.as_str())
        {
            return Ok(());
        }
        schedule::seed_default(&self.pool, tenant).await?;
        self.seeded
            .lock()
            .expect("seeded-set lock is never poisoned: no code panics holding it")
            .insert(tenant.as_str().to_owned());
        Ok(())
    }

    /// Every tenant the service knows, for the periodic sweep.
    pub async fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT tenant_id FROM retention.tenants ORDER BY tenant_id")
                .fetch_all(&self.pool)
                .await?;
        ids.iter()
            .map(|t| TenantId::parse(t).map_err(|_| StoreError::Corrupt("tenant id")))
            .collect()
    }
}
