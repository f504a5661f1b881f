//! One Postgres per test process, one migrated template per set of migrators, one database per
//! test cloned from its template (fast, and isolated from tests running in parallel).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use dps_pgcluster::LocalCluster;
use dps_pgcluster::roles::{self, APP_ROLE, OWNER_ROLE};
use dps_platform::db::{self, DbConfig};
use dps_types::Masked;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::Container;
use testcontainers_modules::testcontainers::runners::SyncRunner as _;

/// Password of the test roles (only for servers that do not trust local connections).
const TEST_PASSWORD: &str = "dps-test-only";

/// Where the test process's Postgres came from, and how to reach it.
struct Server {
    kind: &'static str,
    /// Superuser URL (any database; the path is replaced per use).
    admin_url: String,
    host: String,
    port: u16,
    _cluster: Option<LocalCluster>,
    _container: Option<Container<Postgres>>,
}

impl Server {
    fn new(kind: &'static str, admin_url: String) -> Result<Self, String> {
        let options: PgConnectOptions = admin_url
            .parse()
            .map_err(|e| format!("{kind} URL does not parse: {e}"))?;
        Ok(Self {
            kind,
            host: options.get_host().to_owned(),
            port: options.get_port(),
            admin_url,
            _cluster: None,
            _container: None,
        })
    }

    /// The superuser on `database`.
    fn admin(&self, database: &str) -> String {
        replace_database(&self.admin_url, database)
    }

    /// One of the suite's roles on `database`, keeping the admin URL's query (e.g. `sslmode`).
    fn role(&self, role: &str, database: &str) -> String {
        let query = self
            .admin_url
            .split_once('?')
            .map(|(_, q)| format!("?{q}"))
            .unwrap_or_default();
        format!(
            "postgres://{role}:{TEST_PASSWORD}@{}:{}/{database}{query}",
            self.host, self.port
        )
    }
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

fn server() -> &'static Server {
    match SERVER.get_or_init(start_server) {
        Ok(server) => server,
        Err(message) => panic!("no Postgres for tests: {message}"),
    }
}

/// Which source the tests' Postgres came from: `DATABASE_URL`, `testcontainers` or `local binaries`.
pub fn postgres_kind() -> &'static str {
    server().kind
}

fn start_server() -> Result<Server, String> {
    let mut reasons = Vec::new();
    let server = match std::env::var("DATABASE_URL").map(|u| u.trim().to_owned()) {
        Ok(url) if !url.is_empty() => Server::new("DATABASE_URL", url)?,
        _ => match docker_server(&mut reasons)? {
            Some(server) => server,
            None => match LocalCluster::start_throwaway() {
                Ok(cluster) => {
                    let mut server = Server::new(
                        "local binaries",
                        cluster.url(dps_pgcluster::SUPERUSER, "postgres"),
                    )?;
                    server._cluster = Some(cluster);
                    server
                }
                Err(e) => {
                    reasons.push(e.to_string());
                    return Err(format!(
                        "set DATABASE_URL, start a Docker engine, or install Postgres server binaries. Tried: {}",
                        reasons.join("; ")
                    ));
                }
            },
        },
    };
    let admin_url = server.admin("postgres");
    run_blocking(async move { roles::ensure_roles(&admin_url, TEST_PASSWORD).await }).map_err(
        |e| {
            format!(
                "creating the suite's roles on the {} server: {e}",
                server.kind
            )
        },
    )?;
    Ok(server)
}

fn docker_server(reasons: &mut Vec<String>) -> Result<Option<Server>, String> {
    let socket = std::path::Path::new("/var/run/docker.sock");
    if std::env::var_os("DOCKER_HOST").is_none() && !socket.exists() {
        reasons.push(
            "testcontainers: no Docker engine (no DOCKER_HOST, no /var/run/docker.sock)".into(),
        );
        return Ok(None);
    }
    let container = match Postgres::default().start() {
        Ok(container) => container,
        Err(e) => {
            reasons.push(format!("testcontainers: {e}"));
            return Ok(None);
        }
    };
    remove_container_at_exit(container.id());
    let port = container
        .get_host_port_ipv4(5432)
        .map_err(|e| format!("testcontainers: {e}"))?;
    let host = container
        .get_host()
        .map_err(|e| format!("testcontainers: {e}"))?;
    let mut server = Server::new(
        "testcontainers",
        format!("postgres://postgres:postgres@{host}:{port}/postgres"),
    )?;
    server._container = Some(container);
    Ok(Some(server))
}

