//! `dps-bench consent-check`: the processing check under load, direct to the consent service.
//!
//! Starts a throw-away Postgres, migrates it with the `dps-consent` binary built beside this
//! one, loads a care group's consent data (persons × purposes with mixed bases, consents, some
//! withdrawn, restrictions and objections), serves `dps-consent` as a separate process, then
//! drives it closed-loop at a fixed concurrency and reports throughput, latency percentiles and
//! the service's memory. Meanwhile a prober withdraws consents and checks at once: any allow
//! after a withdrawal returned is counted as stale (must be 0).
//!
//! Run it with `make bench-consent` (a release build). Options: `--persons N` (100000),
//! `--concurrency N` (64), `--connections N` (one per caller), `--seconds N` (20), `--warmup N` (5),
//! `--rate N` (open loop: N checks/s in total at the given concurrency, each latency measured
//! from its intended send time, so queueing is not hidden; default: closed loop), `--probe-ms N`
//! (pause between withdrawal probes, 20; 0 for none), `--json PATH`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dps_proto::consent::v1 as pb;
use pb::consent_service_client::ConsentServiceClient;
use tonic::transport::Channel;

use crate::harness::{self, Flags, Rng, Run, Stack, TENANT};

struct Options {
    persons: u64,
    concurrency: usize,
    connections: usize,
    seconds: u64,
    warmup: u64,
    rate: Option<u64>,
    probe_ms: u64,
    json: Option<PathBuf>,
}

impl Options {
    fn parse(mut flags: Flags) -> Result<Self, String> {
        let concurrency = flags.number("concurrency", 64)?.max(1) as usize;
        let o = Self {
            persons: flags.number("persons", 100_000)?.max(1),
            concurrency,
            // By default each caller has its own connection, as separate platform workers would.
            connections: flags.number("connections", concurrency as u64)?.max(1) as usize,
            seconds: flags.number("seconds", 20)?,
            warmup: flags.number("warmup", 5)?,
            rate: flags.optional_number("rate")?,
            probe_ms: flags.number("probe-ms", 20)?,
            json: flags.path("json"),
        };
        flags.finish()?;
        Ok(o)
    }
}

fn with_caller<T>(message: T) -> tonic::Request<T> {
    harness::with_caller(message, "service")
}

pub async fn run(flags: Flags) -> Result<(), String> {
    let o = Options::parse(flags)?;
    let started = Instant::now();
    let stack = Stack::start().await?;
    stack.migrate("dps-consent").await?;
    let purposes = load(&stack.owner_url(), TENANT, o.persons).await?;
    eprintln!(
        "loaded {} persons × {} purposes in {:.1?}",
        o.persons,
        purposes.len(),
        started.elapsed()
    );
    let service = stack.serve("dps-consent").await?;
    let channels = service.channels(o.connections)?;
    let idle_rss = service.rss_mib();

    eprintln!("warming up: every person once, then {} s of load", o.warmup);
    warm(&channels[0], TENANT, &purposes[0], o.persons).await?;
    drive(&o, &channels, &purposes, Duration::from_secs(o.warmup)).await?;
    eprintln!(
        "measuring for {} s at concurrency {}",
        o.seconds, o.concurrency
    );
    let stop = Arc::new(AtomicBool::new(false));
    let prober = (o.probe_ms > 0).then(|| {
        tokio::spawn(probe(
            channels[0].clone(),
            purposes.clone(),
            o.persons,
            Duration::from_millis(o.probe_ms),
            stop.clone(),
        ))
    });
    let measured = Duration::from_secs(o.seconds);
    let result = match o.rate {
        Some(rate) => {
            let call = check_call(&o, &channels, &purposes);
            harness::open_loop(rate, o.concurrency, measured, call).await?
        }
        None => drive(&o, &channels, &purposes, measured).await?,
    };
    stop.store(true, Ordering::Relaxed);
    let (probes, stale) = match prober {
        Some(prober) => prober.await.map_err(|e| e.to_string())??,
        None => (0, 0),
    };
    let peak_rss = service.rss_mib();
    service.stop().await;

    let summary = serde_json::json!({
        "scenario": "consent processing check, direct to dps-consent",
        "mode": o.rate.map_or("closed loop".to_owned(), |r| format!("open loop at {r}/s")),
        "persons": o.persons,
        "purposes": purposes.len(),
        "concurrency": o.concurrency,
        "connections": o.connections,
        "seconds": o.seconds,
        "requests": result.count,
        "errors": result.errors,
        "throughput_per_s": result.throughput,
        "latency_ms": result.latency_json(),
        "withdrawal_probes": probes,
        "stale_allows_after_withdrawal": stale,
        "service_rss_mib": { "idle": idle_rss, "peak": peak_rss },
        "machine": harness::machine(),
    });
    println!(
        "| checks/s | p50 ms | p90 ms | p99 ms | max ms | errors | stale allows | RSS idle/peak MiB |\n\
         |---|---|---|---|---|---|---|---|\n\
         | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {stale}/{probes} | {:.0}/{:.0} |",
        result.throughput,
        result.percentile(0.50),
        result.percentile(0.90),
        result.percentile(0.99),
        result.percentile(1.0),
        result.errors,
        idle_rss.unwrap_or(0.0),
        peak_rss.unwrap_or(0.0),
    );
    harness::write_json(o.json.as_deref(), &summary)?;
    drop(stack);
    if stale > 0 || result.errors > 0 {
        return Err(format!("{stale} stale allows, {} errors", result.errors));
    }
    Ok(())
}

