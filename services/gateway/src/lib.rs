//! The API gateway: the suite's only entry point. It authenticates each call (a bearer JWT),
//! scopes it to the token's tenant, and forwards it unchanged to the service that owns the
//! method, carrying the verified identity in metadata and the trace context across the hop.
//!
//! It holds no rule of law. Every method is allowed only to the roles [`policy::TABLE`] names;
//! a group-wide role may act for another tenant its token grants, named in the `dps-tenant`
//! request header.

pub mod audit;
pub mod auth;
pub mod config;
pub mod limits;
pub mod methods;
pub mod policy;
pub mod proxy;

use std::sync::Arc;

use tonic::service::Routes;

pub use audit::AuditLog;
pub use auth::{DevIssuer, KeySource, Principal, Verifier};
pub use config::{AuditConfig, Backends, GatewayConfig, Mode};
pub use limits::Limits;
pub use proxy::{Upstream, Upstreams};

/// The gateway's own schema: the access audit log.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The gateway's routes: every `dps.*` method is authenticated, authorised, audited and forwarded
/// to its backend, over gRPC or in process (or to the gateway's own audit service). Health and
/// reflection are added by the platform's server bootstrap.
pub fn routes(
    verifier: Arc<Verifier>,
    upstreams: impl Into<Upstreams>,
    audit: AuditLog,
    limits: Limits,
) -> Routes {
    let proxy = proxy::Proxy::new(verifier, upstreams.into(), audit, limits);
    Routes::from(Routes::default().into_axum_router().fallback_service(proxy))
}

/// Starts the audit log on `pool` with the configured head export.
pub fn start_audit(pool: sqlx::PgPool, config: &AuditConfig) -> Result<AuditLog, String> {
    let key = auth::signing_key(config.key_file.as_deref(), true).map_err(|e| e.to_string())?;
    let heads = audit::HeadSink::new(key, config.head_file.clone());
    Ok(AuditLog::start(pool, heads, config.export_every))
}

/// The token verifier the configuration asks for: the identity provider's keys (loaded now,
/// then re-read periodically and on unknown `kid`s), or in development a local issuer, returned
/// too so the caller can print a token.
pub async fn verifier(
    config: &GatewayConfig,
) -> Result<(Arc<Verifier>, Option<DevIssuer>), String> {
    match &config.mode {
        Mode::Production {
            jwks,
            refresh_every,
        } => {
            let verifier = Arc::new(
                Verifier::load(jwks.clone(), &config.issuer, &config.audience)
                    .await
                    .map_err(|e| e.to_string())?,
            );
            verifier.spawn_refresh(*refresh_every);
            Ok((verifier, None))
        }
        Mode::Development { key_file } => {
            let issuer =
                DevIssuer::load_or_create(key_file.as_deref(), &config.issuer, &config.audience)
                    .map_err(|e| e.to_string())?;
            Ok((Arc::new(issuer.verifier()), Some(issuer)))
        }
    }
}
