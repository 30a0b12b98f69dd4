//! The private PostgreSQL cluster used when no database URL is configured: `initdb` once
//! into `<data dir>/pg`, then `postgres` listening only on a Unix socket inside that
//! folder (no TCP port), as the `postgres` OS user when we run as root.
//!
//! The server is our child process and gets SIGINT (a fast, clean shutdown) when the
//! thread that started it dies, so a killed portal or test run leaves no server behind.
//! A server already running on the folder (another `portal serve`) is reused, not owned.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::config::DatabaseUrls;

const SOCKET_NAME: &str = ".s.PGSQL.5432";
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "the PostgreSQL server programs (initdb, postgres) were not found.\n\
         Install the PostgreSQL server package (Debian/Ubuntu: `apt-get install postgresql`; \
         Fedora: `dnf install postgresql-server`; macOS: `brew install postgresql`), or set \
         DATABASE_URL_MAIN, DATABASE_URL_AAS and DATABASE_URL_ENETWORKS to use existing servers"
    )]
    BinariesMissing,
    #[error(
        "running as root needs a `postgres` OS user to own the private cluster (PostgreSQL refuses to run as root)"
    )]
    NoPostgresUser,
    #[error(
        "the `postgres` OS user cannot reach {0}: give it search permission (chmod o+x) or set PORTAL_DATA_DIR to a folder it can reach"
    )]
    Unreachable(PathBuf),
    #[error("the data folder path {0} is too long for a Unix socket; set PORTAL_DATA_DIR to a shorter path")]
    PathTooLong(PathBuf),
    #[error("{what} failed; its log is {log}:\n{tail}")]
    Failed { what: String, log: PathBuf, tail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[derive(Default)]
pub struct ClusterOptions {
    /// fsync on (serve) or off (tests, where speed matters and nothing must survive).
    pub durable: bool,
    /// Where `initdb` and `postgres` are; `None`: PATH, then the usual package folders.
    pub bin_dir: Option<PathBuf>,
}

pub struct Cluster {
    pgdata: PathBuf,
    log: PathBuf,
    /// Our server; `None` when another process's server on this folder is reused.
    child: Option<Child>,
}

impl Cluster {
    /// Starts the cluster in `data_dir/pg` (creating it on first use), or reuses the
    /// server already running there. Blocks until the server accepts connections.
    /// Call it from a thread that lives as long as the server should.
    pub fn start(data_dir: &Path, options: &ClusterOptions) -> Result<Cluster, ClusterError> {
        fs::create_dir_all(data_dir)?;
        let data_dir = data_dir.canonicalize()?;
        let pgdata = data_dir.join("pg");
        let log = data_dir.join("postgres.log");
        if pgdata.join(SOCKET_NAME).as_os_str().len() > 100 {
            return Err(ClusterError::PathTooLong(pgdata));
        }
        if server_ready(&pgdata) {
            tracing::info!(pgdata = %pgdata.display(), "reusing the PostgreSQL server already running");
            return Ok(Cluster { pgdata, log, child: None });
        }
        let bin = find_server_binaries(options.bin_dir.as_deref())?;
        let owner = server_owner()?;
        if !pgdata.join("PG_VERSION").exists() {
            init(&bin, &pgdata, &log, owner)?;
        }
        let mut cmd = Command::new(bin.join("postgres"));
        cmd.arg("-D")
            .arg(&pgdata)
            .args(["-c", "listen_addresses="])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", pgdata.display()))
            .args(["-c", "max_connections=200"]);
        if !options.durable {
            cmd.args(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }
        let child = spawn_as(cmd, owner, &log, true)?;
        let mut cluster = Cluster { pgdata, log, child: Some(child) };
        cluster.wait_ready()?;
        Ok(cluster)
    }

    fn wait_ready(&mut self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if server_ready(&self.pgdata) {
                return Ok(());
            }
            let exited = match self.child.as_mut() {
                Some(child) => child.try_wait()?.is_some(),
                None => false,
            };
            if exited || Instant::now() > deadline {
                return Err(ClusterError::Failed {
                    what: "starting PostgreSQL".into(),
                    log: self.log.clone(),
                    tail: log_tail(&self.log),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The folder of the server's Unix socket (a `host` for libpq tools such as pgbench).
    pub fn socket_dir(&self) -> &Path {
        &self.pgdata
    }

    /// A connection URL for one database of this cluster, over its Unix socket.
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@/{database}?host={}", url_encode(&self.pgdata.to_string_lossy()))
    }

    pub fn database_urls(&self) -> DatabaseUrls {
        DatabaseUrls::from_fn(|db| self.url(db.cluster_name))
    }

    /// Creates each database that does not exist yet (from `template`, when given);
    /// returns the ones it created.
    pub async fn create_databases(&self, names: &[&str], template: Option<&str>) -> anyhow::Result<Vec<String>> {
        let mut conn = AsyncPgConnection::establish(&self.url("postgres")).await?;
        let existing = existing_databases(&mut conn).await?;
        let mut created = Vec::new();
        for name in names {
            if existing.iter().any(|n| n == name) {
                continue;
            }
            let sql = match template {
                Some(t) => format!("CREATE DATABASE {} TEMPLATE {}", ident(name), ident(t)),
                None => format!("CREATE DATABASE {}", ident(name)),
            };
            conn.batch_execute(&sql).await?;
            created.push(name.to_string());
        }
        Ok(created)
    }

    /// Which of these databases the cluster does not have (nothing is created).
    pub async fn missing_databases(&self, names: &[&str]) -> anyhow::Result<Vec<String>> {
        let mut conn = AsyncPgConnection::establish(&self.url("postgres")).await?;
        let existing = existing_databases(&mut conn).await?;
        Ok(names.iter().filter(|name| !existing.iter().any(|n| n == *name)).map(|name| name.to_string()).collect())
    }

    /// Stops our server (fast shutdown) and waits for it; a reused server is left running.
    pub fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child process by its pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            let _ = child.wait();
            tracing::info!("PostgreSQL stopped");
        }
    }
}

/// The names of the cluster's databases.
async fn existing_databases(conn: &mut AsyncPgConnection) -> anyhow::Result<Vec<String>> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> = diesel::sql_query("SELECT datname FROM pg_database").load(conn).await?;
    Ok(names.into_iter().map(|n| n.datname).collect())
}

/// Quotes an SQL identifier (database names here are our own constants or test names).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Ready when `postmaster.pid` names a live process and says "ready" (its 8th line).
fn server_ready(pgdata: &Path) -> bool {
    let Ok(text) = fs::read_to_string(pgdata.join("postmaster.pid")) else { return false };
    let lines: Vec<&str> = text.lines().collect();
    let alive = lines
        .first()
        .and_then(|l| l.trim().parse::<libc::pid_t>().ok())
        // SAFETY: signal 0 only checks that the process exists.
        .is_some_and(|pid| unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM));
    alive && lines.get(7).is_some_and(|l| l.trim() == "ready") && pgdata.join(SOCKET_NAME).exists()
}

/// The folder of `initdb` and `postgres`: the configured one, else PATH, else the usual
/// package folders (Debian keeps them out of PATH, in /usr/lib/postgresql/<version>/bin);
/// the newest version wins. `pg_dump` and `pg_restore` are taken from the same folder.
pub fn find_server_binaries(configured: Option<&Path>) -> Result<PathBuf, ClusterError> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = configured {
        return if has_both(dir) { Ok(dir.to_owned()) } else { Err(ClusterError::BinariesMissing) };
    }
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|d| has_both(d))
    {
        return Ok(dir);
    }
    let mut candidates: Vec<(u32, PathBuf)> = Vec::new();
    for (root, prefix) in [("/usr/lib/postgresql", ""), ("/usr", "pgsql-"), ("/opt/homebrew/opt", "postgresql@")] {
        let Ok(entries) = fs::read_dir(root) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(version) = name.strip_prefix(prefix).and_then(|v| v.split('.').next()?.parse().ok()) {
                let bin = entry.path().join("bin");
                if has_both(&bin) {
                    candidates.push((version, bin));
                }
            }
        }
    }
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin).ok_or(ClusterError::BinariesMissing)
}

