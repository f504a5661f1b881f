//! The API gateway: the suite's only entry point. It authenticates each call (a bearer JWT),
//! scopes it to the token's tenant, and forwards it unchanged to the service that owns the
//! method, carrying the verified identity in metadata and the trace context across the hop.
//!
//! It holds no rule of law. Every method is allowed only to the roles [`policy::TABLE`] names;
//! a group-wide role may act for another tenant its token grants, named in the `dps-tenant`
//! request header.

pub mod auth;
pub mod config;
pub mod policy;
pub mod proxy;

use std::sync::Arc;

use tonic::service::Routes;

pub use auth::{DevIssuer, Principal, Verifier};
pub use config::{Backends, GatewayConfig, Mode};

/// The gateway's routes: every `dps.*` method is authenticated and forwarded to its backend.
/// Health and reflection are added by the platform's server bootstrap.
pub fn routes(verifier: Arc<Verifier>, backends: &Backends) -> Routes {
    let proxy = proxy::Proxy::new(verifier, backends);
    Routes::from(Routes::default().into_axum_router().fallback_service(proxy))
}
