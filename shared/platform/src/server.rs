//! The one way every service serves gRPC: its routes plus health checking, server reflection
//! (v1 and v1alpha), the trace layer, and graceful shutdown.
//!
//! Health has two names: `""` is liveness and is SERVING for as long as the process serves (a
//! database blip must not make Kubernetes restart every pod); `readiness` follows the database,
//! so traffic is routed away while it is unreachable.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::trace_context::ServerTraceLayer;

/// Health service name for readiness probes.
pub const READINESS: &str = "readiness";
/// How often readiness re-checks the database.
const READINESS_INTERVAL: Duration = Duration::from_secs(2);

/// What readiness depends on.
#[derive(Debug, Clone)]
pub enum Readiness {
    /// Ready whenever serving (services without a database, like the gateway).
    Always,
    /// Ready while this pool's database answers.
    Database(PgPool),
}

/// The server failed to start or died.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not load the descriptors (a build problem).
    #[error("server: reflection: {0}")]
    Reflection(String),
    /// The transport failed.
    #[error("server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Server reflection (v1, and v1alpha for Python's grpcio-reflection client) over every package
/// of the suite and the health service, added to `routes`.
pub fn with_reflection(routes: Routes) -> Result<Routes, ServeError> {
    let reflection = |builder: tonic_reflection::server::Builder<'static>| {
        builder
            .register_encoded_file_descriptor_set(dps_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let v1 = reflection(tonic_reflection::server::Builder::configure())
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let v1alpha = reflection(tonic_reflection::server::Builder::configure())
        .build_v1alpha()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    Ok(routes.add_service(v1).add_service(v1alpha))
}

/// Who reaches a server, which decides what it offers besides its routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// A backend, reached only from inside the cluster: reflection open.
    Internal,
    /// The gateway, facing callers: reflection only through its own authenticated routes, and
    /// gRPC-Web over HTTP/1.1 for browsers, with CORS for `cors_origins` (none: same-origin
    /// pages only).
    External {
        /// Origins allowed to call from a browser, e.g. `https://console.example.org`.
        cors_origins: Vec<http::HeaderValue>,
    },
}

/// The CORS policy of a gRPC-Web endpoint: the listed origins may send the headers a gRPC-Web
/// client needs (with the bearer token) and read the gRPC status.
fn cors(origins: &[http::HeaderValue]) -> tower_http::cors::CorsLayer {
    use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins.to_vec())
        .allow_methods([http::Method::POST])
        .allow_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            HeaderName::from_static("x-grpc-web"),
            HeaderName::from_static("x-user-agent"),
            HeaderName::from_static("grpc-timeout"),
            HeaderName::from_static("dps-tenant"),
            HeaderName::from_static("traceparent"),
        ])
        .expose_headers([
            HeaderName::from_static("grpc-status"),
            HeaderName::from_static("grpc-message"),
            HeaderName::from_static("grpc-status-details-bin"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Serves `routes` on `listener` until `shutdown` completes, then reports NOT_SERVING, stops
/// accepting, and drains calls in flight. Bind the listener before calling, so callers (and tests)
/// know the address without sleeping.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    readiness: Readiness,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    serve_with(listener, routes, readiness, Exposure::Internal, shutdown).await
}

/// [`serve`], for a server exposed as `exposure`.
pub async fn serve_with(
    listener: TcpListener,
    routes: Routes,
    readiness: Readiness,
    exposure: Exposure,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", ServingStatus::Serving)
        .await;
    let checker = match readiness {
        Readiness::Always => {
            reporter
                .set_service_status(READINESS, ServingStatus::Serving)
                .await;
            None
        }
        Readiness::Database(pool) => {
            reporter
                .set_service_status(READINESS, ServingStatus::NotServing)
                .await;
            Some(tokio::spawn(watch_database(reporter.clone(), pool)))
        }
    };

    let mut routes = routes.add_service(health);
    let web = match &exposure {
        Exposure::Internal => {
            routes = with_reflection(routes)?;
            None
        }
        Exposure::External { cors_origins } => Some(cors(cors_origins)),
    };
    let mut server = tonic::transport::Server::builder()
        // gRPC-Web arrives over HTTP/1.1.
        .accept_http1(web.is_some())
        .layer(ServerTraceLayer)
        .layer(tower::util::option_layer(web))
        .layer(tower::util::option_layer(
            matches!(exposure, Exposure::External { .. }).then(tonic_web::GrpcWebLayer::new),
        ));
    let router = server.add_routes(routes);
    let drain_reporter = reporter.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: draining calls in flight");
        if let Some(checker) = &checker {
            checker.abort();
        }
        drain_reporter
            .set_service_status(READINESS, ServingStatus::NotServing)
            .await;
        drain_reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    };
    router
        // Without TCP_NODELAY a reply that spans segments waits for the client's delayed ACK
        // (Nagle): tens of milliseconds on a call that takes one.
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), signal)
        .await?;
    Ok(())
}

async fn watch_database(reporter: HealthReporter, pool: PgPool) {
    let mut last = None;
    loop {
        let ready = crate::db::ping(&pool, Duration::from_secs(1)).await;
        if last != Some(ready) {
            if ready {
                tracing::info!("database reachable: ready");
            } else {
                tracing::warn!("database unreachable: not ready");
            }
            let status = if ready {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            reporter.set_service_status(READINESS, status).await;
            last = Some(ready);
        }
        tokio::time::sleep(READINESS_INTERVAL).await;
    }
}

/// Completes on SIGTERM (Kubernetes) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
