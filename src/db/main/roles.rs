//! Roles and the permission matrix. The matrix is saved in one transaction that ends
//! with a check: at least one active user must still hold `user.manage` and
//! `role.manage`, or nothing of the change is kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use super::activity::Actor;
use super::schema::{access_matrix_version, permissions, role_permissions, roles, user_roles};
use super::users;
use crate::domain::ids::RoleId;
use crate::domain::permissions::{AccessMatrix, PermissionSet};

#[derive(Queryable, Debug, Clone)]
pub struct Role {
    pub id: RoleId,
    pub name: String,
    pub description: String,
}

/// Every role by name.
pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Role>> {
    roles::table.order(roles::name.asc()).select((roles::id, roles::name, roles::description)).load(conn).await
}

/// Every permission's code and description, in the order they were defined.
pub async fn permissions(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(String, String)>> {
    permissions::table
        .order(permissions::id.asc())
        .select((permissions::code, permissions::description))
        .load(conn)
        .await
}

/// Each role's granted permission codes.
pub async fn matrix(conn: &mut AsyncPgConnection) -> QueryResult<BTreeMap<RoleId, BTreeSet<String>>> {
    let rows: Vec<(RoleId, String)> = role_permissions::table
        .inner_join(permissions::table)
        .select((role_permissions::role_id, permissions::code))
        .load(conn)
        .await?;
    let mut matrix: BTreeMap<RoleId, BTreeSet<String>> = BTreeMap::new();
    for (role, code) in rows {
        matrix.entry(role).or_default().insert(code);
    }
    Ok(matrix)
}

#[derive(QueryableByName)]
struct AccessRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    version: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    role_id: RoleId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    code: Option<String>,
}

/// Every role with its permissions and the matrix's version, from one snapshot (one
/// statement), for the per-process cache the session check uses.
pub async fn access_matrix(conn: &mut AsyncPgConnection) -> QueryResult<AccessMatrix> {
    let rows: Vec<AccessRow> = diesel::sql_query(
        "SELECT v.version, r.id AS role_id, r.name, p.code
         FROM access_matrix_version v CROSS JOIN roles r
         LEFT JOIN role_permissions rp ON rp.role_id = r.id
         LEFT JOIN permissions p ON p.id = rp.permission_id",
    )
    .load(conn)
    .await?;
    let version = match rows.as_slice().first() {
        Some(row) => row.version,
        None => access_matrix_version::table.select(access_matrix_version::version).first(conn).await?,
    };
    let mut codes: HashMap<RoleId, (String, Vec<String>)> = HashMap::new();
    for row in rows {
        let entry = codes.entry(row.role_id).or_insert_with(|| (row.name, Vec::new()));
        entry.1.extend(row.code);
    }
    let roles = codes
        .into_iter()
        .map(|(id, (name, codes))| (id, (name, PermissionSet::from_codes(codes.iter().map(String::as_str)))))
        .collect();
    Ok(AccessMatrix { version, roles })
}

