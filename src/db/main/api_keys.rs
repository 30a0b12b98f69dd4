//! API keys (DESIGN.md §11): made, listed and revoked by their creator at
//! `/account/api-keys`, and looked up by prefix on every API request. Creation and
//! revocation write an activity row in the same transaction; the key itself is never
//! stored or logged, only its hash and prefix.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::activity::Actor;
use super::schema::api_keys;
use super::users::{self, SessionRow, SessionUser, session_user_sql};
use crate::db::Prepared;
use crate::domain::api_key::{KeyName, NewKey};
use crate::domain::ids::{ApiKeyId, UserId};

/// A key as its creator's list shows it.
#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Stores a new key of the actor's and logs it.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    name: &KeyName,
    key: &NewKey,
) -> QueryResult<ApiKeyId> {
    conn.transaction(async |conn| {
        let id: ApiKeyId = diesel::insert_into(api_keys::table)
            .values((
                api_keys::user_id.eq(actor.user_id),
                api_keys::name.eq(name.as_str()),
                api_keys::prefix.eq(&key.prefix),
                api_keys::secret_hash.eq(key.hash.as_slice()),
            ))
            .returning(api_keys::id)
            .get_result(conn)
            .await?;
        let detail = serde_json::json!({ "name": name.as_str(), "prefix": key.prefix });
        actor.record(conn, "api_key.create", Some(actor.organisation_id), &format!("api_key:{id}"), detail).await?;
        Ok(id)
    })
    .await
}

/// A user's keys, newest first.
pub async fn of_user(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Vec<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::user_id.eq(user))
        .order(api_keys::id.desc())
        .select(ApiKeyRow::as_select())
        .load(conn)
        .await
}

pub enum Revoked {
    Revoked,
    AlreadyRevoked,
    /// Not a key of the actor's.
    NotFound,
}

/// Revokes one of the actor's own keys; the next request with it is refused.
pub async fn revoke(conn: &mut AsyncPgConnection, id: ApiKeyId, actor: &Actor) -> QueryResult<Revoked> {
    conn.transaction(async |conn| {
        let key: Option<ApiKeyRow> = api_keys::table
            .find(id)
            .filter(api_keys::user_id.eq(actor.user_id))
            .select(ApiKeyRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(key) = key else { return Ok(Revoked::NotFound) };
        if key.revoked_at.is_some() {
            return Ok(Revoked::AlreadyRevoked);
        }
        diesel::update(api_keys::table.find(id)).set(api_keys::revoked_at.eq(diesel::dsl::now)).execute(conn).await?;
        let detail = serde_json::json!({ "name": key.name, "prefix": key.prefix });
        actor.record(conn, "api_key.revoke", Some(actor.organisation_id), &format!("api_key:{id}"), detail).await?;
        Ok(Revoked::Revoked)
    })
    .await
}

/// A stored key that a presented key may be (not revoked, with its prefix), with its
/// user as the session check sees them.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: ApiKeyId,
    pub secret_hash: Vec<u8>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub user: SessionUser,
}

impl Candidate {
    /// Its last use is worth noting again (at most once a minute: a write on every
    /// request would cost more than the answer).
    pub fn stale(&self) -> bool {
        self.last_used_at.is_none_or(|at| at < Utc::now() - chrono::Duration::minutes(1))
    }
}

/// One row of [`KEY_USER_SQL`]: a key and its user with one of their roles.
#[derive(QueryableByName)]
struct CandidateRow {
    #[diesel(embed)]
    key: KeyRow,
    #[diesel(embed)]
    user: SessionRow,
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = BigInt)]
    key_id: ApiKeyId,
    #[diesel(sql_type = Binary)]
    secret_hash: Vec<u8>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_used_at: Option<DateTime<Utc>>,
}

/// The session check from the key's side; an API answer shows no alert bell, so the
/// unread counters are not read.
const KEY_USER_SQL: &str = session_user_sql!(
    "0::bigint AS unread_alerts, k.id AS key_id, k.secret_hash, k.last_used_at",
    "api_keys k JOIN users u ON u.id = k.user_id",
    "",
    "k.prefix = $1 AND k.revoked_at IS NULL ORDER BY k.id"
);

/// The unrevoked keys with this prefix and their users, in one query: a bearer request
/// costs the database no more than a signed-in page's session check.
pub async fn unrevoked_with_prefix(conn: &mut AsyncPgConnection, prefix: &str) -> QueryResult<Vec<Candidate>> {
    let rows: Vec<CandidateRow> = Prepared::new(KEY_USER_SQL).bind::<Text, _>(prefix).load(conn).await?;
    // The rows come a key at a time, a row per role of its user.
    let mut keys: Vec<(KeyRow, Vec<SessionRow>)> = Vec::new();
    for CandidateRow { key, user } in rows {
        match keys.last_mut() {
            Some((last, users)) if last.key_id == key.key_id => users.push(user),
            _ => keys.push((key, vec![user])),
        }
    }
    Ok(keys
        .into_iter()
        .filter_map(|(key, rows)| {
            Some(Candidate {
                id: key.key_id,
                secret_hash: key.secret_hash,
                last_used_at: key.last_used_at,
                user: users::session_user(rows)?,
            })
        })
        .collect())
}

/// Notes the key's use now.
pub async fn touch(conn: &mut AsyncPgConnection, id: ApiKeyId) -> QueryResult<()> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::last_used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(drop)
}
