//! The retention service (DESIGN §3.3): each tenant's retention schedule as versioned rules
//! (seeded with policy 003 §19), the record registry that dates every record's disposal review,
//! the disposal workflow (sweep, review, approval, tasks for holding systems, certificates),
//! legal holds, the information asset register, and the erasure check subject requests ask.
//!
//! It owns the `retention` schema and nothing else: it never reads another service's tables and
//! asks other services over gRPC. Domain rules live in [`domain`], SQL in [`store`], the gRPC
//! surface in [`grpc`].

pub mod domain;
pub mod grpc;
pub mod store;

use std::time::Duration;

use sqlx::PgPool;
use tonic::service::Routes;

/// The service's migrations (schema `retention`, table `retention._sqlx_migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// How often the service sweeps every tenant for due records, unless
/// `DPS_RETENTION_SWEEP_SECONDS` says otherwise. Review dates are dates: hourly is plenty.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The service's gRPC routes on a runtime pool, and the periodic sweep. It stores no personal
/// free text, so it does not use the vault.
pub fn routes(pool: PgPool, _vault: dps_crypto::Vault) -> Routes {
    let store = store::Store::new(pool);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let every = std::env::var("DPS_RETENTION_SWEEP_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(SWEEP_EVERY, Duration::from_secs);
        runtime.spawn(sweep_periodically(store.clone(), every));
    }
    Routes::new(grpc::server(store))
}

/// Sweeps every known tenant each `every`, the first time one period after start (so a restart
/// loop cannot hammer the database). Failures are logged and retried next period.
async fn sweep_periodically(store: store::Store, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let today = time::OffsetDateTime::now_utc().date();
        match store.tenants().await {
            Ok(tenants) => {
                for tenant in tenants {
                    match store.sweep(&tenant, today).await {
                        Ok(raised) => tracing::info!(tenant_id = %tenant, raised, "sweep"),
                        Err(e) => tracing::warn!(tenant_id = %tenant, error = %e, "sweep failed"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "sweep could not list tenants"),
        }
    }
}

/// What `main` and the all-in-one binary need to run this service.
pub const SPEC: dps_platform::main_support::ServiceSpec = dps_platform::main_support::ServiceSpec {
    name: "dps-retention",
    migrator: &MIGRATOR,
    routes,
};
