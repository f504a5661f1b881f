//! Forwards authenticated, authorised calls to the service that owns the method, and audits every
//! call. Messages pass through undecoded, except that a unary request's top-level `name` and
//! `parent` fields are read for the audit row: the gateway never holds personal data in a form
//! it could log.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use dps_platform::context::GATEWAY_HEADERS;
use dps_platform::trace_context::{self, ServerTraceLayer};
use http_body_util::{BodyExt as _, Full, Limited, StreamBody};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::Bytes;
use tonic::metadata::MetadataMap;
use tonic::service::Routes;
use tonic::transport::Channel;
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;
use tracing::Instrument as _;

use crate::audit::{AuditLog, AuditRecord, CallRow, chain};
use crate::auth::Verifier;
use crate::config::Backends;
use crate::limits::{self, Limits, RateLimiter};
use crate::methods::{MethodInfo, Methods};
use crate::policy::{self, Role};

/// Request header in which a group-wide caller names the tenant it acts for.
pub const ACT_FOR_TENANT_HEADER: &str = "dps-tenant";

/// The largest request or response message the gateway passes, in bytes (tonic's default).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Connections to each backend, used in turn.
const BACKEND_CONNECTIONS: usize = 8;

/// How long connecting to a backend may take before it counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The gateway answers `DEADLINE_EXCEEDED` this much before the caller's deadline: at the
/// deadline itself tonic's own server timeout would answer first, with `CANCELLED`.
const DEADLINE_MARGIN: Duration = Duration::from_millis(25);

type LocalService = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Infallible>;

/// How the gateway reaches one backend service.
#[derive(Clone)]
pub enum Upstream {
    /// Over gRPC at this URL: a separate process, as in a distributed deployment.
    Url(String),
    /// In this process (the all-in-one binary): the service's routes are called directly, behind
    /// the same server trace layer a socket would add, so the call skips a second HTTP/2 hop.
    InProcess(Routes),
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Url(url) => f.debug_tuple("Url").field(url).finish(),
            Self::InProcess(_) => f.write_str("InProcess"),
        }
    }
}

/// Where each backend's calls go.
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// `dps.subject_requests.*`.
    pub subject_requests: Upstream,
    /// `dps.breaches.*`.
    pub breaches: Upstream,
    /// `dps.retention.*`.
    pub retention: Upstream,
    /// `dps.consent.*`.
    pub consent: Upstream,
}

impl From<&Backends> for Upstreams {
    fn from(backends: &Backends) -> Self {
        let url = |u: &String| Upstream::Url(u.clone());
        Self {
            subject_requests: url(&backends.subject_requests),
            breaches: url(&backends.breaches),
            retention: url(&backends.retention),
            consent: url(&backends.consent),
        }
    }
}

/// Where a package's calls go.
#[derive(Clone)]
enum Target {
    /// A backend service over gRPC: several connections, taken in turn, so one connection's
    /// stream limit and flow control do not queue every caller's calls.
    Remote(Arc<[Channel]>, Arc<AtomicUsize>),
    /// A service in this process: the gateway's own audit log and reflection, and in the
    /// all-in-one binary the backends themselves.
    Local(LocalService),
}