/// One check of a random person and purpose, on the caller's (or request's) connection.
fn check_call(
    o: &Options,
    channels: &[Channel],
    purposes: &[String],
) -> impl Fn(usize, &mut Rng) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>>
+ Send
+ Sync
+ 'static {
    let (channels, purposes, persons) = (channels.to_vec(), purposes.to_vec(), o.persons);
    move |caller, rng| {
        let mut client = ConsentServiceClient::new(channels[caller % channels.len()].clone());
        let request = pb::CheckProcessingRequest {
            person_id: format!("p-{}", rng.below(persons) + 1),
            purpose: purposes[rng.below(purposes.len() as u64) as usize].clone(),
        };
        Box::pin(async move { client.check_processing(with_caller(request)).await.is_ok() })
    }
}

/// Closed loop at the configured concurrency.
async fn drive(
    o: &Options,
    channels: &[Channel],
    purposes: &[String],
    duration: Duration,
) -> Result<Run, String> {
    harness::closed_loop(o.concurrency, duration, check_call(o, channels, purposes)).await
}

/// Loads the data set straight into the consent schema (as the schema owner): the service's own
/// write path would take minutes for a million rows and is not what is measured here.
/// Returns the purpose names; the first four are consent-based.
pub(crate) async fn load(
    owner_url: &str,
    tenant: &str,
    persons: u64,
) -> Result<Vec<String>, String> {
    let pool = sqlx::PgPool::connect(owner_url)
        .await
        .map_err(|e| e.to_string())?;
    let e = |e: sqlx::Error| e.to_string();
    let notice = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO consent.notices (tenant_id, notice_id, audience, version, title, uri, \
             material_change, published_at, created_by) \
         VALUES ($1, $2, 'service_users', 1, 'How we use your information', \
                 'https://example.org/privacy', false, now() - interval '60 days', 'bench')",
    )
    .bind(tenant)
    .bind(notice)
    .execute(&pool)
    .await
    .map_err(e)?;
    // (basis, direct marketing, research, restriction exemption)
    let specs: [(&str, bool, bool, Option<&str>); 10] = [
        ("consent", false, false, None),
        ("consent", true, false, None),
        ("consent", false, false, None),
        ("consent", false, true, None),
        ("legitimate_interests", false, false, None),
        ("legitimate_interests", true, false, None),
        ("public_task", false, false, None),
        ("public_task", false, true, None),
        ("contract", false, false, None),
        ("legal_obligation", false, false, Some("legal_claims")),
    ];
    let mut names = Vec::new();
    for (i, (basis, dm, research, exemption)) in specs.iter().enumerate() {
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO consent.purposes (tenant_id, purpose_id, display_name, lawful_basis, \
                 legitimate_interests_assessment, data_categories, notice_audience, \
                 direct_marketing, research_planning, restriction_exemption, created_by) \
             VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'legitimate_interests' THEN 'LIA-1' ELSE '' END, \
                     '{health}', 'service_users', $5, $6, $7, 'bench')",
        )
        .bind(tenant)
        .bind(id)
        .bind(format!("Purpose {i}"))
        .bind(basis)
        .bind(dm)
        .bind(research)
        .bind(exemption)
        .execute(&pool)
        .await
        .map_err(e)?;
        if *basis == "consent" {
            // 80 % consented; of those, one in eight later withdrew.
            for (event, filter, age) in [
                ("given", "(g * 7 + $4) % 10 < 8", "30 days"),
                ("withdrawn", "(g * 7 + $4) % 10 = 0", "1 day"),
            ] {
                let sql = format!(
                    "INSERT INTO consent.consent_events (tenant_id, consent_id, person_id, \
                         purpose_id, event, occurred_at, method, action, notice_id, giver_role, \
                         created_by) \
                     SELECT $1, gen_random_uuid(), 'p-' || g, $2, '{event}', \
                            now() - interval '{age}', 'written', \
                            CASE WHEN '{event}' = 'given' THEN 'opt_in' END, \
                            CASE WHEN '{event}' = 'given' THEN $3::uuid END, \
                            CASE WHEN '{event}' = 'given' THEN 'self' END, 'bench' \
                     FROM generate_series(1, $5::bigint) AS g WHERE {filter}"
                );
                if event == "given" {
                    sqlx::query("INSERT INTO consent.persons (tenant_id, person_id) SELECT $1, 'p-' || g FROM generate_series(1, $2::bigint) AS g ON CONFLICT DO NOTHING")
                        .bind(tenant)
                        .bind(persons as i64)
                        .execute(&pool)
                        .await
                        .map_err(e)?;
                }
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(tenant)
                    .bind(id)
                    .bind(notice)
                    .bind(i as i64)
                    .bind(persons as i64)
                    .execute(&pool)
                    .await
                    .map_err(e)?;
            }
        }
        names.push(format!("purposes/{id}"));
    }
    for sql in [
        // 2 % restricted, 2 % objecting generally, 2.5 % to direct marketing, 1 % opted out.
        "INSERT INTO consent.restrictions (tenant_id, restriction_id, person_id, ground, \
             starts_at, created_by) \
         SELECT $1, gen_random_uuid(), 'p-' || g, 'accuracy_contested', now() - interval '2 days', \
                'bench' FROM generate_series(1, $2::bigint) AS g WHERE g % 50 = 0",
        "INSERT INTO consent.objections (tenant_id, objection_id, person_id, kind, starts_at, \
             created_by) \
         SELECT $1, gen_random_uuid(), 'p-' || g, 'general', now() - interval '2 days', 'bench' \
         FROM generate_series(1, $2::bigint) AS g WHERE g % 50 = 25",
        "INSERT INTO consent.objections (tenant_id, objection_id, person_id, kind, starts_at, \
             created_by) \
         SELECT $1, gen_random_uuid(), 'p-' || g, 'direct_marketing', now() - interval '2 days', \
                'bench' FROM generate_series(1, $2::bigint) AS g WHERE g % 40 = 3",
        "INSERT INTO consent.objections (tenant_id, objection_id, person_id, kind, starts_at, \
             created_by) \
         SELECT $1, gen_random_uuid(), 'p-' || g, 'national_data_opt_out', \
                now() - interval '2 days', 'bench' \
         FROM generate_series(1, $2::bigint) AS g WHERE g % 100 = 7",
    ] {
        sqlx::query(sql)
            .bind(tenant)
            .bind(persons as i64)
            .execute(&pool)
            .await
            .map_err(e)?;
    }
    sqlx::query("INSERT INTO consent.change_counters (tenant_id, seq) VALUES ($1, 1)")
        .bind(tenant)
        .execute(&pool)
        .await
        .map_err(e)?;
    sqlx::query("ANALYZE").execute(&pool).await.map_err(e)?;
    pool.close().await;
    Ok(names)
}

