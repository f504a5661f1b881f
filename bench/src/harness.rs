//! What every scenario shares: flags, a throw-away Postgres with the suite's roles, a service
//! binary run as its own process, closed- and open-loop drivers, percentiles, memory and machine.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dps_pgcluster::LocalCluster;
use dps_pgcluster::roles::{self, APP_ROLE, OWNER_ROLE};
use dps_platform::context::{CALLER_HEADER, ROLES_HEADER, TENANT_HEADER};
use dps_platform::identity::IDENTITY_HEADER;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

/// The tenant every scenario loads and calls as.
pub const TENANT: &str = "bench-group";

/// `--name value` pairs; each scenario takes the ones it knows and `finish` rejects the rest.
pub struct Flags(BTreeMap<String, String>);

impl Flags {
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        let mut args = args.peekable();
        while let Some(flag) = args.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or(format!("expected --flag, got {flag}"))?;
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            map.insert(name.to_owned(), value);
        }
        Ok(Self(map))
    }

    pub fn number(&mut self, name: &str, default: u64) -> Result<u64, String> {
        self.0.remove(name).map_or(Ok(default), |v| {
            v.parse().map_err(|_| format!("--{name}: not a number"))
        })
    }

    pub fn optional_number(&mut self, name: &str) -> Result<Option<u64>, String> {
        self.0
            .contains_key(name)
            .then(|| self.number(name, 0))
            .transpose()
    }

    pub fn path(&mut self, name: &str) -> Option<PathBuf> {
        self.0.remove(name).map(PathBuf::from)
    }

    pub fn finish(self) -> Result<(), String> {
        match self.0.keys().next() {
            Some(unknown) => Err(format!("unknown option --{unknown}")),
            None => Ok(()),
        }
    }
}

/// A tiny xorshift generator: the load needs spread, not cryptographic randomness.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A throw-away Postgres with the suite's roles, its databases and a key file: what a service
/// binary needs to migrate and serve.
pub struct Stack {
    cluster: LocalCluster,
    key_file: PathBuf,
}

impl Stack {
    pub async fn start() -> Result<Self, String> {
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
        std::fs::write(&key_file, dps_crypto::KeyFile::generate(&kek))
            .map_err(|e| e.to_string())?;
        Ok(Self { cluster, key_file })
    }

    /// The schema owner's URL, for loading data sets straight into a service's tables.
    pub fn owner_url(&self) -> String {
        self.cluster.url(OWNER_ROLE, "dps")
    }

