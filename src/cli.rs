//! The `portal` command: `serve` (the default), `migrate`, `seed --demo`/`--scale`, `user create`,
//! `org create`, `wallet credit`, `wallet verify`, `backup`, `restore`, `billing run`. Every sub-command finds the databases the way `serve`
//! does, checks its arguments before touching anything, prints a clear error and exits
//! non-zero on bad input (2) or failure (1), and applies all of its change or none.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;

use crate::config::{DatabaseUrls, Settings};
use crate::db::backup::{self, Archive, OpenError, Tools};
use crate::db::cluster::{Cluster, ClusterOptions};
use crate::db::main::billing::{self, RunOptions};
use crate::db::main::organisations::{self, CreateOrganisationError, NewOrganisation, Organisation};
use crate::db::main::users::{self, NewUser};
use crate::db::main::verify;
use crate::db::main::wallets::{self, CreditOutcome, NewCredit};
use crate::db::registry::DATABASES;
use crate::db::seed;
use crate::db::{Pools, migrate};
use crate::domain::email::Email;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::ids::OrganisationId;
use crate::domain::money::{format_zar, parse_top_up};
use crate::domain::organisation::VatNumber;
use crate::domain::password::NewPassword;
use crate::domain::states::RunSource;
use crate::domain::text::{self, Lines, escape_controls};
use crate::domain::time::{parse_date, today_sast};
use crate::startup::{self, Sessions};
use crate::state::{AppState, Shared};
use crate::{auth, jobs, telemetry};

#[derive(Parser)]
#[command(name = "portal", version, about = "Cloud and network reseller portal")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default). Starts a private PostgreSQL cluster when no database URL is set.
    Serve,
    /// Create (private cluster) and migrate the three databases, then exit.
    Migrate,
    /// Load data into the databases.
    Seed {
        /// The demo data set (organisations, users, catalogs, price tables, quotes).
        #[arg(long)]
        demo: bool,
        /// Production volume for load tests: 10 000 organisations, 20 000 users, 200 000
        /// quotes, 1 000 000 activity rows and 100 000 alerts, times FACTOR (default 1;
        /// 0.01 for a hundredth).
        #[arg(long, value_name = "FACTOR", num_args = 0..=1, default_missing_value = "1")]
        scale: Option<String>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage organisation wallets.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// Back up the three databases (pg_dump, one snapshot each) into one archive file.
    Backup(BackupArgs),
    /// Restore an archive of `portal backup` into empty databases, then check every table's rows.
    Restore(RestoreArgs),
    /// Monthly billing of services.
    #[command(subcommand)]
    Billing(BillingCommand),
}

#[derive(Subcommand)]
enum BillingCommand {
    /// Charge every month of every service due by a date (today by default), each once.
    Run(BillingRun),
}

#[derive(Args)]
struct BillingRun {
    /// Run as of this day (YYYY-MM-DD, South African date); default today.
    #[arg(long)]
    date: Option<String>,
    /// Print per organisation what the run would charge, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user in an organisation with one role.
    Create(UserCreate),
}

#[derive(Args)]
struct UserCreate {
    #[arg(long)]
    email: String,
    #[arg(long)]
    name: String,
    /// Role name: customer, staff, admin, or one made in the browser.
    #[arg(long)]
    role: String,
    /// Organisation name (or id).
    #[arg(long)]
    org: String,
    /// At least 12 characters. Without it a temporary password is printed once and
    /// must be changed at the first sign-in.
    #[arg(long)]
    password: Option<String>,
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organisation (and its empty wallet).
    Create(OrgCreate),
}

#[derive(Args)]
struct OrgCreate {
    #[arg(long)]
    name: String,
    #[arg(long)]
    registration_number: Option<String>,
    /// South African VAT number: 10 digits starting with 4.
    #[arg(long)]
    vat_number: Option<String>,
    #[arg(long)]
    billing_email: Option<String>,
    /// The reseller itself (its staff and admins belong to it).
    #[arg(long)]
    operator: bool,
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Record a top-up (EFT received) on an organisation's wallet.
    Credit(WalletCredit),
    /// Check every wallet against its ledger; exits 1 naming each wallet that fails.
    Verify,
}

