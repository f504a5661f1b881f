//! Bearer-token verification, and the development token issuer.
//!
//! `jsonwebtoken`'s defaults are unsafe for a gateway: each key gets its own `Validation` bound to
//! that key's one algorithm (so an RSA public key can never be used as an HMAC secret), `exp`,
//! `nbf`, `iss`, `aud` and `sub` are required, `nbf` is checked, and the leeway is explicit.
//! Keys come only from our configuration, never from a token's `jku`, `jwk` or `x5u` header.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dps_platform::CallContext;
use dps_types::{CallerId, TenantId};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::policy::Role;

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;

/// The claims the suite reads from an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The caller: a person or a platform's service account.
    pub sub: String,
    /// The subsidiary the caller acts for.
    pub tenant: String,
    /// The caller's roles (e.g. `dpo`, `staff`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// For group-wide roles: the tenants they may act for (`*` for every tenant of the group).
    /// Tenant-scoped roles act only for `tenant`, whatever this says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expires.
    pub exp: u64,
}

/// Why a token was refused. Logged (and later audited); the caller only ever hears
/// "missing or invalid credentials", so failures cannot be used as an oracle.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `authorization: Bearer …` metadata.
    #[error("no bearer token")]
    Missing,
    /// The header has no `kid`, or one we do not know.
    #[error("unknown or missing key id")]
    UnknownKey,
    /// Signature, algorithm, expiry, issuer, audience or a required claim failed.
    #[error("token rejected: {0}")]
    Rejected(String),
    /// The tenant or subject claim is not a valid identifier.
    #[error("token has an invalid tenant or subject claim")]
    BadIdentity,
}

/// A key set could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The content is not a usable key or key set.
    #[error("{0}")]
    Invalid(String),
}

type KeyMap = HashMap<String, (DecodingKey, Validation)>;

/// Where the identity provider's key set comes from, re-read to follow key rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A file (e.g. a mounted ConfigMap kept in sync with the provider).
    File(PathBuf),
    /// The provider's JWKS URL (`https://…`, or `http://` inside a cluster).
    Url(String),
}

/// Verifies bearer tokens against the identity provider's public keys. Keys are swapped whole
/// on reload, so a verification sees one consistent set.
pub struct Verifier {
    keys: RwLock<Arc<KeyMap>>,
    issuer: String,
    audience: String,
    source: Option<KeySource>,
    on_demand: Mutex<VecDeque<Instant>>,
    /// Tokens already verified, with their expiry: a platform sends the same token on every
    /// call, and an Ed25519 check costs more than the rest of the gateway's work on a call.
    verified: Mutex<HashMap<String, (Principal, u64)>>,
}

/// Verified tokens remembered at most; the memory is simply emptied when full.
const MAX_VERIFIED: usize = 10_000;

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("kids", &self.current().keys().cloned().collect::<Vec<_>>())
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Reloads of the key set that unknown `kid`s may trigger, per minute: random `kid`s must not
/// make the gateway hammer the identity provider.
pub const ON_DEMAND_RELOADS_PER_MINUTE: usize = 10;

/// The largest key set read, in bytes.
const MAX_JWKS_BYTES: u64 = 1024 * 1024;

impl Verifier {
    /// Loads the key set from `source` once; [`Verifier::reload`] and
    /// [`Verifier::spawn_refresh`] keep it current.
    pub async fn load(source: KeySource, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let json = fetch(&source).await?;
        let keys = parse_jwks(&json, issuer, audience)?;
        Ok(Self::with_keys(keys, issuer, audience, Some(source)))
    }

    /// Loads a JWKS file (without reloading it).
    pub fn from_jwks_file(path: &Path, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let json = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_jwks(&json, issuer, audience)
            .map_err(|e| KeyError::Invalid(format!("{}: {e}", path.display())))
    }

    /// Builds a verifier from a JWKS document, never reloaded.
    pub fn from_jwks(json: &str, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let keys = parse_jwks(json, issuer, audience)?;
        Ok(Self::with_keys(keys, issuer, audience, None))
    }

    fn with_keys(keys: KeyMap, issuer: &str, audience: &str, source: Option<KeySource>) -> Self {
        Self {
            keys: RwLock::new(Arc::new(keys)),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            source,
            on_demand: Mutex::new(VecDeque::new()),
            verified: Mutex::new(HashMap::new()),
        }
    }

