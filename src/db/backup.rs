//! `portal backup` and `portal restore`: one archive (a tar) holding a `pg_dump -Fc` of
//! each database of the registry and `manifest.json` (versions, each dump's SHA-256, the
//! row count of every table). A dump and its counts come from one snapshot: a
//! REPEATABLE READ transaction exports it, counts the rows and stays open while
//! `pg_dump --snapshot` reads that same snapshot. Separate databases cannot share a
//! snapshot, so each is consistent in itself; no SQL spans two of them, so that is enough.
//!
//! A restore checks every checksum before it touches a database, restores only into
//! empty databases (each in one transaction), then compares every table's row count
//! with the manifest.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::cluster::{find_server_binaries, ident};
use super::registry::{DATABASES, Database};
use crate::config::DatabaseUrls;

const MANIFEST: &str = "manifest.json";
/// The archive layout; a restore refuses any other.
const FORMAT: u32 = 1;
/// Schemas that every database has of its own: never backed up, never counted.
const SYSTEM_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
                              AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

#[derive(Serialize, Deserialize, Debug)]
pub struct Manifest {
    pub format: u32,
    pub created_at: DateTime<Utc>,
    pub portal_version: String,
    /// `pg_dump --version` of the programs that made the dumps (`pg_restore` must be
    /// as new).
    pub postgresql_version: String,
    pub databases: Vec<DatabaseDump>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct DatabaseDump {
    /// The registry's name: `main`, `aas`, `enetworks`.
    pub name: String,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub server_version: String,
    /// The moment of the snapshot the dump and the counts were taken from.
    pub snapshot_at: DateTime<Utc>,
    /// `schema.table` → rows in the snapshot.
    pub tables: BTreeMap<String, i64>,
}

impl DatabaseDump {
    pub fn rows(&self) -> i64 {
        self.tables.values().sum()
    }
}

/// `pg_dump` and `pg_restore`, from the folder of the private cluster's programs, so a
/// backup is made and read by the same PostgreSQL version as the cluster runs. A
/// configured `PORTAL_PG_BIN` needs only these two (a machine that backs up remote
/// servers may have no server programs).
pub struct Tools {
    pg_dump: PathBuf,
    pg_restore: PathBuf,
}

impl Tools {
    pub fn find(configured: Option<&Path>) -> anyhow::Result<Tools> {
        let dir = match configured {
            Some(dir) => dir.to_owned(),
            None => find_server_binaries(None)?,
        };
        // PATH may hold links to the server programs only: look beside what they point to.
        let real = fs::canonicalize(dir.join("postgres")).ok().and_then(|p| Some(p.parent()?.to_owned()));
        for dir in [Some(dir.clone()), real].into_iter().flatten() {
            let tools = Tools { pg_dump: dir.join("pg_dump"), pg_restore: dir.join("pg_restore") };
            if tools.pg_dump.is_file() && tools.pg_restore.is_file() {
                return Ok(tools);
            }
        }
        anyhow::bail!(
            "pg_dump and pg_restore are not in {}; install the PostgreSQL client programs of the server's \
             version there, or set PORTAL_PG_BIN to their folder",
            dir.display()
        )
    }

    async fn version(&self) -> anyhow::Result<String> {
        run(&self.pg_dump, &["--version".into()], None).await.map(|out| out.trim().to_owned())
    }

    /// `pg_dump -Fc` of the database at `url`, as of an exported snapshot, into `file`.
    async fn dump(&self, url: &str, snapshot: &str, file: &Path) -> anyhow::Result<()> {
        let args = ["--format=custom".into(), format!("--snapshot={snapshot}"), format!("--file={}", file.display())];
        run(&self.pg_dump, &args, Some(url)).await.map(drop)
    }

