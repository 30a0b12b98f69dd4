//! Sign-in and sign-out. Every attempt, failure and sign-out is written to the activity log.

use actix_session::Session;
use actix_web::http::{StatusCode, header};
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};

use super::{client_ip, see_other};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::auth::middleware::SECOND_STEP;
use crate::auth::session::{self, Flash};
use crate::auth::{CurrentUser, safe_next};
use crate::db::main::activity::{self, NewActivity};
use crate::db::main::{login_throttle, users};
use crate::domain::email::Email;
use crate::domain::time::format_sast_time;
use crate::error::AppError;
use crate::state::AppState;
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
pub(super) const BUSY: &str =
    "The portal is busy checking other passwords. Nothing was counted: try again in a few seconds.";

/// Seconds until `until`, at least one.
pub(super) fn seconds_until(until: DateTime<Utc>) -> i64 {
    (until - Utc::now()).num_seconds().max(1)
}

/// What a person is told while their attempts wait: the same words whether or not the
/// address has an account.
pub(super) fn throttled_message(until: DateTime<Utc>) -> String {
    let seconds = seconds_until(until);
    let wait = if seconds < 90 { format!("{seconds} seconds") } else { format!("{} minutes", (seconds + 59) / 60) };
    format!(
        "Too many failed attempts with this email address from your network. Wait {wait} (until {} South African \
         time) before trying again.",
        format_sast_time(until)
    )
}

/// A refusal while attempts wait: `429 Too Many Requests` with `Retry-After`.
pub(super) fn throttled<R: Responder>(page: R, until: DateTime<Utc>) -> CustomizeResponder<R> {
    page.customize()
        .with_status(StatusCode::TOO_MANY_REQUESTS)
        .insert_header((header::RETRY_AFTER, seconds_until(until).to_string()))
}

/// Every hashing thread busy and the queue full: `503` with `Retry-After`, and the
/// attempt is neither checked nor counted.
pub(super) fn busy<R: Responder>(page: R) -> CustomizeResponder<R> {
    page.customize().with_status(StatusCode::SERVICE_UNAVAILABLE).insert_header((header::RETRY_AFTER, "5"))
}

/// Failed attempts are counted per (email address as typed, client address) and make
/// that pair wait (`login_throttle`), the same for an address with no account: the
/// answer never tells whether an account exists, and a stranger cannot lock anyone out.
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
    let pair_ip = ip.as_deref().unwrap_or_default();
    let mut conn = state.pools.main.get().await?;
    let mut log = NewActivity {
        action: "login.failed",
        actor_email: Some(email.as_str()),
        ip: ip.as_deref(),
        ..Default::default()
    };
    if let Some(until) = login_throttle::blocked_until(&mut conn, email.as_str(), pair_ip).await? {
        log.detail = serde_json::json!({ "reason": "throttled", "until": until });
        activity::record(&conn, &log).await?;
        return Ok(Either::Right(throttled(LoginPage { error: Some(throttled_message(until)), ..again }, until)));
    }
    let user = users::find_for_login(&mut conn, email.as_str()).await?;
    log.user_id = user.as_ref().map(|u| u.id);
    log.organisation_id = user.as_ref().map(|u| u.organisation_id);
    // An unknown address is checked against a dummy hash: the same time, the same answer.
    let Ok(matches) = state.hasher.verify(form.password, user.as_ref().map(|u| u.password_hash.clone())).await else {
        return Ok(Either::Right(busy(LoginPage { error: Some(BUSY.into()), ..again })));
    };
    let user = match user {
        Some(user) if matches => user,
        user => {
            let failure = login_throttle::record_failure(&mut conn, email.as_str(), pair_ip).await?;
            let reason = if user.is_some() { "wrong password" } else { "unknown email" };
            log.detail = serde_json::json!({ "reason": reason, "failures": failure.failures });
            activity::record(&conn, &log).await?;
            return Ok(Either::Right(match failure.blocked_until.filter(|until| *until > Utc::now()) {
                Some(until) => throttled(LoginPage { error: Some(throttled_message(until)), ..again }, until),
                None => LoginPage { error: Some(WRONG_CREDENTIALS.into()), ..again }
                    .customize()
                    .with_status(StatusCode::UNPROCESSABLE_ENTITY),
            }));
        }
    };
    let refusal = if !user.is_active {
        Some("This account has been deactivated. Ask your organisation's administrator to reactivate it.")
    } else if !user.org_status.is_active() {
        Some("Your organisation's account is suspended, so its users cannot sign in. Please contact support.")
    } else {
        None
    };
    if let Some(message) = refusal {
        log.action = "login.refused";
        log.detail = serde_json::json!({ "reason": message });
        activity::record(&conn, &log).await?;
        return Ok(Either::Right(
            LoginPage { error: Some(message.into()), ..again }
                .customize()
                .with_status(StatusCode::UNPROCESSABLE_ENTITY),
        ));
    }

    login_throttle::clear(&mut conn, email.as_str(), pair_ip).await?;
    if user.second_factor {
        // Nobody is signed in until the code is right (routes/second_factor.rs).
        session::begin_second_step(&session, user.id, user.session_version, email.as_str(), &next);
        return Ok(Either::Left(see_other(SECOND_STEP)));
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