    fn current(&self) -> Arc<KeyMap> {
        Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Re-reads the key set; a set that cannot be read or has no usable key leaves the current
    /// one in place. Returns the number of keys now in use.
    pub async fn reload(&self) -> Result<usize, KeyError> {
        let Some(source) = &self.source else {
            return Ok(self.current().len());
        };
        let keys = parse_jwks(&fetch(source).await?, &self.issuer, &self.audience)?;
        let count = keys.len();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
        // A key may have been withdrawn: its tokens must be checked again.
        self.verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(count)
    }

    /// Reloads every `every` in the background, for as long as the verifier lives.
    pub fn spawn_refresh(self: &Arc<Self>, every: std::time::Duration) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(verifier) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = verifier.reload().await {
                    tracing::warn!(error = %e, "reloading the identity provider's keys failed; keeping the current ones");
                }
            }
        });
    }

    /// Whether an unknown `kid` may trigger a reload now (at most
    /// [`ON_DEMAND_RELOADS_PER_MINUTE`] in any minute).
    fn may_reload(&self, now: Instant) -> bool {
        let mut recent = self.on_demand.lock().unwrap_or_else(|e| e.into_inner());
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= std::time::Duration::from_secs(60))
        {
            recent.pop_front();
        }
        if recent.len() >= ON_DEMAND_RELOADS_PER_MINUTE {
            return false;
        }
        recent.push_back(now);
        true
    }

    /// Verifies a token; a `kid` not in the current set reloads the set first (rate-limited),
    /// so keys the provider rotates in are accepted without a restart.
    pub async fn verify_fresh(&self, token: &str) -> Result<Principal, AuthError> {
        match self.verify(token) {
            Err(AuthError::UnknownKey)
                if self.source.is_some() && self.may_reload(Instant::now()) =>
            {
                if let Err(e) = self.reload().await {
                    tracing::warn!(error = %e, "reloading keys for an unknown kid failed");
                }
                self.verify(token)
            }
            other => other,
        }
    }
}

/// Reads the key set from its source.
async fn fetch(source: &KeySource) -> Result<String, KeyError> {
    match source {
        KeySource::File(path) => {
            tokio::fs::read_to_string(path)
                .await
                .map_err(|source| KeyError::Io {
                    path: path.display().to_string(),
                    source,
                })
        }
        KeySource::Url(url) => {
            let url = url.clone();
            tokio::task::spawn_blocking(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(std::time::Duration::from_secs(5)))
                    .build()
                    .into();
                agent
                    .get(&url)
                    .header("accept", "application/json")
                    .call()
                    .map_err(|e| KeyError::Invalid(format!("fetching {url}: {e}")))?
                    .body_mut()
                    .with_config()
                    .limit(MAX_JWKS_BYTES)
                    .read_to_string()
                    .map_err(|e| KeyError::Invalid(format!("reading {url}: {e}")))
            })
            .await
            .map_err(|e| KeyError::Invalid(e.to_string()))?
        }
    }
}

/// The usable keys of a JWKS document. Keys without a `kid`, or of an algorithm other than
/// RS256, ES256 or EdDSA, are skipped; a set with no usable key is refused.
fn parse_jwks(json: &str, issuer: &str, audience: &str) -> Result<KeyMap, KeyError> {
    let set: JwkSet = serde_json::from_str(json)
        .map_err(|e| KeyError::Invalid(format!("not a JSON Web Key Set: {e}")))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            tracing::warn!("skipping a key without kid");
            continue;
        };
        let Some(algorithm) = pinned_algorithm(jwk.common.key_algorithm, &jwk.algorithm) else {
            tracing::warn!(%kid, "skipping a key whose algorithm is not RS256, ES256 or EdDSA");
            continue;
        };
        let key =
            DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Invalid(format!("key {kid}: {e}")))?;
        keys.insert(kid, (key, validation(algorithm, issuer, audience)));
    }
    if keys.is_empty() {
        return Err(KeyError::Invalid(
            "no usable key (RS256, ES256 or EdDSA with a kid)".into(),
        ));
    }
    Ok(keys)
}

