//! Users: sign-in lookups, the per-request session check,
//! creation, and the admin changes (each writing its activity row in the same
//! transaction, each keeping at least one active user who can manage users and roles).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Int4, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use super::activity::Actor;
use super::login_throttle;
use super::schema::{roles, user_roles, users};
use crate::db::Prepared;
use crate::domain::email::Email;
use crate::domain::ids::{OrganisationId, RoleId, UserId};
use crate::domain::states::OrganisationStatus;

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
    #[diesel(sql_type = Text)]
    pub org_status: OrganisationStatus,
    #[diesel(sql_type = Int4)]
    pub session_version: i32,
    /// Enrolled in the second factor: the password alone does not sign in.
    #[diesel(sql_type = Bool)]
    pub second_factor: bool,
}

pub async fn find_for_login(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<LoginUser>> {
    diesel::sql_query(
        "SELECT u.id, u.organisation_id, u.password_hash, u.is_active, \
                o.status AS org_status, u.session_version, \
                u.totp_enrolled_at IS NOT NULL AS second_factor \
         FROM users u JOIN organisations o ON o.id = u.organisation_id \
         WHERE lower(u.email) = lower($1)",
    )
    .bind::<Text, _>(email)
    .get_result(conn)
    .await
    .optional()
}

pub async fn record_successful_login(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<()> {
    diesel::update(users::table.find(id)).set(users::last_login_at.eq(diesel::dsl::now)).execute(conn).await.map(drop)
}

/// Ends every session issued to this user so far (sign-out, password or role change).
pub async fn bump_session_version(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::session_version.eq(users::session_version + 1))
        .execute(conn)
        .await
        .map(drop)
}

/// One row of the session check: the user and organisation, with one of the user's
/// roles (NULL for a user without one).
#[derive(QueryableByName, Debug)]
pub(crate) struct SessionRow {
    #[diesel(sql_type = BigInt)]
    id: UserId,
    #[diesel(sql_type = BigInt)]
    organisation_id: OrganisationId,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    is_active: bool,
    #[diesel(sql_type = Int4)]
    session_version: i32,
    #[diesel(sql_type = Bool)]
    must_change_password: bool,
    #[diesel(sql_type = Text)]
    org_name: String,
    #[diesel(sql_type = Text)]
    org_status: OrganisationStatus,
    #[diesel(sql_type = Bool)]
    org_is_operator: bool,
    #[diesel(sql_type = Nullable<BigInt>)]
    role_id: Option<RoleId>,
    #[diesel(sql_type = BigInt)]
    access_version: i64,
    #[diesel(sql_type = BigInt)]
    unread_alerts: i64,
    #[diesel(sql_type = Bool)]
    second_factor: bool,
}

/// What every signed-in request needs to know about its user.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: UserId,
    pub organisation_id: OrganisationId,
    pub email: String,
    pub name: String,
    pub is_active: bool,
    pub session_version: i32,
    pub must_change_password: bool,
    pub org_name: String,
    pub org_status: OrganisationStatus,
    /// A member of the operator (the reseller itself), not of a customer organisation.
    pub org_is_operator: bool,
    pub role_ids: Vec<RoleId>,
    /// The role × permission matrix's version now: the per-process copy that names the
    /// roles and their permissions must be of this version.
    pub access_version: i64,
    /// For the alert bell, so that a page needs no second query; up to
    /// `alerts::UNREAD_COUNT_CAP` (100, written into the query).
    pub unread_alerts: i64,
    /// Enrolled in the second factor.
    pub second_factor: bool,
}

