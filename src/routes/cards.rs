//! `/cards` (`cards.manage`): the organisation's saved card references, and adding one,
//! making one the default, and removing one. A card number is refused in every field
//! and never echoed back; form values never reach the logs.

use actix_session::Session;
use actix_web::{Either, HttpResponse, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel_async::AsyncPgConnection;
use serde::Deserialize;

use super::see_other;
use super::{PageOr303, unprocessable};
use crate::auth::session::{Flash, push_flash};
use crate::auth::{Require, perm};
use crate::db::main::activity::Actor;
use crate::db::main::cards::{self, AddError};
use crate::domain::cards::{BRANDS, CardErrors, CardForm, is_expired};
use crate::domain::ids::{CardId, OrganisationId};
use crate::domain::time::today_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, SelectOption};

/// The form as posted. Deliberately no `Debug`: its values must never be logged.
#[derive(Deserialize, Default)]
pub struct CardFields {
    #[serde(default)]
    brand: String,
    #[serde(default)]
    last_four: String,
    #[serde(default)]
    exp_month: String,
    #[serde(default)]
    exp_year: String,
    #[serde(default)]
    holder_name: String,
    #[serde(default)]
    gateway_token: String,
}

impl From<CardFields> for CardForm {
    fn from(f: CardFields) -> Self {
        CardForm {
            brand: f.brand,
            last_four: f.last_four,
            exp_month: f.exp_month,
            exp_year: f.exp_year,
            holder_name: f.holder_name,
            gateway_token: f.gateway_token,
        }
    }
}

pub struct CardView {
    id: CardId,
    brand: String,
    last_four: String,
    expiry: String,
    expired: bool,
    holder_name: String,
    gateway_token: String,
    is_default: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "cards.html")]
pub struct CardsPage {
    page: Page,
    cards: Vec<CardView>,
    brands: Vec<SelectOption>,
    form: CardForm,
    errors: CardErrors,
}

async fn cards_page(
    conn: &mut AsyncPgConnection,
    org: OrganisationId,
    page: Page,
    form: CardForm,
    errors: CardErrors,
) -> Result<CardsPage, AppError> {
    let today = today_sast();
    let cards = cards::list(conn, org)
        .await?
        .into_iter()
        .map(|c| CardView {
            id: c.id,
            expired: is_expired(c.exp_month, c.exp_year, today),
            expiry: format!("{:02}/{}", c.exp_month, c.exp_year),
            brand: c.brand,
            last_four: c.last_four,
            holder_name: c.holder_name,
            gateway_token: c.gateway_token,
            is_default: c.is_default,
        })
        .collect();
    Ok(CardsPage {
        page,
        cards,
        brands: BRANDS.iter().map(|b| SelectOption::new(b, *b, &form.brand)).collect(),
        form,
        errors,
    })
}

pub async fn list(
    required: Require<perm::CardsManage>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<CardsPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    cards_page(&mut conn, required.user.organisation_id, page, CardForm::default(), CardErrors::default()).await
}

pub async fn add(
    actor: Actor,
    required: Require<perm::CardsManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    fields: web::Form<CardFields>,
) -> Result<PageOr303<CardsPage>, AppError> {
    let user = required.user;
    let mut form = CardForm::from(fields.into_inner());
    let mut conn = state.pools.main.get().await?;
    let errors = match form.parse(today_sast()) {
        Ok(card) => match cards::add(&mut conn, &card, &actor).await {
            Ok(_) => {
                let message = format!("Saved the {} card ending in {}.", card.brand, card.last_four);
                push_flash(&session, Flash::success(message));
                return Ok(Either::Left(see_other("/cards")));
            }
            Err(AddError::TokenTaken) => CardErrors {
                gateway_token: Some("This gateway token is already saved for a card."),
                ..Default::default()
            },
            Err(AddError::Database(e)) => return Err(e.into()),
        },
        Err(errors) => errors,
    };
    form.scrub();
    let page = cards_page(&mut conn, user.organisation_id, page, form, errors).await?;
    unprocessable(page)
}

pub async fn set_default(
    actor: Actor,
    _: Require<perm::CardsManage>,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<CardId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pools.main.get().await?;
    if !cards::set_default(&mut conn, id.into_inner(), &actor).await? {
        return Err(AppError::NotFound);
    }
    push_flash(&session, Flash::success("That card is now the default."));
    Ok(see_other("/cards"))
}

pub async fn remove(
    actor: Actor,
    _: Require<perm::CardsManage>,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<CardId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pools.main.get().await?;
    if !cards::remove(&mut conn, id.into_inner(), &actor).await? {
        return Err(AppError::NotFound);
    }
    push_flash(&session, Flash::success("Card removed."));
    Ok(see_other("/cards"))
}
