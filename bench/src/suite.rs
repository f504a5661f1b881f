//! `dps-bench suite` (`make bench`): the standard scenarios against the all-in-one `dps-suite`
//! on its embedded default, over a whole care group's data, with one results table.
//!
//! 1. Starts the release `dps-suite` built beside this binary with nothing configured but a data
//!    directory of its own (so it starts its own Postgres, as `make run` does, with fsync on) and
//!    a development token issuer; reads the gateway's and the backends' addresses from its banner.
//! 2. Loads the group (`--subsidiaries` 5, each its own tenant): `--persons` (100,000) persons
//!    over 10 purposes with mixed lawful bases and consents (some withdrawn), restrictions and
//!    objections; `--requests` (1,000,000) subject requests in every state; `--incidents`
//!    (100,000) incidents — straight into the schemas as their owner; then `--records`
//!    (1,000,000) retention records across the default schedule's classes through the gateway's
//!    client-streaming `BulkRegisterRecords` (measured), and the group's first `RunSweep` per
//!    subsidiary (measured; the backlog of a group adopting the service); then `VACUUM (ANALYZE)`,
//!    so autovacuum of the fresh load does not run during the phases below.
//! 3. Measures, closed-loop, `--warmup` (3) then `--seconds` (10) each: the processing check
//!    direct to the consent backend's loopback port and through the gateway, at concurrency 1 and
//!    `--concurrency` (64); `CreateSubjectRequest` (32 callers) and the 50 soonest-due open
//!    requests (8 callers) and the breach alarm list (16 callers) through the gateway. Every call
//!    picks a random subsidiary (and person, and purpose) and carries that subsidiary's token.
//! 4. Samples the suite process's RSS every 100 ms: idle (loaded, before the load) and peak.
//!    Verifies the gateway's audit chain at the end.
//!
//! Writes a markdown table (`--markdown PATH`, also printed) and JSON (`--json PATH`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dps_proto::retention::v1 as retention_pb;
use tokio::io::AsyncBufReadExt as _;
use tonic::transport::Channel;

use crate::gateway::{Checkers, checks};
use crate::harness::{self, Caller, Cpu, Flags, Rng, Run};

struct Options {
    subsidiaries: u64,
    persons: u64,
    requests: u64,
    incidents: u64,
    records: u64,
    seconds: u64,
    warmup: u64,
    concurrency: usize,
    json: Option<PathBuf>,
    markdown: Option<PathBuf>,
}

impl Options {
    fn parse(mut flags: Flags) -> Result<Self, String> {
        let o = Self {
            subsidiaries: flags.number("subsidiaries", 5)?.max(1),
            persons: flags.number("persons", 100_000)?,
            requests: flags.number("requests", 1_000_000)?,
            incidents: flags.number("incidents", 100_000)?,
            records: flags.number("records", 1_000_000)?,
            seconds: flags.number("seconds", 10)?,
            warmup: flags.number("warmup", 3)?,
            concurrency: flags.number("concurrency", 64)?.max(1) as usize,
            json: flags.path("json"),
            markdown: flags.path("markdown"),
        };
        flags.finish()?;
        Ok(o)
    }

    /// Subsidiary `k`'s share of `total` (the first takes the remainder).
    fn share(&self, total: u64, k: u64) -> u64 {
        total / self.subsidiaries + if k == 1 { total % self.subsidiaries } else { 0 }
    }
}

/// The all-in-one binary as its own process, on its own embedded Postgres.
struct Suite {
    child: tokio::process::Child,
    data_dir: PathBuf,
    gateway: String,
    consent: String,
    owner_url: String,
    issuer: dps_gateway::DevIssuer,
}