/// The session check's SQL: the user, organisation, role (a row per role) and matrix
/// version, then `$columns` (at least `unread_alerts`) from `$from` (which names the
/// users `u`) with `$joins`, where `$filter`. Plain index joins: an aggregate, a count of
/// alert rows or the permission tables here cost more than everything else a page does
/// in the database (BENCHMARKS.md).
macro_rules! session_user_sql {
    ($columns:literal, $from:literal, $joins:literal, $filter:literal) => {
        concat!(
            "SELECT u.id, u.organisation_id, u.email, u.name, u.is_active, u.session_version,
                u.must_change_password, o.name AS org_name, o.status AS org_status,
                o.is_operator AS org_is_operator, ur.role_id, v.version AS access_version,
                u.totp_enrolled_at IS NOT NULL AS second_factor, ",
            $columns,
            " FROM ",
            $from,
            " JOIN organisations o ON o.id = u.organisation_id
         CROSS JOIN access_matrix_version v
         LEFT JOIN user_roles ur ON ur.user_id = u.id ",
            $joins,
            " WHERE ",
            $filter
        )
    };
}
pub(crate) use session_user_sql;

/// A page's session check, with the unread alerts for the bell (up to
/// `alerts::UNREAD_COUNT_CAP`, written into the query), so that a page needs no second
/// query.
const SESSION_USER_SQL: &str = session_user_sql!(
    "LEAST(100, COALESCE(oc.unread, 0) + COALESCE(uc.unread, 0)) AS unread_alerts",
    "users u",
    "LEFT JOIN organisation_unread_alerts oc ON oc.organisation_id = u.organisation_id
     LEFT JOIN user_unread_alerts uc ON uc.user_id = u.id",
    "u.id = $1"
);

/// The signed-in user as every request checks them, with their role ids and unread
/// alerts, in one query.
pub async fn load_session_user(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<SessionUser>> {
    let rows: Vec<SessionRow> = Prepared::new(SESSION_USER_SQL).bind::<BigInt, _>(id.0).load(conn).await?;
    Ok(session_user(rows))
}

/// The user of a session query's rows (one per role), if any.
pub(crate) fn session_user(rows: Vec<SessionRow>) -> Option<SessionUser> {
    let role_ids: Vec<RoleId> = rows.iter().filter_map(|r| r.role_id).collect();
    rows.into_iter().next().map(|r| SessionUser {
        id: r.id,
        organisation_id: r.organisation_id,
        email: r.email,
        name: r.name,
        is_active: r.is_active,
        session_version: r.session_version,
        must_change_password: r.must_change_password,
        org_name: r.org_name,
        org_status: r.org_status,
        org_is_operator: r.org_is_operator,
        role_ids,
        access_version: r.access_version,
        unread_alerts: r.unread_alerts,
        second_factor: r.second_factor,
    })
}

/// A new user; the email address only as parsed.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub organisation_id: OrganisationId,
    pub email: &'a Email,
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

/// Serialises the changes that could remove the last admin (role matrix, user roles and
/// status, organisation status), so that two admins demoting each other at the same
/// time cannot both succeed. Held until the transaction ends.
pub async fn lock_admin_changes(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    const ADMIN_CHANGES: i64 = 0x0AD4_1A00;
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(ADMIN_CHANGES).execute(conn).await.map(drop)
}

/// Active users of active organisations holding both `user.manage` and `role.manage`:
/// the people who could repair any other access mistake. Never allowed to reach zero.
pub async fn active_admin_count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM users u JOIN organisations o ON o.id = u.organisation_id
         WHERE u.is_active AND o.status = 'active'
           AND (SELECT count(DISTINCT p.code) FROM user_roles ur
                JOIN role_permissions rp ON rp.role_id = ur.role_id
                JOIN permissions p ON p.id = rp.permission_id
                WHERE ur.user_id = u.id AND p.code IN ('user.manage', 'role.manage')) = 2",
    )
    .get_result(conn)
    .await?;
    Ok(count.n)
}

/// The filters of `/admin/users`.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Matched case-insensitively in the name or email address.
    pub text: Option<String>,
    pub organisation: Option<OrganisationId>,
    pub role: Option<RoleId>,
    pub active: Option<bool>,
}

