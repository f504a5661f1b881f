//! The access audit log (issue 9 §6): every call through the gateway — allowed, denied or
//! failed — becomes one append-only row, hash-chained to the one before it, and the chain's head
//! is signed and exported outside the database now and then.
//!
//! One writer task per process batches the rows of concurrent calls into one statement (group
//! commit), so auditing costs a call one commit wait, not one commit each; across processes the
//! sequence's uniqueness keeps writers from forking the chain (see [`store`]). Under load the
//! writer waits a moment for the rows of calls still on their way before it writes: each
//! statement and commit costs Postgres far more than a row, and a call waits for a commit anyway.

pub mod chain;
pub mod grpc;
pub mod heads;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions as _, Connection as _, PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};

pub use chain::AuditRecord;
use chain::Verdict;
pub use heads::{ExportedHead, HeadError, HeadSink};
pub use store::AuditStore;

/// Rows written in one transaction at most.
const BATCH: usize = 512;
/// Calls waiting for the writer at most; beyond that callers wait (back-pressure).
const QUEUE: usize = 8_192;
/// The writer gathers more rows only while at least this many calls have rows still to come
/// (like Postgres' `commit_siblings`): a lone caller's row is written at once.
const SIBLINGS: usize = 8;
/// Scheduler turns the writer gives those calls at most. Measured with 64 callers on 2 cores:
/// ~27 rows a batch instead of ~15, and 62–65 % of the direct check's throughput instead of
/// 55–59 % (each statement and commit costs Postgres far more than a row).
const GATHER_YIELDS: usize = 16;
/// Idle this long, the writer's connection is pinged before it is used again.
const QUIET: Duration = Duration::from_secs(30);

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
    coming: Arc<AtomicUsize>,
}

/// The audit row of a call in progress: filled in as the call goes, written by
/// [`AuditLog::record`]. While it exists the writer knows one more row is on its way. A call
/// that ends without writing it (the caller cancelled, so the server dropped the call mid-way)
/// still leaves its row, as `CANCELLED`: a service may have acted on it.
#[derive(Debug)]
pub struct CallRow {
    /// `None` once handed to the writer.
    record: Option<AuditRecord>,
    queue: mpsc::Sender<Pending>,
    coming: Arc<AtomicUsize>,
}

impl CallRow {
    fn take(&mut self) -> AuditRecord {
        self.coming.fetch_sub(1, Ordering::Relaxed);
        self.record.take().expect("a row is taken once")
    }
}

impl std::ops::Deref for CallRow {
    type Target = AuditRecord;

    fn deref(&self) -> &AuditRecord {
        self.record.as_ref().expect("present until written")
    }
}

impl std::ops::DerefMut for CallRow {
    fn deref_mut(&mut self) -> &mut AuditRecord {
        self.record.as_mut().expect("present until written")
    }
}

impl Drop for CallRow {
    fn drop(&mut self) {
        if self.record.is_none() {
            return;
        }
        let mut record = self.take();
        record.status_code = tonic::Code::Cancelled as i32;
        record.refusal_cause = "the call ended before it was answered: the caller cancelled".into();
        record.at = chain::to_micros(time::OffsetDateTime::now_utc());
        // Nobody waits for this row; a full queue is the only way to lose it.
        let (done, _) = oneshot::channel();
        if self.queue.try_send(Pending { record, done }).is_err() {
            tracing::error!("the row of a cancelled call could not be queued");
        }
    }
}