impl Verifier {
    /// Verifies a bearer token against the current keys and returns the caller it proves.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if let Some((principal, exp)) = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            && now <= exp.saturating_add(LEEWAY_SECONDS)
        {
            return Ok(principal.clone());
        }
        let principal = self.verify_signed(token)?;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= MAX_VERIFIED {
            verified.clear();
        }
        verified.insert(token.to_owned(), principal.clone());
        Ok(principal.0)
    }

    /// Checks the token's signature and claims; the principal and its expiry.
    fn verify_signed(&self, token: &str) -> Result<(Principal, u64), AuthError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| AuthError::Rejected(e.to_string()))?;
        // RFC 9068: an access token says so, which keeps ID tokens and other JWTs out.
        if !header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        }) {
            return Err(AuthError::Rejected("typ is not at+jwt".into()));
        }
        // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
        if header.crit.is_some() {
            return Err(AuthError::Rejected("crit header present".into()));
        }
        let keys = self.current();
        let (key, validation) = header
            .kid
            .as_deref()
            .and_then(|kid| keys.get(kid))
            .ok_or(AuthError::UnknownKey)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, validation)
            .map_err(|e| AuthError::Rejected(e.to_string()))?;
        let claims = data.claims;
        let principal = Principal {
            tenant: TenantId::parse(&claims.tenant).map_err(|_| AuthError::BadIdentity)?,
            caller: CallerId::parse(&claims.sub).map_err(|_| AuthError::BadIdentity)?,
            // Roles we do not know grant nothing.
            roles: claims
                .roles
                .iter()
                .filter_map(|r| Role::from_code(r))
                .collect(),
            group_tenants: claims.tenants,
        };
        Ok((principal, claims.exp))
    }
}

/// Who a verified token proves the caller to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant the caller belongs to.
    pub tenant: TenantId,
    /// The token's subject.
    pub caller: CallerId,
    /// The roles we know, in token order.
    pub roles: Vec<Role>,
    /// The tenants the group-wide roles may act for; `*` means all.
    pub group_tenants: Vec<String>,
}

/// Why a principal may not act for the tenant it named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Only group-wide roles act for another tenant.
    #[error("tenant-scoped roles cannot act for another tenant")]
    TenantScoped,
    /// The token does not list that tenant.
    #[error("the token does not grant that tenant")]
    NotGranted,
    /// The named tenant is not a valid identifier.
    #[error("not a valid tenant")]
    Invalid,
}

impl Principal {
    /// The identity to forward when acting for `requested` (the token's own tenant when
    /// `None`). In another tenant only the group-wide roles apply.
    pub fn act_for(&self, requested: Option<&str>) -> Result<CallContext, ScopeError> {
        let context = |tenant: TenantId, roles: Vec<Role>| CallContext {
            tenant,
            caller: self.caller.clone(),
            roles: roles.iter().map(|r| r.code().to_owned()).collect(),
        };
        let Some(requested) = requested.filter(|t| *t != self.tenant.as_str()) else {
            return Ok(context(self.tenant.clone(), self.roles.clone()));
        };
        let tenant = TenantId::parse(requested).map_err(|_| ScopeError::Invalid)?;
        let group: Vec<Role> = self
            .roles
            .iter()
            .copied()
            .filter(|r| r.is_group_wide())
            .collect();
        if group.is_empty() {
            return Err(ScopeError::TenantScoped);
        }
        if !self
            .group_tenants
            .iter()
            .any(|t| t == "*" || t == requested)
        {
            return Err(ScopeError::NotGranted);
        }
        Ok(context(tenant, group))
    }
}

/// The key's algorithm, only if it is one we accept and it matches the key's type.
fn pinned_algorithm(
    declared: Option<KeyAlgorithm>,
    params: &AlgorithmParameters,
) -> Option<Algorithm> {
    let from_type = match params {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    let declared = match declared {
        None => return Some(from_type),
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(_) => return None,
    };
    (declared == from_type).then_some(from_type)
}

fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    validation
}