/// A user as the admin pages show one.
#[derive(QueryableByName, Debug)]
pub struct UserRow {
    #[diesel(sql_type = BigInt)]
    pub id: UserId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = BigInt)]
    pub organisation_id: OrganisationId,
    #[diesel(sql_type = Text)]
    pub organisation_name: String,
    #[diesel(sql_type = Bool)]
    pub is_active: bool,
    #[diesel(sql_type = Bool)]
    pub must_change_password: bool,
    /// Failed sign-ins still counted against the address, from every client address.
    #[diesel(sql_type = Int4)]
    pub failed_sign_ins: i32,
    /// Until when sign-ins with the address wait, from the client address that waits longest.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub delayed_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_login_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Array<BigInt>)]
    pub role_ids: Vec<i64>,
    #[diesel(sql_type = Array<Text>)]
    pub roles: Vec<String>,
    /// When the user set up their second factor, if they have.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub second_factor_since: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn is_delayed(&self, now: DateTime<Utc>) -> bool {
        self.delayed_until.is_some_and(|until| until > now)
    }
}

const USER_ROW: &str = "SELECT u.id, u.name, u.email, u.organisation_id, o.name AS organisation_name, u.is_active,
        u.must_change_password,
        COALESCE((SELECT sum(t.failures) FROM login_throttles t WHERE t.email = lower(u.email)
                  AND t.last_failure_at > now() - interval '1 hour'), 0)::int4 AS failed_sign_ins,
        (SELECT max(t.blocked_until) FROM login_throttles t WHERE t.email = lower(u.email)
         AND t.blocked_until > now()) AS delayed_until,
        u.last_login_at,
        COALESCE((SELECT array_agg(r.id ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                  WHERE ur.user_id = u.id), '{}') AS role_ids,
        COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                  WHERE ur.user_id = u.id), '{}') AS roles,
        u.totp_enrolled_at AS second_factor_since
     FROM users u JOIN organisations o ON o.id = u.organisation_id";

/// Users matching `filter`, by name, at most `limit`.
pub async fn list(conn: &mut AsyncPgConnection, filter: &UserFilter, limit: i64) -> QueryResult<Vec<UserRow>> {
    diesel::sql_query(format!(
        "{USER_ROW}
         WHERE ($1::text IS NULL OR u.name ILIKE $1 OR u.email ILIKE $1)
           AND ($2::bigint IS NULL OR u.organisation_id = $2)
           AND ($3::bigint IS NULL OR EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role_id = $3))
           AND ($4::boolean IS NULL OR u.is_active = $4)
         ORDER BY u.name, u.id
         LIMIT $5"
    ))
    .bind::<Nullable<Text>, _>(filter.text.as_deref().map(crate::db::like_pattern))
    .bind::<Nullable<BigInt>, _>(filter.organisation)
    .bind::<Nullable<BigInt>, _>(filter.role)
    .bind::<Nullable<Bool>, _>(filter.active)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// A user as a user field suggests one: id, name, email.
#[derive(QueryableByName, Debug)]
pub struct UserChoice {
    #[diesel(sql_type = BigInt)]
    pub id: UserId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub email: String,
}