#[derive(Args)]
struct WalletCredit {
    /// Organisation name (or id).
    #[arg(long)]
    org: String,
    /// Amount in rand, e.g. 1500.00 (positive, at most two decimals).
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
    /// Bank reference of the payment.
    #[arg(long)]
    reference: String,
    /// Makes a retried command safe: the same key (a UUID, however written) credits
    /// once. Default: a new key.
    #[arg(long)]
    idempotency_key: Option<String>,
}

#[derive(Args)]
struct BackupArgs {
    /// The archive to write (a tar file); it must not exist yet.
    #[arg(long)]
    to: PathBuf,
}

#[derive(Args)]
struct RestoreArgs {
    /// An archive written by `portal backup`.
    #[arg(long)]
    from: PathBuf,
}

/// Bad input: the message and exit code 2.
struct Invalid(String);

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid(message.into())
}

/// Every password check allocates a 19 MiB argon2 block. glibc's malloc raises its mmap
/// threshold after the first such block is freed, so later ones come from per-thread
/// arenas and stay resident: measured, 8 sign-ins took the server from 11 MB to 129 MB,
/// and 8 more to 187 MB. A fixed threshold keeps big blocks in mmap, returned on free
/// (the same sign-ins: back to 12 MB, 51 MB at the peak).
fn return_big_allocations_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

