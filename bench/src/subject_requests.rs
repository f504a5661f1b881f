//! `dps-bench subject-requests`: intake throughput and the DPO's "soonest due" list, direct to
//! the subject-requests service (issue 16's figures).
//!
//! Loads `--stored N` requests (1,000,000) across every state straight into the schema (a
//! quarter open, due dates spread over the past year and the month ahead), serves
//! `dps-subject-requests` as its own process, then measures, each closed-loop for `--seconds`:
//! 1. `CreateSubjectRequest` at `--create-concurrency` (32): a realistic intake with the
//!    requester's name, contact and words (sealed with the person's key, a new person each time)
//!    and two fulfilment tasks;
//! 2. `ListSubjectRequests` of the 50 soonest-due open requests at `--list-concurrency` (8); the
//!    requests created in step 1 were received two months ago, so they lead the list and each
//!    page opens sealed fields.
//!
//! Options: `--stored N`, `--seconds N` (15), `--warmup N` (3), `--create-concurrency N`,
//! `--list-concurrency N`, `--json PATH`.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dps_platform::proto_time;
use dps_proto::common::v1::Channel as PbChannel;
use dps_proto::subject_requests::v1 as pb;
use pb::subject_requests_service_client::SubjectRequestsServiceClient;
use tonic::transport::Channel;

use crate::harness::{self, Caller, Flags, Rng, Run, Stack, TENANT};

struct Options {
    stored: u64,
    seconds: u64,
    warmup: u64,
    create_concurrency: usize,
    list_concurrency: usize,
    json: Option<PathBuf>,
}

impl Options {
    fn parse(mut flags: Flags) -> Result<Self, String> {
        let o = Self {
            stored: flags.number("stored", 1_000_000)?,
            seconds: flags.number("seconds", 15)?,
            warmup: flags.number("warmup", 3)?,
            create_concurrency: flags.number("create-concurrency", 32)?.max(1) as usize,
            list_concurrency: flags.number("list-concurrency", 8)?.max(1) as usize,
            json: flags.path("json"),
        };
        flags.finish()?;
        Ok(o)
    }
}

type Call = Pin<Box<dyn Future<Output = bool> + Send>>;

pub async fn run(flags: Flags) -> Result<(), String> {
    let o = Options::parse(flags)?;
    let started = Instant::now();
    let stack = Stack::start().await?;
    stack.migrate("dps-subject-requests").await?;
    load(&stack.owner_url(), TENANT, o.stored).await?;
    eprintln!("loaded {} requests in {:.1?}", o.stored, started.elapsed());
    let service = stack.serve("dps-subject-requests").await?;
    let idle_rss = service.rss_mib();

    let channels = service.channels(o.create_concurrency)?;
    let serial = Arc::new(AtomicU64::new(0));
    eprintln!("creating: {} s warm-up, {} s measured", o.warmup, o.seconds);
    let callers = Arc::new(vec![Caller::sealed(TENANT, "service")]);
    let create = || create_call(channels.clone(), serial.clone(), callers.clone());
    harness::closed_loop(o.create_concurrency, secs(o.warmup), create()).await?;
    let creates = harness::closed_loop(o.create_concurrency, secs(o.seconds), create()).await?;

    let channels = service.channels(o.list_concurrency)?;
    eprintln!("listing: {} s warm-up, {} s measured", o.warmup, o.seconds);
    let list = || list_call(channels.clone(), callers.clone());
    harness::closed_loop(o.list_concurrency, secs(o.warmup), list()).await?;
    let lists = harness::closed_loop(o.list_concurrency, secs(o.seconds), list()).await?;
    let peak_rss = service.rss_mib();
    service.stop().await;

    let summary = serde_json::json!({
        "scenario": "subject requests, direct to dps-subject-requests",
        "stored_requests": o.stored,
        "create": phase_json(&creates, o.create_concurrency),
        "list_50_soonest_due_open": phase_json(&lists, o.list_concurrency),
        "service_rss_mib": { "idle": idle_rss, "peak": peak_rss },
        "machine": harness::machine(),
    });
    println!(
        "| call | concurrency | per s | p50 ms | p90 ms | p99 ms | max ms | errors |\n\
         |---|---|---|---|---|---|---|---|\n{}\n{}\n\nRSS idle/peak: {:.0}/{:.0} MiB",
        row("CreateSubjectRequest", o.create_concurrency, &creates),
        row(
            "ListSubjectRequests (50 soonest due, open)",
            o.list_concurrency,
            &lists
        ),
        idle_rss.unwrap_or(0.0),
        peak_rss.unwrap_or(0.0),
    );
    harness::write_json(o.json.as_deref(), &summary)?;
    drop(stack);
    match creates.errors + lists.errors {
        0 => Ok(()),
        errors => Err(format!("{errors} calls failed")),
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn phase_json(run: &Run, concurrency: usize) -> serde_json::Value {
    serde_json::json!({
        "concurrency": concurrency,
        "requests": run.count,
        "errors": run.errors,
        "throughput_per_s": run.throughput,
        "latency_ms": run.latency_json(),
    })
}

fn row(name: &str, concurrency: usize, run: &Run) -> String {
    format!(
        "| {name} | {concurrency} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
        run.throughput,
        run.percentile(0.50),
        run.percentile(0.90),
        run.percentile(0.99),
        run.percentile(1.0),
        run.errors
    )
}

/// A new request about a new person, received two months ago, with two systems to ask.
pub(crate) fn create_call(
    channels: Vec<Channel>,
    serial: Arc<AtomicU64>,
    callers: Arc<Vec<Caller>>,
) -> impl Fn(usize, &mut Rng) -> Call + Send + Sync + 'static {
    let received = proto_time::to_proto(time::OffsetDateTime::now_utc() - time::Duration::days(60));
    move |caller, rng| {
        let who = callers[rng.below(callers.len() as u64) as usize].clone();
        let n = serial.fetch_add(1, Ordering::Relaxed);
        let mut client =
            SubjectRequestsServiceClient::new(channels[caller % channels.len()].clone());
        let task = |system: &str, action: pb::TaskAction| pb::FulfilmentTaskSpec {
            system: system.into(),
            action: action.into(),
        };
        let request = pb::CreateSubjectRequestRequest {
            subject_request: Some(pb::SubjectRequest {
                kind: pb::RequestKind::Access.into(),
                channel: PbChannel::Email.into(),
                person_id: format!("bench-new-{n}"),
                receive_time: Some(received),
                requester_name: "Margaret Example".into(),
                requester_contact: "margaret@example.org".into(),
                details: "Please send me a copy of my care records since 2023.".into(),
                fulfilment_tasks: vec![
                    task("care-records", pb::TaskAction::Export),
                    task("hr", pb::TaskAction::Export),
                ],
                ..Default::default()
            }),
            request_id: uuid::Uuid::now_v7().to_string(),
        };
        Box::pin(async move {
            client
                .create_subject_request(who.request(request))
                .await
                .is_ok()
        })
    }
}

/// The DPO's view: the first page of open requests, soonest due first.
pub(crate) fn list_call(
    channels: Vec<Channel>,
    callers: Arc<Vec<Caller>>,
) -> impl Fn(usize, &mut Rng) -> Call + Send + Sync + 'static {
    move |caller, rng| {
        let who = callers[rng.below(callers.len() as u64) as usize].clone();
        let mut client =
            SubjectRequestsServiceClient::new(channels[caller % channels.len()].clone());
        Box::pin(async move {
            client
                .list_subject_requests(who.request(pb::ListSubjectRequestsRequest {
                    page_size: 50,
                    open_only: true,
                    ..Default::default()
                }))
                .await
                .is_ok_and(|r| r.get_ref().subject_requests.len() == 50)
        })
    }
}