    /// Everything or nothing: one transaction, stopped at the first error.
    async fn restore(&self, url: &str, file: &Path) -> anyhow::Result<()> {
        let args =
            ["--no-owner".into(), "--exit-on-error".into(), "--single-transaction".into(), file.display().to_string()];
        run(&self.pg_restore, &args, Some(url)).await.map(drop)
    }
}

/// Runs a PostgreSQL program; its standard output, or its error output as the error.
/// The password of `url` goes through `PGPASSWORD`, never onto the command line, where
/// every local user could read it.
async fn run(program: &Path, args: &[String], url: Option<&str>) -> anyhow::Result<String> {
    let mut command = tokio::process::Command::new(program);
    command.args(args).kill_on_drop(true);
    if let Some(url) = url {
        let (url, password) = split_password(url);
        command.arg(format!("--dbname={url}"));
        if let Some(password) = password {
            command.env("PGPASSWORD", password);
        }
    }
    let output = command.output().await.with_context(|| format!("cannot run {}", program.display()))?;
    if !output.status.success() {
        anyhow::bail!("{} failed: {}", program.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A `postgresql://user:password@host/db` URL without its password, and the password
/// (percent-decoded). Other forms are returned as they are.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return (url.to_owned(), None) };
    let rest = &url[scheme_end..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let Some(at) = authority.rfind('@') else { return (url.to_owned(), None) };
    let Some(colon) = authority[..at].find(':') else { return (url.to_owned(), None) };
    let password = percent_encoding::percent_decode_str(&authority[colon + 1..at]).decode_utf8_lossy().into_owned();
    (format!("{}{}", &url[..scheme_end + colon], &url[scheme_end + at..]), Some(password))
}

#[derive(diesel::QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    server_version: String,
    #[diesel(sql_type = Timestamptz)]
    taken_at: DateTime<Utc>,
}

#[derive(diesel::QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Rows of every table, `schema.table` → count (call it inside one snapshot).
async fn count_rows(conn: &mut AsyncPgConnection) -> diesel::QueryResult<BTreeMap<String, i64>> {
    let tables: Vec<Table> = diesel::sql_query(format!(
        "SELECT n.nspname::text AS schema, c.relname::text AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND {SYSTEM_SCHEMAS}"
    ))
    .load(conn)
    .await?;
    let mut counts = BTreeMap::new();
    for table in tables {
        let sql = format!("SELECT count(*) AS count FROM {}.{}", ident(&table.schema), ident(&table.name));
        let count: Count = diesel::sql_query(sql).get_result(conn).await?;
        counts.insert(format!("{}.{}", table.schema, table.name), count.count);
    }
    Ok(counts)
}

/// Dumps every database into one archive at `to` (written under another name beside
/// it, then renamed, so `to` is never a half-written archive). Readable only by us: it
/// holds password hashes and customers' data.
pub async fn write(tools: &Tools, urls: &DatabaseUrls, to: &Path) -> anyhow::Result<Manifest> {
    let created_at = Utc::now();
    let folder = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let work = WorkDir::new(folder)?;
    let mut databases = Vec::new();
    for db in &DATABASES {
        let dump = dump(tools, db, db.url(urls).expose_secret(), &work.0)
            .await
            .with_context(|| format!("backing up database {}", db.name))?;
        databases.push(dump);
    }
    let manifest = Manifest {
        format: FORMAT,
        created_at,
        portal_version: env!("CARGO_PKG_VERSION").to_owned(),
        postgresql_version: tools.version().await?,
        databases,
    };
    let archive = work.0.join("archive");
    write_archive(&archive, &manifest, &work.0)?;
    fs::rename(&archive, to).with_context(|| format!("cannot write {}", to.display()))?;
    // The new name must survive a crash as well as the data.
    File::open(folder)?.sync_all()?;
    Ok(manifest)
}

async fn dump(tools: &Tools, db: &Database, url: &str, dir: &Path) -> anyhow::Result<DatabaseDump> {
    let file = format!("{}.dump", db.name);
    let path = dir.join(&file);
    let mut conn = AsyncPgConnection::establish(url).await?;
    let (snapshot, tables) = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            let snapshot: Snapshot = diesel::sql_query(
                "SELECT pg_export_snapshot() AS id, current_setting('server_version') AS server_version, \
                 now() AS taken_at",
            )
            .get_result(conn)
            .await?;
            let tables = count_rows(conn).await?;
            // The snapshot lives as long as this transaction: pg_dump runs inside it.
            tools.dump(url, &snapshot.id, &path).await?;
            Ok::<_, anyhow::Error>((snapshot, tables))
        })
        .await?;
    let (sha256, bytes) = sha256_of(&path)?;
    Ok(DatabaseDump {
        name: db.name.to_owned(),
        file,
        sha256,
        bytes,
        server_version: snapshot.server_version,
        snapshot_at: snapshot.taken_at,
        tables,
    })
}

fn write_archive(path: &Path, manifest: &Manifest, dumps: &Path) -> anyhow::Result<()> {
    let file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    let mut tar = tar::Builder::new(file);
    let json = serde_json::to_vec_pretty(manifest)?;
    append(&mut tar, MANIFEST, json.len() as u64, &json[..])?;
    for dump in &manifest.databases {
        append(&mut tar, &dump.file, dump.bytes, File::open(dumps.join(&dump.file))?)?;
    }
    tar.into_inner()?.sync_all()?;
    Ok(())
}

fn append(tar: &mut tar::Builder<File>, name: &str, size: u64, data: impl Read) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(Utc::now().timestamp().max(0) as u64);
    tar.append_data(&mut header, name, data)
}

