//! `dps-bench breaches`: recording an incident, and the DPO's alarm view (the 50 open breaches
//! with least time left), direct to the breaches service. Issue 7 target: p99 ≤ 20 ms among
//! 100,000 stored incidents.
//!
//! Starts a throw-away Postgres, migrates it with the `dps-breaches` binary built beside this
//! one, loads `--incidents` incidents for one tenant straight into the schema (a third not yet
//! classified, the rest breaches of which half reported and a tenth decided not reportable, so
//! about a third have a running clock; awareness spread over 30 days), prints the plan Postgres
//! chooses for the alarm query, serves `dps-breaches` as a separate process and drives two
//! closed-loop phases: `ListOpenBreaches` (page size 50), then `CreateIncident` (a classified
//! breach with a description, sealed through the key store, as in production).
//!
//! Run it with `make bench-breaches` (a release build). Options: `--incidents N` (100000),
//! `--concurrency N` (16), `--seconds N` (10 per phase), `--warmup N` (3), `--json PATH`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dps_platform::proto_time;
use dps_proto::breaches::v1 as pb;
use pb::breaches_service_client::BreachesServiceClient;
use tonic::transport::Channel;

use crate::harness::{self, Caller, Flags, Rng, Run, Stack, TENANT};

struct Options {
    incidents: u64,
    concurrency: usize,
    seconds: u64,
    warmup: u64,
    json: Option<PathBuf>,
}

impl Options {
    fn parse(mut flags: Flags) -> Result<Self, String> {
        let o = Self {
            incidents: flags.number("incidents", 100_000)?.max(1),
            concurrency: flags.number("concurrency", 16)?.max(1) as usize,
            seconds: flags.number("seconds", 10)?,
            warmup: flags.number("warmup", 3)?,
            json: flags.path("json"),
        };
        flags.finish()?;
        Ok(o)
    }
}

fn with_caller<T>(message: T) -> tonic::Request<T> {
    harness::with_caller(message, "dpo")
}

pub async fn run(flags: Flags) -> Result<(), String> {
    let o = Options::parse(flags)?;
    let started = Instant::now();
    let stack = Stack::start().await?;
    stack.migrate("dps-breaches").await?;
    let (open, plan) = load(&stack.owner_url(), TENANT, o.incidents).await?;
    eprintln!(
        "loaded {} incidents ({open} open breaches) in {:.1?}\nalarm query plan:\n{plan}",
        o.incidents,
        started.elapsed()
    );
    let service = stack.serve("dps-breaches").await?;
    let channels = service.channels(o.concurrency)?;

    let callers = Arc::new(vec![Caller::sealed(TENANT, "dpo")]);
    let list = |channels: &[Channel]| alarm_list(channels.to_vec(), callers.clone());
    let create = |channels: &[Channel]| {
        let channels = channels.to_vec();
        move |caller: usize, rng: &mut Rng| {
            let mut client = BreachesServiceClient::new(channels[caller].clone());
            let request = new_breach(rng);
            Box::pin(async move { client.create_incident(with_caller(request)).await.is_ok() })
                as std::pin::Pin<Box<dyn Future<Output = bool> + Send>>
        }
    };

    let warm = Duration::from_secs(o.warmup);
    let measured = Duration::from_secs(o.seconds);
    eprintln!("listing: {} s warm-up, {} s measured", o.warmup, o.seconds);
    harness::closed_loop(o.concurrency, warm, list(&channels)).await?;
    let listed = harness::closed_loop(o.concurrency, measured, list(&channels)).await?;
    eprintln!(
        "recording: {} s warm-up, {} s measured",
        o.warmup, o.seconds
    );
    harness::closed_loop(o.concurrency, warm, create(&channels)).await?;
    let created = harness::closed_loop(o.concurrency, measured, create(&channels)).await?;
    let rss = service.rss_mib();
    service.stop().await;

    let row = |name: &str, r: &Run| {
        format!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            r.throughput,
            r.percentile(0.50),
            r.percentile(0.90),
            r.percentile(0.99),
            r.percentile(1.0),
            r.errors
        )
    };
    println!(
        "| call | calls/s | p50 ms | p90 ms | p99 ms | max ms | errors |\n|---|---|---|---|---|---|---|\n{}\n{}",
        row("ListOpenBreaches (50)", &listed),
        row("CreateIncident", &created)
    );
    let summary = serde_json::json!({
        "scenario": "breaches: alarm view and recording, direct to dps-breaches",
        "incidents": o.incidents,
        "open_breaches": open,
        "concurrency": o.concurrency,
        "seconds_per_phase": o.seconds,
        "list_open_breaches": {
            "requests": listed.count, "errors": listed.errors,
            "throughput_per_s": listed.throughput, "latency_ms": listed.latency_json(),
        },
        "create_incident": {
            "requests": created.count, "errors": created.errors,
            "throughput_per_s": created.throughput, "latency_ms": created.latency_json(),
        },
        "alarm_query_plan": plan,
        "service_rss_mib": rss,
        "machine": harness::machine(),
    });
    harness::write_json(o.json.as_deref(), &summary)?;
    drop(stack);
    if listed.errors > 0 || created.errors > 0 {
        return Err(format!(
            "{} list and {} create errors",
            listed.errors, created.errors
        ));
    }
    Ok(())
}

