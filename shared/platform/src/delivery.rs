//! Delivering a service's transactional outbox to another service (issue 10): the pieces every
//! dispatcher shares — pacing and backoff, which failures are worth retrying, a replaceable
//! target address, and the outgoing call made as the original caller in the change's trace.
//!
//! Each service keeps its own outbox table, claim query and effects; this module knows none of
//! them.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::CallContext;

/// How a dispatcher paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchSettings {
    /// How often to look for due messages when idle.
    pub poll: Duration,
    /// Messages claimed at once.
    pub batch: i64,
    /// How long a claimed message is left to one dispatcher before another may retry it; longer
    /// than a delivery can take.
    pub lease: Duration,
    /// The wait after the first failure, doubled after each further one ...
    pub backoff_base: Duration,
    /// ... up to this.
    pub backoff_max: Duration,
    /// Deadline of one delivery call.
    pub call_timeout: Duration,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(250),
            batch: 32,
            lease: Duration::from_secs(30),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            call_timeout: Duration::from_secs(5),
        }
    }
}

impl DispatchSettings {
    /// The defaults, with `DPS_OUTBOX_POLL_MS` (250) read from `env`.
    pub fn from_env(env: &crate::Env) -> Result<Self, crate::ConfigError> {
        Ok(Self {
            poll: env.millis_or("DPS_OUTBOX_POLL_MS", Self::default().poll)?,
            ..Self::default()
        })
    }

    /// How long to wait after the `attempts`-th failed delivery.
    pub fn backoff(&self, attempts: u32) -> Duration {
        backoff(attempts, self.backoff_base, self.backoff_max)
    }

    /// Judges (and logs) the `attempts`-th failed delivery of a message of `effect`.
    pub fn judge(&self, effect: &str, attempts: u32, status: &Status) -> Failure {
        if is_transient(status.code()) {
            let wait = self.backoff(attempts);
            tracing::warn!(
                effect,
                attempts,
                code = ?status.code(),
                error = status.message(),
                retry_in_ms = wait.as_millis() as u64,
                "outbox: delivery failed, will retry"
            );
            Failure::Retry(wait)
        } else {
            tracing::error!(
                effect,
                code = ?status.code(),
                error = status.message(),
                "outbox: the receiver refused the message; kept, not retried"
            );
            Failure::Refused
        }
    }
}

/// What a failed delivery leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It may pass: try again after this wait.
    Retry(Duration),
    /// The receiver refused the message itself: kept for an operator, never retried.
    Refused,
}

/// How long to wait after the `attempts`-th failed delivery: doubling from `base`, at most `max`,
/// so an outage of the receiver is not hammered and a short one is soon over.
pub fn backoff(attempts: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1).min(20))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

/// Codes that may pass on a later try. Anything else is the message's own fault and would fail
/// the same way again: it is kept for an operator and never retried.
pub fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::ResourceExhausted
            | Code::Internal
            | Code::Unknown
            | Code::Unauthenticated
            | Code::Cancelled
    )
}

/// What is kept of a failure: the code and the receiver's message, never more.
pub fn describe(status: &Status) -> String {
    let message: String = status.message().chars().take(500).collect();
    format!("{:?}: {message}", status.code())
}

/// Where one receiving service is. Shared and replaceable while running, so an operator (or a
/// test) can move a service without restarting the sender; unset, its messages wait.
#[derive(Debug, Clone, Default)]
pub struct Target(Arc<RwLock<Option<Channel>>>);

impl Target {
    /// Points deliveries at `url` (e.g. `http://retention:50051`); connects lazily.
    pub fn set(&self, url: &str) -> Result<(), tonic::transport::Error> {
        let channel = Endpoint::from_shared(url.to_owned())?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(channel);
        Ok(())
    }

    /// The channel, or UNAVAILABLE naming `service` while no address is configured.
    pub fn channel(&self, service: &str) -> Result<Channel, Status> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| Status::unavailable(format!("no {service} service address configured")))
    }
}

/// A delivery call made as `context` (sealed again with this process's identity key, as the
/// gateway does), with `timeout`, carrying the current span's trace context.
pub fn outgoing<T>(context: &CallContext, timeout: Duration, body: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    request.set_timeout(timeout);
    context.write_to(request.metadata_mut());
    if let Ok(traced) = crate::trace_context::inject_into_request(tonic::Request::new(())) {
        for (key, value) in traced.metadata().iter().filter_map(|kv| match kv {
            tonic::metadata::KeyAndValueRef::Ascii(k, v) => Some((k.clone(), v.clone())),
            tonic::metadata::KeyAndValueRef::Binary(..) => None,
        }) {
            request.metadata_mut().insert(key, value);
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_by_doubling_up_to_the_cap() {
        let base = Duration::from_millis(200);
        let max = Duration::from_secs(10);
        let waits: Vec<u128> = (1..=8).map(|n| backoff(n, base, max).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 6400, 10000, 10000]);
        assert_eq!(backoff(u32::MAX, base, max), max);
    }

    #[test]
    fn only_refusals_of_the_message_itself_are_final() {
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Unauthenticated,
        ] {
            assert!(is_transient(code), "{code:?}");
        }
        for code in [
            Code::InvalidArgument,
            Code::FailedPrecondition,
            Code::NotFound,
            Code::PermissionDenied,
        ] {
            assert!(!is_transient(code), "{code:?}");
        }
    }

    #[test]
    fn an_unset_target_leaves_messages_waiting() {
        let target = Target::default();
        let err = target.channel("retention").expect_err("unset");
        assert_eq!(err.code(), Code::Unavailable);
        assert!(is_transient(err.code()));
    }

    #[test]
    fn pacing_comes_from_the_environment() {
        let env = crate::Env::from_pairs([("DPS_OUTBOX_POLL_MS", "50")]);
        let settings = DispatchSettings::from_env(&env).expect("valid");
        assert_eq!(settings.poll, Duration::from_millis(50));
        let zero = crate::Env::from_pairs([("DPS_OUTBOX_POLL_MS", "0")]);
        assert_eq!(
            DispatchSettings::from_env(&zero).expect_err("zero").var,
            "DPS_OUTBOX_POLL_MS"
        );
    }
}
