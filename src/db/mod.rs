//! Database access: one pool per database, each behind its own newtype so a catalog
//! query can never run on the main pool (or the other way round). No SQL spans two.

pub mod aas;
pub mod backup;
pub mod cache;
pub mod cluster;
pub mod enetworks;
pub mod main;
pub mod migrate;
pub mod pipeline;
pub mod price_editor;
pub mod registry;
pub mod seed;

use std::marker::PhantomData;
use std::time::Duration;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use secrecy::{ExposeSecret, SecretString};

use crate::config::DatabaseUrls;

pub type PooledConn = Object<AsyncPgConnection>;

/// How long a request waits for a connection (or for a new one to be made) before it
/// is answered with 503.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

macro_rules! pool_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Pool<AsyncPgConnection>);

        impl $name {
            pub fn new(url: &str, max_size: usize) -> Self {
                Self(build_pool(url, max_size))
            }

            pub async fn get(&self) -> Result<PooledConn, PoolError> {
                self.0.get().await
            }

            /// Size, idle connections and waiting requests, for `/metrics`.
            pub fn status(&self) -> deadpool::Status {
                self.0.status()
            }
        }
    };
}

pool_newtype!(
    /// organisations, users, roles, quotes, wallets, logs, alerts.
    MainPool
);
pool_newtype!(
    /// categories, products, VM templates.
    AasPool
);
pool_newtype!(
    /// the five network providers' price tables.
    EnetworksPool
);

fn build_pool(url: &str, max_size: usize) -> Pool<AsyncPgConnection> {
    // Fast: a connection comes back from the pool without a test query (the default runs
    // one at every checkout: a round trip per checkout, two per request). A connection
    // whose server went away is still dropped (it reports itself closed), and a query on
    // one that breaks meanwhile is answered with 503.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(POOL_TIMEOUT))
        .create_timeout(Some(POOL_TIMEOUT))
        .recycle_timeout(Some(POOL_TIMEOUT))
        .build()
        .expect("a pool with a runtime and timeouts always builds")
}

/// A struct diesel reads a table's rows into, and its mapping field by field into the
/// plain type of the same fields that the domain defines (and prices from). The domain
/// stays free of diesel and the schema; a field the two do not share fails to compile.
macro_rules! record {
    (
        $(#[$doc:meta])*
        $record:ident from $table:ident into $domain:ident {
            $($(#[$attr:meta])* $field:ident: $ty:ty),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(diesel::Queryable, diesel::Selectable)]
        #[diesel(table_name = $table, check_for_backend(diesel::pg::Pg))]
        struct $record {
            $($(#[$attr])* $field: $ty),+
        }

        impl From<$record> for $domain {
            fn from(record: $record) -> Self {
                Self { $($field: record.$field),+ }
            }
        }
    };
}
pub(crate) use record;

/// Records as the domain's values (see [`record!`]).
pub fn into_domain<R, T: From<R>>(records: Vec<R>) -> Vec<T> {
    records.into_iter().map(T::from).collect()
}

/// Fixed SQL with `$1`, `$2`, … parameters, which diesel prepares once per connection
/// and then reuses. `diesel::sql_query` is prepared anew on every call, and so (in
/// diesel 2.3) is every `UPDATE`, every insert with an optional column and every
/// `ON CONFLICT` clause: each costs a round trip of its own (Parse and Describe before
/// Bind and Execute), during which diesel-async holds the connection's statement cache,
/// so the statements pipelined after it wait too. For the statements of hot paths and
/// of pipelines that must stay one round trip. Rows load through `QueryableByName`.
/// The SQL holds no `$` other than its placeholders.
pub struct Prepared<'a> {
    sql: &'static str,
    params: Vec<Box<dyn Param + Send + Sync + 'a>>,
}

trait Param {
    fn push<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

struct Typed<ST, U>(U, PhantomData<fn() -> ST>);

impl<ST, U> Param for Typed<ST, U>
where
    Pg: HasSqlType<ST>,
    U: ToSql<ST, Pg>,
{
    fn push<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, U>(&self.0)
    }
}

impl<'a> Prepared<'a> {
    pub fn new(sql: &'static str) -> Self {
        Prepared { sql, params: Vec::new() }
    }

    /// The next parameter (`$1` first), as `sql_query`'s `bind`.
    pub fn bind<ST, U>(mut self, value: U) -> Self
    where
        ST: 'static,
        Pg: HasSqlType<ST>,
        U: ToSql<ST, Pg> + Send + Sync + 'a,
    {
        self.params.push(Box::new(Typed::<ST, U>(value, PhantomData)));
        self
    }
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut rest = self.sql;
        while let Some(at) = rest.find('$') {
            out.push_sql(&rest[..at]);
            let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
            let n: usize = rest[at + 1..at + 1 + digits].parse().map_err(|_| placeholder_error(self.sql))?;
            let param = self.params.get(n.wrapping_sub(1)).ok_or_else(|| placeholder_error(self.sql))?;
            param.push(out.reborrow())?;
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

fn placeholder_error(sql: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(format!("a placeholder without its parameter in: {sql}").into())
}

impl QueryId for Prepared<'_> {
    type QueryId = ();
    /// Cached by its SQL text, not by type: each text is its own statement.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}

/// Whether the server behind `conn` answers (`/readyz`).
pub async fn ping(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    use diesel_async::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn).await.map(drop)
}

/// `text` as an ILIKE pattern matching it literally anywhere.
pub fn like_pattern(text: &str) -> String {
    format!("%{}%", escape_like(text))
}

/// `text` with LIKE's wildcards (and its escape character, the backslash) escaped.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[derive(Clone)]
pub struct Pools {
    pub main: MainPool,
    pub aas: AasPool,
    pub enetworks: EnetworksPool,
    /// Main-database connections for long exports only (a quarter of `main`'s size, at
    /// least one): a slow download holds one of these, never one that pages need.
    pub exports: MainPool,
    /// The main database, for a worker's connection of its own (`copies::listen`).
    pub main_url: SecretString,
}

impl Pools {
    pub fn new(urls: &DatabaseUrls, max_size: usize) -> Self {
        Pools {
            main: MainPool::new(urls.main.expose_secret(), max_size),
            aas: AasPool::new(urls.aas.expose_secret(), max_size),
            enetworks: EnetworksPool::new(urls.enetworks.expose_secret(), max_size),
            exports: MainPool::new(urls.main.expose_secret(), max_size.div_ceil(4)),
            main_url: urls.main.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::{BigInt, Text};

    use super::*;

    #[test]
    fn prepared_sql_keeps_its_text_and_numbers_each_parameter_in_turn() {
        let query = Prepared::new("SELECT $1 || name FROM t WHERE id = $2 AND owner = $1")
            .bind::<Text, _>("x")
            .bind::<BigInt, _>(7_i64);
        let sql = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(sql.starts_with("SELECT $1 || name FROM t WHERE id = $2 AND owner = $3"), "{sql}");
        assert!(sql.contains(r#"["x", 7, "x"]"#), "{sql}");
    }

    #[test]
    fn a_placeholder_without_its_parameter_is_an_error_not_a_panic() {
        use std::fmt::Write;
        let query = Prepared::new("SELECT $2").bind::<BigInt, _>(1_i64);
        let mut sql = String::new();
        assert!(write!(sql, "{}", diesel::debug_query::<Pg, _>(&query)).is_err());
    }
}