/// Loads `n` requests straight into the schema (as its owner): the service's own write path is
/// what step 1 measures, not how the history got there. One in twenty of each state pattern:
/// five open states (a quarter of all), then completed, refused, withdrawn and closed.
pub(crate) async fn load(owner_url: &str, tenant: &str, n: u64) -> Result<(), String> {
    let pool = sqlx::PgPool::connect(owner_url)
        .await
        .map_err(|e| e.to_string())?;
    let e = |e: sqlx::Error| e.to_string();
    sqlx::query(
        "INSERT INTO subject_requests.subject_requests \
             (tenant_id, subject_request_id, kind, requested_kind, channel, person_id, state, \
              received_at, created_by, clock_status, start_on, due_on, refusal_due_on, \
              completed_at) \
         SELECT $1, gen_random_uuid(), k.kind, k.kind, 'email', 'p-' || g, s.state, r.at, \
                'bench', s.clock, r.at::date, \
                CASE WHEN s.clock = 'running' THEN (r.at + interval '1 month')::date END, \
                CASE WHEN s.clock = 'running' THEN (r.at + interval '1 month')::date END, \
                CASE WHEN s.state = 'completed' THEN r.at + interval '20 days' END \
         FROM generate_series(1, $2::bigint) AS g \
         CROSS JOIN LATERAL (SELECT (ARRAY['received', 'awaiting_identity', \
                 'awaiting_clarification', 'in_progress', 'awaiting_review', 'completed', \
                 'completed', 'completed', 'refused', 'withdrawn', 'closed', 'closed', 'closed', \
                 'closed', 'closed', 'closed', 'closed', 'closed', 'closed', 'closed'])[g % 20 + 1] \
                 AS state) s0 \
         CROSS JOIN LATERAL (SELECT s0.state, CASE s0.state \
                 WHEN 'awaiting_identity' THEN 'awaiting_identity' \
                 WHEN 'awaiting_clarification' THEN 'paused' \
                 WHEN 'refused' THEN 'refused' ELSE 'running' END AS clock) s \
         CROSS JOIN LATERAL (SELECT (ARRAY['access', 'access', 'access', 'erasure', \
                 'rectification', 'objection'])[g % 6 + 1] AS kind) k \
         CROSS JOIN LATERAL (SELECT CASE WHEN s.state IN ('received', 'awaiting_identity', \
                 'awaiting_clarification', 'in_progress', 'awaiting_review') \
                 THEN now() - make_interval(days => (g % 35)::int) \
                 ELSE now() - make_interval(days => 40 + (g % 365)::int) END AS at) r",
    )
    .bind(tenant)
    .bind(n as i64)
    .execute(&pool)
    .await
    .map_err(e)?;
    sqlx::query("ANALYZE subject_requests.subject_requests")
        .execute(&pool)
        .await
        .map_err(e)?;
    pool.close().await;
    Ok(())
}
