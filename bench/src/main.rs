//! `dps-bench <scenario> [--flag value]…`: the suite's hot paths measured against real service
//! processes and a real Postgres. Each scenario is a module; `harness` holds what they share.
//! The `make bench-*` targets build in release mode and run one scenario each.

mod breaches;
mod consent;
mod gateway;
mod harness;
mod retention;
mod subject_requests;
mod suite;

use std::process::ExitCode;

use harness::Flags;

const USAGE: &str = "usage: dps-bench suite|consent-check|gateway|soak|subject-requests|breaches|retention [--flag value]…";

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_default();
    let flags = match Flags::parse(args) {
        Ok(flags) => flags,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = match scenario.as_str() {
        "consent-check" => consent::run(flags).await,
        "gateway" => gateway::run(flags).await,
        "soak" => suite::soak(flags).await,
        "subject-requests" => subject_requests::run(flags).await,
        "breaches" => breaches::run(flags).await,
        "retention" => retention::run(flags).await,
        "suite" => suite::run(flags).await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dps-bench {scenario}: {e}");
            ExitCode::FAILURE
        }
    }
}