pub fn main() -> ExitCode {
    return_big_allocations_to_the_system();
    let _ = dotenvy::dotenv();
    telemetry::init();
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if let Err(Invalid(message)) = check_arguments(&command) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    match run(command, settings) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Everything that can be checked without a database, checked before one is started.
fn check_arguments(command: &Command) -> Result<(), Invalid> {
    match command {
        Command::Seed { demo: false, scale: None } => {
            Err(invalid("say which data to load: `portal seed --demo` or `portal seed --scale [FACTOR]`"))
        }
        Command::Seed { scale: Some(factor), .. } => check_scale(factor).map(drop),
        Command::User(UserCommand::Create(args)) => {
            let email = Email::parse(&args.email).map_err(|e| invalid(format!("--email: {e}")))?;
            check_name("--name", &args.name)?;
            check_name("--role", &args.role)?;
            check_name("--org", &args.org)?;
            if let Some(password) = &args.password {
                NewPassword::parse(password, email.as_str()).map_err(|e| invalid(format!("--password: {e}")))?;
            }
            Ok(())
        }
        Command::Org(OrgCommand::Create(args)) => {
            check_name("--name", &args.name)?;
            if let Some(registration) = &args.registration_number {
                text::check(registration.trim(), Lines::One)
                    .map_err(|e| invalid(format!("--registration-number: {e}")))?;
            }
            if let Some(vat) = &args.vat_number {
                check_vat_number(vat)?;
            }
            if let Some(email) = &args.billing_email {
                Email::parse(email).map_err(|e| invalid(format!("--billing-email: {e}")))?;
            }
            Ok(())
        }
        Command::Wallet(WalletCommand::Credit(args)) => {
            check_name("--org", &args.org)?;
            check_credit_amount(&args.amount)?;
            check_name("--reference", &args.reference)?;
            check_idempotency_key(args.idempotency_key.as_deref())?;
            Ok(())
        }
        Command::Billing(BillingCommand::Run(args)) => check_run_date(args.date.as_deref()).map(drop),
        Command::Backup(args) => check_new_file("--to", &args.to),
        Command::Restore(args) if !args.from.is_file() => {
            Err(invalid(format!("--from: there is no file {}", args.from.display())))
        }
        _ => Ok(()),
    }
}

/// A scale factor: a number above 0, at most 10 (a hundred thousand organisations).
fn check_scale(raw: &str) -> Result<f64, Invalid> {
    match raw.trim().parse::<f64>() {
        Ok(factor) if factor > 0.0 && factor <= 10.0 => Ok(factor),
        _ => Err(invalid(format!("--scale: a factor above 0 and at most 10, e.g. 1 or 0.01 (got {raw:?})"))),
    }
}

fn check_run_date(raw: Option<&str>) -> Result<NaiveDate, Invalid> {
    match raw {
        None => Ok(today_sast()),
        Some(raw) => match parse_date(raw) {
            Ok(Some(date)) => Ok(date),
            Ok(None) => Err(invalid("--date must not be empty; leave it out to run for today")),
            Err(e) => Err(invalid(format!("--date: {e} (got {raw:?})"))),
        },
    }
}

fn check_name(flag: &str, value: &str) -> Result<(), Invalid> {
    text::check(value.trim(), Lines::One).map_err(|e| invalid(format!("{flag}: {e}")))?;
    let len = value.trim().chars().count();
    if len == 0 {
        return Err(invalid(format!("{flag} must not be empty")));
    }
    if len > 200 {
        return Err(invalid(format!("{flag} has at most 200 characters")));
    }
    Ok(())
}

/// A backup never overwrites a file, and goes into a folder that exists.
fn check_new_file(flag: &str, path: &Path) -> Result<(), Invalid> {
    if path.exists() {
        return Err(invalid(format!("{flag}: {} already exists; a backup never overwrites a file", path.display())));
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(invalid(format!("{flag}: there is no folder {}", folder.display())));
    }
    Ok(())
}

fn check_vat_number(vat: &str) -> Result<(), Invalid> {
    VatNumber::parse(vat).map(drop).map_err(|e| invalid(format!("--vat-number: {e}")))
}

fn check_idempotency_key(raw: Option<&str>) -> Result<IdempotencyKey, Invalid> {
    match raw {
        None => Ok(IdempotencyKey::new()),
        Some(raw) => IdempotencyKey::parse(raw).map_err(|e| invalid(format!("--idempotency-key: {e}"))),
    }
}

fn check_credit_amount(raw: &str) -> Result<Decimal, Invalid> {
    parse_top_up(raw).map_err(|e| invalid(format!("--amount: {e}")))
}

/// Where the databases are: the configured servers, or the private cluster (started
/// here, or reused when a `portal serve` already runs on the data folder).
struct Databases {
    urls: DatabaseUrls,
    cluster: Option<Cluster>,
}

impl Databases {
    /// Must run on the main thread: the private server lives as long as this thread.
    fn open(settings: &Settings) -> anyhow::Result<Databases> {
        match &settings.database_urls {
            Some(urls) => Ok(Databases { urls: urls.clone(), cluster: None }),
            None => {
                let options = ClusterOptions { durable: true, bin_dir: settings.pg_bin.clone() };
                let cluster = Cluster::start(&settings.data_dir, &options)?;
                Ok(Databases { urls: cluster.database_urls(), cluster: Some(cluster) })
            }
        }
    }

    /// Creates (private cluster only) and migrates the three databases; their pools.
    async fn migrated(&self) -> anyhow::Result<Pools> {
        if let Some(cluster) = &self.cluster {
            let created = cluster.create_databases(&DATABASES.map(|db| db.cluster_name), None).await?;
            if !created.is_empty() {
                tracing::info!(?created, "databases created");
            }
        }
        migrate::run_all(&self.urls).await?;
        Ok(Pools::new(&self.urls, CONNECTIONS_PER_DATABASE))
    }

    /// Why there is nothing to verify: the private cluster has no main database, or the
    /// main database is not (fully) migrated. Nothing is created or migrated here.
    async fn not_verifiable(&self) -> anyhow::Result<Option<String>> {
        if let Some(cluster) = &self.cluster {
            let main = DATABASES[0].cluster_name;
            if !cluster.missing_databases(&[main]).await?.is_empty() {
                return Ok(Some(format!(
                    "there are no databases to verify: the private cluster has no {main} database \
                     (nothing was created)"
                )));
            }
        }
        migrate::main_not_current(self.urls.main.expose_secret()).await
    }

    fn close(self) {
        if let Some(cluster) = self.cluster {
            cluster.stop();
        }
    }
}

/// Connections one process opens to each database at most (a serve splits them
/// between its workers).
const CONNECTIONS_PER_DATABASE: usize = 16;

fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    // Verifying reads what is there: an empty data folder has no wallets to check, and
    // starting a cluster in it (let alone creating databases) would report a clean bill
    // of health for nothing.
    let pgdata = settings.data_dir.join("pg");
    if matches!(command, Command::Wallet(WalletCommand::Verify))
        && settings.database_urls.is_none()
        && !pgdata.join("PG_VERSION").exists()
    {
        return refuse(format!(
            "there are no databases to verify: {} holds no PostgreSQL cluster. Set DATABASE_URL_MAIN, \
             DATABASE_URL_AAS and DATABASE_URL_ENETWORKS, or run in the folder of the portal's data \
             (PORTAL_DATA_DIR)",
            settings.data_dir.display()
        ));
    }
    let databases = Databases::open(&settings)?;
    let system = actix_web::rt::System::new();
    let result = system.block_on(async {
        match command {
            Command::Serve => {
                let pools = databases.migrated().await?;
                serve(&settings, &databases.urls, pools, databases.cluster.is_some()).await
            }
            Command::Migrate => {
                databases.migrated().await?;
                println!("The three databases are migrated.");
                Ok(ExitCode::SUCCESS)
            }
            Command::Seed { demo, scale } => {
                let pools = databases.migrated().await?;
                if demo {
                    let seeded = seed::seed_demo(&pools).await?;
                    println!("Demo data loaded into {seeded} of 3 databases (the others already had it).");
                }
                if let Some(raw) = scale {
                    let factor = check_scale(&raw).map_err(|Invalid(m)| anyhow::anyhow!(m))?;
                    seed_scale(&pools, factor).await?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::User(UserCommand::Create(args)) => user_create(&databases.migrated().await?, args).await,
            Command::Org(OrgCommand::Create(args)) => org_create(&databases.migrated().await?, args).await,
            Command::Wallet(WalletCommand::Credit(args)) => wallet_credit(&databases.migrated().await?, args).await,
            Command::Wallet(WalletCommand::Verify) => {
                if let Some(reason) = databases.not_verifiable().await? {
                    return refuse(reason);
                }
                wallet_verify(&Pools::new(&databases.urls, 1)).await
            }
            // A backup reads the databases as they are; a restore needs them empty.
            Command::Billing(BillingCommand::Run(args)) if args.dry_run => {
                if let Some(reason) = migrate::main_not_current(databases.urls.main.expose_secret()).await? {
                    return refuse(reason);
                }
                billing_run(&Pools::new(&databases.urls, 1), &settings, args).await
            }
            Command::Billing(BillingCommand::Run(args)) => {
                billing_run(&databases.migrated().await?, &settings, args).await
            }
            Command::Backup(args) => backup(&databases, &settings, &args.to).await,
            Command::Restore(args) => restore(&databases, &settings, &args.from).await,
        }
    });
    databases.close();
    result
}

async fn seed_scale(pools: &Pools, factor: f64) -> anyhow::Result<()> {
    let counts = seed::ScaleCounts::times(factor);
    let started = std::time::Instant::now();
    if seed::seed_scale(pools, counts).await? {
        println!(
            "Scale data loaded in {:.1} s: {} organisations, {} users, {} quotes, {} activity rows, {} alerts.",
            started.elapsed().as_secs_f64(),
            counts.organisations,
            counts.users,
            counts.quotes,
            counts.activity,
            counts.alerts
        );
    } else {
        println!("The scale data is already loaded; nothing changed.");
    }
    Ok(())
}

async fn serve(
    settings: &Settings,
    urls: &DatabaseUrls,
    pools: Pools,
    private_cluster: bool,
) -> anyhow::Result<ExitCode> {
    let listener = TcpListener::bind(&settings.addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {} ({e}); set PORTAL_ADDR to a free address", settings.addr))?;
    if private_cluster && seed::is_empty(&pools).await? {
        let seeded = seed::seed_demo(&pools).await?;
        tracing::info!(seeded, "first start: demo data loaded");
    }
    let key = settings.session_key_bytes()?;
    let sessions = Sessions::connect(settings.redis_url.as_ref().map(|url| url.expose_secret())).await?;
    let address = listener.local_addr()?;
    println!("\nReseller portal: http://{address}/");
    if seed::has_demo_users(&pools).await? {
        println!("Demo sign-ins (password {}):", seed::DEMO_PASSWORD);
        for (email, who) in seed::DEMO_SIGN_INS {
            println!("  {email:<22} {who}");
        }
        println!("Second factor: authenticator key {} (TOTP, 6 digits, 30 s).", seed::DEMO_TOTP_SECRET);
    }
    println!("Stop with Ctrl-C.\n");
    // These pools' connections are driven by this thread; the workers open their own.
    drop(pools);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_worker = CONNECTIONS_PER_DATABASE.div_ceil(workers);
    let shared = Shared::new(settings.vat_rate)
        .with_metrics_token(settings.metrics_token.clone())
        .with_public_url(settings.public_url.as_deref())
        .with_grace_days(settings.grace_days)
        .with_api_rate(settings.api_rate, settings.api_burst)
        .with_redis(settings.redis_url.as_ref().map(|url| url.expose_secret()));
    actix_web::rt::spawn(jobs::hourly(
        urls.main.clone(),
        shared.metrics.clone(),
        settings.grace_days,
        settings.vat_rate,
    ));
    let urls = urls.clone();
    let state = move || AppState::new(Pools::new(&urls, per_worker), &shared);
    startup::run(state, listener, &key, sessions, workers)?.await?;
    Ok(ExitCode::SUCCESS)
}

/// Finds an organisation by name, or by id when the argument is a number.
async fn find_org(pools: &Pools, name_or_id: &str) -> anyhow::Result<Option<Organisation>> {
    let mut conn = pools.main.get().await?;
    if let Some(org) = organisations::find_by_name(&mut conn, name_or_id).await? {
        return Ok(Some(org));
    }
    match name_or_id.trim().parse::<i64>() {
        Ok(id) => Ok(organisations::find_by_id(&mut conn, OrganisationId(id)).await?),
        Err(_) => Ok(None),
    }
}

fn refuse(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(2))
}

async fn user_create(pools: &Pools, args: UserCreate) -> anyhow::Result<ExitCode> {
    let email = Email::parse(&args.email).map_err(anyhow::Error::msg)?;
    let Some(org) = find_org(pools, &args.org).await? else {
        return refuse(format!("--org: no organisation named {:?}", args.org));
    };
    let (password, temporary) = match args.password {
        Some(p) => (p, false),
        None => (crate::domain::password::temporary(), true),
    };
    let hash = auth::password::hash_blocking(password.clone()).await?;
    let mut conn = pools.main.get().await?;
    let new = NewUser {
        organisation_id: org.id,
        email: &email,
        name: args.name.trim(),
        password_hash: &hash,
        must_change_password: temporary,
    };
    match users::create(&mut conn, &new, args.role.trim()).await {
        Ok(id) => {
            println!(
                "Created user #{id} {} in {} with role {}.",
                email.as_str(),
                escape_controls(&org.name),
                args.role.trim()
            );
            if temporary {
                println!("Temporary password (shown once; it must be changed at first sign-in): {password}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(users::CreateUserError::Database(e)) => Err(e.into()),
        Err(e) => refuse(e),
    }
}

async fn org_create(pools: &Pools, args: OrgCreate) -> anyhow::Result<ExitCode> {
    // Checked before anything started (`check_arguments`); parsed again for the values.
    let vat_number = args.vat_number.as_deref().map(VatNumber::parse).transpose().map_err(anyhow::Error::msg)?;
    let billing_email = args.billing_email.as_deref().map(Email::parse).transpose().map_err(anyhow::Error::msg)?;
    let mut conn = pools.main.get().await?;
    let new = NewOrganisation {
        name: args.name.trim(),
        registration_number: args.registration_number.as_deref().map(str::trim),
        vat_number: vat_number.as_ref(),
        billing_email: billing_email.as_ref(),
        is_operator: args.operator,
        address: None,
    };
    match organisations::create(&mut conn, &new).await {
        Ok(id) => {
            println!("Created organisation #{id} {}.", new.name);
            Ok(ExitCode::SUCCESS)
        }
        Err(CreateOrganisationError::NameTaken) => {
            refuse(format!("--name: an organisation named {:?} already exists", new.name))
        }
        Err(CreateOrganisationError::Database(e)) => Err(e.into()),
    }
}

async fn wallet_credit(pools: &Pools, args: WalletCredit) -> anyhow::Result<ExitCode> {
    let amount = check_credit_amount(&args.amount).map_err(|Invalid(m)| anyhow::anyhow!(m))?;
    let Some(org) = find_org(pools, &args.org).await? else {
        return refuse(format!("--org: no organisation named {:?}", args.org));
    };
    let key = check_idempotency_key(args.idempotency_key.as_deref()).map_err(|Invalid(m)| anyhow::anyhow!(m))?;
    let mut conn = pools.main.get().await?;
    let credit = NewCredit {
        organisation_id: org.id,
        amount,
        reference: args.reference.trim(),
        description: "Top-up recorded with `portal wallet credit`",
        idempotency_key: key.as_str(),
        created_by: None,
        ip: None,
    };
    match wallets::credit(&mut conn, &credit).await {
        Ok(CreditOutcome::Credited(tx)) => {
            println!(
                "Credited {} to {}; the balance is now {}.",
                format_zar(amount),
                escape_controls(&org.name),
                format_zar(tx.balance_after)
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(CreditOutcome::AlreadyRecorded(tx)) => {
            println!(
                "This top-up was already recorded (transaction #{}); nothing changed. Balance after it: {}.",
                tx.id,
                format_zar(tx.balance_after)
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(wallets::CreditError::Database(e)) => Err(e.into()),
        Err(e) => refuse(e),
    }
}

async fn wallet_verify(pools: &Pools) -> anyhow::Result<ExitCode> {
    let mut conn = pools.main.get().await?;
    let checks = verify::check_all(&mut conn).await?;
    let mut failed = 0;
    for check in &checks {
        let problems = check.problems();
        if problems.is_empty() {
            println!(
                "ok    wallet {} ({}): balance {} = ledger of {} transactions",
                check.wallet_id,
                escape_controls(&check.organisation),
                format_zar(check.balance),
                check.transactions
            );
        } else {
            failed += 1;
            let organisation = escape_controls(&check.organisation);
            println!("FAIL  wallet {} ({organisation}): {}", check.wallet_id, problems.join("; "));
        }
    }
    println!("{} wallets checked, {failed} failed.", checks.len());
    let series = verify::check_series(&mut conn).await?;
    match series.problems().as_slice() {
        [] => println!(
            "ok    invoice series: {} documents numbered 1 to {} without a gap",
            series.documents, series.highest
        ),
        problems => {
            failed += 1;
            println!("FAIL  invoice series: {}", problems.join("; "));
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn billing_run(pools: &Pools, settings: &Settings, args: BillingRun) -> anyhow::Result<ExitCode> {
    let date = check_run_date(args.date.as_deref()).map_err(|Invalid(m)| anyhow::anyhow!(m))?;
    let options = RunOptions {
        date,
        grace_days: settings.grace_days,
        vat_rate: settings.vat_rate,
        dry_run: args.dry_run,
        source: RunSource::Cli,
    };
    let mut conn = pools.main.get().await?;
    let mut pooled = Vec::new();
    if !args.dry_run {
        for _ in 0..billing::WORKERS {
            pooled.push(pools.main.get().await?);
        }
    }
    let mut workers: Vec<&mut diesel_async::AsyncPgConnection> = pooled.iter_mut().map(|c| &mut **c).collect();
    let verb = if args.dry_run { "would charge" } else { "charged" };
    let summary = billing::run(&mut conn, &mut workers, options, |bill| {
        let name = escape_controls(&bill.name);
        let months = bill.plan.charges.len();
        let total = format_zar(bill.plan.total);
        if bill.plan.short {
            println!("short    {name}: {months} month(s) due, {total}; the wallet cannot pay it");
        } else if months > 0 {
            println!("{verb:<8} {name}: {months} month(s), {total}");
        }
    })
    .await?;
    println!(
        "Billing {} for {date}: {} month(s) {verb} to {} organisation(s), {} in all; {} short{}.",
        if args.dry_run { "dry run" } else { "run" },
        summary.months_charged,
        summary.organisations_charged,
        format_zar(summary.total_charged),
        summary.organisations_short,
        if summary.organisations_skipped > 0 {
            format!("; {} skipped this time (busy), the next run takes them", summary.organisations_skipped)
        } else {
            String::new()
        },
    );
    Ok(ExitCode::SUCCESS)
}

async fn backup(databases: &Databases, settings: &Settings, to: &Path) -> anyhow::Result<ExitCode> {
    let tools = Tools::find(settings.pg_bin.as_deref())?;
    let manifest = backup::write(&tools, &databases.urls, to).await?;
    for dump in &manifest.databases {
        println!(
            "{:<10} {} tables, {} rows, as of {} ({} bytes, sha256 {})",
            dump.name,
            dump.tables.len(),
            dump.rows(),
            dump.snapshot_at.format("%Y-%m-%d %H:%M:%S%.3f UTC"),
            dump.bytes,
            &dump.sha256[..16]
        );
    }
    println!(
        "Backed up {} databases into {} ({}).",
        manifest.databases.len(),
        to.display(),
        manifest.postgresql_version
    );
    Ok(ExitCode::SUCCESS)
}

async fn restore(databases: &Databases, settings: &Settings, from: &Path) -> anyhow::Result<ExitCode> {
    let tools = Tools::find(settings.pg_bin.as_deref())?;
    let archive = match Archive::open(from) {
        Ok(archive) => archive,
        Err(OpenError::Damaged(message)) => return refuse(message),
        Err(OpenError::Io(e)) => return Err(anyhow::Error::new(e).context(format!("reading {}", from.display()))),
    };
    if let Some(cluster) = &databases.cluster {
        cluster.create_databases(&DATABASES.map(|db| db.cluster_name), None).await?;
    }
    let occupied = backup::occupied(&databases.urls).await?;
    if !occupied.is_empty() {
        for (name, relations) in &occupied {
            eprintln!("error: database {name} is not empty ({relations} tables, sequences or views)");
        }
        return refuse("a backup is restored only into empty databases; nothing was restored");
    }
    let checks = archive.restore(&tools, &databases.urls).await?;
    let mut failed = 0;
    for check in &checks {
        if check.mismatches.is_empty() {
            println!("ok    {}: {} tables, {} rows, as in the backup", check.database, check.tables, check.rows);
        } else {
            failed += 1;
            println!("FAIL  {}: {}", check.database, check.mismatches.join("; "));
        }
    }
    let manifest = &archive.manifest;
    println!(
        "Restored {} databases from {} (made {} by portal {}); {failed} differ from the backup.",
        checks.len(),
        from.display(),
        manifest.created_at.format("%Y-%m-%d %H:%M UTC"),
        manifest.portal_version
    );
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
