//! Serve a service on a real socket and call it as a given tenant.

use std::net::SocketAddr;

use dps_platform::CallContext;
use dps_platform::server::{Exposure, Readiness, ServeError, serve_with};
use dps_types::{CallerId, TenantId};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// A server on 127.0.0.1, shut down gracefully when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    keystore: Option<crate::TestKeystore>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), ServeError>>>,
}

/// Binds 127.0.0.1 on a free port first (so the address is known and connectable without
/// sleeping), then serves `routes` with the platform's bootstrap, as a backend.
pub async fn spawn(routes: Routes, readiness: Readiness) -> TestServer {
    spawn_exposed(routes, readiness, Exposure::Internal).await
}

/// [`spawn`], exposed as `exposure` (the gateway: [`Exposure::External`]).
pub async fn spawn_exposed(routes: Routes, readiness: Readiness, exposure: Exposure) -> TestServer {
    // Tests seal identities with one key per process, as the gateway would.
    dps_platform::identity::ensure_key();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0");
    let addr = listener.local_addr().expect("bound address");
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(serve_with(listener, routes, readiness, exposure, async {
        let _ = rx.await;
    }));
    TestServer {
        addr,
        keystore: None,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

impl TestServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The key store the server was given by [`serve_on_fresh_db`].
    pub fn keystore(&self) -> &crate::TestKeystore {
        self.keystore
            .as_ref()
            .expect("served by serve_on_fresh_db, with a key store")
    }

    /// A channel to the server (connects on first use).
    pub fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("valid URI")
            .connect_lazy()
    }

    /// Stops accepting, drains, and returns how serving ended.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.handle.take() {
            Some(handle) => handle.await.expect("server task panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A boxed client interceptor, so test clients have a nameable type:
/// `XServiceClient<InterceptedService<Channel, Caller>>`.
pub type Caller = Box<dyn FnMut(Request<()>) -> Result<Request<()>, Status> + Send + Sync>;

/// A fresh database migrated by `migrator` and a fresh key store, and the service built by
/// `routes` served on them with readiness following the service's database.
pub async fn serve_on_fresh_db(
    migrator: &'static sqlx::migrate::Migrator,
    routes: fn(sqlx::PgPool, dps_crypto::Vault) -> Routes,
) -> (crate::TestDb, TestServer) {
    let db = crate::TestDb::new(&[migrator]).await;
    let keystore = crate::TestKeystore::new().await;
    let mut server = spawn(
        routes(db.pool().clone(), keystore.vault().clone()),
        Readiness::Database(db.pool().clone()),
    )
    .await;
    server.keystore = Some(keystore);
    (db, server)
}

/// [`caller`], boxed.
pub fn boxed_caller(tenant: &str) -> Caller {
    Box::new(caller(tenant))
}

/// A client interceptor that calls as `tenant` with the `dpo` role, as the gateway would after
/// verifying a token, and passes the current trace on.
pub fn caller(
    tenant: &str,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + use<> {
    caller_with_roles(tenant, "test-caller", &["dpo"])
}

/// As [`caller`], naming the caller and its roles.
pub fn caller_with_roles(
    tenant: &str,
    caller: &str,
    roles: &[&str],
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + use<> {
    dps_platform::identity::ensure_key();
    let context = CallContext {
        tenant: TenantId::parse(tenant).expect("test tenant is a valid slug"),
        caller: CallerId::parse(caller).expect("test caller is a valid id"),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    move |mut request: Request<()>| {
        context.write_to(request.metadata_mut());
        dps_platform::trace_context::inject_into_request(request)
    }
}