/// Checks every person once in batches, as a service that has been running a while has seen
/// them: the figures are for the steady state, not for cold misses.
pub(crate) async fn warm(
    channel: &Channel,
    tenant: &str,
    purpose: &str,
    persons: u64,
) -> Result<(), String> {
    let caller = harness::Caller::sealed(tenant, "service");
    let mut client = ConsentServiceClient::new(channel.clone());
    for first in (1..=persons).step_by(1000) {
        let checks = (first..(first + 1000).min(persons + 1))
            .map(|p| pb::CheckProcessingRequest {
                person_id: format!("p-{p}"),
                purpose: purpose.to_owned(),
            })
            .collect();
        client
            .batch_check_processing(caller.request(pb::BatchCheckProcessingRequest { checks }))
            .await
            .map_err(|e| format!("warm-up: {e}"))?;
    }
    Ok(())
}

/// While the load runs: give a consent, check (allowed), withdraw, check at once (must deny).
async fn probe(
    channel: Channel,
    purposes: Vec<String>,
    persons: u64,
    pause: Duration,
    stop: Arc<AtomicBool>,
) -> Result<(u64, u64), String> {
    let mut client = ConsentServiceClient::new(channel);
    let notice = client
        .list_notices(with_caller(pb::ListNoticesRequest {
            audience: pb::Audience::ServiceUsers.into(),
        }))
        .await
        .map_err(|e| e.to_string())?
        .into_inner()
        .notices
        .remove(0)
        .name;
    let (mut probes, mut stale) = (0, 0);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let person = format!("p-{}", (n * 7919) % persons + 1);
        let purpose = purposes[0].clone();
        let consent_time = dps_platform::proto_time::to_proto(
            time::OffsetDateTime::now_utc() - time::Duration::seconds(60),
        );
        client
            .record_consent(with_caller(pb::RecordConsentRequest {
                person_id: person.clone(),
                purpose: purpose.clone(),
                notice: notice.clone(),
                method: pb::CaptureMethod::Electronic.into(),
                action: pb::ConsentAction::OptIn.into(),
                consent_time: Some(consent_time),
                giver: Some(pb::ConsentGiver {
                    role: pb::GiverRole::Self_.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }))
            .await
            .map_err(|e| format!("probe consent: {e}"))?;
        client
            .withdraw_consent(with_caller(pb::WithdrawConsentRequest {
                person_id: person.clone(),
                purpose: purpose.clone(),
                method: pb::CaptureMethod::Electronic.into(),
                withdraw_time: None,
            }))
            .await
            .map_err(|e| format!("probe withdrawal: {e}"))?;
        let decision = client
            .check_processing(with_caller(pb::CheckProcessingRequest {
                person_id: person,
                purpose,
            }))
            .await
            .map_err(|e| format!("probe check: {e}"))?
            .into_inner();
        probes += 1;
        if decision.allowed {
            stale += 1;
        }
        tokio::time::sleep(pause).await;
    }
    Ok((probes, stale))
}