/// The SHA-256 of a file (lower-case hex) and its size.
fn sha256_of(path: &Path) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let bytes = io::copy(&mut File::open(path)?, &mut hasher)?;
    let hex = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, bytes))
}

/// A folder of our own for the dumps, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(parent: &Path) -> io::Result<WorkDir> {
        let path = parent.join(format!(".portal-backup-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(WorkDir(path))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Why an archive is not restored.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Not an archive of `portal backup`, or damaged: refused before any database is touched.
    #[error("{0}")]
    Damaged(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// An archive read into a folder of our own, every checksum checked.
pub struct Archive {
    pub manifest: Manifest,
    work: WorkDir,
}

impl Archive {
    /// Reads the archive at `path` (its dumps go to the temporary folder, `TMPDIR`) and
    /// checks that it holds one dump of each database of the registry, each matching its
    /// checksum.
    pub fn open(path: &Path) -> Result<Archive, OpenError> {
        let damaged = |why: String| OpenError::Damaged(format!("{}: {why}; nothing was restored", path.display()));
        let work = WorkDir::new(&std::env::temp_dir())?;
        let mut tar = tar::Archive::new(File::open(path)?);
        let mut manifest = None;
        let mut files = Vec::new();
        for entry in tar.entries().map_err(|e| damaged(format!("not a readable archive ({e})")))? {
            let mut entry = entry.map_err(|e| damaged(format!("not a readable archive ({e})")))?;
            let name = entry.path().map_err(|e| damaged(e.to_string()))?.to_string_lossy().into_owned();
            if name == MANIFEST {
                let mut json = String::new();
                entry.read_to_string(&mut json).map_err(|e| damaged(format!("unreadable manifest ({e})")))?;
                manifest = Some(json);
            } else if is_dump_name(&name) {
                let mut out =
                    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(work.0.join(&name))?;
                io::copy(&mut entry, &mut out).map_err(|e| damaged(format!("{name} is unreadable ({e})")))?;
                files.push(name);
            } else {
                return Err(damaged(format!("it holds {name:?}, which no portal backup has")));
            }
        }
        let manifest = manifest.ok_or_else(|| damaged(format!("no {MANIFEST}: not an archive of `portal backup`")))?;
        let manifest: Manifest =
            serde_json::from_str(&manifest).map_err(|e| damaged(format!("unreadable {MANIFEST} ({e})")))?;
        if manifest.format != FORMAT {
            return Err(damaged(format!("archive format {}, this portal reads format {FORMAT}", manifest.format)));
        }
        let mut names: Vec<&str> = manifest.databases.iter().map(|d| d.name.as_str()).collect();
        names.sort_unstable();
        let mut expected: Vec<&str> = DATABASES.iter().map(|db| db.name).collect();
        expected.sort_unstable();
        if names != expected {
            return Err(damaged(format!("it holds the databases {names:?}, this portal has {expected:?}")));
        }
        for dump in &manifest.databases {
            if !files.contains(&dump.file) {
                return Err(damaged(format!("the dump of database {} ({}) is missing", dump.name, dump.file)));
            }
            let (sha256, _) = sha256_of(&work.0.join(&dump.file))?;
            if sha256 != dump.sha256 {
                return Err(damaged(format!(
                    "the dump of database {} ({}) does not match its SHA-256 checksum: the archive is damaged",
                    dump.name, dump.file
                )));
            }
        }
        Ok(Archive { manifest, work })
    }

    fn dump_of(&self, db: &Database) -> &DatabaseDump {
        self.manifest.databases.iter().find(|d| d.name == db.name).expect("open checked every database is there")
    }

    /// Restores each database (each in one transaction), then counts every table's
    /// rows against the manifest. Call it only on empty databases ([`occupied`]).
    pub async fn restore(&self, tools: &Tools, urls: &DatabaseUrls) -> anyhow::Result<Vec<RestoreCheck>> {
        for db in &DATABASES {
            let dump = self.dump_of(db);
            tools
                .restore(db.url(urls).expose_secret(), &self.work.0.join(&dump.file))
                .await
                .with_context(|| format!("restoring database {} (the ones before it are restored)", db.name))?;
        }
        let mut checks = Vec::new();
        for db in &DATABASES {
            let mut conn = AsyncPgConnection::establish(db.url(urls).expose_secret()).await?;
            let counts =
                conn.build_transaction().repeatable_read().read_only().run(async |c| count_rows(c).await).await?;
            checks.push(RestoreCheck::compare(self.dump_of(db), &counts));
        }
        Ok(checks)
    }
}

/// Whether `name` is a plain file name of a dump (nothing that could leave our folder).
fn is_dump_name(name: &str) -> bool {
    name.ends_with(".dump") && !name.starts_with('.') && !name.contains('/')
}

/// One restored database against its manifest entry.
pub struct RestoreCheck {
    pub database: String,
    pub tables: usize,
    pub rows: i64,
    /// Each table whose count differs from the backup's, or that only one side has.
    pub mismatches: Vec<String>,
}

impl RestoreCheck {
    fn compare(dump: &DatabaseDump, counts: &BTreeMap<String, i64>) -> RestoreCheck {
        let mut mismatches = Vec::new();
        for (table, expected) in &dump.tables {
            match counts.get(table) {
                Some(found) if found == expected => {}
                Some(found) => mismatches.push(format!("{table}: {found} rows, the backup has {expected}")),
                None => mismatches.push(format!("{table}: missing (the backup has {expected} rows)")),
            }
        }
        for table in counts.keys().filter(|t| !dump.tables.contains_key(*t)) {
            mismatches.push(format!("{table}: not in the backup"));
        }
        RestoreCheck { database: dump.name.clone(), tables: counts.len(), rows: counts.values().sum(), mismatches }
    }
}

/// The databases (registry names) that already hold tables, sequences or views, with
/// how many: a restore goes only into empty ones.
pub async fn occupied(urls: &DatabaseUrls) -> anyhow::Result<Vec<(&'static str, i64)>> {
    let mut occupied = Vec::new();
    for db in &DATABASES {
        let mut conn = AsyncPgConnection::establish(db.url(urls).expose_secret())
            .await
            .with_context(|| format!("cannot reach database {}", db.name))?;
        let relations: Count = diesel::sql_query(format!(
            "SELECT count(*) AS count FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {SYSTEM_SCHEMAS}"
        ))
        .get_result(&mut conn)
        .await?;
        if relations.count > 0 {
            occupied.push((db.name, relations.count));
        }
    }
    Ok(occupied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            split_password("postgresql://portal:s%40cret:x@db.example:5432/main?sslmode=require"),
            ("postgresql://portal@db.example:5432/main?sslmode=require".to_owned(), Some("s@cret:x".to_owned()))
        );
        for url in ["postgresql://postgres@/portal_main?host=/tmp/pg", "postgresql://db/main", "host=/tmp dbname=x"] {
            assert_eq!(split_password(url), (url.to_owned(), None));
        }
    }

    #[test]
    fn only_plain_dump_names_are_extracted() {
        assert!(is_dump_name("main.dump"));
        for name in ["../main.dump", "a/b.dump", ".hidden.dump", "main.sql"] {
            assert!(!is_dump_name(name), "{name}");
        }
    }
}
