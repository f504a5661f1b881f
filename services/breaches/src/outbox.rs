//! The outbox dispatcher (issue 10, flow 5): delivers the registrations of closed incidents to
//! the retention service, over its gRPC API, at least once.
//!
//! Each message is sent as the caller who closed the incident (their context sealed again with
//! this process's identity key, as the gateway does), in the review's trace. The registry keeps
//! one record per system and external id, so a redelivery returns the record already
//! registered. Failures that may pass are retried with backoff; a refusal of the message itself
//! is kept for an operator and never retried.

use dps_platform::delivery::{self, DispatchSettings, Failure, Target, describe};
use dps_platform::{ConfigError, Env};
use dps_proto::retention::v1 as retention;
use tonic::Status;
use tracing::Instrument as _;

use crate::domain::retention::{Effect, OWN_SYSTEM};
use crate::store::{Outbox, OutboxMessage};

/// The dispatcher's settings, from the environment:
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `DPS_RETENTION_URL` | unset | the retention service, e.g. `http://retention:50051` |
/// | `DPS_OUTBOX_POLL_MS` | 250 | how often an idle dispatcher looks for due messages |
///
/// With the address unset, registrations wait in the outbox (and say why) until it is
/// configured: nothing is lost, and the service still serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// `DPS_RETENTION_URL`.
    pub retention_url: Option<String>,
    /// Pacing.
    pub settings: DispatchSettings,
}

impl OutboxConfig {
    /// Reads the settings.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            retention_url: env.get("DPS_RETENTION_URL").map(str::to_owned),
            settings: DispatchSettings::from_env(env)?,
        })
    }
}

/// Starts a dispatcher on `pool` until `stop` turns `true`; returns where it delivers (to move
/// the retention service while running) and its task.
pub fn spawn(
    pool: sqlx::PgPool,
    config: &OutboxConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(Target, tokio::task::JoinHandle<()>), ConfigError> {
    let retention = Target::default();
    match &config.retention_url {
        Some(url) => retention
            .set(url)
            .map_err(|e| ConfigError::new("DPS_RETENTION_URL", format!("not a usable URL: {e}")))?,
        None => tracing::warn!(
            var = "DPS_RETENTION_URL",
            "unset: registrations of closed incidents wait in the outbox"
        ),
    }
    let dispatcher = Dispatcher {
        outbox: Outbox::new(pool),
        retention: retention.clone(),
        settings: config.settings,
    };
    let task = tokio::spawn(dispatcher.run(async move {
        let _ = stop.wait_for(|stop| *stop).await;
    }));
    Ok((retention, task))
}

/// [`dps_platform::main_support::Background`] for the service's own binary.
pub fn start_from_env(
    pool: sqlx::PgPool,
    env: &Env,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, ConfigError> {
    let (_, task) = spawn(pool, &OutboxConfig::from_env(env)?, stop)?;
    Ok(task)
}

/// Delivers the outbox.
#[derive(Debug, Clone)]
struct Dispatcher {
    outbox: Outbox,
    retention: Target,
    settings: DispatchSettings,
}

impl Dispatcher {
    async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            match self.run_once().await {
                // A full batch: more may be due at once.
                Ok(n) if n as i64 >= self.settings.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox: cannot claim messages"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.settings.poll) => {}
            }
        }
    }

    async fn run_once(&self) -> Result<usize, crate::store::StoreError> {
        let messages = self
            .outbox
            .claim(self.settings.batch, self.settings.lease)
            .await?;
        let tried = messages.len();
        for message in messages {
            let span = tracing::info_span!(
                "outbox.deliver",
                effect = message.effect.code(),
                tenant_id = message.tenant.as_str(),
                attempt = message.attempts,
            );
            if let Some(traceparent) = &message.traceparent {
                dps_platform::trace_context::continue_trace(&span, traceparent);
            }
            let outcome = self.deliver(&message).instrument(span).await;
            let marked = match outcome {
                Ok(()) => self.outbox.delivered(&message).await,
                Err(status) => {
                    match self
                        .settings
                        .judge(message.effect.code(), message.attempts, &status)
                    {
                        Failure::Retry(wait) => {
                            self.outbox
                                .retry_later(&message, wait, &describe(&status))
                                .await
                        }
                        Failure::Refused => self.outbox.failed(&message, &describe(&status)).await,
                    }
                }
            };
            // Unmarked, the lease runs out and the message is tried again: at least once.
            if let Err(e) = marked {
                tracing::warn!(error = %e, "outbox: cannot record a delivery outcome");
            }
        }
        Ok(tried)
    }

    /// Registers the closed incident in system [`OWN_SYSTEM`] under its resource name; about no
    /// one person (an incident may concern many, named only in its sealed text).
    async fn deliver(&self, message: &OutboxMessage) -> Result<(), Status> {
        match message.effect {
            Effect::RegisterClosedIncident => {}
        }
        let channel = self.retention.channel("retention")?;
        let mut client = retention::retention_service_client::RetentionServiceClient::new(channel);
        let record = retention::Record {
            record_class_code: message.record_class_code.clone(),
            system: OWN_SYSTEM.to_owned(),
            external_id: message.external_id(),
            create_date: message.created_on.to_string(),
            close_date: message.closed_on.to_string(),
            ..Default::default()
        };
        client
            .register_record(delivery::outgoing(
                &message.context(),
                self.settings.call_timeout,
                retention::RegisterRecordRequest {
                    record: Some(record),
                },
            ))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retention_address_and_pacing_come_from_the_environment() {
        let env = Env::from_pairs([
            ("DPS_RETENTION_URL", "http://retention:50051"),
            ("DPS_OUTBOX_POLL_MS", "50"),
        ]);
        let config = OutboxConfig::from_env(&env).expect("valid");
        assert_eq!(
            config.retention_url.as_deref(),
            Some("http://retention:50051")
        );
        assert_eq!(config.settings.poll, std::time::Duration::from_millis(50));
        let unset = OutboxConfig::from_env(&Env::from_pairs([("DPS_OUTBOX_POLL_MS", "250")]))
            .expect("valid");
        assert_eq!(unset.retention_url, None, "unset: registrations wait");
    }
}