/// Routes `/dps.<package>.…` to the backend of that package.
#[derive(Clone)]
pub struct Proxy {
    verifier: Arc<Verifier>,
    audit: AuditLog,
    methods: Arc<Methods>,
    routes: Arc<[(&'static str, Target)]>,
    limiter: Arc<RateLimiter>,
    limits: Limits,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field(
                "packages",
                &self.routes.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// A proxy to `upstreams`; connections are opened lazily and re-established after failures.
    pub fn new(
        verifier: Arc<Verifier>,
        upstreams: Upstreams,
        audit: AuditLog,
        limits: Limits,
    ) -> Self {
        let channel = |upstream: Upstream| match upstream {
            Upstream::Url(url) => {
                let connections = (0..BACKEND_CONNECTIONS)
                    .map(|_| {
                        Channel::from_shared(url.clone())
                            .expect("backend URLs are validated in config")
                            // A backend that does not accept a connection is down: say so quickly.
                            .connect_timeout(CONNECT_TIMEOUT)
                            .connect_lazy()
                    })
                    .collect();
                Target::Remote(connections, Arc::new(AtomicUsize::new(0)))
            }
            Upstream::InProcess(routes) => Target::Local(BoxCloneSyncService::new(
                tower::Layer::layer(&ServerTraceLayer, routes.prepare()),
            )),
        };
        let local = Target::Local(BoxCloneSyncService::new(
            crate::audit::grpc::AuditApi::server(audit.clone()),
        ));
        // Reflection describes the whole API: for authenticated callers only.
        let reflection = Target::Local(BoxCloneSyncService::new(
            dps_platform::server::with_reflection(tonic::service::Routes::default())
                .expect("the embedded descriptor sets are valid")
                .prepare(),
        ));
        let routes: Vec<(&'static str, Target)> = vec![
            (
                "/dps.subject_requests.",
                channel(upstreams.subject_requests),
            ),
            ("/dps.breaches.", channel(upstreams.breaches)),
            ("/dps.retention.", channel(upstreams.retention)),
            ("/dps.consent.", channel(upstreams.consent)),
            ("/dps.gateway.", local),
            ("/grpc.reflection.", reflection),
        ];
        Self {
            verifier,
            audit,
            methods: Arc::new(Methods::from_descriptors()),
            routes: routes.into(),
            limiter: Arc::new(RateLimiter::new(limits.rate_per_second)),
            limits,
        }
    }

    async fn forward<B>(self, request: http::Request<B>) -> http::Response<Body>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<tonic::codegen::StdError>,
    {
        let path = request.uri().path().to_owned();
        let mut record = self
            .audit
            .begin(AuditRecord::new(&path, time::OffsetDateTime::now_utc()));
        let (mut parts, body) = request.into_parts();
        let token = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let verified = match token {
            Some(token) => self.verifier.verify_fresh(token).await,
            None => Err(crate::auth::AuthError::Missing),
        };
        let principal = match verified {
            Ok(principal) => principal,
            Err(cause) => {
                record.refusal_cause = cause.to_string();
                let status = Status::unauthenticated("missing or invalid credentials");
                return self.refuse(record, status).await;
            }
        };
        record.caller = principal.caller.as_str().to_owned();
        record.tenant = principal.tenant.as_str().to_owned();
        record.roles = principal
            .roles
            .iter()
            .map(|r| r.code().to_owned())
            .collect();
        let requested = parts
            .headers
            .get(ACT_FOR_TENANT_HEADER)
            .map(|v| v.to_str().unwrap_or("\u{fffd}"));
        let context = match principal.act_for(requested) {
            Ok(context) => context,
            Err(cause) => {
                record.refusal_cause = format!("{ACT_FOR_TENANT_HEADER}: {cause}");
                let status = Status::permission_denied(format!("{ACT_FOR_TENANT_HEADER}: {cause}"));
                return self.refuse(record, status).await;
            }
        };
        record.tenant = context.tenant.as_str().to_owned();
        record.roles.clone_from(&context.roles);
        tracing::Span::current().record("tenant_id", context.tenant.as_str());
        let roles: Vec<Role> = context
            .roles
            .iter()
            .filter_map(|r| Role::from_code(r))
            .collect();
        if !policy::permits(&path, &roles) {
            record.refusal_cause = "the role table does not allow these roles".into();
            let status = Status::permission_denied("your roles do not allow this method");
            return self.refuse(record, status).await;
        }
        if !self.limiter.allow(
            &format!("{}/{}", record.tenant, record.caller),
            Instant::now(),
        ) {
            record.refusal_cause = "rate limit".into();
            let status = Status::resource_exhausted(format!(
                "more than {} calls a second: slow down and retry",
                self.limits.rate_per_second
            ));
            return self.refuse(record, status).await;
        }
        // Past the role table, so only methods of the suite: a miss is a configuration error.
        let (Some(target), Some(method)) = (
            self.routes
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix))
                .map(|(_, t)| t.clone()),
            self.methods.get(&path).cloned(),
        ) else {
            record.refusal_cause = "no route for a method in the role table".into();
            let status = Status::unimplemented(format!("unknown method {path}"));
            return self.refuse(record, status).await;
        };
        // Callers cannot choose their own identity: drop anything they sent in our headers, and
        // the token itself, which backends do not need.
        parts.headers.remove(http::header::AUTHORIZATION);
        parts.headers.remove(ACT_FOR_TENANT_HEADER);
        for header in GATEWAY_HEADERS {
            parts.headers.remove(header);
        }
        let mut metadata = MetadataMap::from_headers(std::mem::take(&mut parts.headers));
        context.write_to(&mut metadata);
        parts.headers = metadata.into_headers();

        // A unary request is read whole (it is one message) for the names it carries.
        let body = if method.client_streaming {
            Body::new(body)
        } else {
            match Limited::new(body, MAX_MESSAGE_BYTES + 5).collect().await {
                Ok(collected) => {
                    let bytes = collected.to_bytes();
                    record.resource_names = method.resource_names(&bytes);
                    Body::new(Full::new(bytes))
                }
                Err(cause) => {
                    let status = if cause.is::<http_body_util::LengthLimitError>() {
                        Status::resource_exhausted(format!(
                            "the request message exceeds {MAX_MESSAGE_BYTES} bytes"
                        ))
                    } else {
                        Status::cancelled("the request was not received whole")
                    };
                    record.refusal_cause = status.message().to_owned();
                    return self.refuse(record, status).await;
                }
            }
        };

        let caller_deadline = parts
            .headers
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .and_then(limits::grpc_timeout);
        let deadline = match caller_deadline {
            Some(d) => Some(d.saturating_sub(DEADLINE_MARGIN)),
            None if !method.client_streaming && !method.server_streaming => {
                Some(self.limits.default_timeout)
            }
            None => None,
        };
        let span = tracing::info_span!("gateway.forward", otel.name = %format!("forward {}", path.trim_start_matches('/')), otel.kind = "client", rpc.method = %path);
        async move {
            trace_context::inject_current(&mut parts.headers);
            record.trace_id = parts
                .headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split('-').nth(1))
                .unwrap_or_default()
                .to_owned();
            let outbound = http::Request::from_parts(parts, body);
            let answer = async {
                let response = match target {
                    Target::Remote(channels, next) => {
                        let channel =
                            channels[next.fetch_add(1, Ordering::Relaxed) % channels.len()].clone();
                        match channel.oneshot(outbound).await {
                            Ok(response) => response,
                            Err(cause) => {
                                tracing::error!(%path, %cause, "backend unreachable");
                                Status::unavailable(
                                    "the service is temporarily unavailable; retry later",
                                )
                                .into_http()
                            }
                        }
                    }
                    Target::Local(service) => match service.oneshot(outbound).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    },
                };
                settle(&method, response).await
            };
            let (response, status) = match deadline {
                None => answer.await,
                Some(limit) => match tokio::time::timeout(limit, answer).await {
                    Ok(settled) => settled,
                    Err(_) => {
                        let status = Status::deadline_exceeded(if caller_deadline.is_some() {
                            "the call's deadline passed before the service answered"
                        } else {
                            "the service did not answer in time"
                        });
                        // Nothing is released, so the answer need not wait for its row: waiting
                        // could let tonic's own timeout answer CANCELLED first.
                        record.status_code = status.code() as i32;
                        record.at = chain::to_micros(time::OffsetDateTime::now_utc());
                        let audit = self.audit.clone();
                        tokio::spawn(async move {
                            if audit.record(record).await.is_err() {
                                tracing::error!("a call past its deadline could not be audited");
                            }
                        });
                        return status.into_http();
                    }
                },
            };
            self.commit(record, status, response).await
        }
        .instrument(span)
        .await
    }

    /// Audits a call refused before it reached a service; the refusal stands even if the audit
    /// write fails (nothing was touched).
    async fn refuse(&self, mut record: CallRow, status: Status) -> http::Response<Body> {
        tracing::info!(method = %record.method, cause = %record.refusal_cause, "call refused");
        record.status_code = status.code() as i32;
        record.at = chain::to_micros(time::OffsetDateTime::now_utc());
        if self.audit.record(record).await.is_err() {
            tracing::error!("a refused call could not be audited");
        }
        status.into_http()
    }

    /// Writes the row of a call a service answered. A unary answer was held until now; if the
    /// row cannot be written the caller gets `UNAVAILABLE` instead (fail closed). A stream is
    /// audited as opened before its first message leaves.
    async fn commit(
        &self,
        mut record: CallRow,
        status: i32,
        response: http::Response<Body>,
    ) -> http::Response<Body> {
        record.status_code = status;
        record.at = chain::to_micros(time::OffsetDateTime::now_utc());
        match self.audit.record(record).await {
            Ok(()) => response,
            Err(e) => {
                tracing::error!(error = %e, "failing the call closed");
                Status::unavailable("the access audit log is unavailable; retry later").into_http()
            }
        }
    }
}

