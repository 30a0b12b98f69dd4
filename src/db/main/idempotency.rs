//! The API's idempotency records (`api_idempotency`): the first answer to a POST sent
//! with an `Idempotency-Key`, per API key, replayed to every repeat of the same request
//! for at least a day. A request claims its key by inserting the row; one that finds
//! the row still unanswered waits for the answer (see `routes::api::idempotency`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::api_idempotency as idem;
use crate::domain::ids::ApiKeyId;

/// How long a claim may go unanswered before another request may take it over (its
/// request was dropped half way: the client went away, or the instance stopped).
pub const ABANDONED_AFTER_SECONDS: i64 = 60;

/// How long answers are kept.
pub const KEEP_HOURS: i64 = 24;

pub enum Claim {
    /// This request is the first (or takes over an abandoned one): answer it, then
    /// [`finish`].
    Claimed,
    /// The first request's answer.
    Answered { status: u16, body: String },
    /// The key was used with another request.
    OtherRequest,
    /// The first request is still being answered.
    InFlight,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = idem)]
struct Record {
    request_hash: Vec<u8>,
    response_status: Option<i32>,
    response_body: Option<String>,
    claimed_at: DateTime<Utc>,
}

pub async fn claim(
    conn: &mut AsyncPgConnection,
    key: ApiKeyId,
    idempotency_key: &str,
    request_hash: &[u8],
) -> QueryResult<Claim> {
    let inserted = diesel::insert_into(idem::table)
        .values((
            idem::api_key_id.eq(key),
            idem::idempotency_key.eq(idempotency_key),
            idem::request_hash.eq(request_hash),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if inserted == 1 {
        return Ok(Claim::Claimed);
    }
    let row = idem::table.find((key, idempotency_key)).select(Record::as_select()).first(conn).await.optional()?;
    // Removed between the two statements (an unanswerable request gave it up): ask again.
    let Some(Record { request_hash: hash, response_status: status, response_body: body, claimed_at }) = row else {
        return Ok(Claim::InFlight);
    };
    if hash != request_hash {
        return Ok(Claim::OtherRequest);
    }
    if let (Some(status), Some(body)) = (status, body) {
        return Ok(Claim::Answered { status: u16::try_from(status).unwrap_or(500), body });
    }
    if claimed_at < Utc::now() - chrono::Duration::seconds(ABANDONED_AFTER_SECONDS) {
        let taken = diesel::update(
            idem::table
                .find((key, idempotency_key))
                .filter(idem::response_status.is_null())
                .filter(idem::claimed_at.eq(claimed_at)),
        )
        .set(idem::claimed_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
        if taken == 1 {
            return Ok(Claim::Claimed);
        }
    }
    Ok(Claim::InFlight)
}

/// Stores the answer of a claimed key.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    key: ApiKeyId,
    idempotency_key: &str,
    status: u16,
    body: &str,
) -> QueryResult<()> {
    diesel::update(idem::table.find((key, idempotency_key)))
        .set((idem::response_status.eq(i32::from(status)), idem::response_body.eq(body)))
        .execute(conn)
        .await
        .map(drop)
}

/// Gives up a claimed key whose request could not be answered (the database was away):
/// a retry with it runs again, which is safe because acceptance is exactly-once in the
/// database whatever the key.
pub async fn release(conn: &mut AsyncPgConnection, key: ApiKeyId, idempotency_key: &str) -> QueryResult<()> {
    diesel::delete(idem::table.find((key, idempotency_key)).filter(idem::response_status.is_null()))
        .execute(conn)
        .await
        .map(drop)
}

/// Removes answers older than [`KEEP_HOURS`] (the hourly job).
pub async fn prune(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let cutoff = Utc::now() - chrono::Duration::hours(KEEP_HOURS);
    diesel::delete(idem::table.filter(idem::created_at.lt(cutoff))).execute(conn).await
}
