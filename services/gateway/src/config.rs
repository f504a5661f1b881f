//! Gateway settings.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DPS_LISTEN_ADDR` | `0.0.0.0:50051` | where callers connect |
//! | `DPS_GATEWAY_MODE` | `production` | `development` signs its own tokens with a local key |
//! | `DPS_GATEWAY_JWKS_URL` or `DPS_GATEWAY_JWKS_FILE` | one required in production | JSON Web Key Set of the identity provider |
//! | `DPS_GATEWAY_JWKS_REFRESH_SECONDS` | 300 | how often the key set is re-read |
//! | `DPS_GATEWAY_ISSUER` | `dps-dev` in development, required in production | expected `iss` |
//! | `DPS_GATEWAY_AUDIENCE` | `dps-suite` | expected `aud` |
//! | `DPS_GATEWAY_DEV_KEY_FILE` | unset: a new key per start | development signing key (PKCS#8 PEM), created if missing |
//! | `DPS_GATEWAY_{SUBJECT_REQUESTS,BREACHES,RETENTION,CONSENT}_URL` | required (standalone) | backend addresses |

use std::net::SocketAddr;
use std::path::PathBuf;

use dps_platform::{ConfigError, Env};

/// How tokens are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// A local Ed25519 key signs development tokens; never for real data.
    Development {
        /// Where the key is kept between runs; `None` for a new key each start.
        key_file: Option<PathBuf>,
    },
    /// Tokens from the identity provider, verified with its published keys.
    Production {
        /// The provider's JWKS.
        jwks: crate::auth::KeySource,
        /// How often it is re-read (`DPS_GATEWAY_JWKS_REFRESH_SECONDS`, default 300); an
        /// unknown `kid` also re-reads it, at most 10 times a minute.
        refresh_every: std::time::Duration,
    },
}

/// Where each backend service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backends {
    /// `dps.subject_requests.*`.
    pub subject_requests: String,
    /// `dps.breaches.*`.
    pub breaches: String,
    /// `dps.retention.*`.
    pub retention: String,
    /// `dps.consent.*`.
    pub consent: String,
}

/// Everything the gateway reads from its environment.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Listen address.
    pub listen_addr: SocketAddr,
    /// Token verification.
    pub mode: Mode,
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// The access audit log's head export.
    pub audit: AuditConfig,
    /// Rate and default deadline.
    pub limits: crate::Limits,
    /// Browser origins allowed to call over gRPC-Web (`DPS_GATEWAY_CORS_ORIGINS`,
    /// comma-separated; none by default).
    pub cors_origins: Vec<http::HeaderValue>,
    /// Keys that seal the identities forwarded to the services (`DPS_IDENTITY_KEYS`, shared
    /// with them; required in production, a new key per start in development).
    pub identity_keys: Vec<dps_platform::identity::IdentityKey>,
}

/// Where the audit chain's signed heads go (issue 9 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// Ed25519 key (PKCS#8 PEM) that signs exported heads: `DPS_GATEWAY_AUDIT_KEY_FILE`.
    /// Required in production, where it must be a mounted secret the database never sees; in
    /// development created when missing, or per process when unset.
    pub key_file: Option<PathBuf>,
    /// Append-only file of signed heads, `DPS_GATEWAY_AUDIT_HEAD_FILE`; heads always go to the
    /// log too.
    pub head_file: Option<PathBuf>,
    /// How often the head is exported, `DPS_GATEWAY_AUDIT_EXPORT_SECONDS` (default 60).
    pub export_every: std::time::Duration,
}

