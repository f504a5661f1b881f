//! `dps-breaches [serve|migrate]`: see the crate docs and the README for configuration.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The outbox dispatcher runs beside the server (issue 10).
    dps_platform::main_support::run_with(
        dps_breaches::SPEC,
        Some(dps_breaches::outbox::start_from_env),
    )
    .await
}
