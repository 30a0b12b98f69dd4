//! `/account/api-keys`: any signed-in user makes API keys that act as them (DESIGN.md
//! §11), sees them listed by prefix with their last use, and revokes them. A new key is
//! shown once, on the page that answers its creation, and never again: only its hash is
//! kept. The key never reaches a log; creation and revocation are in the activity log.

use actix_session::Session;
use actix_web::{Either, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{PageOr303, done, unprocessable};
use crate::auth::CurrentUser;
use crate::auth::session::Flash;
use crate::db::main::activity::Actor;
use crate::db::main::api_keys::{self, Revoked};
use crate::domain::api_key::{KeyName, MAX_NAME_CHARS, NewKey};
use crate::domain::ids::ApiKeyId;
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::Page;

pub const PATH: &str = "/account/api-keys";

/// The form as posted. No `Debug`, like every form here.
#[derive(Deserialize, Default)]
pub struct KeyForm {
    #[serde(default)]
    name: String,
}

pub struct KeyView {
    id: ApiKeyId,
    name: String,
    prefix: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_keys.html")]
pub struct ApiKeysPage {
    page: Page,
    keys: Vec<KeyView>,
    form: KeyForm,
    error: Option<String>,
    /// The key just made, shown this once.
    new_key: Option<String>,
    max_name_chars: usize,
}

async fn keys_page(
    state: &AppState,
    user: &CurrentUser,
    page: Page,
    form: KeyForm,
    error: Option<String>,
    new_key: Option<String>,
) -> Result<ApiKeysPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let keys = api_keys::of_user(&mut conn, user.id)
        .await?
        .into_iter()
        .map(|k| KeyView {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_at: format_sast(k.created_at),
            last_used_at: k.last_used_at.map(format_sast),
            revoked_at: k.revoked_at.map(format_sast),
        })
        .collect();
    Ok(ApiKeysPage { page, keys, form, error, new_key, max_name_chars: MAX_NAME_CHARS })
}

/// Any signed-in user: the keys act as them.
pub async fn list(user: CurrentUser, page: Page, state: web::Data<AppState>) -> Result<ApiKeysPage, AppError> {
    keys_page(&state, &user, page, KeyForm::default(), None, None).await
}

pub async fn create(
    actor: Actor,
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<KeyForm>,
) -> Result<PageOr303<ApiKeysPage>, AppError> {
    let form = form.into_inner();
    let name = match KeyName::parse(&form.name) {
        Ok(name) => name,
        Err(error) => return unprocessable(keys_page(&state, &user, page, form, Some(error), None).await?),
    };
    let key = NewKey::generate();
    let mut conn = state.pools.main.get().await?;
    api_keys::create(&mut conn, &actor, &name, &key).await?;
    drop(conn);
    // The answer itself, not a redirect: the key is on this page and nowhere else.
    let page = keys_page(&state, &user, page, KeyForm::default(), None, Some(key.key)).await?;
    Ok(Either::Right(actix_web::Responder::customize(page)))
}

pub async fn revoke(
    actor: Actor,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<ApiKeyId>,
) -> Result<PageOr303<ApiKeysPage>, AppError> {
    let mut conn = state.pools.main.get().await?;
    let flash = match api_keys::revoke(&mut conn, id.into_inner(), &actor).await? {
        Revoked::Revoked => Flash::success("The key was revoked: requests with it are refused from now on."),
        Revoked::AlreadyRevoked => Flash::info("This key was already revoked."),
        Revoked::NotFound => return Err(AppError::NotFound),
    };
    done(&session, PATH, flash)
}