/// The DPO's alarm view: the 50 open breaches with least time left, of a random subsidiary.
pub(crate) fn alarm_list(
    channels: Vec<Channel>,
    callers: Arc<Vec<Caller>>,
) -> impl Fn(usize, &mut Rng) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>> {
    move |caller: usize, rng: &mut Rng| {
        let mut client = BreachesServiceClient::new(channels[caller % channels.len()].clone());
        let who = &callers[rng.below(callers.len() as u64) as usize];
        let request = who.request(pb::ListOpenBreachesRequest {
            page_size: 50,
            page_token: String::new(),
        });
        Box::pin(async move {
            client
                .list_open_breaches(request)
                .await
                .is_ok_and(|r| r.into_inner().breaches.len() == 50)
        })
    }
}

/// A misdirected-email breach, aware up to two days ago.
fn new_breach(rng: &mut Rng) -> pb::CreateIncidentRequest {
    let aware = time::OffsetDateTime::now_utc() - time::Duration::minutes(rng.below(2880) as i64);
    pb::CreateIncidentRequest {
        incident: Some(pb::Incident {
            title: "Care plan emailed to wrong family".into(),
            aware_time: Some(proto_time::to_proto(aware)),
            reported_by: "Care worker, Rose House".into(),
            description: "Mrs A's care plan was emailed to the B family instead of hers".into(),
            systems: vec!["email".into()],
            classification: Some(pb::Classification {
                personal_data_breach: true,
                serious: false,
                kinds: vec![pb::BreachKind::Confidentiality.into()],
            }),
            ..Default::default()
        }),
        request_id: uuid::Uuid::now_v7().to_string(),
    }
}

/// Loads the data set straight into the schema (as its owner): the service's write path, with a
/// key per incident, is what the create phase measures, not how the history got there. Returns
/// the number of open breaches and the alarm query's plan.
pub(crate) async fn load(
    owner_url: &str,
    tenant: &str,
    incidents: u64,
) -> Result<(i64, String), String> {
    let pool = sqlx::PgPool::connect(owner_url)
        .await
        .map_err(|e| e.to_string())?;
    let e = |e: sqlx::Error| e.to_string();
    let incidents = i64::try_from(incidents).map_err(|e| e.to_string())?;
    sqlx::query(
        "INSERT INTO breaches.incidents (tenant_id, incident_id, title, aware_at, created_by, \
             personal_data_breach, serious, kinds, first_reported_at, reported_late, outcome) \
         SELECT $1, gen_random_uuid(), 'Incident ' || g, \
                now() - make_interval(mins => ((g * 7919) % 43200)::int), 'bench', \
                CASE WHEN g % 3 = 0 THEN NULL ELSE true END, \
                CASE WHEN g % 3 = 0 THEN NULL ELSE g % 5 = 0 END, \
                CASE WHEN g % 3 = 0 THEN '{}'::text[] ELSE '{confidentiality}' END, \
                CASE WHEN g % 3 <> 0 AND g % 2 = 0 THEN now() END, \
                CASE WHEN g % 3 <> 0 AND g % 2 = 0 THEN g % 4 = 0 END, \
                CASE WHEN g % 3 <> 0 AND g % 2 = 1 AND g % 10 = 1 THEN 'not_reportable' END \
         FROM generate_series(1, $2) AS g",
    )
    .bind(tenant)
    .bind(incidents)
    .execute(&pool)
    .await
    .map_err(e)?;
    sqlx::query("ANALYZE breaches.incidents")
        .execute(&pool)
        .await
        .map_err(e)?;
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM breaches.incidents WHERE tenant_id = $1 AND clock_running",
    )
    .bind(tenant)
    .fetch_one(&pool)
    .await
    .map_err(e)?;
    // The service's query, with its page size as a literal as the store sends it.
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN SELECT incident_id, title, aware_at, severity FROM breaches.incidents \
         WHERE tenant_id = '{tenant}' AND clock_running \
         ORDER BY aware_at, incident_id LIMIT 51"
    )))
    .fetch_all(&pool)
    .await
    .map_err(e)?;
    Ok((open, plan.join("\n")))
}
