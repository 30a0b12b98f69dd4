//! The second factor's rows: a user's TOTP secret, the last time step accepted, and
//! their recovery codes. Using a code is one conditional `UPDATE`, so two requests with
//! the same code cannot both succeed. Every change is written to the activity log in
//! its own transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use super::activity::Actor;
use super::schema::{recovery_codes, users};
use super::users::target;
use crate::domain::ids::{OrganisationId, UserId};

/// A confirmed enrolment.
pub struct Enrolment {
    pub secret: String,
    pub enrolled_at: DateTime<Utc>,
    pub recovery_codes_left: i64,
}

pub async fn enrolment(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Option<Enrolment>> {
    let row: Option<(Option<String>, Option<DateTime<Utc>>)> =
        users::table.find(user).select((users::totp_secret, users::totp_enrolled_at)).first(conn).await.optional()?;
    let Some((Some(secret), Some(enrolled_at))) = row else { return Ok(None) };
    let recovery_codes_left = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user).and(recovery_codes::used_at.is_null()))
        .count()
        .get_result(conn)
        .await?;
    Ok(Some(Enrolment { secret, enrolled_at, recovery_codes_left }))
}

/// Takes time step `step` for `user`: true if it is later than every step used before
/// (a code is good once, even within its 30 seconds).
pub async fn use_step(conn: &mut AsyncPgConnection, user: UserId, step: i64) -> QueryResult<bool> {
    let taken = diesel::update(
        users::table
            .find(user)
            .filter(users::totp_secret.is_not_null())
            .filter(users::totp_last_step.is_null().or(users::totp_last_step.lt(step))),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)
    .await?;
    Ok(taken == 1)
}

/// Spends one of `user`'s unused recovery codes: true if `hash` was one.
pub async fn use_recovery_code(conn: &mut AsyncPgConnection, user: UserId, hash: &[u8]) -> QueryResult<bool> {
    let used = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(used == 1)
}

async fn replace_codes(conn: &mut AsyncPgConnection, user: UserId, hashes: &[Vec<u8>]) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user))).execute(conn).await?;
    let rows: Vec<_> =
        hashes.iter().map(|h| (recovery_codes::user_id.eq(user), recovery_codes::code_hash.eq(h))).collect();
    diesel::insert_into(recovery_codes::table).values(rows).execute(conn).await.map(drop)
}

/// Confirms an enrolment: the secret the user's app showed `step`'s code for, and new
/// recovery codes. False (nothing changed) if the user enrolled meanwhile.
pub async fn enrol(
    conn: &mut AsyncPgConnection,
    user: UserId,
    secret: &str,
    step: i64,
    hashes: &[Vec<u8>],
    actor: &Actor,
) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        let org: Option<OrganisationId> = diesel::update(users::table.find(user).filter(users::totp_secret.is_null()))
            .set((
                users::totp_secret.eq(secret),
                users::totp_enrolled_at.eq(diesel::dsl::now),
                users::totp_last_step.eq(step),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .returning(users::organisation_id)
            .get_result(conn)
            .await
            .optional()?;
        let Some(org) = org else { return Ok(false) };
        replace_codes(conn, user, hashes).await?;
        let detail = json!({ "recovery_codes": hashes.len() });
        actor.record(conn, "second_factor.enrolled", Some(org), &target(user), detail).await?;
        Ok(true)
    })
    .await
}

/// New recovery codes in place of the old ones, used or not.
pub async fn renew_recovery_codes(
    conn: &mut AsyncPgConnection,
    user: UserId,
    hashes: &[Vec<u8>],
    actor: &Actor,
) -> QueryResult<()> {
    conn.transaction(async |conn| {
        let org: OrganisationId =
            users::table.find(user).select(users::organisation_id).for_update().first(conn).await?;
        replace_codes(conn, user, hashes).await?;
        let detail = json!({ "recovery_codes": hashes.len() });
        actor.record(conn, "second_factor.recovery_codes_renewed", Some(org), &target(user), detail).await
    })
    .await
}

/// Who turns it off: the user themselves, or an administrator resetting it (which
/// also ends the user's sessions, so they enrol again at their next sign-in).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    ByUser,
    ByAdmin,
}

/// Forgets the secret and the recovery codes. Returns whether there was an enrolment.
pub async fn remove(conn: &mut AsyncPgConnection, user: UserId, removal: Removal, actor: &Actor) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        let (org, enrolled_at): (OrganisationId, Option<DateTime<Utc>>) = users::table
            .find(user)
            .select((users::organisation_id, users::totp_enrolled_at))
            .for_update()
            .first(conn)
            .await?;
        let ends_sessions = removal == Removal::ByAdmin;
        diesel::update(users::table.find(user))
            .set((
                users::totp_secret.eq(None::<String>),
                users::totp_enrolled_at.eq(None::<DateTime<Utc>>),
                users::totp_last_step.eq(None::<i64>),
                users::session_version.eq(users::session_version + i32::from(ends_sessions)),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user))).execute(conn).await?;
        let action = match removal {
            Removal::ByUser => "second_factor.removed",
            Removal::ByAdmin => "user.second_factor_reset",
        };
        let detail = json!({ "before": { "enrolled_at": enrolled_at }, "after": { "enrolled_at": null } });
        actor.record(conn, action, Some(org), &target(user), detail).await?;
        Ok(enrolled_at.is_some())
    })
    .await
}
