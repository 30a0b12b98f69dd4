//! Users: sign-in lookups, the lock-out counter, the per-request session check, creation.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Int4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::schema::{roles, user_roles, users};
use crate::domain::ids::{OrganisationId, RoleId, UserId};

/// Failed sign-ins allowed within the window before the account locks.
pub const LOCKOUT_ATTEMPTS: i32 = 10;

#[derive(QueryableByName, Debug)]
pub struct LoginUser {
    #[diesel(sql_type = BigInt)]
    pub id: UserId,
    #[diesel(sql_type = BigInt)]
    pub organisation_id: OrganisationId,
    #[diesel(sql_type = Text)]
    pub password_hash: String,
    #[diesel(sql_type = Bool)]
    pub is_active: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub locked_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub org_status: String,
    #[diesel(sql_type = Int4)]
    pub session_version: i32,
}

pub async fn find_for_login(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<LoginUser>> {
    diesel::sql_query(
        "SELECT u.id, u.organisation_id, u.password_hash, u.is_active, u.locked_until, \
                o.status AS org_status, u.session_version \
         FROM users u JOIN organisations o ON o.id = u.organisation_id \
         WHERE lower(u.email) = lower($1)",
    )
    .bind::<Text, _>(email)
    .get_result(conn)
    .await
    .optional()
}

#[derive(QueryableByName, Debug)]
pub struct FailedLogin {
    #[diesel(sql_type = Int4)]
    pub failed_login_count: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub locked_until: Option<DateTime<Utc>>,
}

/// Counts a failed sign-in in one statement (so concurrent failures all count): the
/// window restarts after 15 quiet minutes; the tenth failure in a window locks the
/// account for 15 minutes.
pub async fn record_failed_login(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<FailedLogin> {
    diesel::sql_query(
        "WITH fresh AS (
             SELECT id, (failed_login_window_start IS NULL
                         OR failed_login_window_start < now() - interval '15 minutes') AS restart
             FROM users WHERE id = $1 FOR UPDATE
         )
         UPDATE users u SET
             failed_login_count = CASE WHEN f.restart THEN 1 ELSE u.failed_login_count + 1 END,
             failed_login_window_start = CASE WHEN f.restart THEN now() ELSE u.failed_login_window_start END,
             locked_until = CASE WHEN (CASE WHEN f.restart THEN 1 ELSE u.failed_login_count + 1 END) >= $2
                                 THEN now() + interval '15 minutes' ELSE u.locked_until END
         FROM fresh f WHERE u.id = f.id
         RETURNING u.failed_login_count, u.locked_until",
    )
    .bind::<BigInt, _>(id)
    .bind::<Int4, _>(LOCKOUT_ATTEMPTS)
    .get_result(conn)
    .await
}

pub async fn record_successful_login(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_login_count.eq(0),
            users::failed_login_window_start.eq(None::<DateTime<Utc>>),
            users::locked_until.eq(None::<DateTime<Utc>>),
            users::last_login_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Ends every session issued to this user so far (sign-out, password or role change).
pub async fn bump_session_version(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::session_version.eq(users::session_version + 1))
        .execute(conn)
        .await
        .map(drop)
}

/// What every signed-in request needs to know about its user, in one query.
#[derive(QueryableByName, Debug, Clone)]
pub struct SessionUserRow {
    #[diesel(sql_type = BigInt)]
    pub id: UserId,
    #[diesel(sql_type = BigInt)]
    pub organisation_id: OrganisationId,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Bool)]
    pub is_active: bool,
    #[diesel(sql_type = Int4)]
    pub session_version: i32,
    #[diesel(sql_type = Text)]
    pub org_name: String,
    #[diesel(sql_type = Text)]
    pub org_status: String,
    #[diesel(sql_type = Array<Text>)]
    pub roles: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub permissions: Vec<String>,
}

pub async fn load_session_user(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<SessionUserRow>> {
    diesel::sql_query(
        "SELECT u.id, u.organisation_id, u.email, u.name, u.is_active, u.session_version,
                o.name AS org_name, o.status AS org_status,
                COALESCE((SELECT array_agg(r.name ORDER BY r.name)
                          FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                          WHERE ur.user_id = u.id), '{}') AS roles,
                COALESCE((SELECT array_agg(DISTINCT p.code)
                          FROM user_roles ur
                          JOIN role_permissions rp ON rp.role_id = ur.role_id
                          JOIN permissions p ON p.id = rp.permission_id
                          WHERE ur.user_id = u.id), '{}') AS permissions
         FROM users u JOIN organisations o ON o.id = u.organisation_id
         WHERE u.id = $1",
    )
    .bind::<BigInt, _>(id)
    .get_result(conn)
    .await
    .optional()
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub organisation_id: OrganisationId,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub must_change_password: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("a user with this email address already exists")]
    EmailTaken,
    #[error("there is no role named {0:?}")]
    UnknownRole(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Creates a user holding one role, in one transaction: all of it or nothing.
pub async fn create(conn: &mut AsyncPgConnection, user: &NewUser<'_>, role: &str) -> Result<UserId, CreateUserError> {
    conn.transaction(async |conn| {
        let role_id: RoleId = roles::table
            .filter(diesel::dsl::sql::<Bool>("lower(name) = lower(").bind::<Text, _>(role).sql(")"))
            .select(roles::id)
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| CreateUserError::UnknownRole(role.to_owned()))?;
        let id: UserId =
            diesel::insert_into(users::table).values(user).returning(users::id).get_result(conn).await.map_err(
                |e| match e {
                    diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                        CreateUserError::EmailTaken
                    }
                    e => e.into(),
                },
            )?;
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(id), user_roles::role_id.eq(role_id)))
            .execute(conn)
            .await?;
        Ok(id)
    })
    .await
}