/// How many users (active or not) hold each role.
pub async fn holders(conn: &mut AsyncPgConnection) -> QueryResult<BTreeMap<RoleId, i64>> {
    let rows: Vec<(RoleId, i64)> = user_roles::table
        .group_by(user_roles::role_id)
        .select((user_roles::role_id, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("there is no permission {0:?}")]
    UnknownPermission(String),
    #[error("a role changed or was deleted meanwhile")]
    UnknownRole,
    #[error("this would leave no active user who can manage users and roles")]
    LastAdmin,
    #[error("a role with this name already exists")]
    NameTaken,
    #[error("{0} users hold this role")]
    InUse(i64),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Sets the permissions of `roles` to exactly `grants`, all or nothing, and logs each
/// role that changed with its before and after. Returns how many roles changed.
pub async fn save_matrix(
    conn: &mut AsyncPgConnection,
    grants: &BTreeMap<RoleId, BTreeSet<String>>,
    actor: &Actor,
) -> Result<usize, RoleError> {
    conn.transaction(async |conn| {
        users::lock_admin_changes(conn).await?;
        let codes: BTreeMap<String, i64> =
            permissions::table.select((permissions::code, permissions::id)).load(conn).await?.into_iter().collect();
        let before = matrix(conn).await?;
        let existing: BTreeSet<RoleId> =
            roles::table.select(roles::id).for_update().load(conn).await?.into_iter().collect();
        let mut changed = 0;
        for (role, wanted) in grants {
            if !existing.contains(role) {
                return Err(RoleError::UnknownRole);
            }
            let had = before.get(role).cloned().unwrap_or_default();
            if had == *wanted {
                continue;
            }
            diesel::delete(role_permissions::table.filter(role_permissions::role_id.eq(role))).execute(conn).await?;
            for code in wanted {
                let permission = *codes.get(code).ok_or_else(|| RoleError::UnknownPermission(code.clone()))?;
                diesel::insert_into(role_permissions::table)
                    .values((role_permissions::role_id.eq(role), role_permissions::permission_id.eq(permission)))
                    .execute(conn)
                    .await?;
            }
            let detail = json!({ "before": { "permissions": had }, "after": { "permissions": wanted } });
            actor.record(conn, "role.permissions_changed", None, &format!("role:{role}"), detail).await?;
            changed += 1;
        }
        if users::active_admin_count(conn).await? == 0 {
            return Err(RoleError::LastAdmin);
        }
        Ok(changed)
    })
    .await
}

fn name_taken(e: diesel::result::Error) -> RoleError {
    match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            RoleError::NameTaken
        }
        e => e.into(),
    }
}

/// A new role, holding no permission yet.
pub async fn create(
    conn: &mut AsyncPgConnection,
    name: &str,
    description: &str,
    actor: &Actor,
) -> Result<RoleId, RoleError> {
    conn.transaction(async |conn| {
        let id: RoleId = diesel::insert_into(roles::table)
            .values((roles::name.eq(name), roles::description.eq(description)))
            .returning(roles::id)
            .get_result(conn)
            .await
            .map_err(name_taken)?;
        let detail = json!({ "before": null, "after": { "name": name, "description": description } });
        actor.record(conn, "role.created", None, &format!("role:{id}"), detail).await?;
        Ok(id)
    })
    .await
}

/// Renames a role (and sets its description). `Ok(false)` when nothing changed.
pub async fn rename(
    conn: &mut AsyncPgConnection,
    id: RoleId,
    name: &str,
    description: &str,
    actor: &Actor,
) -> Result<bool, RoleError> {
    conn.transaction(async |conn| {
        let (old_name, old_description): (String, String) =
            roles::table.find(id).select((roles::name, roles::description)).for_update().first(conn).await?;
        if old_name == name && old_description == description {
            return Ok(false);
        }
        diesel::update(roles::table.find(id))
            .set((roles::name.eq(name), roles::description.eq(description), roles::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await
            .map_err(name_taken)?;
        let detail = json!({
            "before": { "name": old_name, "description": old_description },
            "after": { "name": name, "description": description },
        });
        actor.record(conn, "role.renamed", None, &format!("role:{id}"), detail).await?;
        Ok(true)
    })
    .await
}

/// Deletes a role no one holds (active or not), with its grants.
pub async fn delete(conn: &mut AsyncPgConnection, id: RoleId, actor: &Actor) -> Result<(), RoleError> {
    conn.transaction(async |conn| {
        let (name, description): (String, String) =
            roles::table.find(id).select((roles::name, roles::description)).for_update().first(conn).await?;
        let held: i64 = user_roles::table.filter(user_roles::role_id.eq(id)).count().get_result(conn).await?;
        if held > 0 {
            return Err(RoleError::InUse(held));
        }
        let granted: Vec<String> = role_permissions::table
            .inner_join(permissions::table)
            .filter(role_permissions::role_id.eq(id))
            .select(permissions::code)
            .load(conn)
            .await?;
        diesel::delete(roles::table.find(id)).execute(conn).await?;
        let detail = json!({
            "before": { "name": name, "description": description, "permissions": granted },
            "after": null,
        });
        actor.record(conn, "role.deleted", None, &format!("role:{id}"), detail).await?;
        Ok(())
    })
    .await
}