impl GatewayConfig {
    /// Reads and checks the settings; production without a key set is refused here, at start-up.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mode = match env
            .get("DPS_GATEWAY_MODE")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("production") => {
                let jwks = match (
                    env.get("DPS_GATEWAY_JWKS_URL"),
                    env.get("DPS_GATEWAY_JWKS_FILE"),
                ) {
                    (Some(_), Some(_)) => {
                        return Err(ConfigError::new(
                            "DPS_GATEWAY_JWKS_URL",
                            "set DPS_GATEWAY_JWKS_URL or DPS_GATEWAY_JWKS_FILE, not both",
                        ));
                    }
                    (Some(url), None)
                        if url.starts_with("https://") || url.starts_with("http://") =>
                    {
                        crate::auth::KeySource::Url(url.to_owned())
                    }
                    (Some(url), None) => {
                        return Err(ConfigError::new(
                            "DPS_GATEWAY_JWKS_URL",
                            format!("expected an https:// URL, got {url:?}"),
                        ));
                    }
                    (None, Some(file)) => crate::auth::KeySource::File(PathBuf::from(file)),
                    (None, None) => {
                        return Err(ConfigError::new(
                            "DPS_GATEWAY_JWKS_FILE",
                            "production mode needs the identity provider's key set: DPS_GATEWAY_JWKS_URL or DPS_GATEWAY_JWKS_FILE (or set DPS_GATEWAY_MODE=development for local use)",
                        ));
                    }
                };
                let refresh: u64 = env.parse_or("DPS_GATEWAY_JWKS_REFRESH_SECONDS", 300)?;
                if refresh == 0 {
                    return Err(ConfigError::new(
                        "DPS_GATEWAY_JWKS_REFRESH_SECONDS",
                        "must be at least 1",
                    ));
                }
                Mode::Production {
                    jwks,
                    refresh_every: std::time::Duration::from_secs(refresh),
                }
            }
            Some("development") => Mode::Development {
                key_file: env.get("DPS_GATEWAY_DEV_KEY_FILE").map(PathBuf::from),
            },
            Some(other) => {
                return Err(ConfigError::new(
                    "DPS_GATEWAY_MODE",
                    format!("expected production or development, got {other:?}"),
                ));
            }
        };
        let issuer = match (&mode, env.get("DPS_GATEWAY_ISSUER")) {
            (_, Some(issuer)) => issuer.to_owned(),
            (Mode::Development { .. }, None) => "dps-dev".to_owned(),
            (Mode::Production { .. }, None) => {
                return Err(ConfigError::new(
                    "DPS_GATEWAY_ISSUER",
                    "production mode needs the expected token issuer",
                ));
            }
        };
        let key_file = env.get("DPS_GATEWAY_AUDIT_KEY_FILE").map(PathBuf::from);
        if key_file.is_none() && matches!(mode, Mode::Production { .. }) {
            return Err(ConfigError::new(
                "DPS_GATEWAY_AUDIT_KEY_FILE",
                "production mode needs the key that signs the audit chain's exported heads",
            ));
        }
        let export_seconds: u64 = env.parse_or("DPS_GATEWAY_AUDIT_EXPORT_SECONDS", 60)?;
        if export_seconds == 0 {
            return Err(ConfigError::new(
                "DPS_GATEWAY_AUDIT_EXPORT_SECONDS",
                "must be at least 1",
            ));
        }
        let audit = AuditConfig {
            key_file,
            head_file: env.get("DPS_GATEWAY_AUDIT_HEAD_FILE").map(PathBuf::from),
            export_every: std::time::Duration::from_secs(export_seconds),
        };
        let defaults = crate::Limits::default();
        let timeout_seconds: u64 = env.parse_or(
            "DPS_GATEWAY_DEFAULT_TIMEOUT_SECONDS",
            defaults.default_timeout.as_secs(),
        )?;
        if timeout_seconds == 0 {
            return Err(ConfigError::new(
                "DPS_GATEWAY_DEFAULT_TIMEOUT_SECONDS",
                "must be at least 1",
            ));
        }
        let limits = crate::Limits {
            rate_per_second: env.parse_or("DPS_GATEWAY_RATE_LIMIT", defaults.rate_per_second)?,
            default_timeout: std::time::Duration::from_secs(timeout_seconds),
        };
        let mut cors_origins = Vec::new();
        for origin in env
            .get("DPS_GATEWAY_CORS_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
                && !origin.trim_end_matches('/').contains(['*', ' '])
                && origin.matches('/').count() == 2;
            let value = http::HeaderValue::from_str(origin).ok().filter(|_| valid);
            cors_origins.push(value.ok_or_else(|| {
                ConfigError::new(
                    "DPS_GATEWAY_CORS_ORIGINS",
                    format!("expected origins like https://console.example.org, got {origin:?}"),
                )
            })?);
        }
        let mut identity_keys = dps_platform::config::identity_keys(env)?;
        if identity_keys.is_empty() {
            match mode {
                Mode::Development { .. } => {
                    identity_keys.push(dps_platform::identity::IdentityKey::generate());
                }
                Mode::Production { .. } => {
                    return Err(ConfigError::new(
                        "DPS_IDENTITY_KEYS",
                        "production mode needs the key shared with the services that seals each caller's identity",
                    ));
                }
            }
        }
        Ok(Self {
            listen_addr: env
                .parse_or("DPS_LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 50051)))?,
            mode,
            audit,
            limits,
            cors_origins,
            identity_keys,
            issuer,
            audience: env
                .get("DPS_GATEWAY_AUDIENCE")
                .unwrap_or("dps-suite")
                .to_owned(),
        })
    }
}

impl GatewayConfig {
    /// Makes this process seal (and, holding the services too, check) identities with the
    /// configured keys.
    pub fn trust_identity_keys(&self) {
        for key in &self.identity_keys {
            dps_platform::identity::trust(key.clone());
        }
    }
}

