//! Wake-ups from Postgres `LISTEN`: a trigger's `pg_notify` on any replica wakes the streams
//! of every replica. The listener starts with the first subscriber; after a lost connection it
//! reconnects and wakes everyone anyway, as notifications may have been lost meanwhile. Streams
//! still poll slowly, so a dead listener only delays them.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{OnceCell, watch};

/// A shared listener on one channel; `subscribe` hands out receivers whose value changes on
/// every notification.
#[derive(Debug)]
pub struct Notifications {
    channel: &'static str,
    wake: OnceCell<watch::Receiver<u64>>,
}

impl Notifications {
    pub const fn new(channel: &'static str) -> Self {
        Self {
            channel,
            wake: OnceCell::const_new(),
        }
    }

    /// A receiver that changes on each notification on the channel.
    pub async fn subscribe(&self, pool: &PgPool) -> Result<watch::Receiver<u64>, sqlx::Error> {
        let wake = self
            .wake
            .get_or_try_init(|| listen(pool.clone(), self.channel))
            .await?;
        Ok(wake.clone())
    }
}

async fn listen(pool: PgPool, channel: &'static str) -> Result<watch::Receiver<u64>, sqlx::Error> {
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(channel).await?;
    let (tx, rx) = watch::channel(0_u64);
    tokio::spawn(async move {
        let mut wakes = 0_u64;
        loop {
            if let Err(e) = listener.recv().await {
                tracing::warn!(error = %e, channel, "listener lost its connection; reconnecting");
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
