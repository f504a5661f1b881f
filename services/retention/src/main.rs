//! `dps-retention [serve|migrate]`: see the crate docs and the README for configuration.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    dps_platform::main_support::run(dps_retention::SPEC).await
}
