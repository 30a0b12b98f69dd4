//! An organisation's saved card references (tokens only). At most one default card
//! per organisation (a partial unique index); the first card saved becomes it, and
//! removing the default hands it to the newest remaining card. The activity log
//! records which card changed, never what was typed.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::activity::{self, Actor, NewActivity};
use super::schema::{customer_cards, organisations};
use crate::domain::cards::NewCard;
use crate::domain::ids::{CardId, OrganisationId};

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = customer_cards)]
pub struct Card {
    pub id: CardId,
    pub brand: String,
    pub last_four: String,
    pub exp_month: i16,
    pub exp_year: i16,
    pub holder_name: String,
    pub gateway_token: String,
    pub is_default: bool,
}

pub async fn list(conn: &mut AsyncPgConnection, org: OrganisationId) -> QueryResult<Vec<Card>> {
    customer_cards::table
        .filter(customer_cards::organisation_id.eq(org))
        .order((customer_cards::is_default.desc(), customer_cards::id.desc()))
        .select(Card::as_select())
        .load(conn)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("this gateway token is already saved")]
    TokenTaken,
    #[error(transparent)]
    Database(#[from] DieselError),
}

async fn log(conn: &mut AsyncPgConnection, actor: &Actor, action: &str, card: CardId) -> QueryResult<()> {
    activity::record(
        conn,
        &NewActivity {
            user_id: Some(actor.user_id),
            organisation_id: Some(actor.organisation_id),
            action,
            target: Some(&format!("card:{card}")),
            ip: actor.ip.as_deref(),
            detail: serde_json::json!({ "card": card }),
            ..Default::default()
        },
    )
    .await
}

/// Locks the organisation row: card changes of one organisation run one at a time,
/// so the default moves cleanly.
async fn lock_organisation(conn: &mut AsyncPgConnection, org: OrganisationId) -> QueryResult<()> {
    organisations::table.find(org).select(organisations::id).for_update().first::<OrganisationId>(conn).await.map(drop)
}

pub async fn add(conn: &mut AsyncPgConnection, card: &NewCard, actor: &Actor) -> Result<CardId, AddError> {
    conn.transaction(async |conn| {
        lock_organisation(conn, actor.organisation_id).await?;
        let existing: i64 = customer_cards::table
            .filter(customer_cards::organisation_id.eq(actor.organisation_id))
            .count()
            .get_result(conn)
            .await?;
        let id: CardId = diesel::insert_into(customer_cards::table)
            .values((
                customer_cards::organisation_id.eq(actor.organisation_id),
                customer_cards::brand.eq(card.brand),
                customer_cards::last_four.eq(&card.last_four),
                customer_cards::exp_month.eq(card.exp_month),
                customer_cards::exp_year.eq(card.exp_year),
                customer_cards::holder_name.eq(&card.holder_name),
                customer_cards::gateway_token.eq(&card.gateway_token),
                customer_cards::is_default.eq(existing == 0),
                customer_cards::created_by.eq(actor.user_id),
            ))
            .returning(customer_cards::id)
            .get_result(conn)
            .await
            .map_err(|e| match e {
                DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => AddError::TokenTaken,
                e => AddError::Database(e),
            })?;
        log(conn, actor, "card.add", id).await?;
        Ok(id)
    })
    .await
}

/// Makes the card the organisation's default. `false`: no such card of this organisation.
pub async fn set_default(conn: &mut AsyncPgConnection, id: CardId, actor: &Actor) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        lock_organisation(conn, actor.organisation_id).await?;
        let own = customer_cards::table
            .filter(customer_cards::id.eq(id))
            .filter(customer_cards::organisation_id.eq(actor.organisation_id));
        if own.count().get_result::<i64>(conn).await? == 0 {
            return Ok(false);
        }
        diesel::update(
            customer_cards::table
                .filter(customer_cards::organisation_id.eq(actor.organisation_id))
                .filter(customer_cards::is_default),
        )
        .set(customer_cards::is_default.eq(false))
        .execute(conn)
        .await?;
        diesel::update(customer_cards::table.find(id)).set(customer_cards::is_default.eq(true)).execute(conn).await?;
        log(conn, actor, "card.default", id).await?;
        Ok(true)
    })
    .await
}

/// Removes the card. `false`: no such card of this organisation.
pub async fn remove(conn: &mut AsyncPgConnection, id: CardId, actor: &Actor) -> QueryResult<bool> {
    conn.transaction(async |conn| {
        lock_organisation(conn, actor.organisation_id).await?;
        let removed: Option<bool> = diesel::delete(
            customer_cards::table
                .filter(customer_cards::id.eq(id))
                .filter(customer_cards::organisation_id.eq(actor.organisation_id)),
        )
        .returning(customer_cards::is_default)
        .get_result(conn)
        .await
        .optional()?;
        let Some(was_default) = removed else { return Ok(false) };
        if was_default {
            let newest: Option<CardId> = customer_cards::table
                .filter(customer_cards::organisation_id.eq(actor.organisation_id))
                .order(customer_cards::id.desc())
                .select(customer_cards::id)
                .first(conn)
                .await
                .optional()?;
            if let Some(newest) = newest {
                diesel::update(customer_cards::table.find(newest))
                    .set(customer_cards::is_default.eq(true))
                    .execute(conn)
                    .await?;
            }
        }
        log(conn, actor, "card.remove", id).await?;
        Ok(true)
    })
    .await
}
