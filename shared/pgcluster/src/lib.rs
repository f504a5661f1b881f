//! A Postgres cluster started from the machine's own Postgres binaries, for the suite's embedded
//! default (`make run`, kept under `.dev/`) and for tests (throw-away, deleted when the process
//! ends), plus the role and database layout both use.
//!
//! Postgres refuses to run as root: as root, every Postgres command runs as the `postgres` user
//! (created if missing). A watchdog process stops the cluster, and removes a throw-away one, as
//! soon as the process that started it is gone, however it ended. Never used in production,
//! where the database is managed outside the suite.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub mod roles;

/// Why no cluster could be started.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No `initdb`/`pg_ctl` found.
    #[error(
        "no Postgres server binaries found (looked at $DPS_PG_BINDIR, `pg_config --bindir`, /usr/lib/postgresql/*/bin and PATH); install them (Debian: apt-get install postgresql-15) or set DATABASE_URL"
    )]
    NoBinaries,
    /// A command failed; its output says why.
    #[error("{what} failed: {output}")]
    Command {
        /// The step.
        what: String,
        /// Its stderr and stdout, trimmed.
        output: String,
    },
    /// Files could not be prepared.
    #[error("{what}: {source}")]
    Io {
        /// The step.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The persistent cluster is in use by another process.
    #[error("the Postgres cluster in {0} is already running (is another dps-suite using it?)")]
    InUse(PathBuf),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// The superuser created by `initdb`.
pub const SUPERUSER: &str = "postgres";

/// A running local cluster listening on 127.0.0.1 only. Stopped when dropped (a throw-away one is
/// also deleted); the watchdog does the same if the process dies without dropping it.
#[derive(Debug)]
pub struct LocalCluster {
    root: PathBuf,
    port: u16,
    tools: Tools,
    throwaway: bool,
}

impl LocalCluster {
    /// Starts a new cluster in a temporary directory, tuned for tests (no fsync: its data is
    /// worthless after the process ends).
    pub fn start_throwaway() -> Result<Self, ClusterError> {
        let tools = Tools::find()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let root = std::env::temp_dir().join(format!("dps-pg-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&root).map_err(io(format!("creating {}", root.display())))?;
        let cluster = Self {
            root,
            port: 0,
            tools,
            throwaway: true,
        };
        cluster.init(&[
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 400",
        ])?;
        cluster.start()
    }

    /// Starts the cluster kept in `root` (created on first use), with durable settings.
    pub fn start_persistent(root: &Path) -> Result<Self, ClusterError> {
        let tools = Tools::find()?;
        fs::create_dir_all(root).map_err(io(format!("creating {}", root.display())))?;
        let root = root
            .canonicalize()
            .map_err(io(format!("resolving {}", root.display())))?;
        let cluster = Self {
            root,
            port: 0,
            tools,
            throwaway: false,
        };
        if !cluster.data_dir().join("PG_VERSION").exists() {
            cluster.init(&["max_connections = 200"])?;
        } else if cluster
            .tools
            .run(
                "pg_ctl status",
                &cluster.tools.pg_ctl,
                &["-D", &cluster.data_str(), "status"],
            )
            .is_ok()
        {
            return Err(ClusterError::InUse(cluster.root.clone()));
        }
        cluster.start()
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `user` (local clusters trust local connections: no password).
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// Where the data and the server log live.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn data_str(&self) -> String {
        self.data_dir().display().to_string()
    }

    fn init(&self, settings: &[&str]) -> Result<(), ClusterError> {
        self.tools.give_to_postgres(&self.root)?;
        let data = self.data_str();
        self.tools.run(
            "initdb",
            &self.tools.initdb,
            &[
                "-D",
                &data,
                "--no-sync",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "-U",
                SUPERUSER,
            ],
        )?;
        // Static settings go into the configuration file; only the port changes per start.
        let conf = self.data_dir().join("postgresql.conf");
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(io(format!("opening {}", conf.display())))?;
        let socket_dir = self.root.display().to_string().replace('\'', "''");
        let mut lines = vec![
            "# added by dps-pgcluster".to_owned(),
            "listen_addresses = '127.0.0.1'".to_owned(),
            format!("unix_socket_directories = '{socket_dir}'"),
        ];
        lines.extend(settings.iter().map(|s| (*s).to_owned()));
        writeln!(file, "\n{}", lines.join("\n"))
            .map_err(io(format!("writing {}", conf.display())))?;
        Ok(())
    }

    fn start(mut self) -> Result<Self, ClusterError> {
        let log = self.root.join("postgres.log").display().to_string();
        let data = self.data_str();
        // A port freed by the OS can be taken by someone else before Postgres binds it: retry.
        let mut last = None;
        for _ in 0..3 {
            self.port = free_port().map_err(io("finding a free port"))?;
            let options = format!("-p {}", self.port);
            match self.tools.run(
                "pg_ctl start",
                &self.tools.pg_ctl,
                &[
                    "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
                ],
            ) {
                Ok(_) => {
                    self.spawn_watchdog()?;
                    return Ok(self);
                }
                Err(e) => last = Some(e),
            }
        }
        let tail = fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(5).collect();
        Err(match last {
            Some(ClusterError::Command { what, output }) => ClusterError::Command {
                what,
                output: format!(
                    "{output}; server log: {}",
                    tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                ),
            },
            Some(other) => other,
            None => ClusterError::NoBinaries,
        })
    }

    /// Stops the cluster when this process is gone, even if killed: a detached shell polls our pid.
    fn spawn_watchdog(&self) -> Result<(), ClusterError> {
        let pid_file = self.data_dir().join("postmaster.pid");
        let postmaster = fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let script = r#"
parent=$1; data=$2; root=$3; pm=$4; mode=$5; shift 5
while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done
if [ "$(head -n 1 "$data/postmaster.pid" 2>/dev/null)" = "$pm" ]; then
  "$@" -D "$data" stop -m "$( [ "$mode" = throwaway ] && echo immediate || echo fast )" >/dev/null 2>&1
fi
[ "$mode" = throwaway ] && rm -rf "$root"
exit 0
"#;
        let mut command = Command::new("sh");
        command.arg("-c").arg(script).arg("dps-pg-watchdog");
        command
            .arg(std::process::id().to_string())
            .arg(self.data_dir())
            .arg(&self.root)
            .arg(postmaster);
        command.arg(if self.throwaway {
            "throwaway"
        } else {
            "persistent"
        });
        command.args(self.tools.prefix()).arg(&self.tools.pg_ctl);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group: a Ctrl-C to the terminal must not kill it before it cleans up.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command
            .spawn()
            .map_err(io("starting the cluster watchdog"))?;
        Ok(())
    }

    /// Stops the server (fast for a persistent cluster, immediate for a throw-away one).
    pub fn stop(&self) {
        let mode = if self.throwaway { "immediate" } else { "fast" };
        if let Err(e) = self.tools.run(
            "pg_ctl stop",
            &self.tools.pg_ctl,
            &["-D", &self.data_str(), "-m", mode, "-w", "stop"],
        ) {
            tracing::warn!(error = %e, "stopping the local Postgres cluster");
        }
        if self.throwaway {
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// The Postgres binaries and how to run them.
#[derive(Debug, Clone)]
struct Tools {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    /// As root: run as the `postgres` user.
    as_postgres: bool,
}

impl Tools {
    fn find() -> Result<Self, ClusterError> {
        let bindir = find_bindir().ok_or(ClusterError::NoBinaries)?;
        let as_postgres = is_root();
        if as_postgres {
            ensure_postgres_user()?;
        }
        Ok(Self {
            initdb: bindir.join("initdb"),
            pg_ctl: bindir.join("pg_ctl"),
            as_postgres,
        })
    }

    fn prefix(&self) -> Vec<&'static str> {
        if self.as_postgres {
            vec!["runuser", "-u", SUPERUSER, "--"]
        } else {
            Vec::new()
        }
    }

    fn run(&self, what: &str, program: &Path, args: &[&str]) -> Result<String, ClusterError> {
        let prefix = self.prefix();
        let mut command = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(program);
                c
            }
            None => Command::new(program),
        };
        // The postgres user may not be allowed into the caller's working directory.
        command.args(args).current_dir("/").stdin(Stdio::null());
        let output = command.output().map_err(io(format!("running {what}")))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(ClusterError::Command {
                what: what.to_owned(),
                output: text.trim().to_owned(),
            })
        }
    }

    fn give_to_postgres(&self, dir: &Path) -> Result<(), ClusterError> {
        if self.as_postgres {
            let status = Command::new("chown")
                .arg("-R")
                .arg(format!("{SUPERUSER}:"))
                .arg(dir)
                .status()
                .map_err(io("chown"))?;
            if !status.success() {
                return Err(ClusterError::Command {
                    what: "chown".into(),
                    output: dir.display().to_string(),
                });
            }
        }
        Ok(())
    }
}

/// A Postgres client program (`pg_dump`, `psql`) from the same installation as the server
/// binaries, for backup and restore tests.
pub fn client_program(name: &str) -> Option<PathBuf> {
    find_bindir()
        .map(|dir| dir.join(name))
        .filter(|path| path.is_file())
}

fn find_bindir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("DPS_PG_BINDIR").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return Some(dir);
        }
    }
    // Debian keeps server binaries per major version; take the newest.
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|dir| has_tools(dir))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn ensure_postgres_user() -> Result<(), ClusterError> {
    let exists = Command::new("id")
        .arg("-u")
        .arg(SUPERUSER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if exists {
        return Ok(());
    }
    let out = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            SUPERUSER,
        ])
        .output()
        .map_err(io("useradd postgres"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ClusterError::Command {
            what: "useradd postgres".into(),
            output: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}
