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

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dps_pgcluster::LocalCluster;
use dps_pgcluster::roles::{self, APP_ROLE, OWNER_ROLE};
use dps_platform::context::{CALLER_HEADER, ROLES_HEADER, TENANT_HEADER};
use dps_proto::consent::v1 as pb;
use pb::consent_service_client::ConsentServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

const TENANT: &str = "bench-group";

#[derive(Debug, Clone)]
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

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("consent-check") => {}
        _ => return Err("usage: dps-bench consent-check [--persons N] [--concurrency N] [--connections N] [--seconds N] [--warmup N] [--rate N] [--probe-ms N] [--json PATH]".into()),
    }
    let mut o = Options {
        persons: 100_000,
        concurrency: 64,
        connections: 0,
        seconds: 20,
        warmup: 5,
        rate: None,
        probe_ms: 20,
        json: None,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag}: not a number"))
        };
        match flag.as_str() {
            "--persons" => o.persons = number()?,
            "--concurrency" => o.concurrency = number()? as usize,
            "--connections" => o.connections = number()? as usize,
            "--seconds" => o.seconds = number()?,
            "--warmup" => o.warmup = number()?,
            "--rate" => o.rate = Some(number()?.max(1)),
            "--probe-ms" => o.probe_ms = number()?,
            "--json" => o.json = Some(PathBuf::from(&value)),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    // By default each caller has its own connection, as separate platform workers would.
    if o.connections == 0 {
        o.connections = o.concurrency.max(1);
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(o).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dps-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A tiny xorshift generator: the load needs spread, not cryptographic randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn sibling_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it with the same profile (make bench-consent does)",
            path.display()
        ))
    }
}

struct Service {
    child: tokio::process::Child,
    addr: String,
}

async fn run(o: Options) -> Result<(), String> {
    let started = Instant::now();
    let cluster = tokio::task::spawn_blocking(LocalCluster::start_throwaway)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("Postgres: {e}"))?;
    let admin = cluster.url(dps_pgcluster::SUPERUSER, "postgres");
    roles::ensure_roles(&admin, "bench")
        .await
        .map_err(|e| e.to_string())?;
    for db in ["dps", "dps_keys"] {
        roles::ensure_database(&admin, db, None)
            .await
            .map_err(|e| e.to_string())?;
    }
    let key_file = cluster.root().join("keys");
    let kek = dps_crypto::KekId::parse("bench-1").ok_or("kek id")?;
    std::fs::write(&key_file, dps_crypto::KeyFile::generate(&kek)).map_err(|e| e.to_string())?;
    let binary = sibling_binary("dps-consent")?;
    let env = service_env(&cluster, &key_file);
    let migrate = tokio::process::Command::new(&binary)
        .arg("migrate")
        .envs(env.iter().cloned())
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if !migrate.status.success() {
        return Err(String::from_utf8_lossy(&migrate.stderr).into_owned());
    }
    let purposes = load(&cluster.url(OWNER_ROLE, "dps"), o.persons).await?;
    eprintln!(
        "loaded {} persons × {} purposes in {:.1?}",
        o.persons,
        purposes.len(),
        started.elapsed()
    );
    let mut service = serve(&binary, &env).await?;
    let channels: Vec<Channel> = (0..o.connections)
        .map(|_| {
            Channel::from_shared(service.addr.clone())
                .map(|c| c.connect_lazy())
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let idle_rss = rss(&service.child);

    eprintln!("warming up: every person once, then {} s of load", o.warmup);
    warm(&channels[0], &purposes[0], o.persons).await?;
    drive(
        &o,
        &channels,
        &purposes,
        Duration::from_secs(o.warmup),
        false,
    )
    .await?;
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
        Some(rate) => drive_open(&o, rate, &channels, &purposes, measured).await?,
        None => drive(&o, &channels, &purposes, measured, true).await?,
    };
    stop.store(true, Ordering::Relaxed);
    let (probes, stale) = match prober {
        Some(prober) => prober.await.map_err(|e| e.to_string())??,
        None => (0, 0),
    };
    let peak_rss = rss(&service.child);
    let _ = service.child.start_kill();
    let _ = service.child.wait().await;

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
        "latency_ms": {
            "p50": result.percentile(0.50),
            "p90": result.percentile(0.90),
            "p99": result.percentile(0.99),
            "max": result.percentile(1.0),
        },
        "withdrawal_probes": probes,
        "stale_allows_after_withdrawal": stale,
        "service_rss_mib": { "idle": idle_rss, "peak": peak_rss },
        "machine": machine(),
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
    if let Some(path) = &o.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
    }
    drop(cluster);
    if stale > 0 || result.errors > 0 {
        return Err(format!("{stale} stale allows, {} errors", result.errors));
    }
    Ok(())
}