impl AuditLog {
    /// Starts the writer, and exports the head every `export_every`.
    pub fn start(pool: PgPool, heads: HeadSink, export_every: Duration) -> Self {
        let store = AuditStore::new(pool);
        let (queue, receiver) = mpsc::channel(QUEUE);
        let coming = Arc::new(AtomicUsize::new(0));
        tokio::spawn(write(store.clone(), receiver, Arc::clone(&coming)));
        let log = Self {
            queue,
            store,
            heads: Arc::new(heads),
            coming,
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

    /// Starts the row of a call: `record` is completed as the call goes, then written.
    pub fn begin(&self, record: AuditRecord) -> CallRow {
        self.coming.fetch_add(1, Ordering::Relaxed);
        CallRow {
            record: Some(record),
            queue: self.queue.clone(),
            coming: Arc::clone(&self.coming),
        }
    }

    /// Writes the call's row, returning once it is committed.
    pub async fn record(&self, mut row: CallRow) -> Result<(), AuditUnavailable> {
        let (done, committed) = oneshot::channel();
        let record = row.take();
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

async fn write(store: AuditStore, mut queue: mpsc::Receiver<Pending>, coming: Arc<AtomicUsize>) {
    // The head this writer last saw; `None` after an error, to be read again.
    let mut head: Option<(i64, [u8; 32])> = None;
    let mut conn = Connection::default();
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        let mut yields = 0;
        loop {
            while batch.len() < BATCH {
                match queue.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            // Under load, let the calls already running reach their rows first: a few turns of
            // the scheduler, no timer (a lone caller's row does not wait at all).
            if batch.len() >= BATCH
                || yields == GATHER_YIELDS
                || coming.load(Ordering::Relaxed) < SIBLINGS
            {
                break;
            }
            yields += 1;
            tokio::task::yield_now().await;
        }
        let (records, done): (Vec<AuditRecord>, Vec<_>) =
            batch.into_iter().map(|p| (p.record, p.done)).unzip();
        let ok = match append(&store, &mut conn, &mut head, &records).await {
            Ok(()) => true,
            Err(e) => {
                head = None;
                conn.broken();
                tracing::error!(error = %e, rows = records.len(), "audit write failed");
                false
            }
        };
        for done in done {
            let _ = done.send(ok);
        }
    }
}

/// The writer's own connection, outside the pool: a pooled connection is pinged on every
/// acquire, one more round trip before each commit. After a quiet spell it is pinged once, so
/// a connection the network dropped meanwhile fails no call.
#[derive(Default)]
struct Connection {
    live: Option<(PgConnection, Instant)>,
}

impl Connection {
    async fn get(&mut self, store: &AuditStore) -> Result<&mut PgConnection, sqlx::Error> {
        if let Some((mut conn, used)) = self.live.take()
            && (used.elapsed() < QUIET || conn.ping().await.is_ok())
        {
            return Ok(&mut self.live.insert((conn, Instant::now())).0);
        }
        let conn = store.pool().connect_options().connect().await?;
        Ok(&mut self.live.insert((conn, Instant::now())).0)
    }

    fn broken(&mut self) {
        self.live = None;
    }
}

/// Appends after the head this writer knows, reading it again when another writer moved it.
async fn append(
    store: &AuditStore,
    conn: &mut Connection,
    head: &mut Option<(i64, [u8; 32])>,
    records: &[AuditRecord],
) -> Result<(), sqlx::Error> {
    let conn = conn.get(store).await?;
    loop {
        let known = match *head {
            Some(known) => known,
            None => store::head(conn).await?,
        };
        match store::append_after(conn, known, records).await? {
            Some(new_head) => {
                *head = Some(new_head);
                return Ok(());
            }
            None => *head = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_row_is_coming_until_written_and_a_dropped_one_is_written_as_cancelled() {
        let (queue, mut receiver) = mpsc::channel(4);
        let coming = Arc::new(AtomicUsize::new(0));
        let begin = |method: &str| {
            coming.fetch_add(1, Ordering::Relaxed);
            CallRow {
                record: Some(AuditRecord::new(method, time::OffsetDateTime::now_utc())),
                queue: queue.clone(),
                coming: Arc::clone(&coming),
            }
        };
        let (mut answered, cancelled) = (begin("/answered"), begin("/cancelled"));
        assert_eq!(coming.load(Ordering::Relaxed), 2);
        let record = answered.take();
        assert_eq!(record.method, "/answered");
        drop(answered);
        assert_eq!(coming.load(Ordering::Relaxed), 1);
        assert!(
            receiver.try_recv().is_err(),
            "a written row is not queued twice"
        );
        // The server dropped the call before it was answered.
        drop(cancelled);
        assert_eq!(coming.load(Ordering::Relaxed), 0);
        let row = receiver.try_recv().expect("queued").record;
        assert_eq!(row.method, "/cancelled");
        assert_eq!(row.status_code, tonic::Code::Cancelled as i32);
    }
}
