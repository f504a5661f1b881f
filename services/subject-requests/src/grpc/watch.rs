//! `WatchPendingTasks`: a holding system follows its pending tasks. Each round lists every
//! pending task of the system's open requests and sends those not sent yet, so a task committed
//! late by a slow transaction is never skipped by a cursor. A new task wakes the round on every
//! replica through `LISTEN subject_requests_tasks`; a slow poll covers a lost listener and
//! requests that reopen.

use std::collections::HashSet;
use std::pin::Pin;
use std::time::Duration;

use dps_proto::subject_requests::v1 as pb;
use dps_types::TenantId;
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use uuid::Uuid;

use super::{Error, convert};
use crate::store::{Store, TaskPageKey};

/// What `WatchPendingTasks` returns.
pub type TaskStream = Pin<Box<dyn Stream<Item = Result<pb::FulfilmentTask, Status>> + Send>>;

/// The channel the fulfilment-task trigger notifies.
pub(super) const CHANNEL: &str = "subject_requests_tasks";
/// Tasks read per query.
const PAGE: i64 = 200;
/// Poll this often even without a notification.
const POLL: Duration = Duration::from_secs(2);

pub(super) fn follow(
    store: Store,
    tenant: TenantId,
    system: String,
    wake: watch::Receiver<u64>,
) -> TaskStream {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(pump(store, tenant, system, wake, tx));
    Box::pin(ReceiverStream::new(rx))
}

async fn pump(
    store: Store,
    tenant: TenantId,
    system: String,
    mut wake: watch::Receiver<u64>,
    tx: mpsc::Sender<Result<pb::FulfilmentTask, Status>>,
) {
    let mut sent: HashSet<Uuid> = HashSet::new();
    loop {
        // Mark seen before reading, so a commit after the read wakes the wait below.
        wake.borrow_and_update();
        let mut pending = HashSet::new();
        let mut after: Option<TaskPageKey> = None;
        loop {
            let (tasks, next) = match store
                .pending_tasks(&tenant, &system, PAGE, after.as_ref())
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(Error::from(e).into())).await;
                    return;
                }
            };
            for task in &tasks {
                let id = task.id.as_uuid();
                pending.insert(id);
                if sent.insert(id) && tx.send(Ok(convert::task_to_proto(task))).await.is_err() {
                    return;
                }
            }
            match next {
                Some(key) => after = Some(key),
                None => break,
            }
        }
        // Done or waived tasks leave the set, which stays as small as the pending work.
        sent.retain(|id| pending.contains(id));
        tokio::select! {
            _ = wake.changed() => {}
            () = tokio::time::sleep(POLL) => {}
            () = tx.closed() => return,
        }
    }
}
