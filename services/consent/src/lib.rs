//! The consent service (DESIGN §3.4): purposes and their lawful bases, privacy notices, the
//! append-only consent ledger, restrictions and objections, the processing check platforms call
//! on every action, the disclosures log and a change stream.
//!
//! It owns the `consent` schema and nothing else: it never reads another service's tables and
//! asks other services over gRPC. Domain rules live in [`domain`], SQL in [`store`], the gRPC
//! surface in [`grpc`].

pub mod check;
pub mod domain;
pub mod grpc;
pub mod store;

use sqlx::PgPool;
use tonic::service::Routes;

/// The service's migrations (schema `consent`, table `consent._sqlx_migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The service's gRPC routes on a runtime pool; personal free text is sealed through the vault.
pub fn routes(pool: PgPool, vault: dps_crypto::Vault) -> Routes {
    Routes::new(grpc::server(store::Store::new(pool, vault)))
}

/// What `main` and the all-in-one binary need to run this service.
pub const SPEC: dps_platform::main_support::ServiceSpec = dps_platform::main_support::ServiceSpec {
    name: "dps-consent",
    migrator: &MIGRATOR,
    routes,
};