    fn env(&self) -> Vec<(String, String)> {
        let url = |role, db| self.cluster.url(role, db);
        [
            ("DPS_DATABASE_URL", url(APP_ROLE, "dps")),
            ("DPS_MIGRATION_DATABASE_URL", url(OWNER_ROLE, "dps")),
            ("DPS_KEYSTORE_DATABASE_URL", url(APP_ROLE, "dps_keys")),
            (
                "DPS_KEYSTORE_MIGRATION_DATABASE_URL",
                url(OWNER_ROLE, "dps_keys"),
            ),
            ("DPS_KEY_FILE", self.key_file.display().to_string()),
            ("DPS_MIGRATE_ON_START", "false".into()),
            // The key the generator seals its callers' identities with, as the gateway does.
            (
                "DPS_IDENTITY_KEYS",
                dps_platform::identity::ensure_key().to_base64(),
            ),
            // The services' own log filter; `DPS_BENCH_SERVICE_LOG=sqlx=debug` shows each query.
            (
                "RUST_LOG",
                std::env::var("DPS_BENCH_SERVICE_LOG").unwrap_or_else(|_| "warn".into()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Where the stack keeps its files (deleted with it).
    pub fn dir(&self) -> &std::path::Path {
        self.cluster.root()
    }

    /// Runs `<binary> migrate`; the binary is the service built beside this one.
    pub async fn migrate(&self, binary: &str) -> Result<(), String> {
        self.migrate_with(binary, &[]).await
    }

    /// [`Stack::migrate`] with extra environment.
    pub async fn migrate_with(&self, binary: &str, extra: &[(&str, String)]) -> Result<(), String> {
        let out = tokio::process::Command::new(sibling_binary(binary)?)
            .arg("migrate")
            .envs(self.env())
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .await
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Serves `binary` as its own process on a free port and waits until it is ready.
    pub async fn serve(&self, binary: &str) -> Result<Service, String> {
        self.serve_with(binary, &[]).await
    }

    /// [`Stack::serve`] with extra environment.
    pub async fn serve_with(
        &self,
        binary: &str,
        extra: &[(&str, String)],
    ) -> Result<Service, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = tokio::process::Command::new(sibling_binary(binary)?)
            .envs(self.env())
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .env("DPS_LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| e.to_string())?;
        let service = Service {
            child,
            addr: format!("http://127.0.0.1:{port}"),
        };
        let mut health = tonic_health::pb::health_client::HealthClient::new(service.channel()?);
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
                return Ok(service);
            }
            if Instant::now() > deadline {
                return Err(format!("{binary} did not become ready in 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn sibling_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it with the same profile (the make bench-* targets do)",
            path.display()
        ))
    }
}

/// A service process; killed when dropped.
pub struct Service {
    pub child: tokio::process::Child,
    pub addr: String,
}

impl Service {
    /// A new HTTP/2 connection (made on first use).
    pub fn channel(&self) -> Result<Channel, String> {
        Channel::from_shared(self.addr.clone())
            .map(|c| c.connect_lazy())
            .map_err(|e| e.to_string())
    }

    /// `n` separate connections, as `n` platform workers would have.
    pub fn channels(&self, n: usize) -> Result<Vec<Channel>, String> {
        (0..n.max(1)).map(|_| self.channel()).collect()
    }

    /// Resident set size in MiB, from /proc (Linux).
    pub fn rss_mib(&self) -> Option<f64> {
        rss_mib_of(self.child.id()?)
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// Resident set size of process `pid` in MiB, from /proc (Linux).
pub fn rss_mib_of(pid: u32) -> Option<f64> {
    proc_mib(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// The `<field> <n> kB` line of a /proc file, in MiB.
fn proc_mib(path: &str, field: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    let kib: f64 = text
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// The processes `parent` started (their pids), from /proc.
fn children_of(parent: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| proc_stat(pid).is_some_and(|s| s.0 == parent))
        .collect()
}

/// The postmaster: the parent of this connection's backend.
pub async fn postmaster_pid(db: &sqlx::PgPool) -> Result<u32, String> {
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(db)
        .await
        .map_err(|e| e.to_string())?;
    let stat =
        std::fs::read_to_string(format!("/proc/{backend}/stat")).map_err(|e| e.to_string())?;
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|ppid| ppid.parse().ok())
        .ok_or_else(|| "cannot read the postmaster's pid".into())
}

/// Proportional set size in MiB of a Postgres cluster: the postmaster and every process it
/// started, each shared page counted once across them (RSS would count shared buffers per backend).
pub fn postgres_pss_mib(postmaster: u32) -> Option<f64> {
    let pss = |pid: &str| proc_mib(&format!("/proc/{pid}/smaps_rollup"), "Pss:");
    let children: f64 = children_of(postmaster).iter().filter_map(|p| pss(p)).sum();
    Some(pss(&postmaster.to_string())? + children)
}

/// Clock ticks per second of /proc's CPU times (USER_HZ; 100 on every Linux we run on).
const TICKS_PER_S: f64 = 100.0;

/// `/proc/<pid>/stat` fields after the command name: (ppid, own CPU ticks, reaped children's).
fn proc_stat(pid: &str) -> Option<(u32, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let n = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    Some((
        fields.get(1)?.parse().ok()?,
        n(11)? + n(12)?,
        n(13)? + n(14)?,
    ))
}

/// CPU seconds used so far: by the service process, by the Postgres cluster (the postmaster,
/// its live children and the children it has reaped), by this process, and by the whole
/// machine (busy time of every core, from /proc/stat) — the rest of which is other people's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub service: f64,
    pub postgres: f64,
    pub bench: f64,
    pub machine: f64,
}

impl Cpu {
    pub fn sample(service_pid: u32, postmaster_pid: u32) -> Self {
        let own = |pid: &str| proc_stat(pid).map_or(0, |(_, own, _)| own);
        let postgres = proc_stat(&postmaster_pid.to_string())
            .map_or(0, |(_, own, reaped)| own + reaped)
            + children_of(postmaster_pid)
                .iter()
                .map(|p| own(p))
                .sum::<u64>();
        let machine = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let cpu: Vec<u64> = s
                    .lines()
                    .next()?
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|f| f.parse().ok())
                    .collect();
                // user nice system idle iowait irq softirq steal …: busy is all but idle, iowait.
                Some(cpu.iter().take(8).sum::<u64>() - cpu.get(3)? - cpu.get(4)?)
            })
            .unwrap_or(0);
        let s = |ticks: u64| ticks as f64 / TICKS_PER_S;
        Self {
            service: s(own(&service_pid.to_string())),
            postgres: s(postgres),
            bench: s(own("self")),
            machine: s(machine),
        }
    }

    /// What was used between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            service: self.service - earlier.service,
            postgres: self.postgres - earlier.postgres,
            bench: self.bench - earlier.bench,
            machine: self.machine - earlier.machine,
        }
    }

    /// Busy time of the machine not accounted for by the three processes: other work.
    pub fn others(&self) -> f64 {
        (self.machine - self.service - self.postgres - self.bench).max(0.0)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "service_s": self.service,
            "postgres_s": self.postgres,
            "bench_s": self.bench,
            "others_s": self.others(),
            "machine_busy_s": self.machine,
        })
    }
}