fn service_env(cluster: &LocalCluster, key_file: &Path) -> Vec<(String, String)> {
    [
        ("DPS_DATABASE_URL", cluster.url(APP_ROLE, "dps")),
        ("DPS_MIGRATION_DATABASE_URL", cluster.url(OWNER_ROLE, "dps")),
        (
            "DPS_KEYSTORE_DATABASE_URL",
            cluster.url(APP_ROLE, "dps_keys"),
        ),
        (
            "DPS_KEYSTORE_MIGRATION_DATABASE_URL",
            cluster.url(OWNER_ROLE, "dps_keys"),
        ),
        ("DPS_KEY_FILE", key_file.display().to_string()),
        ("DPS_MIGRATE_ON_START", "false".into()),
        ("RUST_LOG", "warn".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn serve(binary: &Path, env: &[(String, String)]) -> Result<Service, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = tokio::process::Command::new(binary)
        .envs(env.iter().cloned())
        .env("DPS_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let addr = format!("http://127.0.0.1:{port}");
    let channel = Channel::from_shared(addr.clone())
        .map_err(|e| e.to_string())?
        .connect_lazy();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: dps_platform::server::READINESS.into(),
            })
            .await
            .is_ok_and(|r| {
                r.get_ref().status()
                    == tonic_health::pb::health_check_response::ServingStatus::Serving
            });
        if ready {
            return Ok(Service { child, addr });
        }
        if Instant::now() > deadline {
            return Err("dps-consent did not become ready in 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Loads the data set straight into the consent schema (as the schema owner): the service's own
/// write path would take minutes for a million rows and is not what is measured here.
/// Returns the purpose names; the first four are consent-based.
async fn load(owner_url: &str, persons: u64) -> Result<Vec<String>, String> {
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
    .bind(TENANT)
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
        .bind(TENANT)
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
                        .bind(TENANT)
                        .bind(persons as i64)
                        .execute(&pool)
                        .await
                        .map_err(e)?;
                }
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(TENANT)
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
            .bind(TENANT)
            .bind(persons as i64)
            .execute(&pool)
            .await
            .map_err(e)?;
    }
    sqlx::query("INSERT INTO consent.change_counters (tenant_id, seq) VALUES ($1, 1)")
        .bind(TENANT)
        .execute(&pool)
        .await
        .map_err(e)?;
    sqlx::query("ANALYZE").execute(&pool).await.map_err(e)?;
    pool.close().await;
    Ok(names)
}

fn with_caller<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    let m = request.metadata_mut();
    m.insert(TENANT_HEADER, MetadataValue::from_static(TENANT));
    m.insert(
        CALLER_HEADER,
        MetadataValue::from_static("care-record-platform"),
    );
    m.insert(ROLES_HEADER, MetadataValue::from_static("service"));
    request
}

struct Run {
    count: u64,
    errors: u64,
    throughput: f64,
    latencies_us: Vec<u32>,
}

impl Run {
    fn percentile(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }
}

/// Checks every person once in batches, as a service that has been running a while has seen
/// them: the figures are for the steady state, not for cold misses.
async fn warm(channel: &Channel, purpose: &str, persons: u64) -> Result<(), String> {
    let mut client = ConsentServiceClient::new(channel.clone());
    for first in (1..=persons).step_by(1000) {
        let checks = (first..(first + 1000).min(persons + 1))
            .map(|p| pb::CheckProcessingRequest {
                person_id: format!("p-{p}"),
                purpose: purpose.to_owned(),
            })
            .collect();
        client
            .batch_check_processing(with_caller(pb::BatchCheckProcessingRequest { checks }))
            .await
            .map_err(|e| format!("warm-up: {e}"))?;
    }
    Ok(())
}

/// Open loop: checks are due at a fixed rate; at most `concurrency` are in flight, and each
/// latency counts from when the check was due, so waiting for a free caller is not hidden.
async fn drive_open(
    o: &Options,
    rate: u64,
    channels: &[Channel],
    purposes: &[String],
    duration: Duration,
) -> Result<Run, String> {
    let permits = Arc::new(tokio::sync::Semaphore::new(o.concurrency));
    let errors = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    let start = Instant::now();
    let step = Duration::from_secs_f64(1.0 / rate as f64);
    let total = (duration.as_secs_f64() * rate as f64) as u64;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for k in 0..total {
        let due = start + step.mul_f64(k as f64);
        tokio::time::sleep_until(due.into()).await;
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let mut client = ConsentServiceClient::new(channels[(k as usize) % channels.len()].clone());
        let request = pb::CheckProcessingRequest {
            person_id: format!("p-{}", rng.next() % o.persons + 1),
            purpose: purposes[(rng.next() % purposes.len() as u64) as usize].clone(),
        };
        let (tx, errors) = (tx.clone(), errors.clone());
        tokio::spawn(async move {
            if client.check_processing(with_caller(request)).await.is_err() {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            let _ = tx.send(due.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            drop(permit);
        });
    }
    drop(tx);
    let mut latencies_us = Vec::with_capacity(total as usize);
    while let Some(l) = rx.recv().await {
        latencies_us.push(l);
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    let count = latencies_us.len() as u64;
    Ok(Run {
        count,
        errors: errors.load(Ordering::Relaxed),
        throughput: count as f64 / elapsed,
        latencies_us,
    })
}

/// Closed loop: each of `concurrency` callers sends its next check when the last one answered.
async fn drive(
    o: &Options,
    channels: &[Channel],
    purposes: &[String],
    duration: Duration,
    record: bool,
) -> Result<Run, String> {
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + duration;
    let mut workers = Vec::with_capacity(o.concurrency);
    for w in 0..o.concurrency {
        let mut client = ConsentServiceClient::new(channels[w % channels.len()].clone());
        let purposes = purposes.to_vec();
        let errors = errors.clone();
        let persons = o.persons;
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
            let mut latencies = Vec::new();
            while Instant::now() < end {
                let person = format!("p-{}", rng.next() % persons + 1);
                let purpose = purposes[(rng.next() % purposes.len() as u64) as usize].clone();
                let sent = Instant::now();
                let outcome = client
                    .check_processing(with_caller(pb::CheckProcessingRequest {
                        person_id: person,
                        purpose,
                    }))
                    .await;
                if outcome.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                if record {
                    latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                }
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for worker in workers {
        latencies_us.extend(worker.await.map_err(|e| e.to_string())?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    let count = latencies_us.len() as u64;
    Ok(Run {
        count,
        errors: errors.load(Ordering::Relaxed),
        throughput: count as f64 / elapsed,
        latencies_us,
    })
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

/// Resident set size of a process in MiB, from /proc (Linux).
fn rss(child: &tokio::process::Child) -> Option<f64> {
    let pid = child.id()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    format!("{cpus} CPUs, {model}")
}