/// Users whose name or email contains `text` (any case), at most `limit`: the exact
/// email first, then by name.
pub async fn search_choices(conn: &mut AsyncPgConnection, text: &str, limit: i64) -> QueryResult<Vec<UserChoice>> {
    diesel::sql_query(
        "SELECT id, name, email FROM users
         WHERE name ILIKE $1 OR email ILIKE $1
         ORDER BY lower(email) = lower($2) DESC, name, id
         LIMIT $3",
    )
    .bind::<Text, _>(crate::db::like_pattern(text.trim()))
    .bind::<Text, _>(text.trim())
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The email address of a user, if there is one with this id.
pub async fn email_of(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<String>> {
    diesel::sql_query("SELECT id, name, email FROM users WHERE id = $1")
        .bind::<BigInt, _>(id)
        .get_result::<UserChoice>(conn)
        .await
        .optional()
        .map(|u| u.map(|u| u.email))
}

pub async fn find(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<UserRow>> {
    diesel::sql_query(format!("{USER_ROW} WHERE u.id = $1")).bind::<BigInt, _>(id).get_result(conn).await.optional()
}

/// The users of an organisation, by name.
pub async fn of_organisation(conn: &mut AsyncPgConnection, org: OrganisationId) -> QueryResult<Vec<UserRow>> {
    diesel::sql_query(format!("{USER_ROW} WHERE u.organisation_id = $1 ORDER BY u.name, u.id"))
        .bind::<BigInt, _>(org)
        .load(conn)
        .await
}

/// How the activity log names a user.
pub(super) fn target(id: UserId) -> String {
    format!("user:{id}")
}

fn email_taken(e: diesel::result::Error) -> AdminUserError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AdminUserError::EmailTaken
        }
        e => e.into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdminUserError {
    #[error("a user with this email address already exists")]
    EmailTaken,
    #[error("this would leave no active user who can manage users and roles")]
    LastAdmin,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// An admin creates a user holding `role`; the log row names the role and organisation.
pub async fn create_by_admin(
    conn: &mut AsyncPgConnection,
    user: &NewUser<'_>,
    role: RoleId,
    actor: &Actor,
) -> Result<UserId, AdminUserError> {
    conn.transaction(async |conn| {
        let id: UserId = diesel::insert_into(users::table)
            .values(user)
            .returning(users::id)
            .get_result(conn)
            .await
            .map_err(email_taken)?;
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(id), user_roles::role_id.eq(role)))
            .execute(conn)
            .await?;
        let detail = json!({
            "before": null,
            "after": {
                "email": user.email.as_str(), "name": user.name, "organisation_id": user.organisation_id,
                "role_ids": [role], "must_change_password": user.must_change_password,
            },
        });
        actor.record(conn, "user.created", Some(user.organisation_id), &target(id), detail).await?;
        Ok(id)
    })
    .await
}

/// What an admin edits of a user.
pub struct UserEdit<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub organisation_id: OrganisationId,
    pub role: RoleId,
}

#[derive(Queryable, Debug)]
struct Stored {
    name: String,
    email: String,
    organisation_id: OrganisationId,
    is_active: bool,
}

