//! The database roles of the suite, the same in development, tests and production:
//!
//! - `dps_owner` owns the databases and every schema and table; migrations run as it.
//! - `dps_app` is what services connect as at run time: neither superuser nor owner, it gets only
//!   the privileges each service's migrations grant it, so a bug or an injection cannot drop a
//!   table or rewrite a migration. In production, grant `dps_app` to your runtime login role.

use sqlx::{Connection as _, Executor as _, PgConnection};

/// Owns schemas and tables; runs migrations.
pub const OWNER_ROLE: &str = "dps_owner";
/// Serves calls.
pub const APP_ROLE: &str = "dps_app";

/// Creates both roles if missing (idempotent, safe to race with another process) and sets their
/// password, connecting with `admin_url` (a superuser or a role with CREATEROLE).
pub async fn ensure_roles(admin_url: &str, password: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(admin_url).await?;
    for role in [OWNER_ROLE, APP_ROLE] {
        // Two processes creating the same role race on pg_authid's unique index: both outcomes
        // mean the role exists.
        let create = format!(
            "DO $$ BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        );
        admin.execute(sqlx::AssertSqlSafe(create)).await?;
        let password = password.replace('\'', "''");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER ROLE {role} PASSWORD '{password}'"
            )))
            .await?;
    }
    admin.close().await
}

/// Creates database `name` owned by the owner role unless it exists. `name` must be a plain
/// identifier (lowercase letters, digits, underscores).
pub async fn ensure_database(
    admin_url: &str,
    name: &str,
    template: Option<&str>,
) -> Result<(), sqlx::Error> {
    assert!(
        is_identifier(name),
        "database name {name:?} is not a plain identifier"
    );
    let mut admin = PgConnection::connect(admin_url).await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut admin)
        .await?;
    if exists.is_none() {
        let template = match template {
            Some(t) => {
                assert!(
                    is_identifier(t),
                    "template name {t:?} is not a plain identifier"
                );
                format!(" TEMPLATE {t}")
            }
            None => String::new(),
        };
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {name} OWNER {OWNER_ROLE}{template}"
            )))
            .await?;
        // The runtime role may connect but not create anything in `public`.
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "GRANT CONNECT ON DATABASE {name} TO {APP_ROLE}"
            )))
            .await?;
    }
    admin.close().await
}

/// Drops database `name`, disconnecting its sessions.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    assert!(
        is_identifier(name),
        "database name {name:?} is not a plain identifier"
    );
    let mut admin = PgConnection::connect(admin_url).await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await?;
    admin.close().await
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}
