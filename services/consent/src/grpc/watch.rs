//! The change stream: replays the tenant's change log after a cursor, then follows it. Commits
//! on any replica wake subscribers through Postgres `LISTEN consent_changes` (a trigger on the
//! log notifies); a slow poll covers a dropped listener connection.

use std::pin::Pin;
use std::time::Duration;

use dps_proto::consent::v1 as pb;
use dps_types::TenantId;
use sqlx::postgres::PgListener;
use tokio::sync::{OnceCell, mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{Error, convert};
use crate::store::{Store, StoreError};

/// What `WatchChanges` returns.
pub type ChangeStream = Pin<Box<dyn Stream<Item = Result<pb::Change, Status>> + Send>>;

/// Changes read per query.
const PAGE: i64 = 500;
/// Poll this often even without a notification.
const POLL: Duration = Duration::from_secs(2);

/// Wakes subscribers when the log grows; the listener starts with the first subscriber.
#[derive(Debug, Default)]
pub(super) struct Watch {
    wake: OnceCell<watch::Receiver<u64>>,
}

impl Watch {
    pub(super) async fn subscribe(
        &self,
        store: Store,
        tenant: TenantId,
        after: i64,
    ) -> Result<ChangeStream, StoreError> {
        let wake = self
            .wake
            .get_or_try_init(|| listen(store.clone()))
            .await?
            .clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(pump(store, tenant, after, wake, tx));
        Ok(Box::pin(ReceiverStream::new(rx)))
    }
}

async fn listen(store: Store) -> Result<watch::Receiver<u64>, StoreError> {
    let mut listener = PgListener::connect_with(store.pool()).await?;
    listener.listen("consent_changes").await?;
    let (tx, rx) = watch::channel(0_u64);
    tokio::spawn(async move {
        let mut wakes = 0_u64;
        loop {
            // After an error the listener reconnects on the next `recv`; wake everyone anyway,
            // as notifications may have been lost meanwhile.
            if let Err(e) = listener.recv().await {
                tracing::warn!(error = %e, "change listener lost its connection; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            wakes += 1;
            if tx.send(wakes).is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

async fn pump(
    store: Store,
    tenant: TenantId,
    mut cursor: i64,
    mut wake: watch::Receiver<u64>,
    tx: mpsc::Sender<Result<pb::Change, Status>>,
) {
    loop {
        // Mark seen before reading, so a commit after the read wakes the wait below.
        wake.borrow_and_update();
        let rows = match store.public_changes_after(&tenant, cursor, PAGE).await {
            Ok(rows) => rows,
            Err(e) => {
                let _ = tx.send(Err(Error::from(e).into())).await;
                return;
            }
        };
        let full = rows.len() as i64 == PAGE;
        for row in rows {
            cursor = row.seq;
            if tx.send(Ok(convert::change_to_proto(row))).await.is_err() {
                return;
            }
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = wake.changed() => {}
            () = tokio::time::sleep(POLL) => {}
            () = tx.closed() => return,
        }
    }
}