async fn lock_user(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Stored> {
    users::table
        .find(id)
        .select((users::name, users::email, users::organisation_id, users::is_active))
        .for_update()
        .first(conn)
        .await
}

async fn role_ids(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Vec<RoleId>> {
    user_roles::table
        .filter(user_roles::user_id.eq(id))
        .order(user_roles::role_id)
        .select(user_roles::role_id)
        .load(conn)
        .await
}

async fn ensure_an_admin_remains(conn: &mut AsyncPgConnection) -> Result<(), AdminUserError> {
    if active_admin_count(conn).await? == 0 { Err(AdminUserError::LastAdmin) } else { Ok(()) }
}

/// The user's session version after a change: `Some` when it moved on (their earlier
/// sessions end), so that a user changing themselves can be signed in again.
pub type NewVersion = Option<i32>;

async fn bump(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<i32> {
    diesel::update(users::table.find(id))
        .set(users::session_version.eq(users::session_version + 1))
        .returning(users::session_version)
        .get_result(conn)
        .await
}

/// Edits a user's name, email, organisation and role. A new role or organisation ends
/// the user's sessions. `Ok(None)` also when nothing changed.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: UserId,
    edit: &UserEdit<'_>,
    actor: &Actor,
) -> Result<(bool, NewVersion), AdminUserError> {
    conn.transaction(async |conn| {
        lock_admin_changes(conn).await?;
        let before = lock_user(conn, id).await?;
        let before_roles = role_ids(conn, id).await?;
        let access_changed = before.organisation_id != edit.organisation_id || before_roles != [edit.role];
        if !access_changed && before.name == edit.name && before.email == edit.email {
            return Ok((false, None));
        }
        diesel::update(users::table.find(id))
            .set((
                users::name.eq(edit.name),
                users::email.eq(edit.email),
                users::organisation_id.eq(edit.organisation_id),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await
            .map_err(email_taken)?;
        let mut version = None;
        if access_changed {
            diesel::delete(user_roles::table.filter(user_roles::user_id.eq(id))).execute(conn).await?;
            diesel::insert_into(user_roles::table)
                .values((user_roles::user_id.eq(id), user_roles::role_id.eq(edit.role)))
                .execute(conn)
                .await?;
            ensure_an_admin_remains(conn).await?;
            version = Some(bump(conn, id).await?);
        }
        let detail = json!({
            "before": { "name": before.name, "email": before.email, "organisation_id": before.organisation_id,
                        "role_ids": before_roles },
            "after": { "name": edit.name, "email": edit.email, "organisation_id": edit.organisation_id,
                       "role_ids": [edit.role] },
        });
        actor.record(conn, "user.updated", Some(edit.organisation_id), &target(id), detail).await?;
        Ok((true, version))
    })
    .await
}

/// Deactivates (ending every session) or reactivates a user. `Ok(false)` when the user
/// already was so.
pub async fn set_active(
    conn: &mut AsyncPgConnection,
    id: UserId,
    active: bool,
    actor: &Actor,
) -> Result<bool, AdminUserError> {
    conn.transaction(async |conn| {
        lock_admin_changes(conn).await?;
        let before = lock_user(conn, id).await?;
        if before.is_active == active {
            return Ok(false);
        }
        diesel::update(users::table.find(id))
            .set((users::is_active.eq(active), users::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
        if !active {
            ensure_an_admin_remains(conn).await?;
            bump(conn, id).await?;
        }
        let action = if active { "user.reactivated" } else { "user.deactivated" };
        let detail = json!({ "before": { "is_active": before.is_active }, "after": { "is_active": active } });
        actor.record(conn, action, Some(before.organisation_id), &target(id), detail).await?;
        Ok(true)
    })
    .await
}

/// Forgets the user's failed sign-ins from every client address (an administrator's
/// "unlock"), logged with what there was.
pub async fn unlock(conn: &mut AsyncPgConnection, id: UserId, actor: &Actor) -> QueryResult<()> {
    conn.transaction(async |conn| {
        let (org, email): (OrganisationId, String) =
            users::table.find(id).select((users::organisation_id, users::email)).for_update().first(conn).await?;
        let before = login_throttle::clear_all(conn, &email).await?;
        let detail = json!({
            "before": { "failed_sign_ins": before.failures, "delayed_until": before.blocked_until },
            "after": { "failed_sign_ins": 0, "delayed_until": null },
        });
        actor.record(conn, "user.unlocked", Some(org), &target(id), detail).await
    })
    .await
}

/// Sets a new password hash and ends every session of the user. `temporary` (an admin's
/// reset) makes the user choose their own at the next sign-in and forgets their failed
/// sign-ins; the user's own change clears the flag. Returns the new session version.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: UserId,
    hash: &str,
    temporary: bool,
    actor: &Actor,
) -> QueryResult<i32> {
    conn.transaction(async |conn| {
        let (org, before, email): (OrganisationId, bool, String) = users::table
            .find(id)
            .select((users::organisation_id, users::must_change_password, users::email))
            .for_update()
            .first(conn)
            .await?;
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(hash),
                users::must_change_password.eq(temporary),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        if temporary {
            login_throttle::clear_all(conn, &email).await?;
        }
        let version = bump(conn, id).await?;
        let action = if temporary { "user.password_reset" } else { "user.password_changed" };
        let detail = json!({
            "before": { "must_change_password": before },
            "after": { "must_change_password": temporary },
        });
        actor.record(conn, action, Some(org), &target(id), detail).await?;
        Ok(version)
    })
    .await
}

/// The stored hash, to check a user's current password.
pub async fn password_hash(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<String> {
    users::table.find(id).select(users::password_hash).first(conn).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_session_query_counts_unread_alerts_up_to_the_cap() {
        let cap = crate::db::main::alerts::UNREAD_COUNT_CAP;
        assert!(super::SESSION_USER_SQL.contains(&format!("LEAST({cap},")));
    }
}