/// The uid/gid the server must run as: `postgres` when we are root, else ourselves.
fn server_owner() -> Result<Option<(u32, u32)>, ClusterError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    // SAFETY: getpwnam with a NUL-terminated name; the result is read before any other
    // call that could overwrite its static buffer.
    let pw = unsafe { libc::getpwnam(c"postgres".as_ptr()) };
    if pw.is_null() {
        return Err(ClusterError::NoPostgresUser);
    }
    // SAFETY: non-null pointer returned by getpwnam.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

fn init(bin: &Path, pgdata: &Path, log: &Path, owner: Option<(u32, u32)>) -> Result<(), ClusterError> {
    fs::create_dir_all(pgdata)?;
    fs::set_permissions(pgdata, fs::Permissions::from_mode(0o700))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(pgdata, Some(uid), Some(gid))?;
        check_reachable(pgdata, uid, gid)?;
    }
    let mut cmd = Command::new(bin.join("initdb"));
    cmd.arg("-D").arg(pgdata).args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]);
    let status = spawn_as(cmd, owner, log, false)?.wait()?;
    if !status.success() {
        // Leave no half-made cluster behind: the next start would mistake it for a real one.
        let _ = fs::remove_dir_all(pgdata);
        return Err(ClusterError::Failed { what: "initdb".into(), log: log.to_owned(), tail: log_tail(log) });
    }
    Ok(())
}

/// The server user needs search permission on every folder above its data folder.
fn check_reachable(pgdata: &Path, uid: u32, gid: u32) -> Result<(), ClusterError> {
    for dir in pgdata.ancestors().skip(1) {
        let meta = fs::metadata(dir)?;
        let mode = meta.mode();
        let ok =
            mode & 0o001 != 0 || (meta.uid() == uid && mode & 0o100 != 0) || (meta.gid() == gid && mode & 0o010 != 0);
        if !ok {
            return Err(ClusterError::Unreachable(dir.to_owned()));
        }
    }
    Ok(())
}

fn spawn_as(
    mut cmd: Command,
    owner: Option<(u32, u32)>,
    log: &Path,
    die_with_parent: bool,
) -> Result<Child, ClusterError> {
    let out = fs::OpenOptions::new().create(true).append(true).open(log)?;
    // Its own process group: a Ctrl-C in the terminal reaches only the portal, which
    // drains its requests before stopping the server.
    cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).current_dir("/").process_group(0);
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    if die_with_parent {
        // SAFETY: prctl is async-signal-safe; it runs in the child between fork and exec,
        // after the uid change (which would otherwise clear the death signal).
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    Ok(cmd.spawn()?)
}

fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
