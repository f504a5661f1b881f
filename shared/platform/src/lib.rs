//! What every service of the suite shares at run time: configuration from the environment,
//! telemetry, W3C trace-context propagation, the gRPC server bootstrap, the mapping of errors to
//! `tonic::Status`, the Postgres pool with SQLSTATE classification, and the caller's context.
//!
//! It holds no rule of data-protection law and knows no service: services depend on it, never the
//! reverse.

pub mod config;
pub mod context;
pub mod db;
pub mod delivery;
pub mod error;
pub mod identity;
pub mod keystore;
pub mod main_support;
pub mod notify;
pub mod proto_time;
pub mod server;
pub mod telemetry;
pub mod trace_context;

pub use config::{ConfigError, Env, ServiceConfig};

/// Every binary of the suite links this crate: its servers allocate per call, where glibc's
/// malloc cost about a tenth of the processing check's CPU (perf, 2026-12-05).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
pub use context::CallContext;
pub use error::{ErrorCode, ServiceError, to_status};
