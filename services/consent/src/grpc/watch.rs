//! The change stream: replays the tenant's change log after a cursor, then follows it. Commits
//! on any replica wake subscribers through Postgres `LISTEN consent_changes`; a slow poll covers
//! a dropped listener connection.

use std::pin::Pin;
use std::time::Duration;

use dps_platform::notify::Notifications;
use dps_proto::consent::v1 as pb;
use dps_types::TenantId;
use tokio::sync::{mpsc, watch};
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

/// Wakes subscribers when the log grows (a trigger on the log notifies `consent_changes`).
#[derive(Debug)]
pub(super) struct Watch {
    wake: Notifications,
}

impl Default for Watch {
    fn default() -> Self {
        Self {
            wake: Notifications::new("consent_changes"),
        }
    }
}

impl Watch {
    pub(super) async fn subscribe(
        &self,
        store: Store,
        tenant: TenantId,
        after: i64,
    ) -> Result<ChangeStream, StoreError> {
        let wake = self.wake.subscribe(store.pool()).await?;
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(pump(store, tenant, after, wake, tx));
        Ok(Box::pin(ReceiverStream::new(rx)))
    }
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
