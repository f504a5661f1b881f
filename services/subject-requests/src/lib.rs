//! The subject-requests service: requests by individuals to exercise their data-protection
//! rights (DESIGN §3.1, issue 16) — intake, a validated lifecycle with its history, statutory
//! deadlines from the shared engine recomputed on every clock event, refusals, fulfilment tasks
//! per system, review before release, the response pack and dashboard figures.
//!
//! It owns the `subject_requests` schema and nothing else: it never reads another service's
//! tables and asks other services over gRPC, through a transactional outbox delivered by
//! [`outbox`] (issue 10: restrictions, objections, withdrawals and lifts to consent; erasure
//! checks, the systems holding a person's data and closed requests to retention; the recipients,
//! purposes and retention periods a response needs back from both; see `docs/workflows.md`).
//! Domain rules live in [`domain`], SQL in [`store`], the gRPC surface in [`grpc`].

pub mod domain;
pub mod grpc;
pub mod outbox;
pub mod store;

use sqlx::PgPool;
use tonic::service::Routes;

/// The service's migrations (schema `subject_requests`, table `subject_requests._sqlx_migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The service's gRPC routes on a runtime pool, sealing personal details through `vault`:
/// subject requests and complaints (issue 17), on one store.
pub fn routes(pool: PgPool, vault: dps_crypto::Vault) -> Routes {
    let store = store::Store::new(pool, vault);
    Routes::new(grpc::server(store.clone())).add_service(grpc::complaints::server(store))
}

/// What `main` and the all-in-one binary need to run this service.
pub const SPEC: dps_platform::main_support::ServiceSpec = dps_platform::main_support::ServiceSpec {
    name: "dps-subject-requests",
    migrator: &MIGRATOR,
    routes,
};
