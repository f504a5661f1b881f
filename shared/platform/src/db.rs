//! The Postgres pool every service uses, how its failures are classified, and migrations.
//!
//! Two rules from operating this in production: the pool's acquire timeout is shorter than any
//! caller's deadline (sqlx's default of 30 s turns a database outage into hung calls), and no
//! database message ever reaches a client (it may quote personal data from a row).

use std::time::Duration;

use dps_types::Masked;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::config::{ConfigError, Env};
use crate::error::{ErrorCode, ServiceError};

/// Connection pool settings.
///
/// | variable | default |
/// |---|---|
/// | `DPS_DATABASE_URL` (or `DATABASE_URL`) | required |
/// | `DPS_DB_MAX_CONNECTIONS` | 10 |
/// | `DPS_DB_ACQUIRE_TIMEOUT_MS` | 2000 |
/// | `DPS_DB_STATEMENT_TIMEOUT_MS` | 5000 |
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Connection URL of the runtime role.
    pub url: Masked<String>,
    /// Upper bound on open connections.
    pub max_connections: u32,
    /// How long a call waits for a free connection before failing with `UNAVAILABLE`.
    pub acquire_timeout: Duration,
    /// Server-side cap on one statement, so a runaway query cannot hold a connection.
    pub statement_timeout: Duration,
}

impl DbConfig {
    /// Reads the pool settings.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let url = env
            .get("DPS_DATABASE_URL")
            .or_else(|| env.get("DATABASE_URL"))
            .ok_or_else(|| {
                ConfigError::new(
                    "DPS_DATABASE_URL",
                    "not set (nor DATABASE_URL): the service needs a Postgres database",
                )
            })?;
        let max_connections = env.parse_or("DPS_DB_MAX_CONNECTIONS", 10u32)?;
        if max_connections == 0 {
            return Err(ConfigError::new(
                "DPS_DB_MAX_CONNECTIONS",
                "must be at least 1",
            ));
        }
        Ok(Self {
            url: Masked::new(url.to_owned()),
            max_connections,
            acquire_timeout: env.millis_or("DPS_DB_ACQUIRE_TIMEOUT_MS", Duration::from_secs(2))?,
            statement_timeout: env
                .millis_or("DPS_DB_STATEMENT_TIMEOUT_MS", Duration::from_secs(5))?,
        })
    }

    /// Settings for `url` with the defaults above.
    pub fn for_url(url: impl Into<String>) -> Self {
        Self {
            url: Masked::new(url.into()),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the database could not be reached at start-up. Says which setting to look at, never the
/// password.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL does not parse.
    #[error("database URL is not valid: {0}")]
    BadUrl(String),
    /// No connection within the acquire timeout, or the server refused us.
    #[error("cannot connect to the database at {target}: {cause}")]
    Unreachable {
        /// host:port/database, without credentials.
        target: String,
        /// The driver's reason.
        cause: String,
    },
}

/// Opens the pool and proves one connection works, so a wrong URL or a down database fails
/// start-up at once with a clear message instead of failing every call later.
pub async fn connect(config: &DbConfig) -> Result<PgPool, ConnectError> {
    let options: PgConnectOptions = config
        .url
        .expose()
        .parse()
        .map_err(|e: sqlx::Error| ConnectError::BadUrl(redact(&e.to_string())))?;
    let target = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)")
    );
    let statement_timeout = config.statement_timeout.as_millis().to_string();
    let options = options
        .options([("statement_timeout", statement_timeout.as_str())])
        .log_statements(tracing::log::LevelFilter::Debug)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    let pool = PgPoolOptions::new()
        .max_connections(config.max_connections)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .connect_with(options)
        .await
        .map_err(|e| ConnectError::Unreachable {
            target,
            cause: redact(&e.to_string()),
        })?;
    Ok(pool)
}

/// Drivers sometimes quote the URL in their errors: never print a password.
fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_inclusive(char::is_whitespace) {
        if let Some((scheme, rest)) = word.split_once("://")
            && let Some((creds, host)) = rest.split_once('@')
        {
            let user = creds.split(':').next().unwrap_or("");
            out.push_str(&format!("{scheme}://{user}:***@{host}"));
        } else {
            out.push_str(word);
        }
    }
    out
}

/// Applies `migrator` to the database behind `url` as the schema owner, then closes that
/// connection: the owner's credentials are never used to serve calls.
pub async fn migrate(url: &Masked<String>, migrator: &Migrator) -> Result<(), MigrateError> {
    let config = DbConfig {
        max_connections: 1,
        ..DbConfig::for_url(url.expose().clone())
    };
    let pool = connect(&config).await.map_err(MigrateError::Connect)?;
    let result = migrator
        .run(&pool)
        .await
        .map_err(|e| MigrateError::Apply(redact(&e.to_string())));
    pool.close().await;
    result
}

/// Migrations could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The owner's database could not be reached.
    #[error("migrations: {0}")]
    Connect(ConnectError),
    /// A migration failed, or an applied one was edited.
    #[error("migrations failed: {0}")]
    Apply(String),
}

