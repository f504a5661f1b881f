//! The body of every backend service's `main`: read the configuration, start telemetry, migrate,
//! connect, bind, serve until SIGTERM. Failures end the process with one clear line on stderr and
//! exit code 1 (2 for bad configuration), never a panic backtrace.

use std::process::ExitCode;

use dps_crypto::Vault;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::service::Routes;

use crate::config::{ConfigError, Env, ServiceConfig};
use crate::server::{Readiness, serve, shutdown_signal};
use crate::{db, keystore, telemetry};

/// What a backend service hands to [`run`].
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    /// Binary and telemetry name, e.g. `dps-consent`.
    pub name: &'static str,
    /// The service's embedded migrations.
    pub migrator: &'static Migrator,
    /// Builds the service's gRPC routes on a runtime pool and the key-store vault.
    pub routes: fn(PgPool, Vault) -> Routes,
}

const USAGE: &str = "usage: {name} [serve|migrate]\n  serve    migrate (unless DPS_MIGRATE_ON_START=false) and serve gRPC (default)\n  migrate  apply pending migrations as the schema owner and exit\nconfiguration: DPS_* environment variables, see the README";

/// Work a service runs beside its server on the same pool (e.g. an outbox dispatcher), started
/// once the pool is up: reads its settings from the environment, runs until the receiver turns
/// `true`, and is awaited after the server has drained.
pub type Background =
    fn(PgPool, &Env, tokio::sync::watch::Receiver<bool>) -> Result<JoinHandle<()>, ConfigError>;

/// Runs a backend service's command line.
pub async fn run(spec: ServiceSpec) -> ExitCode {
    run_with(spec, None).await
}

/// [`run`], with `background` work beside the server.
pub async fn run_with(spec: ServiceSpec, background: Option<Background>) -> ExitCode {
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    if !matches!(command.as_str(), "serve" | "migrate") {
        eprintln!("{}", USAGE.replace("{name}", spec.name));
        return if matches!(command.as_str(), "-h" | "--help" | "help") {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(2)
        };
    }
    let config = match ServiceConfig::from_env(&Env::from_process()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{}: {e}", spec.name);
            return ExitCode::from(2);
        }
    };
    let _telemetry = match telemetry::init(spec.name, &config.telemetry) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("{}: {e}", spec.name);
            return ExitCode::FAILURE;
        }
    };
    match serve_or_migrate(spec, &config, command == "migrate", background).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "exiting");
            eprintln!("{}: {e}", spec.name);
            ExitCode::FAILURE
        }
    }
}

async fn serve_or_migrate(
    spec: ServiceSpec,
    config: &ServiceConfig,
    migrate_only: bool,
    background: Option<Background>,
) -> Result<(), String> {
    if migrate_only || config.migrate_on_start {
        db::migrate(&config.migration_url, spec.migrator)
            .await
            .map_err(|e| e.to_string())?;
        db::migrate(&config.keystore.migration_url, &dps_crypto::MIGRATOR)
            .await
            .map_err(|e| format!("key store: {e}"))?;
        tracing::info!("migrations applied");
        if migrate_only {
            return Ok(());
        }
    }
    if config.identity_keys.is_empty() {
        return Err(crate::config::IDENTITY_KEYS_REQUIRED.to_owned());
    }
    for key in &config.identity_keys {
        crate::identity::trust(key.clone());
    }
    let vault = keystore::open(&config.keystore)
        .await
        .map_err(|e| e.to_string())?;
    let pool = db::connect(&config.database)
        .await
        .map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(config.listen_addr).await.map_err(|e| {
        format!(
            "cannot listen on {} (DPS_LISTEN_ADDR): {e}",
            config.listen_addr
        )
    })?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let background = background
        .map(|start| start(pool.clone(), &Env::from_process(), stopped))
        .transpose()
        .map_err(|e| e.to_string())?;
    tracing::info!(addr = %config.listen_addr, "serving gRPC");
    let served = serve(
        listener,
        (spec.routes)(pool.clone(), vault),
        Readiness::Database(pool.clone()),
        shutdown_signal(),
    )
    .await
    .map_err(|e| e.to_string());
    let _ = stop.send(true);
    if let Some(task) = background
        && let Err(e) = task.await
    {
        tracing::error!(error = %e, "background work failed");
    }
    served?;
    pool.close().await;
    Ok(())
}
