//! The retention service: the record classes of each tenant's retention schedule; later periods,
//! the record registry and the information asset register (DESIGN §3.3).
//!
//! It owns the `retention` schema and nothing else: it never reads another service's tables and
//! asks other services over gRPC. Domain rules live in [`domain`], SQL in [`store`], the gRPC
//! surface in [`grpc`].

pub mod domain;
pub mod grpc;
pub mod store;

use sqlx::PgPool;
use tonic::service::Routes;

/// The service's migrations (schema `retention`, table `retention._sqlx_migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The service's gRPC routes on a runtime pool. It stores nothing about a person yet, so it does
/// not use the vault.
pub fn routes(pool: PgPool, _vault: dps_crypto::Vault) -> Routes {
    Routes::new(grpc::server(store::Store::new(pool)))
}

/// What `main` and the all-in-one binary need to run this service.
pub const SPEC: dps_platform::main_support::ServiceSpec = dps_platform::main_support::ServiceSpec {
    name: "dps-retention",
    migrator: &MIGRATOR,
    routes,
};