/// Statics are never dropped: a detached watchdog removes the container once this process is gone.
fn remove_container_at_exit(id: &str) {
    let script = "while kill -0 \"$1\" 2>/dev/null; do sleep 0.5; done; docker rm -f -v \"$2\" >/dev/null 2>&1";
    let mut command = std::process::Command::new("sh");
    command.args([
        "-c",
        script,
        "dps-tc-watchdog",
        &std::process::id().to_string(),
        id,
    ]);
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let _ = command.spawn();
}

/// `url` with its database (path) replaced.
fn replace_database(url: &str, database: &str) -> String {
    let (head, query) = url
        .split_once('?')
        .map_or((url, None), |(h, q)| (h, Some(q)));
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let head = match head[authority_start..].find('/') {
        Some(i) => &head[..authority_start + i],
        None => head,
    };
    match query {
        Some(q) => format!("{head}/{database}?{q}"),
        None => format!("{head}/{database}"),
    }
}

/// Runs async set-up on its own runtime and thread: it must not borrow the test's runtime, which
/// ends with the test while the server lives on for the whole process.
fn run_blocking<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime can always be built")
            .block_on(future)
    })
    .join()
    .expect("set-up thread panicked")
}

type TemplateCell = Arc<tokio::sync::OnceCell<String>>;
static TEMPLATES: OnceLock<Mutex<HashMap<Vec<usize>, TemplateCell>>> = OnceLock::new();

/// A fresh database for one test, with the given migrations applied, and a pool connected as the
/// runtime role (neither superuser nor owner), as the services connect in production.
///
/// Dropped after a passing test; kept after a failing one, and its name printed, for inspection
/// (a throw-away local cluster still goes when the process ends).
#[derive(Debug)]
pub struct TestDb {
    name: String,
    pool: PgPool,
}

impl TestDb {
    /// Creates the database from the migrated template for `migrators` (built once per process).
    pub async fn new(migrators: &[&'static Migrator]) -> Self {
        let server = server();
        let template = template_for(migrators).await;
        let name = format!("dps_test_{}", uuid::Uuid::new_v4().simple());
        let admin_url = server.admin("postgres");
        roles::ensure_database(&admin_url, &name, Some(&template))
            .await
            .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        let config = DbConfig {
            max_connections: 5,
            ..DbConfig::for_url(server.role(APP_ROLE, &name))
        };
        let pool = db::connect(&config)
            .await
            .unwrap_or_else(|e| panic!("connecting to test database {name}: {e}"));
        Self { name, pool }
    }

    /// The runtime role's pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// URL of this database as the runtime role.
    pub fn app_url(&self) -> Masked<String> {
        Masked::new(server().role(APP_ROLE, &self.name))
    }

    /// URL of this database as the schema owner (migrations).
    pub fn owner_url(&self) -> Masked<String> {
        Masked::new(server().role(OWNER_ROLE, &self.name))
    }

    /// URL of this database as the superuser (sabotage tests).
    pub fn admin_url(&self) -> Masked<String> {
        Masked::new(server().admin(&self.name))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: keeping database {} for inspection", self.name);
            return;
        }
        let admin_url = server().admin("postgres");
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which this blocks: the pool (driven by that runtime)
        // cannot be closed from here, so the server ends its sessions (`WITH (FORCE)`).
        run_blocking(async move {
            if let Err(e) = roles::drop_database(&admin_url, &name).await {
                eprintln!("dropping test database {name}: {e}");
            }
        });
    }
}

async fn template_for(migrators: &[&'static Migrator]) -> String {
    let key: Vec<usize> = migrators
        .iter()
        .map(|m| std::ptr::from_ref::<Migrator>(*m) as usize)
        .collect();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&key, &mut hasher);
    let name = format!(
        "dps_tpl_{}_{:x}",
        std::process::id(),
        std::hash::Hasher::finish(&hasher)
    );
    let cell = TEMPLATES
        .get_or_init(Default::default)
        .lock()
        .expect("template map lock")
        .entry(key)
        .or_default()
        .clone();
    let migrators: Vec<&'static Migrator> = migrators.to_vec();
    cell.get_or_init(|| async move {
        let server = server();
        let admin_url = server.admin("postgres");
        let owner_url = Masked::new(server.role(OWNER_ROLE, &name));
        run_blocking(async move {
            roles::drop_database(&admin_url, &name)
                .await
                .map_err(|e| e.to_string())?;
            roles::ensure_database(&admin_url, &name, None)
                .await
                .map_err(|e| e.to_string())?;
            for migrator in migrators {
                db::migrate(&owner_url, migrator)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<String, String>(name)
        })
        .unwrap_or_else(|e| panic!("building the migrated template database: {e}"))
    })
    .await
    .clone()
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_is_replaced_and_query_kept() {
        assert_eq!(
            replace_database("postgres://u:p@h:5432/postgres?sslmode=require", "x"),
            "postgres://u:p@h:5432/x?sslmode=require"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