/// Signs development tokens with a local Ed25519 key. Only in development mode: anyone who can
/// read the key file can act as any tenant.
pub struct DevIssuer {
    key: EncodingKey,
    public: [u8; 32],
    kid: String,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DevIssuer {
    /// Loads the key from `key_file`, creating it (mode 0600) when missing; without a file, a new
    /// key for this process only.
    pub fn load_or_create(
        key_file: Option<&Path>,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeyError> {
        let signing = signing_key(key_file, true)?;
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| KeyError::Invalid(e.to_string()))?;
        let public = signing.verifying_key().to_bytes();
        Ok(Self {
            key: EncodingKey::from_ed_der(der.as_bytes()),
            kid: format!("dev-{}", &URL_SAFE_NO_PAD.encode(public)[..8]),
            public,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// The public key as a JWKS document.
    pub fn jwks_json(&self) -> String {
        serde_json::json!({ "keys": [{
            "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
            "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(self.public),
        }]})
        .to_string()
    }

    /// A verifier for this issuer's tokens, through the same JWKS path as production.
    pub fn verifier(&self) -> Verifier {
        Verifier::from_jwks(&self.jwks_json(), &self.issuer, &self.audience)
            .expect("our own JWKS is always valid")
    }

    /// A token for `subject` acting for `tenant` with `roles`, valid for `ttl_seconds`.
    pub fn token(&self, tenant: &str, subject: &str, roles: &[&str], ttl_seconds: u64) -> String {
        self.token_for_group(tenant, subject, roles, &[], ttl_seconds)
    }

    /// As [`Self::token`], with the tenants the group-wide roles may act for (`*`: all).
    pub fn token_for_group(
        &self,
        tenant: &str,
        subject: &str,
        roles: &[&str],
        tenants: &[&str],
        ttl_seconds: u64,
    ) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: subject.to_owned(),
            tenant: tenant.to_owned(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            tenants: tenants.iter().map(|t| (*t).to_owned()).collect(),
            iat: now,
            nbf: now,
            exp: now + ttl_seconds,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .expect("signing with a valid Ed25519 key cannot fail")
    }
}

/// An Ed25519 key from the PKCS#8 PEM file `key_file`. A missing file is created (mode 0600)
/// when `create`, and an error otherwise; without a file, a new key for this process only.
pub fn signing_key(key_file: Option<&Path>, create: bool) -> Result<SigningKey, KeyError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| KeyError::Io { path, source }
    };
    Ok(match key_file {
        Some(path) if path.exists() || !create => {
            let pem = std::fs::read_to_string(path).map_err(io(path))?;
            SigningKey::from_pkcs8_pem(&pem)
                .map_err(|e| KeyError::Invalid(format!("{}: {e}", path.display())))?
        }
        _ => {
            let signing = SigningKey::generate(&mut rand_core::OsRng);
            if let Some(path) = key_file {
                let pem = signing
                    .to_pkcs8_pem(Default::default())
                    .map_err(|e| KeyError::Invalid(e.to_string()))?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io(dir))?;
                }
                write_private(path, pem.as_bytes()).map_err(io(path))?;
            }
            signing
        }
    })
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> DevIssuer {
        DevIssuer::load_or_create(None, "dps-dev", "dps-suite").expect("key")
    }

    #[test]
    fn a_dev_token_proves_its_tenant_caller_and_roles() {
        let issuer = issuer();
        let context = issuer
            .verifier()
            .verify(&issuer.token("acme-north", "jane.dpo", &["dpo"], 60))
            .expect("valid");
        assert_eq!(context.tenant.as_str(), "acme-north");
        assert_eq!(context.caller.as_str(), "jane.dpo");
        assert_eq!(context.roles, [Role::Dpo]);
    }

    #[test]
    fn another_key_issuer_or_audience_is_refused() {
        let ours = issuer();
        let theirs = issuer();
        let token = theirs.token("acme-north", "x", &[], 60);
        assert!(matches!(
            ours.verifier().verify(&token),
            Err(AuthError::UnknownKey)
        ));
        let wrong_aud = DevIssuer {
            audience: "other".into(),
            ..ours_clone(&ours)
        };
        assert!(matches!(
            ours.verifier()
                .verify(&wrong_aud.token("acme-north", "x", &[], 60)),
            Err(AuthError::Rejected(_))
        ));
        let wrong_iss = DevIssuer {
            issuer: "evil".into(),
            ..ours_clone(&ours)
        };
        assert!(matches!(
            ours.verifier()
                .verify(&wrong_iss.token("acme-north", "x", &[], 60)),
            Err(AuthError::Rejected(_))
        ));
    }

    #[test]
    fn expired_tokens_are_refused_beyond_the_leeway() {
        let issuer = issuer();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let claims = Claims {
            iss: "dps-dev".into(),
            aud: "dps-suite".into(),
            sub: "x".into(),
            tenant: "acme-north".into(),
            roles: vec![],
            tenants: vec![],
            iat: now - 600,
            nbf: now - 600,
            exp: now - LEEWAY_SECONDS - 5,
        };
        let token = sign(&issuer, &claims, |_| {});
        assert!(issuer.verifier().verify(&token).is_err());
        let claims = Claims {
            exp: now + 60,
            ..claims
        };
        assert!(
            issuer
                .verifier()
                .verify(&sign(&issuer, &claims, |_| {}))
                .is_ok(),
            "the same token, unexpired, passes"
        );
        let claims = Claims {
            exp: now - LEEWAY_SECONDS - 5,
            ..claims
        };
        let token = sign(&issuer, &claims, |_| {});
        assert!(matches!(
            issuer.verifier().verify(&token),
            Err(AuthError::Rejected(_))
        ));
    }

