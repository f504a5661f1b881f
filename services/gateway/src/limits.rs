//! Per-call limits the gateway enforces before a backend sees anything: the caller's deadline
//! (`grpc-timeout`) and a per-principal rate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The gateway's limits, from `DPS_GATEWAY_RATE_LIMIT` and `DPS_GATEWAY_DEFAULT_TIMEOUT_SECONDS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls per second one principal (tenant and caller) may make, with bursts of twice that;
    /// 0 turns the limit off.
    pub rate_per_second: u32,
    /// The deadline of a unary call whose caller set none, so a hung backend cannot hold a call
    /// for ever.
    pub default_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            rate_per_second: 1_000,
            default_timeout: Duration::from_secs(30),
        }
    }
}

/// The caller's deadline from a `grpc-timeout` value (gRPC over HTTP/2: at most 8 digits and a
/// unit of H, M, S, m, u or n). `None` when absent or malformed.
pub fn grpc_timeout(value: &str) -> Option<Duration> {
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.checked_mul(3600)?),
        "M" => Duration::from_secs(n.checked_mul(60)?),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Idle principals forgotten once the table holds this many.
const MAX_PRINCIPALS: usize = 50_000;

/// A token bucket per principal, in this process (each gateway replica counts its own calls).
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` calls a second with bursts of twice that; 0: unlimited.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(per_second) * 2.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one call from `principal`'s bucket at `now`; `false` when it is empty.
    pub fn allow(&self, principal: &str, now: Instant) -> bool {
        if self.per_second == 0.0 {
            return true;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_PRINCIPALS && !buckets.contains_key(principal) {
            let horizon = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, (_, at)| now.duration_since(*at) < horizon);
        }
        let (tokens, at) = buckets
            .entry(principal.to_owned())
            .or_insert((self.burst, now));
        let refilled =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            true
        } else {
            *tokens = refilled;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_every_unit_and_refuse_the_rest() {
        assert_eq!(grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(grpc_timeout("5M"), Some(Duration::from_secs(300)));
        assert_eq!(grpc_timeout("7u"), Some(Duration::from_micros(7)));
        assert_eq!(
            grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "m", "123456789S", "10s", "-1S", "1.5S"] {
            assert_eq!(grpc_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_principal_gets_its_burst_then_its_rate_and_others_are_untouched() {
        let limiter = RateLimiter::new(10);
        let start = Instant::now();
        let allowed = (0..25).filter(|_| limiter.allow("acme/hr", start)).count();
        assert_eq!(allowed, 20, "a burst of twice the rate");
        assert!(
            limiter.allow("acme/other", start),
            "buckets are per principal"
        );
        assert!(!limiter.allow("acme/hr", start + Duration::from_millis(50)));
        assert!(limiter.allow("acme/hr", start + Duration::from_millis(150)));
        assert!(RateLimiter::new(0).allow("x", start), "0 turns it off");
    }
}
