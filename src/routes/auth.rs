//! Sign-in and sign-out. Every attempt, failure and sign-out is written to the activity log.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};

use super::{client_ip, see_other};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use serde::Deserialize;

use crate::auth::session::{self, Flash};
use crate::auth::{CurrentUser, password, safe_next};
use crate::db::main::activity::{self, NewActivity};
use crate::db::main::users;
use crate::domain::email::Email;
use crate::domain::time::format_sast_time;
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::{Page, sentence};

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
pub struct LoginPage {
    page: Page,
    email: String,
    next: String,
    error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(
    user: Option<CurrentUser>,
    page: Page,
    query: web::Query<NextQuery>,
) -> Either<HttpResponse, LoginPage> {
    if user.is_some() {
        return Either::Left(see_other("/"));
    }
    let next = query.next.as_deref().and_then(safe_next).unwrap_or_default();
    Either::Right(LoginPage { page, email: String::new(), next, error: None, email_error: None, password_error: None })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

const WRONG_CREDENTIALS: &str = "The email address or password is incorrect.";

fn locked_message(until: chrono::DateTime<Utc>) -> String {
    format!(
        "Too many failed sign-ins: this account is locked until {} (South African time). \
         Try again then, or ask an administrator to unlock it.",
        format_sast_time(until)
    )
}

pub async fn login(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<LoginForm>,
) -> Result<Either<HttpResponse, CustomizeResponder<LoginPage>>, AppError> {
    let form = form.into_inner();
    // Checked before anything happens: an unsafe target is dropped, never refused after
    // the session is made.
    let safe = safe_next(&form.next);
    let next = safe.clone().unwrap_or_else(|| "/".to_owned());
    let mut again = LoginPage {
        page,
        email: form.email.trim().to_owned(),
        next: safe.unwrap_or_default(),
        error: None,
        email_error: None,
        password_error: None,
    };
    let email = Email::parse(&form.email);
    if let Err(e) = &email {
        again.email_error = Some(sentence(e));
    }
    if form.password.is_empty() {
        again.password_error = Some(sentence("enter your password"));
    }
    let Ok(email) = email else {
        return Ok(Either::Right(again.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
    };
    if again.password_error.is_some() {
        return Ok(Either::Right(again.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
    }

    let ip = client_ip(&req);
    let mut conn = state.pools.main.get().await?;
    let user = users::find_for_login(&mut conn, email.as_str()).await?;
    let mut log = NewActivity {
        actor_email: Some(email.as_str()),
        ip: ip.as_deref(),
        user_id: user.as_ref().map(|u| u.id),
        organisation_id: user.as_ref().map(|u| u.organisation_id),
        ..Default::default()
    };
    let refuse = |again: LoginPage, message: String| {
        Ok(Either::Right(
            LoginPage { error: Some(message), ..again }.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY),
        ))
    };

    let Some(user) = user else {
        password::verify_blocking(form.password, None).await;
        log.action = "login.failed";
        log.detail = serde_json::json!({ "reason": "unknown email" });
        activity::record(&conn, &log).await?;
        return refuse(again, WRONG_CREDENTIALS.into());
    };
    if let Some(until) = user.locked_until.filter(|until| *until > Utc::now()) {
        password::verify_blocking(form.password, None).await;
        log.action = "login.failed";
        log.detail = serde_json::json!({ "reason": "locked" });
        activity::record(&conn, &log).await?;
        return refuse(again, locked_message(until));
    }
    if !password::verify_blocking(form.password, Some(user.password_hash.clone())).await {
        let failure = users::record_failed_login(&mut conn, user.id).await?;
        log.action = "login.failed";
        log.detail = serde_json::json!({ "reason": "wrong password", "failed_count": failure.failed_login_count });
        activity::record(&conn, &log).await?;
        let message = match failure.locked_until.filter(|until| *until > Utc::now()) {
            Some(until) => locked_message(until),
            None => WRONG_CREDENTIALS.into(),
        };
        return refuse(again, message);
    }
    let refusal = if !user.is_active {
        Some("This account has been deactivated. Ask your organisation's administrator to reactivate it.")
    } else if user.org_status != "active" {
        Some("Your organisation's account is suspended, so its users cannot sign in. Please contact support.")
    } else {
        None
    };
    if let Some(message) = refusal {
        log.action = "login.refused";
        log.detail = serde_json::json!({ "reason": message });
        activity::record(&conn, &log).await?;
        return refuse(again, message.into());
    }

    users::record_successful_login(&mut conn, user.id).await?;
    log.action = "login.succeeded";
    activity::record(&conn, &log).await?;
    session::sign_in(&session, user.id, user.session_version);
    Ok(Either::Left(see_other(&next)))
}

/// Signing out ends every session of this user (the session version moves on), so a
/// copied cookie is useless afterwards.
pub async fn logout(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req);
    let mut conn = state.pools.main.get().await?;
    users::bump_session_version(&mut conn, user.id).await?;
    activity::record(
        &conn,
        &NewActivity {
            user_id: Some(user.id),
            actor_email: Some(&user.email),
            organisation_id: Some(user.organisation_id),
            action: "logout",
            ip: ip.as_deref(),
            ..Default::default()
        },
    )
    .await?;
    session::sign_out(&session, Some(Flash::success("You have signed out.")));
    Ok(see_other("/login"))
}