/// A request as the gateway forwards it: verified tenant, caller and roles in the metadata.
pub fn with_caller<T>(message: T, roles: &'static str) -> tonic::Request<T> {
    Caller::sealed(TENANT, roles).request(message)
}

/// How a generated call proves who makes it.
#[derive(Clone)]
pub enum Caller {
    /// Sealed identity headers, as the gateway forwards them: straight to a backend.
    Sealed {
        tenant: Arc<str>,
        roles: &'static str,
    },
    /// A bearer token, through the gateway.
    Token(MetadataValue<Ascii>),
}

impl Caller {
    pub fn sealed(tenant: &str, roles: &'static str) -> Self {
        Self::Sealed {
            tenant: tenant.into(),
            roles,
        }
    }

    pub fn token(token: &str) -> Result<Self, String> {
        MetadataValue::try_from(format!("Bearer {token}"))
            .map(Self::Token)
            .map_err(|e| e.to_string())
    }

    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let m = request.metadata_mut();
        match self {
            Self::Token(bearer) => {
                m.insert("authorization", bearer.clone());
            }
            Self::Sealed { tenant, roles } => {
                let caller = "care-record-platform";
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                let seal = dps_platform::identity::seal(tenant, caller, roles, now)
                    .expect("the stack trusts a key before any call");
                for (name, value) in [
                    (TENANT_HEADER, &**tenant),
                    (CALLER_HEADER, caller),
                    (ROLES_HEADER, roles),
                    (IDENTITY_HEADER, &seal),
                ] {
                    if let Ok(value) = MetadataValue::try_from(value) {
                        m.insert(name, value);
                    }
                }
            }
        }
        request
    }
}

/// What a measured run produced: sorted latencies in microseconds.
pub struct Run {
    pub count: u64,
    pub errors: u64,
    pub throughput: f64,
    latencies_us: Vec<u32>,
}

impl Run {
    fn new(mut latencies_us: Vec<u32>, errors: u64, elapsed: Duration) -> Self {
        latencies_us.sort_unstable();
        let count = latencies_us.len() as u64;
        Self {
            count,
            errors,
            throughput: count as f64 / elapsed.as_secs_f64(),
            latencies_us,
        }
    }

    /// The latency at quantile `q` (1.0 is the maximum), in milliseconds.
    pub fn percentile(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }

    pub fn latency_json(&self) -> serde_json::Value {
        serde_json::json!({
            "p50": self.percentile(0.50),
            "p90": self.percentile(0.90),
            "p99": self.percentile(0.99),
            "max": self.percentile(1.0),
        })
    }
}

fn micros(since: Instant) -> u32 {
    since.elapsed().as_micros().min(u128::from(u32::MAX)) as u32
}

/// Closed loop: each of `concurrency` callers sends its next call when the last one answered.
/// `call(caller, rng)` picks its inputs at once and returns the call, which yields success.
pub async fn closed_loop<F, Fut>(
    concurrency: usize,
    duration: Duration,
    call: F,
) -> Result<Run, String>
where
    F: Fn(usize, &mut Rng) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    let call = Arc::new(call);
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let (call, errors) = (call.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
            let mut latencies = Vec::new();
            while Instant::now() < end {
                let pending = call(w, &mut rng);
                let sent = Instant::now();
                if !pending.await {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                latencies.push(micros(sent));
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for worker in workers {
        latencies_us.extend(worker.await.map_err(|e| e.to_string())?);
    }
    Ok(Run::new(
        latencies_us,
        errors.load(Ordering::Relaxed),
        start.elapsed(),
    ))
}

/// Open loop: calls are due at `rate` per second; at most `concurrency` are in flight, and each
/// latency counts from when the call was due, so waiting for a free caller is not hidden.
pub async fn open_loop<F, Fut>(
    rate: u64,
    concurrency: usize,
    duration: Duration,
    call: F,
) -> Result<Run, String>
where
    F: Fn(usize, &mut Rng) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let errors = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    let start = Instant::now();
    let step = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
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
        let pending = call(k as usize, &mut rng);
        let (tx, errors) = (tx.clone(), errors.clone());
        tokio::spawn(async move {
            if !pending.await {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            let _ = tx.send(micros(due));
            drop(permit);
        });
    }
    drop(tx);
    let mut latencies_us = Vec::with_capacity(total as usize);
    while let Some(l) = rx.recv().await {
        latencies_us.push(l);
    }
    Ok(Run::new(
        latencies_us,
        errors.load(Ordering::Relaxed),
        start.elapsed(),
    ))
}

/// Writes a scenario's summary where `--json` asked.
pub fn write_json(path: Option<&Path>, summary: &serde_json::Value) -> Result<(), String> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(summary).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn machine() -> String {
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
