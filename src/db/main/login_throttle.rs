//! Failed sign-ins, counted per (email address as typed, client address): the first
//! [`FREE_FAILURES`] cost nothing, each one after that makes the pair wait, from
//! [`FIRST_DELAY_SECS`] doubling per failure up to [`MAX_DELAY_SECS`]. A stranger
//! guessing from elsewhere slows down only themselves, never the account's owner, and
//! an address with no account behaves exactly like one with an account. The count
//! starts again after [`FORGET_AFTER_SECS`] without a failure, or at a success.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Failures allowed before a pair has to wait.
pub const FREE_FAILURES: i32 = 5;
/// The wait after the last free failure; it doubles with each failure after it.
pub const FIRST_DELAY_SECS: i32 = 30;
/// The longest wait.
pub const MAX_DELAY_SECS: i32 = 15 * 60;
/// A pair that has not failed for this long starts again from nothing.
pub const FORGET_AFTER_SECS: i32 = 60 * 60;

/// How long a pair waits after `failures` failures (none while they are free).
pub fn delay_after(failures: i32) -> Option<i32> {
    let over = failures.checked_sub(FREE_FAILURES).filter(|over| *over >= 0)?;
    Some(FIRST_DELAY_SECS.saturating_mul(1 << over.min(20)).min(MAX_DELAY_SECS))
}

#[derive(QueryableByName, Debug)]
pub struct Failure {
    #[diesel(sql_type = Int4)]
    pub failures: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub blocked_until: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct Until {
    #[diesel(sql_type = Timestamptz)]
    blocked_until: DateTime<Utc>,
}

/// Until when this pair must wait before an attempt is checked, if it must.
pub async fn blocked_until(conn: &mut AsyncPgConnection, email: &str, ip: &str) -> QueryResult<Option<DateTime<Utc>>> {
    let row: Option<Until> = diesel::sql_query(
        "SELECT blocked_until FROM login_throttles
         WHERE email = lower($1) AND ip = $2 AND blocked_until > now()",
    )
    .bind::<Text, _>(email)
    .bind::<Text, _>(ip)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.blocked_until))
}

/// Counts a failed attempt (in one statement, so concurrent failures all count) and
/// sets the pair's wait by [`delay_after`]; forgets pairs quiet for a day.
pub async fn record_failure(conn: &mut AsyncPgConnection, email: &str, ip: &str) -> QueryResult<Failure> {
    diesel::sql_query("DELETE FROM login_throttles WHERE last_failure_at < now() - interval '1 day'")
        .execute(conn)
        .await?;
    let counted: Failure = diesel::sql_query(
        "INSERT INTO login_throttles AS t (email, ip, failures, last_failure_at)
         VALUES (lower($1), $2, 1, now())
         ON CONFLICT (email, ip) DO UPDATE SET
             failures = CASE WHEN t.last_failure_at < now() - make_interval(secs => $3) THEN 1
                             ELSE t.failures + 1 END,
             last_failure_at = now()
         RETURNING t.failures, t.blocked_until",
    )
    .bind::<Text, _>(email)
    .bind::<Text, _>(ip)
    .bind::<Int4, _>(FORGET_AFTER_SECS)
    .get_result(conn)
    .await?;
    let Some(delay) = delay_after(counted.failures) else { return Ok(counted) };
    // Only while no later failure has counted: that one sets its own, longer wait.
    let until: Option<Until> = diesel::sql_query(
        "UPDATE login_throttles SET blocked_until = now() + make_interval(secs => $4)
         WHERE email = lower($1) AND ip = $2 AND failures = $3
         RETURNING blocked_until",
    )
    .bind::<Text, _>(email)
    .bind::<Text, _>(ip)
    .bind::<Int4, _>(counted.failures)
    .bind::<Int4, _>(delay)
    .get_result(conn)
    .await
    .optional()?;
    Ok(Failure { blocked_until: until.map(|u| u.blocked_until).or(counted.blocked_until), ..counted })
}

/// A successful sign-in from this pair: its failures are forgotten.
pub async fn clear(conn: &mut AsyncPgConnection, email: &str, ip: &str) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM login_throttles WHERE email = lower($1) AND ip = $2")
        .bind::<Text, _>(email)
        .bind::<Text, _>(ip)
        .execute(conn)
        .await
        .map(drop)
}

/// What the throttle holds for one email address, from every client address.
#[derive(QueryableByName, Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Failures still counted.
    #[diesel(sql_type = Int4)]
    pub failures: i32,
    /// The latest wait still running, if any.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub blocked_until: Option<DateTime<Utc>>,
}

/// The failures still counted against `email`, from every address.
pub async fn summary(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Summary> {
    diesel::sql_query(
        "SELECT COALESCE(sum(failures) FILTER (WHERE last_failure_at > now() - make_interval(secs => $2)), 0)::int4
                    AS failures,
                max(blocked_until) FILTER (WHERE blocked_until > now()) AS blocked_until
         FROM login_throttles WHERE email = lower($1)",
    )
    .bind::<Text, _>(email)
    .bind::<Int4, _>(FORGET_AFTER_SECS)
    .get_result(conn)
    .await
}

/// An administrator's unlock: every address's failures for `email` are forgotten.
/// Returns what there was.
pub async fn clear_all(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Summary> {
    let before = summary(conn, email).await?;
    diesel::sql_query("DELETE FROM login_throttles WHERE email = lower($1)")
        .bind::<Text, _>(email)
        .execute(conn)
        .await?;
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_the_wait_doubles_up_to_fifteen_minutes() {
        for free in 0..=FREE_FAILURES - 1 {
            assert_eq!(delay_after(free), None, "{free}");
        }
        assert_eq!(delay_after(5), Some(30));
        assert_eq!(delay_after(6), Some(60));
        assert_eq!(delay_after(7), Some(120));
        assert_eq!(delay_after(9), Some(480));
        assert_eq!(delay_after(10), Some(900));
        assert_eq!(delay_after(1_000_000), Some(900));
    }
}
