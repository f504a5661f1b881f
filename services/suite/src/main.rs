//! `dps-suite`: the whole suite in one process. With no database configured it starts (and keeps,
//! under `DPS_DATA_DIR`, default `.dev/`) its own local Postgres: that is what `make run` does.

use std::process::ExitCode;

use dps_gateway::DevIssuer;
use dps_pgcluster::LocalCluster;
use dps_pgcluster::roles::{self, APP_ROLE, OWNER_ROLE};
use dps_platform::db::DbConfig;
use dps_platform::keystore::KeystoreConfig;
use dps_platform::server::shutdown_signal;
use dps_platform::{Env, telemetry};
use dps_suite::{Database, SuiteConfig};
use dps_types::Masked;

/// The local cluster trusts local connections; the password only satisfies the URL format.
const EMBEDDED_PASSWORD: &str = "dps-dev";

#[tokio::main]
async fn main() -> ExitCode {
    let config = match SuiteConfig::from_env(&Env::from_process()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("dps-suite: {e}");
            return ExitCode::from(2);
        }
    };
    let _telemetry = match telemetry::init("dps-suite", &config.telemetry) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("dps-suite: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dps-suite: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: SuiteConfig) -> Result<(), String> {
    // Keys first: a production start without a key set must fail before touching any database.
    let (verifier, dev) = dps_gateway::verifier(&config.gateway).await?;
    let (runtime, migration_url, keys, cluster, where_) = match &config.database {
        Database::External {
            runtime,
            migration_url,
            keystore,
        } => (
            runtime.clone(),
            migration_url.clone(),
            keystore.clone(),
            None,
            "DPS_DATABASE_URL".to_owned(),
        ),
        Database::Embedded { data_dir } => {
            let dir = data_dir.join("postgres");
            let cluster = tokio::task::spawn_blocking(move || LocalCluster::start_persistent(&dir))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("embedded Postgres: {e}"))?;
            let admin = cluster.url(dps_pgcluster::SUPERUSER, "postgres");
            roles::ensure_roles(&admin, EMBEDDED_PASSWORD)
                .await
                .map_err(|e| format!("embedded Postgres roles: {e}"))?;
            roles::ensure_database(&admin, "dps", None)
                .await
                .map_err(|e| format!("embedded Postgres database: {e}"))?;
            // The key store in a database of its own, as in production (docs/encryption.md).
            roles::ensure_database(&admin, "dps_keys", None)
                .await
                .map_err(|e| format!("embedded Postgres key store: {e}"))?;
            let key_file = ensure_key_file(data_dir)?;
            let runtime = DbConfig::for_url(cluster.url(APP_ROLE, "dps"));
            let migration_url = Masked::new(cluster.url(OWNER_ROLE, "dps"));
            let keys = KeystoreConfig {
                database: DbConfig::for_url(cluster.url(APP_ROLE, "dps_keys")),
                migration_url: Masked::new(cluster.url(OWNER_ROLE, "dps_keys")),
                key_file,
                backup_retention: dps_crypto::Vault::DEFAULT_BACKUP_RETENTION,
            };
            let where_ = format!(
                "embedded Postgres in {} (127.0.0.1:{})",
                cluster.root().display(),
                cluster.port()
            );
            (runtime, migration_url, keys, Some(cluster), where_)
        }
    };
    // The embedded default keeps the audit chain's head key and exported heads beside its data.
    let mut gateway = config.gateway.clone();
    if let Database::Embedded { data_dir } = &config.database {
        gateway
            .audit
            .key_file
            .get_or_insert_with(|| data_dir.join("audit-head-key.pem"));
        gateway
            .audit
            .head_file
            .get_or_insert_with(|| data_dir.join("audit-heads.jsonl"));
    }
    let suite = dps_suite::start(
        config.gateway_addr,
        &runtime,
        &migration_url,
        &keys,
        verifier,
        &gateway,
    )
    .await
    .map_err(|e| e.to_string())?;
    print_banner(&config, &suite, &where_, dev.as_ref());
    shutdown_signal().await;
    eprintln!("dps-suite: shutting down");
    suite.shutdown().await;
    drop(cluster);
    Ok(())
}

/// The development key file, generated once with random keys and readable by its owner only.
fn ensure_key_file(data_dir: &std::path::Path) -> Result<std::path::PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join("keys");
    if path.exists() {
        return Ok(path);
    }
    let kek = dps_crypto::KekId::parse("dev-1").expect("a valid id");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| file.write_all(dps_crypto::KeyFile::generate(&kek).as_bytes()))
        .map_err(|e| format!("writing the development key file {}: {e}", path.display()))?;
    Ok(path)
}

fn print_banner(
    config: &SuiteConfig,
    suite: &dps_suite::RunningSuite,
    database: &str,
    dev: Option<&DevIssuer>,
) {
    let addr = suite.gateway_addr();
    println!("dps-suite is serving");
    println!("  gateway   {addr}  (gRPC; health and reflection enabled)");
    println!("  database  {database}");
    // Loopback only, and only for callers holding the identity key (the outbox, benchmarks).
    let backends = suite.backends();
    for (name, url) in [
        ("subject_requests", &backends.subject_requests),
        ("breaches", &backends.breaches),
        ("retention", &backends.retention),
        ("consent", &backends.consent),
    ] {
        println!("  backend   {name} {url}  (loopback; sealed identities only)");
    }
    if let Some(issuer) = dev {
        let token = issuer.token("demo", "dev-user", &["dpo"], 12 * 3600);
        if let Database::Embedded { data_dir } = &config.database {
            let _ = std::fs::write(data_dir.join("dev-token"), &token);
        }
        println!(
            "  DEVELOPMENT MODE: tokens are signed with a local key; never use real personal data"
        );
        println!("  token     tenant \"demo\", role dpo, valid 12 hours:");
        println!("    export TOKEN={token}");
        println!("  try       grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" \\");
        println!(
            "              -d '{{\"purpose\":{{\"display_name\":\"Care planning\",\"lawful_basis\":\"LAWFUL_BASIS_PUBLIC_TASK\",\"data_categories\":[\"health\"],\"notice_audience\":\"AUDIENCE_SERVICE_USERS\"}}}}' \\"
        );
        println!("              {addr} dps.consent.v1.ConsentService/CreatePurpose");
    }
    println!("  stop      Ctrl-C (or SIGTERM): drains calls in flight, then stops");
}
