//! All five services in one process against one database, each in its own schema: the embedded
//! default that `make run` starts, and a real deployment for a small provider.
//!
//! The gateway calls each backend's routes in process (no second HTTP/2 hop: the gateway's cost
//! is then authentication, authorisation and the audit row). Each backend also serves on its own
//! loopback socket, with the same routes, for the cross-service outbox, which reaches consent and
//! retention over gRPC as it would across a network, and for direct diagnosis.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use dps_gateway::{Backends, GatewayConfig, Upstream, Upstreams, Verifier};
use dps_platform::db::{self, DbConfig};
use dps_platform::keystore::{self, KeystoreConfig};
use dps_platform::main_support::ServiceSpec;
use dps_platform::server::{Exposure, Readiness, serve, serve_with};
use dps_platform::telemetry::TelemetryConfig;
use dps_platform::{ConfigError, Env};
use dps_subject_requests::outbox::{self, DispatchSettings, OutboxConfig, Targets};
use dps_types::Masked;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The backend services, in the order they are started.
pub const SERVICES: [ServiceSpec; 4] = [
    dps_subject_requests::SPEC,
    dps_breaches::SPEC,
    dps_retention::SPEC,
    dps_consent::SPEC,
];

/// Where the suite's data lives.
#[derive(Debug, Clone)]
pub enum Database {
    /// A Postgres managed elsewhere (`DPS_DATABASE_URL` or `DATABASE_URL`).
    External {
        /// Runtime role.
        runtime: DbConfig,
        /// Schema owner, for migrations (`DPS_MIGRATION_DATABASE_URL`, else the runtime URL).
        migration_url: Masked<String>,
        /// The key store (`DPS_KEYSTORE_DATABASE_URL`) and key file (`DPS_KEY_FILE`).
        keystore: KeystoreConfig,
    },
    /// A local cluster kept in `DPS_DATA_DIR/postgres` (default `.dev/postgres`), with the key
    /// store in a database of its own there and a key file generated in `DPS_DATA_DIR/keys`.
    Embedded {
        /// `DPS_DATA_DIR`.
        data_dir: PathBuf,
    },
}

/// The suite's settings: `DPS_SUITE_LISTEN_ADDR` (default `127.0.0.1:50051`) for the gateway,
/// the database as above, the gateway's `DPS_GATEWAY_*` settings and telemetry.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// Where the gateway listens.
    pub gateway_addr: SocketAddr,
    /// Where the data lives.
    pub database: Database,
    /// Token verification.
    pub gateway: GatewayConfig,
    /// Logs and traces.
    pub telemetry: TelemetryConfig,
}

impl SuiteConfig {
    /// Reads the settings.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let external = env
            .get("DPS_DATABASE_URL")
            .or_else(|| env.get("DATABASE_URL"))
            .is_some();
        let database = if external {
            let runtime = DbConfig::from_env(env)?;
            let migration_url = env
                .get("DPS_MIGRATION_DATABASE_URL")
                .map_or_else(|| runtime.url.clone(), |u| Masked::new(u.to_owned()));
            Database::External {
                keystore: KeystoreConfig::from_env(env, &runtime)?,
                runtime,
                migration_url,
            }
        } else {
            Database::Embedded {
                data_dir: PathBuf::from(env.get("DPS_DATA_DIR").unwrap_or(".dev")),
            }
        };
        Ok(Self {
            gateway_addr: env.parse_or(
                "DPS_SUITE_LISTEN_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 50051)),
            )?,
            database,
            gateway: GatewayConfig::from_env(env)?,
            telemetry: TelemetryConfig::from_env(env)?,
        })
    }
}