impl Backends {
    /// Reads the backend addresses of a standalone gateway.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let url = |var: &str| {
            let value = env.get(var).ok_or_else(|| {
                ConfigError::new(var, "not set: the gateway needs every backend's address")
            })?;
            if value.starts_with("http://") || value.starts_with("https://") {
                Ok(value.to_owned())
            } else {
                Err(ConfigError::new(
                    var,
                    format!("expected http://host:port, got {value:?}"),
                ))
            }
        };
        Ok(Self {
            subject_requests: url("DPS_GATEWAY_SUBJECT_REQUESTS_URL")?,
            breaches: url("DPS_GATEWAY_BREACHES_URL")?,
            retention: url("DPS_GATEWAY_RETENTION_URL")?,
            consent: url("DPS_GATEWAY_CONSENT_URL")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_is_the_default_and_refuses_to_start_without_keys() {
        let err = GatewayConfig::from_env(&Env::default()).expect_err("no keys");
        assert_eq!(err.var, "DPS_GATEWAY_JWKS_FILE");
        let env = Env::from_pairs([("DPS_GATEWAY_JWKS_FILE", "/etc/dps/jwks.json")]);
        assert_eq!(
            GatewayConfig::from_env(&env).expect_err("no issuer").var,
            "DPS_GATEWAY_ISSUER"
        );
        let env = Env::from_pairs([
            ("DPS_GATEWAY_JWKS_FILE", "/etc/dps/jwks.json"),
            ("DPS_GATEWAY_ISSUER", "https://id.example.org"),
        ]);
        assert_eq!(
            GatewayConfig::from_env(&env).expect_err("no audit key").var,
            "DPS_GATEWAY_AUDIT_KEY_FILE"
        );
    }

    #[test]
    fn the_key_set_comes_from_one_url_or_one_file() {
        let base = [
            ("DPS_GATEWAY_ISSUER", "https://id.example.org"),
            ("DPS_GATEWAY_AUDIT_KEY_FILE", "/run/secrets/audit.pem"),
            (
                "DPS_IDENTITY_KEYS",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            GatewayConfig::from_env(&Env::from_pairs(base.iter().chain(extra).copied()))
        };
        let url = with(&[("DPS_GATEWAY_JWKS_URL", "https://id.example.org/jwks")]).expect("url");
        assert_eq!(
            url.mode,
            Mode::Production {
                jwks: crate::auth::KeySource::Url("https://id.example.org/jwks".into()),
                refresh_every: std::time::Duration::from_secs(300),
            }
        );
        let both = with(&[
            ("DPS_GATEWAY_JWKS_URL", "https://id.example.org/jwks"),
            ("DPS_GATEWAY_JWKS_FILE", "/etc/jwks.json"),
        ]);
        assert_eq!(both.expect_err("both").var, "DPS_GATEWAY_JWKS_URL");
        let ftp = with(&[("DPS_GATEWAY_JWKS_URL", "ftp://id.example.org/jwks")]);
        assert_eq!(ftp.expect_err("scheme").var, "DPS_GATEWAY_JWKS_URL");
    }

    #[test]
    fn cors_origins_are_exact_origins() {
        let dev = |origins: &'static str| {
            GatewayConfig::from_env(&Env::from_pairs([
                ("DPS_GATEWAY_MODE", "development"),
                ("DPS_GATEWAY_CORS_ORIGINS", origins),
            ]))
        };
        let ok = dev("https://console.example.org, http://localhost:5173").expect("valid");
        assert_eq!(ok.cors_origins.len(), 2);
        for bad in [
            "*",
            "https://*.example.org",
            "console.example.org",
            "https://x.org/path",
        ] {
            assert_eq!(
                dev(bad).expect_err(bad).var,
                "DPS_GATEWAY_CORS_ORIGINS",
                "{bad}"
            );
        }
    }

    #[test]
    fn development_mode_needs_nothing_else() {
        let cfg = GatewayConfig::from_env(&Env::from_pairs([("DPS_GATEWAY_MODE", "development")]))
            .expect("valid");
        assert_eq!(cfg.mode, Mode::Development { key_file: None });
        assert_eq!(
            (cfg.issuer.as_str(), cfg.audience.as_str()),
            ("dps-dev", "dps-suite")
        );
    }

    #[test]
    fn an_unknown_mode_is_refused() {
        let err = GatewayConfig::from_env(&Env::from_pairs([("DPS_GATEWAY_MODE", "dev")]))
            .expect_err("unknown");
        assert_eq!(err.var, "DPS_GATEWAY_MODE");
    }

    #[test]
    fn backend_addresses_must_be_urls() {
        let env = Env::from_pairs([
            ("DPS_GATEWAY_SUBJECT_REQUESTS_URL", "http://sr:50051"),
            ("DPS_GATEWAY_BREACHES_URL", "breaches:50051"),
        ]);
        assert_eq!(
            Backends::from_env(&env).expect_err("bad").var,
            "DPS_GATEWAY_BREACHES_URL"
        );
    }
}
