//! `/account/password`: every signed-in user changes their own password here (the
//! current one first). A user with a temporary password is held on this page until
//! they do. Their other sessions end; this one is issued again under the new version.

use actix_session::Session;
use actix_web::{Either, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::auth::{BUSY, busy, throttled, throttled_message};
use super::{PageOr303, see_other, unprocessable};
use crate::auth::CurrentUser;
use crate::auth::password::Busy;
use crate::auth::session::{self, Flash, push_flash};
use crate::db::main::activity::Actor;
use crate::db::main::{login_throttle, users};
use crate::domain::password::NewPassword;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, sentence};

pub use crate::auth::middleware::CHANGE_PASSWORD;

#[derive(Deserialize, Default)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

#[derive(Default)]
pub struct PasswordErrors {
    current_password: Option<String>,
    new_password: Option<String>,
    confirm_password: Option<String>,
}

impl PasswordErrors {
    fn any(&self) -> bool {
        self.current_password.is_some() || self.new_password.is_some() || self.confirm_password.is_some()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
pub struct PasswordPage {
    page: Page,
    must_change: bool,
    errors: PasswordErrors,
}

/// Any signed-in user: it is their own password.
pub async fn form(user: CurrentUser, page: Page) -> PasswordPage {
    PasswordPage { page, must_change: user.must_change_password, errors: PasswordErrors::default() }
}

pub async fn change(
    actor: Actor,
    user: CurrentUser,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<PasswordForm>,
) -> Result<PageOr303<PasswordPage>, AppError> {
    let form = form.into_inner();
    let mut errors = PasswordErrors::default();
    if form.current_password.is_empty() {
        errors.current_password = Some(sentence("enter your current password"));
    }
    let new = NewPassword::parse(&form.new_password, &user.email).map_err(|e| errors.new_password = Some(sentence(&e)));
    if new.is_ok() && form.confirm_password != form.new_password {
        errors.confirm_password = Some("The two new passwords differ. Type the same one twice.".into());
    }
    if new.is_ok() && form.new_password == form.current_password {
        errors.new_password = Some("Choose a password different from the current one.".into());
    }
    // The current password is a sign-in by another door: its wrong guesses count, and
    // wait, exactly like the sign-in form's (same email address, same client address).
    let pair_ip = actor.ip.as_deref().unwrap_or_default();
    let again = |errors| PasswordPage { page, must_change: user.must_change_password, errors };
    if errors.current_password.is_none() {
        let mut conn = state.pools.main.get().await?;
        if let Some(until) = login_throttle::blocked_until(&mut conn, &user.email, pair_ip).await? {
            errors.current_password = Some(throttled_message(until));
            return Ok(Either::Right(throttled(again(errors), until)));
        }
        let stored = users::password_hash(&mut conn, user.id).await?;
        match state.hasher.verify(form.current_password, Some(stored)).await {
            Err(Busy) => {
                errors.current_password = Some(BUSY.into());
                return Ok(Either::Right(busy(again(errors))));
            }
            Ok(true) => login_throttle::clear(&mut conn, &user.email, pair_ip).await?,
            Ok(false) => {
                let failure = login_throttle::record_failure(&mut conn, &user.email, pair_ip).await?;
                if let Some(until) = failure.blocked_until.filter(|until| *until > chrono::Utc::now()) {
                    errors.current_password = Some(throttled_message(until));
                    return Ok(Either::Right(throttled(again(errors), until)));
                }
                errors.current_password = Some("This is not your current password.".into());
            }
        }
    }
    let new = match new {
        Ok(new) if !errors.any() => new,
        _ => return unprocessable(again(errors)),
    };
    let hash = state.hasher.hash(new.expose().to_owned()).await?;
    let mut conn = state.pools.main.get().await?;
    let version = users::set_password(&mut conn, user.id, &hash, false, &actor).await?;
    session::sign_in(&session, user.id, version);
    push_flash(&session, Flash::success("Your password has been changed. Your other sessions have ended."));
    Ok(Either::Left(see_other("/")))
}