/// The suite could not start.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// Migrations failed.
    #[error(transparent)]
    Migrate(#[from] db::MigrateError),
    /// The runtime pool could not connect.
    #[error(transparent)]
    Connect(#[from] db::ConnectError),
    /// The key store could not be opened.
    #[error(transparent)]
    Keystore(#[from] keystore::KeystoreError),
    /// The audit log's head-signing key could not be loaded.
    #[error("audit log: {0}")]
    Audit(String),
    /// A socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running suite.
#[derive(Debug)]
pub struct RunningSuite {
    gateway_addr: SocketAddr,
    backends: Backends,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<Result<(), dps_platform::server::ServeError>>>,
    outbox_targets: Targets,
    breaches_retention: dps_platform::delivery::Target,
    dispatchers: Vec<JoinHandle<()>>,
    pool: sqlx::PgPool,
}

/// Migrates every service's schema and the key store as their owners, then serves every backend
/// on a loopback port and the gateway on `gateway_addr`.
pub async fn start(
    gateway_addr: SocketAddr,
    runtime: &DbConfig,
    migration_url: &Masked<String>,
    keys: &KeystoreConfig,
    verifier: Arc<Verifier>,
    gateway: &GatewayConfig,
) -> Result<RunningSuite, SuiteError> {
    gateway.trust_identity_keys();
    for spec in &SERVICES {
        db::migrate(migration_url, spec.migrator).await?;
    }
    db::migrate(migration_url, &dps_gateway::MIGRATOR).await?;
    db::migrate(&keys.migration_url, &dps_crypto::MIGRATOR).await?;
    let vault = keystore::open(keys).await?;
    let pool = db::connect(runtime).await?;
    let (stop, stopped) = watch::channel(false);
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    let mut in_process = Vec::new();
    for spec in &SERVICES {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        urls.push(format!(
            "http://{}",
            listener.local_addr().map_err(|source| SuiteError::Bind {
                addr: gateway_addr,
                source
            })?
        ));
        let routes = (spec.routes)(pool.clone(), vault.clone());
        in_process.push(Upstream::InProcess(routes.clone()));
        servers.push(tokio::spawn(serve(
            listener,
            routes,
            Readiness::Database(pool.clone()),
            wait_for_stop(stopped.clone()),
        )));
        tracing::info!(service = spec.name, url = %urls.last().map_or("", String::as_str), "backend serving");
    }
    let backends = Backends {
        subject_requests: urls[0].clone(),
        breaches: urls[1].clone(),
        retention: urls[2].clone(),
        consent: urls[3].clone(),
    };
    // Cross-service steps (issue 10): subject requests reach consent and retention over their
    // loopback sockets, as they would across a network.
    let (outbox_targets, dispatcher) = outbox::spawn(
        pool.clone(),
        &OutboxConfig {
            consent_url: Some(backends.consent.clone()),
            retention_url: Some(backends.retention.clone()),
            settings: DispatchSettings::default(),
        },
        stopped.clone(),
    )
    .expect("loopback URLs we formatted are valid");
    // Closed incidents are registered with retention through the breaches outbox.
    let (breaches_retention, breaches_dispatcher) = dps_breaches::outbox::spawn(
        pool.clone(),
        &dps_breaches::outbox::OutboxConfig {
            retention_url: Some(backends.retention.clone()),
            settings: DispatchSettings::default(),
        },
        stopped.clone(),
    )
    .expect("loopback URLs we formatted are valid");
    let listener = bind(gateway_addr).await?;
    let gateway_addr = listener.local_addr().map_err(|source| SuiteError::Bind {
        addr: gateway_addr,
        source,
    })?;
    let audit =
        dps_gateway::start_audit(pool.clone(), &gateway.audit).map_err(SuiteError::Audit)?;
    let [subject_requests, breaches, retention, consent] =
        <[Upstream; 4]>::try_from(in_process).expect("one upstream per service");
    let upstreams = Upstreams {
        subject_requests,
        breaches,
        retention,
        consent,
    };
    let routes = dps_gateway::routes(verifier, upstreams, audit, gateway.limits);
    servers.push(tokio::spawn(serve_with(
        listener,
        routes,
        Readiness::Always,
        Exposure::External {
            cors_origins: gateway.cors_origins.clone(),
        },
        wait_for_stop(stopped),
    )));
    tracing::info!(addr = %gateway_addr, "gateway serving");
    Ok(RunningSuite {
        gateway_addr,
        backends,
        stop,
        servers,
        outbox_targets,
        breaches_retention,
        dispatchers: vec![dispatcher, breaches_dispatcher],
        pool,
    })
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SuiteError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SuiteError::Bind { addr, source })
}

async fn wait_for_stop(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

impl RunningSuite {
    /// The gateway's bound address.
    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway_addr
    }

    /// The backends' loopback addresses.
    pub fn backends(&self) -> &Backends {
        &self.backends
    }

    /// Where the subject-requests outbox delivers: repointing it simulates a moved or stopped
    /// service (the suite's own backends stay up).
    pub fn outbox_targets(&self) -> &Targets {
        &self.outbox_targets
    }

    /// Where the breaches outbox delivers (the retention service): repointing it simulates a
    /// moved or stopped retention service.
    pub fn breaches_outbox_target(&self) -> &dps_platform::delivery::Target {
        &self.breaches_retention
    }

    /// Gracefully stops every server (drain calls in flight) and the outbox dispatchers, then
    /// closes the pool.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for dispatcher in self.dispatchers {
            if let Err(e) = dispatcher.await {
                tracing::error!(error = %e, "outbox dispatcher failed");
            }
        }
        for server in self.servers {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "server ended with an error"),
                Err(e) => tracing::error!(error = %e, "server task failed"),
            }
        }
        self.pool.close().await;
    }
}
