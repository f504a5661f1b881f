//! `dps-bench gateway`: what the gateway costs (issue 9). The consent service's processing check
//! over 100,000 persons × 10 purposes, measured in one run direct to `dps-consent` and through
//! `dps-gateway` (its own process: token verification, role table, sealed identity, the access
//! audit log written for every call), each closed-loop at concurrency 1 and `--concurrency` (64).
//! Every caller has its own connection, as platform workers would.
//!
//! Options: `--persons N` (100000), `--seconds N` (10), `--warmup N` (3), `--concurrency N` (64),
//! `--json PATH`.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use dps_proto::consent::v1 as pb;
use pb::consent_service_client::ConsentServiceClient;
use tonic::transport::Channel;

use crate::harness::{self, Caller, Flags, Rng, Run, Service, Stack, TENANT};

struct Options {
    persons: u64,
    seconds: u64,
    warmup: u64,
    concurrency: usize,
    json: Option<PathBuf>,
}

type Call = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Who checks for which subsidiary, and that subsidiary's purposes.
pub(crate) type Checkers = Arc<Vec<(Caller, Vec<String>)>>;

/// Processing checks of a random person and purpose of a random subsidiary, each caller on its
/// own connection.
pub(crate) fn checks(
    channels: Vec<Channel>,
    checkers: Checkers,
    persons: u64,
) -> impl Fn(usize, &mut Rng) -> Call + Send + Sync + 'static {
    move |i, rng| {
        let mut client = ConsentServiceClient::new(channels[i % channels.len()].clone());
        let (caller, purposes) = &checkers[rng.below(checkers.len() as u64) as usize];
        let message = pb::CheckProcessingRequest {
            person_id: format!("p-{}", rng.below(persons) + 1),
            purpose: purposes[rng.below(purposes.len() as u64) as usize].clone(),
        };
        let request = caller.request(message);
        Box::pin(async move { client.check_processing(request).await.is_ok() })
    }
}

async fn measure(
    o: &Options,
    target: &Service,
    concurrency: usize,
    purposes: &[String],
    caller: Caller,
) -> Result<Run, String> {
    let channels = target.channels(concurrency)?;
    let checkers: Checkers = Arc::new(vec![(caller, purposes.to_vec())]);
    let call = || checks(channels.clone(), checkers.clone(), o.persons);
    harness::closed_loop(concurrency, Duration::from_secs(o.warmup), call()).await?;
    harness::closed_loop(concurrency, Duration::from_secs(o.seconds), call()).await
}

/// The consent service and the gateway in front of it, on a loaded throw-away stack.
struct Rig {
    stack: Stack,
    consent: Service,
    gateway: Service,
    purposes: Vec<String>,
    bearer: Caller,
}

impl Rig {
    async fn start(persons: u64) -> Result<Self, String> {
        let stack = Stack::start().await?;
        stack.migrate("dps-consent").await?;
        let purposes = crate::consent::load(&stack.owner_url(), TENANT, persons).await?;
        let consent = stack.serve("dps-consent").await?;
        crate::consent::warm(&consent.channel()?, TENANT, &purposes[0], persons).await?;

        // The gateway in development mode trusts a local issuer; the bench signs with the same key.
        let dev_key = stack.dir().join("gateway-dev.pem");
        let issuer = dps_gateway::DevIssuer::load_or_create(Some(&dev_key), "dps-dev", "dps-suite")
            .map_err(|e| e.to_string())?;
        let token = issuer.token(
            TENANT,
            "care-record-platform",
            &["care_record_platform"],
            3600,
        );
        let bearer = Caller::token(&token)?;
        let env: Vec<(&str, String)> = vec![
            ("DPS_GATEWAY_MODE", "development".into()),
            ("DPS_GATEWAY_DEV_KEY_FILE", dev_key.display().to_string()),
            ("DPS_GATEWAY_SUBJECT_REQUESTS_URL", consent.addr.clone()),
            ("DPS_GATEWAY_BREACHES_URL", consent.addr.clone()),
            ("DPS_GATEWAY_RETENTION_URL", consent.addr.clone()),
            ("DPS_GATEWAY_CONSENT_URL", consent.addr.clone()),
            // One principal makes every call here: the per-principal limit would be the figure.
            ("DPS_GATEWAY_RATE_LIMIT", "0".into()),
        ];
        stack.migrate_with("dps-gateway", &env).await?;
        let gateway = stack.serve_with("dps-gateway", &env).await?;
        Ok(Self {
            stack,
            consent,
            gateway,
            purposes,
            bearer,
        })
    }