/// Reads a unary answer whole, for its status; a streamed one is passed on as it comes (its
/// status is OK unless the service refused at once).
async fn settle(
    method: &MethodInfo,
    response: http::Response<Body>,
) -> (http::Response<Body>, i32) {
    let (parts, body) = response.into_parts();
    let header_status = grpc_status(&parts.headers);
    if method.server_streaming || header_status.is_some() {
        return (
            http::Response::from_parts(parts, body),
            header_status.unwrap_or(0),
        );
    }
    match Limited::new(body, MAX_MESSAGE_BYTES + 5).collect().await {
        Ok(collected) => {
            let trailers = collected.trailers().cloned();
            let status = trailers.as_ref().and_then(grpc_status).unwrap_or(2);
            let mut frames = vec![Ok::<_, Infallible>(http_body::Frame::data(
                collected.to_bytes(),
            ))];
            if let Some(trailers) = trailers {
                frames.push(Ok(http_body::Frame::trailers(trailers)));
            }
            let body = Body::new(StreamBody::new(tokio_stream::iter(frames)));
            (http::Response::from_parts(parts, body), status)
        }
        Err(cause) => {
            tracing::error!(%cause, "reading the answer failed");
            let status = Status::unavailable("the service's answer was cut off");
            let code = status.code() as i32;
            (status.into_http(), code)
        }
    }
}

/// The `grpc-status` in `headers`, if there is one.
fn grpc_status(headers: &http::HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

impl<B> tower::Service<http::Request<B>> for Proxy
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.forward(request).await) })
    }
}
