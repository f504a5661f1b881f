//! `dps-gateway`: the suite's entry point as its own deployment. See the crate docs and the README.

use std::process::ExitCode;
use std::sync::Arc;

use dps_gateway::{Backends, DevIssuer, GatewayConfig, Mode, Verifier};
use dps_platform::Env;
use dps_platform::server::{Readiness, serve, shutdown_signal};
use dps_platform::telemetry::{self, TelemetryConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let env = Env::from_process();
    let configs = GatewayConfig::from_env(&env).and_then(|gateway| {
        Ok((
            gateway,
            Backends::from_env(&env)?,
            TelemetryConfig::from_env(&env)?,
        ))
    });
    let (config, backends, telemetry_config) = match configs {
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
    match run(config, backends).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dps-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: GatewayConfig, backends: Backends) -> Result<(), String> {
    let verifier = match &config.mode {
        Mode::Production { jwks_file } => {
            Verifier::from_jwks_file(jwks_file, &config.issuer, &config.audience)
                .map_err(|e| e.to_string())?
        }
        Mode::Development { key_file } => {
            let issuer =
                DevIssuer::load_or_create(key_file.as_deref(), &config.issuer, &config.audience)
                    .map_err(|e| e.to_string())?;
            tracing::warn!(
                "development mode: tokens are signed with a local key; never use with real data"
            );
            eprintln!(
                "development token (tenant demo, role dpo): {}",
                issuer.token("demo", "dev-user", &["dpo"], 12 * 3600)
            );
            issuer.verifier()
        }
    };
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {} (DPS_LISTEN_ADDR): {e}",
                config.listen_addr
            )
        })?;
    tracing::info!(addr = %config.listen_addr, "gateway serving gRPC");
    serve(
        listener,
        dps_gateway::routes(Arc::new(verifier), &backends),
        Readiness::Always,
        shutdown_signal(),
    )
    .await
    .map_err(|e| e.to_string())
}