impl Suite {
    async fn start() -> Result<Self, String> {
        let data_dir = std::env::temp_dir().join(format!("dps-bench-suite-{}", std::process::id()));
        std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
        let dev_key = data_dir.join("gateway-dev.pem");
        let issuer = dps_gateway::DevIssuer::load_or_create(Some(&dev_key), "dps-dev", "dps-suite")
            .map_err(|e| e.to_string())?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let mut child = tokio::process::Command::new(harness::sibling_binary("dps-suite")?)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DPS_DATA_DIR", &data_dir)
            .env("DPS_SUITE_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("DPS_GATEWAY_MODE", "development")
            .env("DPS_GATEWAY_DEV_KEY_FILE", &dev_key)
            // One principal per subsidiary makes thousands of calls a second here.
            .env("DPS_GATEWAY_RATE_LIMIT", "0")
            // The key the generator seals direct calls with, as the gateway does.
            .env(
                "DPS_IDENTITY_KEYS",
                dps_platform::identity::ensure_key().to_base64(),
            )
            .env(
                "RUST_LOG",
                std::env::var("DPS_BENCH_SERVICE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let (mut consent, mut db_port) = (None, None);
        let banner = async {
            while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    ["backend", "consent", url, ..] => consent = Some((*url).to_owned()),
                    ["database", "embedded", ..] => {
                        db_port = line
                            .rsplit_once(':')
                            .and_then(|(_, p)| p.trim_end_matches(')').parse::<u16>().ok());
                    }
                    ["stop", ..] => return Ok(()),
                    _ => {}
                }
            }
            Err("dps-suite exited before serving".to_owned())
        };
        tokio::time::timeout(Duration::from_secs(180), banner)
            .await
            .map_err(|_| "dps-suite did not start in 180 s".to_owned())??;
        // Keep reading so a full pipe never blocks the suite.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let db_port = db_port.ok_or("no embedded database in the banner")?;
        Ok(Self {
            child,
            data_dir,
            gateway: format!("http://127.0.0.1:{port}"),
            consent: consent.ok_or("no consent backend in the banner")?,
            owner_url: format!(
                "postgres://{}@127.0.0.1:{db_port}/dps",
                dps_pgcluster::roles::OWNER_ROLE
            ),
            issuer,
        })
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the suite as Kubernetes would (SIGTERM: it drains, then stops its Postgres) and
    /// deletes its data.
    async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
            if tokio::time::timeout(Duration::from_secs(60), self.child.wait())
                .await
                .is_err()
            {
                let _ = self.child.kill().await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }

    /// A token of `tenant` for `roles`.
    fn caller(&self, tenant: &str, subject: &str, roles: &[&str]) -> Result<Caller, String> {
        Caller::token(&self.issuer.token(tenant, subject, roles, 4 * 3600))
    }
}

fn channels(url: &str, n: usize) -> Result<Vec<Channel>, String> {
    (0..n.max(1))
        .map(|_| {
            Channel::from_shared(url.to_owned())
                .map(|c| c.connect_lazy())
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Peak memory until stopped: the suite's RSS sampled every 100 ms, its Postgres cluster's PSS
/// every second (reading every backend's smaps is slower).
struct PeakRss {
    peak_kib: Arc<[AtomicU64; 2]>,
    stop: Arc<AtomicBool>,
}

impl PeakRss {
    fn watch(pid: u32, postmaster: u32) -> Self {
        let peak_kib = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let stop = Arc::new(AtomicBool::new(false));
        let (peak, done) = (peak_kib.clone(), stop.clone());
        tokio::spawn(async move {
            let kib = |mib: f64| (mib * 1024.0) as u64;
            for tick in 0u64.. {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                if let Some(mib) = harness::rss_mib_of(pid) {
                    peak[0].fetch_max(kib(mib), Ordering::Relaxed);
                }
                if tick % 10 == 0
                    && let Some(mib) = harness::postgres_pss_mib(postmaster)
                {
                    peak[1].fetch_max(kib(mib), Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self { peak_kib, stop }
    }

    /// (suite RSS, Postgres PSS) in MiB.
    fn peak_mib(&self) -> (f64, f64) {
        let mib = |i: usize| self.peak_kib[i].load(Ordering::Relaxed) as f64 / 1024.0;
        (mib(0), mib(1))
    }
}

impl Drop for PeakRss {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

type Call = std::pin::Pin<Box<dyn Future<Output = bool> + Send>>;

/// A measured closed-loop phase after its warm-up; `call()` makes a fresh call generator.
async fn phase<F>(
    o: &Options,
    pids: (u32, u32),
    name: &str,
    concurrency: usize,
    call: impl Fn() -> F,
) -> Result<(Run, Cpu), String>
where
    F: Fn(usize, &mut Rng) -> Call + Send + Sync + 'static,
{
    eprintln!(
        "{name}, {concurrency} callers: {} s warm-up, {} s measured",
        o.warmup, o.seconds
    );
    harness::closed_loop(concurrency, Duration::from_secs(o.warmup), call()).await?;
    let before = Cpu::sample(pids.0, pids.1);
    let run = harness::closed_loop(concurrency, Duration::from_secs(o.seconds), call()).await?;
    Ok((run, Cpu::sample(pids.0, pids.1).since(&before)))
}

/// One row of the results table.
struct Row {
    scenario: String,
    target: &'static str,
    measured: String,
    met: Option<bool>,
    json: serde_json::Value,
    /// CPU used while it was measured: what limits the figure.
    cpu: Option<Cpu>,
}

fn run_row(
    scenario: String,
    target: &'static str,
    met: Option<bool>,
    (run, cpu): &(Run, Cpu),
) -> Row {
    Row {
        cpu: Some(*cpu),
        measured: format!(
            "{:.0}/s; p50 {:.2} ms, p90 {:.2}, p99 {:.2}, max {:.2}; {} errors",
            run.throughput,
            run.percentile(0.50),
            run.percentile(0.90),
            run.percentile(0.99),
            run.percentile(1.0),
            run.errors
        ),
        json: serde_json::json!({
            "requests": run.count,
            "errors": run.errors,
            "throughput_per_s": run.throughput,
            "latency_ms": run.latency_json(),
        }),
        scenario,
        target,
        met,
    }
}

pub async fn run(flags: Flags) -> Result<(), String> {
    let o = Options::parse(flags)?;
    let began = Instant::now();
    let suite = Suite::start().await?;
    let pid = suite.pid().ok_or("dps-suite exited")?;
    let started_rss = harness::rss_mib_of(pid);
    let owner = sqlx::PgPool::connect(&suite.owner_url)
        .await
        .map_err(|e| e.to_string())?;
    let postmaster = harness::postmaster_pid(&owner).await?;
    let peak = PeakRss::watch(pid, postmaster);
    let outcome = measure_all(&o, &suite, &owner, (pid, postmaster), started_rss, &peak).await;
    owner.close().await;
    drop(peak);
    suite.stop().await;
    let (rows, summary) = outcome?;

    let mut table = format!(
        "Machine: {}. `dps-bench suite`, {} s per phase after {} s warm-up; the whole run took {:.0} s.\n\n\
         CPU: seconds used during the measured part by the suite / its Postgres / the generator / \
         anything else on the machine.\n\n\
         | scenario | target | measured | met? | CPU s |\n|---|---|---|---|---|\n",
        harness::machine(),
        o.seconds,
        o.warmup,
        began.elapsed().as_secs_f64()
    );
    for row in &rows {
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let cpu = row.cpu.map_or("—".to_owned(), |c| {
            format!(
                "{:.1} / {:.1} / {:.1} / {:.1}",
                c.service,
                c.postgres,
                c.bench,
                c.others()
            )
        });
        table.push_str(&format!(
            "| {} | {} | {} | {met} | {cpu} |\n",
            row.scenario, row.target, row.measured
        ));
    }
    println!("{table}");
    if let Some(path) = &o.markdown {
        std::fs::write(path, &table).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    harness::write_json(o.json.as_deref(), &summary)?;
    let errors: u64 = summary["errors"].as_u64().unwrap_or(0);
    if errors > 0 {
        return Err(format!("{errors} calls failed"));
    }
    Ok(())
}

async fn measure_all(
    o: &Options,
    suite: &Suite,
    owner: &sqlx::PgPool,
    (pid, postmaster): (u32, u32),
    started_rss: Option<f64>,
    peak: &PeakRss,
) -> Result<(Vec<Row>, serde_json::Value), String> {
    let tenants: Vec<String> = (1..=o.subsidiaries)
        .map(|k| format!("bench-sub-{k}"))
        .collect();
    let persons_each = o.persons / o.subsidiaries;

    // The group's data, straight into the schemas (the services' own write paths are measured
    // below, not how the history got there).
    let loading = Instant::now();
    let mut purposes = Vec::new();
    for (k, tenant) in (1..).zip(&tenants) {
        eprintln!("loading {tenant}");
        purposes.push(crate::consent::load(&suite.owner_url, tenant, persons_each).await?);
        crate::subject_requests::load(&suite.owner_url, tenant, o.share(o.requests, k)).await?;
        crate::breaches::load(&suite.owner_url, tenant, o.share(o.incidents, k)).await?;
    }
    let load_s = loading.elapsed().as_secs_f64();
    eprintln!("loaded persons, requests and incidents in {load_s:.1} s");

    let gateway = channels(&suite.gateway, 1)?.remove(0);
    let mut rows = Vec::new();

    // Retention through the gateway, as a records platform and the DPO would call it.
    let platform: Vec<Caller> = tenants
        .iter()
        .map(|t| suite.caller(t, "care-record-platform", &["care_record_platform"]))
        .collect::<Result<_, _>>()?;
    let dpos: Vec<Caller> = tenants
        .iter()
        .map(|t| suite.caller(t, "dpo", &["dpo"]))
        .collect::<Result<_, _>>()?;
    let today = time::OffsetDateTime::now_utc().date();
    let registering = Instant::now();
    let cpu_before = Cpu::sample(pid, postmaster);
    let mut registered = 0;
    for (k, tenant) in (1..).zip(&tenants) {
        eprintln!("registering {tenant}'s records through the gateway");
        // The tenant's first call seeds the default schedule.
        retention_pb::retention_service_client::RetentionServiceClient::new(gateway.clone())
            .get_schedule(dpos[k as usize - 1].request(retention_pb::GetScheduleRequest {}))
            .await
            .map_err(|e| format!("GetSchedule: {e}"))?;
        let n = o.share(o.records, k);
        let plan = Arc::new(crate::retention::Plan::new(n, n / 10, today));
        let (new, _) =
            crate::retention::register(&gateway, &platform[k as usize - 1], plan, n, 1000).await?;
        registered += new;
    }
    let register_s = registering.elapsed().as_secs_f64();
    let register_cpu = Cpu::sample(pid, postmaster).since(&cpu_before);
    rows.push(Row {
        scenario: format!(
            "retention: bulk-register {registered} records through the gateway (one client stream per subsidiary)"
        ),
        target: "≤ 60 s (issue 8)",
        measured: format!("{register_s:.1} s"),
        met: Some(register_s <= 60.0 && registered == o.records),
        json: serde_json::json!({ "records": registered, "seconds": register_s }),
        cpu: Some(register_cpu),
    });
    // Statistics as autovacuum would take them within a minute of the load.
    sqlx::query("ANALYZE")
        .execute(owner)
        .await
        .map_err(|e| e.to_string())?;
    let sweeping = Instant::now();
    let cpu_before = Cpu::sample(pid, postmaster);
    let mut raised = 0;
    for dpo in &dpos {
        raised += crate::retention::run_sweep(&gateway, dpo).await?;
    }
    let sweep_s = sweeping.elapsed().as_secs_f64();
    let sweep_cpu = Cpu::sample(pid, postmaster).since(&cpu_before);
    rows.push(Row {
        scenario: format!(
            "retention: the group's first sweep (every subsidiary), {raised} reviews raised among {registered}"
        ),
        target: "≤ 2 s (issue 8)",
        measured: format!("{sweep_s:.2} s"),
        met: Some(sweep_s <= 2.0),
        json: serde_json::json!({ "reviews_raised": raised, "seconds": sweep_s }),
        cpu: Some(sweep_cpu),
    });

    // A group that has run a while has its tables vacuumed; straight after a bulk load,
    // autovacuum would otherwise take a core from the phases below (seen: Postgres busy during
    // read-only processing checks).
    eprintln!("vacuuming after the load");
    sqlx::query("VACUUM (ANALYZE)")
        .execute(owner)
        .await
        .map_err(|e| e.to_string())?;

    // Every person seen once, as in a service that has run a while.
    let consent = channels(&suite.consent, 1)?.remove(0);
    for (tenant, purposes) in tenants.iter().zip(&purposes) {
        crate::consent::warm(&consent, tenant, &purposes[0], persons_each).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = harness::rss_mib_of(pid);
    let idle_pss = harness::postgres_pss_mib(postmaster);

    // The processing check, direct and through the gateway, same run.
    let direct: Checkers = Arc::new(
        tenants
            .iter()
            .zip(&purposes)
            .map(|(t, p)| (Caller::sealed(t, "care_record_platform"), p.clone()))
            .collect(),
    );
    let via: Checkers = Arc::new(
        platform
            .iter()
            .cloned()
            .zip(purposes.iter().cloned())
            .collect(),
    );
    let mut check_runs = Vec::new();
    for concurrency in [1, o.concurrency] {
        for (path, url, checkers) in [
            ("direct", &suite.consent, &direct),
            ("through the gateway", &suite.gateway, &via),
        ] {
            let chans = channels(url, concurrency)?;
            let make = || checks(chans.clone(), checkers.clone(), persons_each);
            let run = phase(
                o,
                (pid, postmaster),
                &format!("processing check {path}"),
                concurrency,
                make,
            )
            .await?;
            check_runs.push((path, concurrency, run));
        }
    }
    for pair in check_runs.chunks(2) {
        let [(_, concurrency, direct_phase), (_, _, via_phase)] = pair else {
            continue;
        };
        let (direct, via) = (&direct_phase.0, &via_phase.0);
        let (target, met) = if *concurrency == 1 {
            ("—", None)
        } else {
            (
                "≥ 20,000/s, p99 ≤ 5 ms (issue 15)",
                Some(direct.throughput >= 20_000.0 && direct.percentile(0.99) <= 5.0),
            )
        };
        rows.push(run_row(
            format!("processing check direct to consent, {concurrency} callers"),
            target,
            met,
            direct_phase,
        ));
        let added = via.percentile(0.50) - direct.percentile(0.50);
        let kept = 100.0 * via.throughput / direct.throughput;
        let (target, met) = if *concurrency == 1 {
            ("adds ≤ 0.5 ms at p50 (issue 9)", added <= 0.5)
        } else {
            ("keeps ≥ 60 % of direct throughput (issue 9)", kept >= 60.0)
        };
        let mut row = run_row(
            format!("processing check through the gateway, {concurrency} callers"),
            target,
            Some(met),
            via_phase,
        );
        row.measured
            .push_str(&format!("; adds {added:.2} ms p50, keeps {kept:.0} %"));
        rows.push(row);
    }

    // Subject requests and breaches through the gateway, as staff and the DPO use them.
    let serial = Arc::new(AtomicU64::new(0));
    let platform = Arc::new(platform);
    let dpos = Arc::new(dpos);
    let chans = channels(&suite.gateway, 32)?;
    let created = phase(
        o,
        (pid, postmaster),
        "CreateSubjectRequest through the gateway",
        32,
        || crate::subject_requests::create_call(chans.clone(), serial.clone(), platform.clone()),
    )
    .await?;
    rows.push(run_row(
        format!(
            "create a subject request through the gateway, 32 callers, {} stored",
            o.requests
        ),
        "≥ 2,000/s (issue 16)",
        Some(created.0.throughput >= 2000.0),
        &created,
    ));
    let chans = channels(&suite.gateway, 8)?;
    let listed = phase(
        o,
        (pid, postmaster),
        "ListSubjectRequests through the gateway",
        8,
        || crate::subject_requests::list_call(chans.clone(), dpos.clone()),
    )
    .await?;
    rows.push(run_row(
        "50 soonest-due open requests through the gateway, 8 callers".into(),
        "p99 ≤ 20 ms (issue 16)",
        Some(listed.0.percentile(0.99) <= 20.0),
        &listed,
    ));
    let chans = channels(&suite.gateway, 16)?;
    let alarms = phase(
        o,
        (pid, postmaster),
        "ListOpenBreaches through the gateway",
        16,
        || crate::breaches::alarm_list(chans.clone(), dpos.clone()),
    )
    .await?;
    rows.push(run_row(
        format!(
            "breach alarm list through the gateway, 16 callers, {} incidents",
            o.incidents
        ),
        "p99 ≤ 20 ms (issue 7)",
        Some(alarms.0.percentile(0.99) <= 20.0),
        &alarms,
    ));

    let (peak_rss, peak_pss) = peak.peak_mib();
    rows.push(Row {
        scenario: "dps-suite RSS: started / idle with the group loaded / peak under load".into(),
        target: "peak < 256 MiB (issue 12)",
        measured: format!(
            "{:.0} / {:.0} / {peak_rss:.0} MiB",
            started_rss.unwrap_or(0.0),
            idle_rss.unwrap_or(0.0)
        ),
        met: Some(peak_rss < 256.0),
        json: serde_json::json!({
            "started_mib": started_rss, "idle_mib": idle_rss, "peak_mib": peak_rss,
        }),
        cpu: None,
    });
    rows.push(Row {
        scenario: "its embedded Postgres, every process (PSS): idle with the group loaded / peak"
            .into(),
        target: "—",
        measured: format!("{:.0} / {peak_pss:.0} MiB", idle_pss.unwrap_or(0.0)),
        met: None,
        json: serde_json::json!({ "idle_mib": idle_pss, "peak_mib": peak_pss }),
        cpu: None,
    });

    let auditor = suite.caller(&tenants[0], "bench-auditor", &["auditor"])?;
    let verdict = dps_proto::gateway::v1::audit_service_client::AuditServiceClient::new(gateway)
        .verify_audit_chain(auditor.request(dps_proto::gateway::v1::VerifyAuditChainRequest {}))
        .await
        .map_err(|e| format!("VerifyAuditChain: {e}"))?
        .into_inner();
    rows.push(Row {
        scenario: "gateway audit chain after the run".into(),
        target: "intact",
        measured: format!(
            "{} ({} events)",
            if verdict.intact { "intact" } else { "BROKEN" },
            verdict.events_checked
        ),
        met: Some(verdict.intact),
        json: serde_json::json!({ "intact": verdict.intact, "events": verdict.events_checked, "problem": verdict.problem }),
        cpu: None,
    });

    let errors = check_runs.iter().map(|(_, _, r)| r.0.errors).sum::<u64>()
        + created.0.errors
        + listed.0.errors
        + alarms.0.errors;
    let summary = serde_json::json!({
        "scenario": "dps-suite (all-in-one, embedded Postgres) under the standard scenarios",
        "machine": harness::machine(),
        "data_set": {
            "subsidiaries": o.subsidiaries,
            "persons": persons_each * o.subsidiaries,
            "purposes_per_subsidiary": purposes.first().map_or(0, Vec::len),
            "subject_requests": o.requests,
            "incidents": o.incidents,
            "retention_records": registered,
            "load_seconds": load_s,
        },
        "seconds_per_phase": o.seconds,
        "results": rows.iter().map(|r| serde_json::json!({
            "scenario": r.scenario,
            "target": r.target,
            "measured": r.measured,
            "met": r.met,
            "figures": r.json,
            "cpu_seconds": r.cpu.map(|c| c.json()),
        })).collect::<Vec<_>>(),
        "errors": errors,
    });
    Ok((rows, summary))
}

/// `dps-bench soak` (`make bench-soak`): the processing check through the all-in-one suite's
/// gateway at 70 % of its measured capacity for `--minutes` (10), open loop: zero errors, RSS
/// growth of the suite process under 5 % between minute 2 and the end, and the audit chain
/// verifying afterwards (issue 12). The group's consent data as in `suite` (`--persons` over
/// `--subsidiaries`). Options: `--persons N` (100000), `--subsidiaries N` (5), `--minutes N`
/// (10, at least 3), `--concurrency N` (64), `--json PATH`.
pub async fn soak(mut flags: Flags) -> Result<(), String> {
    let persons = flags.number("persons", 100_000)?;
    let subsidiaries = flags.number("subsidiaries", 5)?.max(1);
    let minutes = flags.number("minutes", 10)?.max(3);
    let concurrency = flags.number("concurrency", 64)?.max(1) as usize;
    let json = flags.path("json");
    flags.finish()?;
    let suite = Suite::start().await?;
    let outcome = soak_on(&suite, persons, subsidiaries, minutes, concurrency).await;
    suite.stop().await;
    let (summary, failures) = outcome?;
    harness::write_json(json.as_deref(), &summary)?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

async fn soak_on(
    suite: &Suite,
    persons: u64,
    subsidiaries: u64,
    minutes: u64,
    concurrency: usize,
) -> Result<(serde_json::Value, Vec<String>), String> {
    let pid = suite.pid().ok_or("dps-suite exited")?;
    let persons_each = persons / subsidiaries;
    let consent = channels(&suite.consent, 1)?.remove(0);
    let mut checkers = Vec::new();
    for k in 1..=subsidiaries {
        let tenant = format!("bench-sub-{k}");
        let purposes = crate::consent::load(&suite.owner_url, &tenant, persons_each).await?;
        crate::consent::warm(&consent, &tenant, &purposes[0], persons_each).await?;
        let caller = suite.caller(&tenant, "care-record-platform", &["care_record_platform"])?;
        checkers.push((caller, purposes));
    }
    let checkers: Checkers = Arc::new(checkers);
    let chans = channels(&suite.gateway, concurrency)?;
    let call = || checks(chans.clone(), checkers.clone(), persons_each);

    eprintln!("measuring capacity through the gateway: 10 s at concurrency {concurrency}");
    harness::closed_loop(concurrency, Duration::from_secs(3), call()).await?;
    let capacity = harness::closed_loop(concurrency, Duration::from_secs(10), call())
        .await?
        .throughput;
    let rate = (capacity * 0.7) as u64;
    eprintln!("soaking at {rate}/s (70 % of {capacity:.0}/s) for {minutes} min");
    let sampler = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(120)).await;
        harness::rss_mib_of(pid)
    });
    let run = harness::open_loop(
        rate,
        concurrency * 4,
        Duration::from_secs(minutes * 60),
        call(),
    )
    .await?;
    let at_two = sampler.await.map_err(|e| e.to_string())?;
    let at_end = harness::rss_mib_of(pid);
    let growth = match (at_two, at_end) {
        (Some(a), Some(b)) if a > 0.0 => 100.0 * (b - a) / a,
        _ => f64::NAN,
    };

    // The chain, checked through the gateway by an auditor, as an operator would.
    let auditor = suite.caller("bench-sub-1", "soak-auditor", &["auditor"])?;
    let verdict = dps_proto::gateway::v1::audit_service_client::AuditServiceClient::new(
        channels(&suite.gateway, 1)?.remove(0),
    )
    .verify_audit_chain(auditor.request(dps_proto::gateway::v1::VerifyAuditChainRequest {}))
    .await
    .map_err(|e| e.to_string())?
    .into_inner();

    println!(
        "| rate/s | completed/s | p50 ms | p99 ms | max ms | errors | dps-suite RSS min 2 → end | audit chain |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {rate} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} → {:.0} MiB ({growth:+.1} %) | {} ({} events) |",
        run.throughput,
        run.percentile(0.50),
        run.percentile(0.99),
        run.percentile(1.0),
        run.errors,
        at_two.unwrap_or(0.0),
        at_end.unwrap_or(0.0),
        if verdict.intact { "intact" } else { "BROKEN" },
        verdict.events_checked,
    );
    let summary = serde_json::json!({
        "scenario": "soak: processing check through the all-in-one dps-suite's gateway at 70 % of capacity",
        "minutes": minutes,
        "persons": persons_each * subsidiaries,
        "subsidiaries": subsidiaries,
        "capacity_per_s": capacity,
        "rate_per_s": rate,
        "requests": run.count,
        "errors": run.errors,
        "latency_ms": run.latency_json(),
        "suite_rss_mib": { "minute_2": at_two, "end": at_end, "growth_percent": growth },
        "audit_chain_intact": verdict.intact,
        "audit_events_checked": verdict.events_checked,
        "audit_problem": verdict.problem,
        "machine": harness::machine(),
    });
    let mut failures = Vec::new();
    if run.errors > 0 {
        failures.push(format!("{} errors", run.errors));
    }
    if growth.is_nan() || growth >= 5.0 {
        failures.push(format!("RSS grew {growth:.1} %"));
    }
    if !verdict.intact {
        failures.push(format!("audit chain: {}", verdict.problem));
    }
    Ok((summary, failures))
}
