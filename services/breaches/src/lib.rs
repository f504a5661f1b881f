//! The breaches service (DESIGN §3.2, issue 7): the incident and breach register with
//! occurrence, discovery, report-to-DPO and awareness kept apart; classification; the 72-hour
//! clock from awareness and the DPO's alarm list; ENISA severity assessment and the human
//! decision; phased reports to the regulator with the ICO / Jersey documents; notices to
//! individuals; containment actions and playbooks; third parties; the post-incident review; and
//! dashboard figures. Free text that may name people is sealed with `dps-crypto`.
//!
//! It owns the `breaches` schema and nothing else: it never reads another service's tables and
//! asks other services over gRPC, through a transactional outbox delivered by [`outbox`] (issue
//! 10: a closed incident is registered with the retention service as a record of its class).
//! Domain rules live in [`domain`], SQL in [`store`], the gRPC surface in [`grpc`].

pub mod domain;
pub mod grpc;
pub mod outbox;
pub mod store;

use sqlx::PgPool;
use tonic::service::Routes;

/// The service's migrations (schema `breaches`, table `breaches._sqlx_migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The service's gRPC routes on a runtime pool, sealing free text that may name people through
/// `vault`.
pub fn routes(pool: PgPool, vault: dps_crypto::Vault) -> Routes {
    Routes::new(grpc::server(store::Store::new(pool, vault)))
}

/// What `main` and the all-in-one binary need to run this service.
pub const SPEC: dps_platform::main_support::ServiceSpec = dps_platform::main_support::ServiceSpec {
    name: "dps-breaches",
    migrator: &MIGRATOR,
    routes,
};
