//! Forwards authenticated calls to the service that owns the method, without decoding the
//! message: the gateway never sees personal data in a form it could log.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use dps_platform::context::GATEWAY_HEADERS;
use dps_platform::trace_context;
use tonic::Status;
use tonic::body::Body;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tower::ServiceExt as _;
use tracing::Instrument as _;

use crate::auth::Verifier;
use crate::config::Backends;
use crate::policy::{self, Role};

/// Request header in which a group-wide caller names the tenant it acts for.
pub const ACT_FOR_TENANT_HEADER: &str = "dps-tenant";

/// Routes `/dps.<package>.…` to the backend of that package.
#[derive(Clone)]
pub struct Proxy {
    verifier: Arc<Verifier>,
    routes: Arc<[(&'static str, Channel)]>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field(
                "packages",
                &self.routes.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Proxy {
    /// A proxy to `backends`; connections are opened lazily and re-established after failures.
    pub fn new(verifier: Arc<Verifier>, backends: &Backends) -> Self {
        let channel = |url: &str| {
            Channel::from_shared(url.to_owned())
                .expect("backend URLs are validated in config")
                .connect_lazy()
        };
        let routes: Vec<(&'static str, Channel)> = vec![
            (
                "/dps.subject_requests.",
                channel(&backends.subject_requests),
            ),
            ("/dps.breaches.", channel(&backends.breaches)),
            ("/dps.retention.", channel(&backends.retention)),
            ("/dps.consent.", channel(&backends.consent)),
        ];
        Self {
            verifier,
            routes: routes.into(),
        }
    }

    async fn forward<B>(self, request: http::Request<B>) -> http::Response<Body>
    where
        B: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
        B::Error: Into<tonic::codegen::StdError>,
    {
        let path = request.uri().path().to_owned();
        let Some(channel) = self
            .routes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map(|(_, c)| c.clone())
        else {
            return Status::unimplemented(format!("unknown method {path}")).into_http();
        };
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
            Some(token) => self.verifier.verify(token),
            None => Err(crate::auth::AuthError::Missing),
        };
        let principal = match verified {
            Ok(principal) => principal,
            Err(cause) => {
                tracing::info!(%path, %cause, "unauthenticated call refused");
                return Status::unauthenticated("missing or invalid credentials").into_http();
            }
        };
        let requested = parts
            .headers
            .get(ACT_FOR_TENANT_HEADER)
            .map(|v| v.to_str().unwrap_or("\u{fffd}"));
        let context = match principal.act_for(requested) {
            Ok(context) => context,
            Err(cause) => {
                tracing::info!(%path, %cause, "call for another tenant refused");
                return Status::permission_denied(format!("{ACT_FOR_TENANT_HEADER}: {cause}"))
                    .into_http();
            }
        };
        tracing::Span::current().record("tenant_id", context.tenant.as_str());
        let roles: Vec<Role> = context
            .roles
            .iter()
            .filter_map(|r| Role::from_code(r))
            .collect();
        if !policy::permits(&path, &roles) {
            tracing::info!(%path, ?roles, "call refused by the role table");
            return Status::permission_denied("your roles do not allow this method").into_http();
        }
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

        let span = tracing::info_span!("gateway.forward", otel.name = %format!("forward {}", path.trim_start_matches('/')), otel.kind = "client", rpc.method = %path);
        async move {
            trace_context::inject_current(&mut parts.headers);
            let outbound = http::Request::from_parts(parts, Body::new(body));
            match channel.oneshot(outbound).await {
                Ok(response) => response,
                Err(cause) => {
                    tracing::error!(%path, %cause, "backend unreachable");
                    Status::unavailable("the service is temporarily unavailable; retry later")
                        .into_http()
                }
            }
        }
        .instrument(span)
        .await
    }
}

impl<B> tower::Service<http::Request<B>> for Proxy
where
    B: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
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