    #[test]
    fn unsigned_and_hmac_tokens_are_refused() {
        let issuer = issuer();
        let good = issuer.token("acme-north", "x", &[], 60);
        let (_, rest) = good.split_once('.').expect("jwt");
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, issuer.kid));
        let none = format!("{header}.{}.", rest.split_once('.').expect("jwt").0);
        assert!(issuer.verifier().verify(&none).is_err());
        // The public key used as an HMAC secret: the classic algorithm confusion.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(issuer.kid.clone());
        header.typ = Some("at+jwt".into());
        let claims: Claims = jsonwebtoken::dangerous::insecure_decode(&good)
            .expect("claims")
            .claims;
        let hmac =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&issuer.public))
                .expect("sign");
        assert!(matches!(
            issuer.verifier().verify(&hmac),
            Err(AuthError::Rejected(_))
        ));
    }

    #[test]
    fn a_key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("dps-gw-key-{}", std::process::id()));
        let path = dir.join("dev.pem");
        let first = DevIssuer::load_or_create(Some(&path), "dps-dev", "dps-suite").expect("create");
        let second = DevIssuer::load_or_create(Some(&path), "dps-dev", "dps-suite").expect("load");
        assert_eq!(first.kid, second.kid);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).expect("meta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_key_set_without_usable_keys_is_refused() {
        assert!(Verifier::from_jwks(r#"{"keys":[]}"#, "i", "a").is_err());
        assert!(Verifier::from_jwks("not json", "i", "a").is_err());
        let hmac = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"k1","alg":"HS256"}]}"#;
        assert!(
            Verifier::from_jwks(hmac, "i", "a").is_err(),
            "symmetric keys are never accepted"
        );
    }

    /// `claims` signed by `issuer` as an access token, after `edit` changes the header.
    fn sign(issuer: &DevIssuer, claims: &Claims, edit: impl FnOnce(&mut Header)) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(issuer.kid.clone());
        header.typ = Some("at+jwt".into());
        edit(&mut header);
        jsonwebtoken::encode(&header, claims, &issuer.key).expect("sign")
    }

    #[test]
    fn only_access_tokens_without_critical_extensions_pass() {
        let issuer = issuer();
        let good = issuer.token("acme-north", "x", &["staff"], 60);
        let claims: Claims = jsonwebtoken::dangerous::insecure_decode(&good)
            .expect("claims")
            .claims;
        assert!(
            issuer
                .verifier()
                .verify(&sign(&issuer, &claims, |_| {}))
                .is_ok()
        );
        for edit in [
            (|h: &mut Header| h.typ = Some("JWT".into())) as fn(&mut Header),
            |h| h.typ = None,
            |h| h.crit = Some(vec!["exp".into()]),
        ] {
            let token = sign(&issuer, &claims, edit);
            assert!(matches!(
                issuer.verifier().verify(&token),
                Err(AuthError::Rejected(_))
            ));
        }
    }

    #[test]
    fn group_wide_roles_act_for_granted_tenants_and_tenant_scoped_ones_never() {
        let issuer = issuer();
        let verify = |roles: &[&str], tenants: &[&str]| {
            issuer
                .verifier()
                .verify(&issuer.token_for_group("acme-north", "jane", roles, tenants, 60))
                .expect("valid")
        };
        let dpo = verify(&["dpo", "staff"], &["acme-south"]);
        let own = dpo.act_for(None).expect("own tenant");
        assert_eq!(
            (own.tenant.as_str(), own.roles.as_slice()),
            ("acme-north", &["dpo".to_owned(), "staff".to_owned()][..])
        );
        let south = dpo.act_for(Some("acme-south")).expect("granted");
        assert_eq!(
            (south.tenant.as_str(), south.roles.as_slice()),
            ("acme-south", &["dpo".to_owned()][..]),
            "only the group-wide role travels"
        );
        assert_eq!(dpo.act_for(Some("acme-east")), Err(ScopeError::NotGranted));
        assert!(
            verify(&["auditor"], &["*"])
                .act_for(Some("acme-east"))
                .is_ok()
        );
        let staff = verify(&["staff", "ghost_role"], &["*"]);
        assert_eq!(staff.roles, [Role::Staff], "unknown roles grant nothing");
        assert_eq!(
            staff.act_for(Some("acme-south")),
            Err(ScopeError::TenantScoped)
        );
        assert_eq!(
            staff
                .act_for(Some("acme-north"))
                .expect("own")
                .tenant
                .as_str(),
            "acme-north"
        );
        assert_eq!(dpo.act_for(Some("Not A Tenant")), Err(ScopeError::Invalid));
    }

    fn ours_clone(issuer: &DevIssuer) -> DevIssuer {
        DevIssuer {
            key: issuer.key.clone(),
            public: issuer.public,
            kid: issuer.kid.clone(),
            issuer: issuer.issuer.clone(),
            audience: issuer.audience.clone(),
        }
    }
}
