//! Real parts for tests: a real Postgres with a fresh migrated database per test, services served
//! on real sockets, clients that call as a given tenant, and capture of the spans a call produced.
//!
//! Postgres comes from, in order: `DATABASE_URL` (a role that may create roles and databases);
//! a container (testcontainers) when a Docker engine answers; a throw-away cluster from the local
//! Postgres binaries. With none of them, tests fail with a message saying what to install: they
//! never skip. Dev-dependency only.

mod keystore;
mod postgres;
mod servers;
mod spans;

pub use keystore::{TestKeyFile, TestKeystore};
pub use postgres::{TestDb, postgres_kind};
pub use servers::{
    Caller, TestServer, boxed_caller, caller, caller_with_roles, serve_on_fresh_db, spawn,
    spawn_exposed,
};
pub use spans::{SpanCapture, capture_spans};