/// SQLSTATE codes and classes we act on (Postgres appendix A).
pub mod sqlstate {
    /// 23505: a unique constraint refused the row.
    pub const UNIQUE_VIOLATION: &str = "23505";
    /// 23503.
    pub const FOREIGN_KEY_VIOLATION: &str = "23503";
    /// 23514: a named CHECK constraint refused the row.
    pub const CHECK_VIOLATION: &str = "23514";
    /// 40001: retry the transaction.
    pub const SERIALIZATION_FAILURE: &str = "40001";
    /// 40P01: retry the transaction.
    pub const DEADLOCK_DETECTED: &str = "40P01";
    /// 25006: we are connected to a read-only standby.
    pub const READ_ONLY_SQL_TRANSACTION: &str = "25006";
    /// 53300.
    pub const TOO_MANY_CONNECTIONS: &str = "53300";
    /// 57014: statement timeout or cancel.
    pub const QUERY_CANCELED: &str = "57014";
    /// 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now.
    pub const SHUTDOWN: [&str; 3] = ["57P01", "57P02", "57P03"];
    /// Class 08: connection exceptions.
    pub const CONNECTION_EXCEPTION_CLASS: &str = "08";
}

/// What a database error means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbFault {
    /// The database is down, restarting, read-only, overloaded or too slow: retry later.
    Unavailable,
    /// The transaction lost a race (serialization failure, deadlock): retry now.
    Aborted,
    /// A unique constraint refused the row; its name says which rule.
    UniqueViolation(Option<String>),
    /// A foreign-key constraint refused the row.
    ForeignKeyViolation(Option<String>),
    /// A named CHECK constraint refused the row.
    CheckViolation(Option<String>),
    /// A bug or an unexpected state: internal.
    Other,
}

/// Classifies a sqlx error by SQLSTATE or driver condition.
pub fn classify(err: &sqlx::Error) -> DbFault {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => DbFault::Unavailable,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            let constraint = db.constraint().map(str::to_owned);
            match code {
                sqlstate::UNIQUE_VIOLATION => DbFault::UniqueViolation(constraint),
                sqlstate::FOREIGN_KEY_VIOLATION => DbFault::ForeignKeyViolation(constraint),
                sqlstate::CHECK_VIOLATION => DbFault::CheckViolation(constraint),
                sqlstate::SERIALIZATION_FAILURE | sqlstate::DEADLOCK_DETECTED => DbFault::Aborted,
                sqlstate::READ_ONLY_SQL_TRANSACTION
                | sqlstate::TOO_MANY_CONNECTIONS
                | sqlstate::QUERY_CANCELED => DbFault::Unavailable,
                c if sqlstate::SHUTDOWN.contains(&c)
                    || c.starts_with(sqlstate::CONNECTION_EXCEPTION_CLASS) =>
                {
                    DbFault::Unavailable
                }
                _ => DbFault::Other,
            }
        }
        _ => DbFault::Other,
    }
}

/// A database failure that is not a domain outcome. Stores wrap their sqlx errors in it once a
/// unique violation on the idempotency key or a named constraint has been turned into its domain
/// outcome. Its status never carries the database's message.
#[derive(Debug, thiserror::Error)]
#[error("database: {source}")]
pub struct DbError {
    fault: DbFault,
    #[source]
    source: sqlx::Error,
}

impl DbError {
    /// How the error was classified.
    pub fn fault(&self) -> &DbFault {
        &self.fault
    }
}

impl From<sqlx::Error> for DbError {
    fn from(source: sqlx::Error) -> Self {
        Self {
            fault: classify(&source),
            source,
        }
    }
}

impl DbFault {
    /// The gRPC outcome of a fault nothing turned into a domain outcome.
    pub fn code(&self) -> ErrorCode {
        match self {
            DbFault::Unavailable => ErrorCode::Unavailable,
            DbFault::Aborted => ErrorCode::Aborted,
            // A constraint the store did not turn into a domain outcome is a bug in the store.
            DbFault::UniqueViolation(_)
            | DbFault::ForeignKeyViolation(_)
            | DbFault::CheckViolation(_)
            | DbFault::Other => ErrorCode::Internal,
        }
    }
}

impl ServiceError for DbError {
    fn code(&self) -> ErrorCode {
        self.fault.code()
    }
}

/// Whether the database answers a trivial query within `timeout`: the readiness check.
pub async fn ping(pool: &PgPool, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(pool)).await,
        Ok(Ok(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_exhaustion_and_lost_connections_are_unavailable() {
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), DbFault::Unavailable);
        assert_eq!(classify(&sqlx::Error::PoolClosed), DbFault::Unavailable);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert_eq!(classify(&sqlx::Error::Io(io)), DbFault::Unavailable);
        assert_eq!(
            DbError::from(sqlx::Error::PoolTimedOut).code(),
            ErrorCode::Unavailable
        );
        assert_eq!(
            DbError::from(sqlx::Error::RowNotFound).code(),
            ErrorCode::Internal
        );
    }

    #[test]
    fn passwords_are_redacted_from_driver_messages() {
        let text = redact("error connecting to postgres://dps_app:s3cret@db:5432/dps refused");
        assert_eq!(
            text,
            "error connecting to postgres://dps_app:***@db:5432/dps refused"
        );
        assert!(!redact("postgres://a:b@h/d").contains(":b@"));
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://x/y"),
            ("DPS_DB_ACQUIRE_TIMEOUT_MS", "0"),
        ]);
        assert_eq!(
            DbConfig::from_env(&env).expect_err("zero").var,
            "DPS_DB_ACQUIRE_TIMEOUT_MS"
        );
    }
}
