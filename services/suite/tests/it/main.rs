//! The `dps-suite` binary refuses bad configuration at once, with one clear line naming the
//! setting, an exit code, and never a panic.

use std::time::Duration;

use tokio::process::Command;

/// Runs the binary with only `vars` set (plus PATH) and returns (exit code, stderr).
async fn run_suite(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dps-suite"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command.envs(vars.iter().copied()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("the suite must fail fast, not hang")
        .expect("binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn production_mode_without_a_key_set_refuses_to_start() {
    let (code, stderr) = run_suite(&[
        ("DPS_DATABASE_URL", "postgres://dps_app@127.0.0.1:1/dps"),
        (
            "DPS_KEYSTORE_DATABASE_URL",
            "postgres://dps_app@127.0.0.1:1/dps_keys",
        ),
        ("DPS_KEY_FILE", "/nonexistent/keys"),
    ])
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("DPS_GATEWAY_JWKS_FILE"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn an_external_database_without_a_key_store_refuses_to_start() {
    let (code, stderr) = run_suite(&[
        ("DPS_GATEWAY_MODE", "development"),
        ("DPS_DATABASE_URL", "postgres://dps_app@127.0.0.1:1/dps"),
    ])
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("DPS_KEYSTORE_DATABASE_URL"), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_database_fails_fast_with_a_clear_message() {
    let started = std::time::Instant::now();
    let (code, stderr) = run_suite(&[
        ("DPS_GATEWAY_MODE", "development"),
        (
            "DPS_DATABASE_URL",
            "postgres://dps_app:secret-pw@127.0.0.1:1/dps",
        ),
        (
            "DPS_KEYSTORE_DATABASE_URL",
            "postgres://dps_app@127.0.0.1:1/dps_keys",
        ),
        ("DPS_KEY_FILE", "/nonexistent/keys"),
        ("DPS_DB_ACQUIRE_TIMEOUT_MS", "1000"),
    ])
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot connect to the database at 127.0.0.1:1/dps"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("secret-pw"),
        "the password must never be printed: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_malformed_setting_is_named() {
    let (code, stderr) = run_suite(&[
        ("DPS_GATEWAY_MODE", "development"),
        ("DPS_SUITE_LISTEN_ADDR", "localhost"),
    ])
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("DPS_SUITE_LISTEN_ADDR") && stderr.contains("localhost"),
        "{stderr}"
    );
}
