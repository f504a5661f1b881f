//! Starts the whole suite in process on a fresh database, and builds clients that call it through
//! the gateway with a signed token.

use dps_gateway::DevIssuer;
use dps_platform::db::DbConfig;
use dps_platform::keystore::KeystoreConfig;
use dps_suite::RunningSuite;
use dps_test_support::Caller;
use dps_test_support::{TestDb, TestKeyFile};
use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

pub struct Suite {
    pub db: TestDb,
    pub keys_db: TestDb,
    _key_file: TestKeyFile,
    pub suite: RunningSuite,
    pub issuer: DevIssuer,
}

pub async fn start() -> Suite {
    let migrators: Vec<&'static sqlx::migrate::Migrator> =
        dps_suite::SERVICES.iter().map(|s| s.migrator).collect();
    let db = TestDb::new(&migrators).await;
    let keys_db = TestDb::new(&[&dps_crypto::MIGRATOR]).await;
    let key_file = TestKeyFile::new();
    let keys = KeystoreConfig {
        database: DbConfig::for_url(keys_db.app_url().expose().clone()),
        migration_url: keys_db.owner_url(),
        key_file: key_file.path().to_owned(),
        backup_retention: dps_crypto::Vault::DEFAULT_BACKUP_RETENTION,
    };
    let issuer = DevIssuer::load_or_create(None, "dps-dev", "dps-suite").expect("dev key");
    let runtime = DbConfig {
        max_connections: 8,
        ..DbConfig::for_url(db.app_url().expose().clone())
    };
    let suite = dps_suite::start(
        "127.0.0.1:0".parse().expect("addr"),
        &runtime,
        &db.owner_url(),
        &keys,
        std::sync::Arc::new(issuer.verifier()),
        &dps_gateway::GatewayConfig::from_env(&dps_platform::Env::from_pairs([(
            "DPS_GATEWAY_MODE",
            "development",
        )]))
        .expect("development settings"),
    )
    .await
    .expect("suite starts");
    Suite {
        db,
        keys_db,
        _key_file: key_file,
        suite,
        issuer,
    }
}

impl Suite {
    pub fn gateway(&self) -> Channel {
        channel(&format!("http://{}", self.suite.gateway_addr()))
    }

    /// A token for `tenant` with the `dpo` role.
    pub fn token(&self, tenant: &str) -> String {
        self.issuer.token(tenant, "jane.dpo", &["dpo"], 600)
    }
}

pub fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_owned())
        .expect("valid URI")
        .connect_lazy()
}

/// Sends `authorization: Bearer <token>` (when given) plus any extra metadata, and the trace.
pub fn bearer(token: Option<String>, extra: &[(&'static str, &'static str)]) -> Caller {
    let extra = extra.to_vec();
    Box::new(move |mut request: Request<()>| {
        if let Some(token) = &token {
            let value = MetadataValue::try_from(format!("Bearer {token}")).expect("ascii token");
            request.metadata_mut().insert("authorization", value);
        }
        for (key, value) in &extra {
            request
                .metadata_mut()
                .insert(*key, MetadataValue::from_static(value));
        }
        dps_platform::trace_context::inject_into_request(request)
    })
}
