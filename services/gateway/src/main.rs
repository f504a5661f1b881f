//! `dps-gateway`: the suite's entry point as its own deployment. See the crate docs and the README.

use std::process::ExitCode;

use dps_gateway::{Backends, GatewayConfig};
use dps_platform::Env;
use dps_platform::db::{self, DbConfig};
use dps_platform::server::{Exposure, Readiness, serve_with, shutdown_signal};
use dps_platform::telemetry::{self, TelemetryConfig};
use dps_types::Masked;

#[tokio::main]
async fn main() -> ExitCode {
    let env = Env::from_process();
    let command = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "serve".to_owned());
    if !matches!(command.as_str(), "serve" | "migrate") {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let configs = GatewayConfig::from_env(&env).and_then(|gateway| {
        Ok((
            gateway,
            Backends::from_env(&env)?,
            TelemetryConfig::from_env(&env)?,
            Storage::from_env(&env)?,
        ))
    });
    let (config, backends, telemetry_config, storage) = match configs {
        Ok(configs) => configs,
        Err(e) => {
            eprintln!("dps-gateway: {e}");
            return ExitCode::from(2);
        }
    };
    let _telemetry = match telemetry::init("dps-gateway", &telemetry_config) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("dps-gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    if command == "migrate" || storage.migrate_on_start {
        if let Err(e) = db::migrate(&storage.migration_url, &dps_gateway::MIGRATOR).await {
            eprintln!("dps-gateway: {e}");
            return ExitCode::FAILURE;
        }
        if command == "migrate" {
            return ExitCode::SUCCESS;
        }
    }
    match run(config, backends, storage.runtime).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dps-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: dps-gateway [serve|migrate]\n  serve    migrate (unless DPS_MIGRATE_ON_START=false) and serve gRPC (default)\n  migrate  apply the audit log's migrations as the schema owner and exit\nconfiguration: DPS_* environment variables, see the README";

/// The audit log's database: `DPS_DATABASE_URL` (runtime role), `DPS_MIGRATION_DATABASE_URL`
/// (schema owner; default the runtime URL) and `DPS_MIGRATE_ON_START`.
struct Storage {
    runtime: DbConfig,
    migration_url: Masked<String>,
    migrate_on_start: bool,
}

impl Storage {
    fn from_env(env: &Env) -> Result<Self, dps_platform::ConfigError> {
        let runtime = DbConfig::from_env(env)?;
        Ok(Self {
            migration_url: env
                .get("DPS_MIGRATION_DATABASE_URL")
                .map_or_else(|| runtime.url.clone(), |u| Masked::new(u.to_owned())),
            migrate_on_start: env.flag_or("DPS_MIGRATE_ON_START", true)?,
            runtime,
        })
    }
}

async fn run(config: GatewayConfig, backends: Backends, storage: DbConfig) -> Result<(), String> {
    config.trust_identity_keys();
    let (verifier, dev) = dps_gateway::verifier(&config).await?;
    if let Some(issuer) = dev {
        tracing::warn!(
            "development mode: tokens are signed with a local key; never use with real data"
        );
        eprintln!(
            "development token (tenant demo, role dpo): {}",
            issuer.token("demo", "dev-user", &["dpo"], 12 * 3600)
        );
    }
    let pool = db::connect(&storage).await.map_err(|e| e.to_string())?;
    let audit = dps_gateway::start_audit(pool.clone(), &config.audit)?;
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} (DPS_LISTEN_ADDR): {e}",
                config.listen_addr
            )
        })?;
    tracing::info!(addr = %config.listen_addr, "gateway serving gRPC");
    serve_with(
        listener,
        dps_gateway::routes(verifier, &backends, audit, config.limits),
        Readiness::Database(pool),
        Exposure::External {
            cors_origins: config.cors_origins.clone(),
        },
        shutdown_signal(),
    )
    .await
    .map_err(|e| e.to_string())
}
