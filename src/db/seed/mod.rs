//! Demo data in the production shape (DESIGN.md §8): 11 organisations, 18 users, the
//! AAS catalog (10 categories, 39 products, 24 VM templates) and the five network
//! providers' price tables, one funded wallet and a few quotes in each state.
//!
//! Each database's part runs in one transaction, under an advisory lock, and only on a
//! database that holds none of its rows yet: seeding twice changes nothing.

use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use crate::auth::password;
use crate::db::Pools;
use crate::db::registry::DATABASES;

/// The demo users' password (demo data only; stated in the README).
pub const DEMO_PASSWORD: &str = "demo-password-123";
/// The demo admin's and staff's authenticator key (main.sql; stated in the README).
pub const DEMO_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
/// The sign-ins printed at start-up.
pub const DEMO_SIGN_INS: [(&str, &str); 3] = [
    ("admin@demo.test", "admin, with a second factor"),
    ("staff@demo.test", "staff, with a second factor"),
    ("customer@demo.test", "customer, Acme Logistics"),
];
/// The placeholder main.sql writes for every password, replaced by one real hash.
const PASSWORD_PLACEHOLDER: &str = "seed:demo-password";
const SEED_LOCK_KEY: i64 = 0x7365_6564;

#[derive(diesel::QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    flag: bool,
}

/// Runs `sql` unless `guard` (an EXISTS query) finds the database already seeded.
/// Returns whether it ran.
async fn seed_one(
    conn: &mut AsyncPgConnection,
    guard: &str,
    sql: &str,
    password_hash: Option<&str>,
) -> anyhow::Result<bool> {
    let ran = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({SEED_LOCK_KEY})")).execute(conn).await?;
            let seeded: Flag = diesel::sql_query(format!("SELECT EXISTS ({guard}) AS flag")).get_result(conn).await?;
            if seeded.flag {
                return Ok(false);
            }
            conn.batch_execute(sql).await?;
            if let Some(hash) = password_hash {
                diesel::sql_query("UPDATE users SET password_hash = $1 WHERE password_hash = $2")
                    .bind::<Text, _>(hash)
                    .bind::<Text, _>(PASSWORD_PLACEHOLDER)
                    .execute(conn)
                    .await?;
            }
            Ok(true)
        })
        .await?;
    Ok(ran)
}

/// Seeds whichever of the registry's databases has no data yet; returns how many it
/// seeded.
pub async fn seed_demo(pools: &Pools) -> anyhow::Result<usize> {
    // One hash for all demo users: they share the demo password anyway.
    let hash = password::hash_blocking(DEMO_PASSWORD.to_owned()).await?;
    let mut seeded = 0;
    for db in &DATABASES {
        let mut conn = db.connection(pools).await.map_err(anyhow::Error::msg)?;
        seeded += usize::from(
            seed_one(&mut conn, db.seeded_when, db.seed_sql, db.holds_users.then_some(hash.as_str())).await?,
        );
    }
    Ok(seeded)
}

/// Whether the demo sign-ins exist (so that start-up prints them).
pub async fn has_demo_users(pools: &Pools) -> anyhow::Result<bool> {
    let mut main = pools.main.get().await?;
    let found: Flag = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1) AS flag")
        .bind::<Text, _>(DEMO_SIGN_INS[0].0)
        .get_result(&mut main)
        .await?;
    Ok(found.flag)
}

/// Whether the main database holds no organisation at all: a first start.
pub async fn is_empty(pools: &Pools) -> anyhow::Result<bool> {
    let mut main = pools.main.get().await?;
    let found: Flag =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM organisations) AS flag").get_result(&mut main).await?;
    Ok(!found.flag)
}

/// How many rows `portal seed --scale` loads: production volume times a factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleCounts {
    pub organisations: i64,
    pub users: i64,
    pub quotes: i64,
    pub activity: i64,
    pub alerts: i64,
}

impl ScaleCounts {
    /// The volume the portal is sized for (10 000 organisations, 20 000 users, 200 000
    /// quotes, a million activity rows, 100 000 alerts) times `factor`, at least one each.
    pub fn times(factor: f64) -> ScaleCounts {
        let n = |full: f64| ((full * factor).round() as i64).max(1);
        ScaleCounts {
            organisations: n(10_000.0),
            users: n(20_000.0),
            quotes: n(200_000.0),
            activity: n(1_000_000.0),
            alerts: n(100_000.0),
        }
    }
}

const SCALE_SQL: &str = include_str!("scale.sql");
/// The first organisation `scale.sql` makes: present, the scale data is loaded.
const SCALE_MARKER: &str = "Scale Trading 000001 (Pty) Ltd";

/// Loads the scale data set into the main database in one transaction (set-based SQL,
/// `generate_series`); false, changing nothing, when it is already there.
pub async fn seed_scale(pools: &Pools, counts: ScaleCounts) -> anyhow::Result<bool> {
    let sql = SCALE_SQL
        .replace(":orgs", &counts.organisations.to_string())
        .replace(":users", &counts.users.to_string())
        .replace(":quotes", &counts.quotes.to_string())
        .replace(":activity", &counts.activity.to_string())
        .replace(":alerts", &counts.alerts.to_string());
    let mut conn = pools.main.get().await?;
    let guard = format!("SELECT 1 FROM organisations WHERE name = '{SCALE_MARKER}'");
    seed_one(&mut conn, &guard, &sql, None).await
}
