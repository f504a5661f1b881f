//! The access audit log (issue 9 §6): every call through the gateway — allowed, denied or
//! failed — becomes one append-only row, hash-chained to the one before it, and the chain's head
//! is signed and exported outside the database now and then.
//!
//! One writer task per process batches the rows of concurrent calls into one statement (group
//! commit), so auditing costs a call one commit wait, not one commit each; across processes the
//! sequence's uniqueness keeps writers from forking the chain (see [`store`]).

pub mod chain;
pub mod grpc;
pub mod heads;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

pub use chain::AuditRecord;
use chain::Verdict;
pub use heads::{ExportedHead, HeadError, HeadSink};
pub use store::AuditStore;

/// Rows written in one transaction at most.
const BATCH: usize = 512;
/// Calls waiting for the writer at most; beyond that callers wait (back-pressure).
const QUEUE: usize = 8_192;

struct Pending {
    record: AuditRecord,
    done: oneshot::Sender<bool>,
}

/// The audit row could not be written: the call must fail closed.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the access audit log is unavailable")]
pub struct AuditUnavailable;

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Events whose links were checked.
    pub checked: i64,
    /// The first broken event (0 when none).
    pub first_broken: i64,
    /// What is wrong; empty when intact.
    pub problem: String,
    /// The exported head compared against (0 when none).
    pub exported_head: i64,
}

impl Report {
    /// Whether the chain is whole.
    pub fn intact(&self) -> bool {
        self.problem.is_empty()
    }
}

/// Handle to the audit log, cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Pending>,
    store: AuditStore,
    heads: Arc<HeadSink>,
}

impl AuditLog {
    /// Starts the writer, and exports the head every `export_every`.
    pub fn start(pool: PgPool, heads: HeadSink, export_every: Duration) -> Self {
        let store = AuditStore::new(pool);
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write(store.clone(), receiver));
        let log = Self {
            queue,
            store,
            heads: Arc::new(heads),
        };
        let exporter = log.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(export_every);
            tick.tick().await;
            let mut last = 0;
            loop {
                tick.tick().await;
                match exporter.export_head().await {
                    Ok(sequence) => last = sequence.max(last),
                    Err(e) => tracing::error!(error = %e, last, "exporting the audit head failed"),
                }
            }
        });
        log
    }

    /// Writes `record`, returning once it is committed.
    pub async fn record(&self, record: AuditRecord) -> Result<(), AuditUnavailable> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Pending { record, done })
            .await
            .map_err(|_| AuditUnavailable)?;
        match committed.await {
            Ok(true) => Ok(()),
            _ => Err(AuditUnavailable),
        }
    }

    /// Signs and exports the current head; returns its sequence.
    pub async fn export_head(&self) -> Result<i64, String> {
        let (sequence, hash) = self.store.head().await.map_err(|e| e.to_string())?;
        let at = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
        let heads = Arc::clone(&self.heads);
        tokio::task::spawn_blocking(move || {
            heads.export(sequence, &hash, i64::try_from(at).unwrap_or(i64::MAX))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        Ok(sequence)
    }

    /// Walks the chain and compares it with the last exported head.
    pub async fn verify(&self) -> Result<Report, String> {
        let (walker, verdict) = self.store.verify().await.map_err(|e| e.to_string())?;
        let heads = Arc::clone(&self.heads);
        let exported = tokio::task::spawn_blocking(move || heads.last_exported())
            .await
            .map_err(|e| e.to_string())?;
        let mut report = Report {
            checked: walker.checked(),
            first_broken: 0,
            problem: String::new(),
            exported_head: 0,
        };
        if let Verdict::Broken { sequence, problem } = verdict {
            report.first_broken = sequence;
            report.problem = problem;
            return Ok(report);
        }
        let exported = match exported {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(report),
            Err(e) => {
                report.problem = e.to_string();
                return Ok(report);
            }
        };
        report.exported_head = exported.sequence;
        let (last, _) = walker.head();
        if exported.sequence > last {
            report.first_broken = last + 1;
            report.problem = format!(
                "events {} to {} were exported as the chain's head but are gone: the tail was deleted",
                last + 1,
                exported.sequence
            );
        } else if exported.sequence > 0 {
            let stored = self
                .store
                .hash_at(exported.sequence)
                .await
                .map_err(|e| e.to_string())?
                .map(hex::encode);
            if stored.as_deref() != Some(exported.hash.as_str()) {
                report.first_broken = exported.sequence;
                report.problem = format!(
                    "event {} differs from its exported head: the chain was rewritten",
                    exported.sequence
                );
            }
        }
        Ok(report)
    }

    /// The table, for listings.
    pub fn store(&self) -> &AuditStore {
        &self.store
    }
}

async fn write(store: AuditStore, mut queue: mpsc::Receiver<Pending>) {
    // The head this writer last saw; `None` after an error, to be read again.
    let mut head: Option<(i64, [u8; 32])> = None;
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let records: Vec<AuditRecord> = batch.iter().map(|p| p.record.clone()).collect();
        let ok = match append(&store, &mut head, &records).await {
            Ok(()) => true,
            Err(e) => {
                head = None;
                tracing::error!(error = %e, rows = records.len(), "audit write failed");
                false
            }
        };
        for pending in batch {
            let _ = pending.done.send(ok);
        }
    }
}

/// Appends after the head this writer knows, reading it again when another writer moved it.
async fn append(
    store: &AuditStore,
    head: &mut Option<(i64, [u8; 32])>,
    records: &[AuditRecord],
) -> Result<(), sqlx::Error> {
    loop {
        let known = match *head {
            Some(known) => known,
            None => store.head().await?,
        };
        match store.append_after(known, records).await? {
            Some(new_head) => {
                *head = Some(new_head);
                return Ok(());
            }
            None => *head = None,
        }
    }
}