    async fn audit_rows(&self) -> Result<i64, String> {
        let pool = sqlx::PgPool::connect(&self.stack.owner_url())
            .await
            .map_err(|e| e.to_string())?;
        sqlx::query_scalar("SELECT count(*) FROM gateway.audit_events")
            .fetch_one(&pool)
            .await
            .map_err(|e| e.to_string())
    }

    async fn stop(self) {
        self.gateway.stop().await;
        self.consent.stop().await;
        drop(self.stack);
    }
}

pub async fn run(mut flags: Flags) -> Result<(), String> {
    let o = Options {
        persons: flags.number("persons", 100_000)?,
        seconds: flags.number("seconds", 10)?,
        warmup: flags.number("warmup", 3)?,
        concurrency: flags.number("concurrency", 64)?.max(1) as usize,
        json: flags.path("json"),
    };
    flags.finish()?;
    let rig = Rig::start(o.persons).await?;
    let (consent, gateway, purposes, bearer) =
        (&rig.consent, &rig.gateway, &rig.purposes, &rig.bearer);
    let mut rows = Vec::new();
    for concurrency in [1, o.concurrency] {
        for (label, target, caller) in [
            (
                "direct",
                &consent,
                Caller::sealed(TENANT, "care_record_platform"),
            ),
            ("through the gateway", &gateway, bearer.clone()),
        ] {
            eprintln!(
                "{label}, concurrency {concurrency}: {} s warm-up, {} s measured",
                o.warmup, o.seconds
            );
            let run = measure(&o, target, concurrency, purposes, caller).await?;
            rows.push((label, concurrency, run));
        }
    }
    let gateway_rss = gateway.rss_mib();
    let audited = rig.audit_rows().await?;
    let purpose_count = purposes.len();
    rig.stop().await;

    println!("| path | concurrency | checks/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, concurrency, run) in &rows {
        println!(
            "| {label} | {concurrency} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            run.throughput,
            run.percentile(0.50),
            run.percentile(0.90),
            run.percentile(0.99),
            run.percentile(1.0),
            run.errors
        );
    }
    let mut comparisons = Vec::new();
    for pair in rows.chunks(2) {
        let [(_, concurrency, direct), (_, _, via)] = pair else {
            continue;
        };
        let added = via.percentile(0.50) - direct.percentile(0.50);
        let kept = 100.0 * via.throughput / direct.throughput;
        println!(
            "concurrency {concurrency}: the gateway adds {added:.2} ms at p50 and keeps {kept:.0} % of the direct throughput"
        );
        comparisons.push(serde_json::json!({
            "concurrency": concurrency,
            "added_p50_ms": added,
            "throughput_kept_percent": kept,
        }));
    }
    println!(
        "audit rows written: {audited}; gateway RSS {:.0} MiB",
        gateway_rss.unwrap_or(0.0)
    );
    let summary = serde_json::json!({
        "scenario": "consent processing check, direct and through dps-gateway (audit log on)",
        "persons": o.persons,
        "purposes": purpose_count,
        "seconds": o.seconds,
        "runs": rows.iter().map(|(label, concurrency, run)| serde_json::json!({
            "path": label,
            "concurrency": concurrency,
            "requests": run.count,
            "errors": run.errors,
            "throughput_per_s": run.throughput,
            "latency_ms": run.latency_json(),
        })).collect::<Vec<_>>(),
        "comparisons": comparisons,
        "audit_rows": audited,
        "gateway_rss_mib": gateway_rss,
        "machine": harness::machine(),
    });
    harness::write_json(o.json.as_deref(), &summary)?;
    let errors: u64 = rows.iter().map(|(_, _, r)| r.errors).sum();
    if errors > 0 {
        return Err(format!("{errors} errors"));
    }
    Ok(())
}
