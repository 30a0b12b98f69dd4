//! The second factor (DESIGN.md §12). `/login/second-factor` is the sign-in's second
//! step for an enrolled user: a current code from their authenticator app, or one of
//! their recovery codes. `/account/second-factor` enrols (QR code, then a code from it,
//! then ten recovery codes shown once), renews the recovery codes, and turns it off for
//! someone whose roles do not require it.
//!
//! Wrong codes count and wait like wrong passwords (`login_throttle`), per account
//! rather than per client address: only someone who knows the password gets this far.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::auth::{throttled, throttled_message};
use super::{PageOr303, client_ip, done, see_other, unprocessable};
use crate::auth::CurrentUser;
use crate::auth::middleware::ENROL;
use crate::auth::session::{self, Flash, push_flash};
use crate::db::PooledConn;
use crate::db::main::activity::{self, Actor, NewActivity};
use crate::db::main::second_factor::{self as store, Removal};
use crate::db::main::{login_throttle, users};
use crate::domain::ids::UserId;
use crate::domain::second_factor::{self, Code};
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, sentence};

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

const WRONG_CODE: &str = "This code is wrong or has been used already. Enter the code your app shows now.";
const START_AGAIN: &str = "Sign in again: the second step waits 5 minutes for a code.";

/// Wrong codes are counted per account, from any address.
fn throttle_key(email: &str) -> String {
    format!("second-factor:{email}")
}
const ANY_ADDRESS: &str = "";

/// What became of a code.
enum Verdict {
    Accepted { recovery_code: bool },
    Wrong,
    Throttled(DateTime<Utc>),
}

fn now_unix() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or_default()
}

/// Checks `code` against `secret`, counting a wrong one. An authenticator code is good
/// for one sign-in only; a recovery code is spent. `user` is `None` while enrolling,
/// before the secret is stored (nothing to spend yet): the step is returned instead.
async fn verify(
    conn: &mut PooledConn,
    email: &str,
    user: Option<UserId>,
    secret: &str,
    code: &Code,
) -> Result<(Verdict, Option<i64>), AppError> {
    let key = throttle_key(email);
    if let Some(until) = login_throttle::blocked_until(conn, &key, ANY_ADDRESS).await? {
        return Ok((Verdict::Throttled(until), None));
    }
    let (accepted, step) = match (code, user) {
        (Code::Authenticator(digits), user) => match second_factor::matching_step(secret, digits, now_unix()) {
            Some(step) => match user {
                Some(user) => (store::use_step(conn, user, step).await?, Some(step)),
                None => (true, Some(step)),
            },
            None => (false, None),
        },
        (Code::Recovery(plain), Some(user)) => {
            (store::use_recovery_code(conn, user, &second_factor::recovery_code_hash(plain)).await?, None)
        }
        (Code::Recovery(_), None) => (false, None),
    };
    if accepted {
        login_throttle::clear(conn, &key, ANY_ADDRESS).await?;
        return Ok((Verdict::Accepted { recovery_code: matches!(code, Code::Recovery(_)) }, step));
    }
    let failure = login_throttle::record_failure(conn, &key, ANY_ADDRESS).await?;
    Ok(match failure.blocked_until.filter(|until| *until > Utc::now()) {
        Some(until) => (Verdict::Throttled(until), None),
        None => (Verdict::Wrong, None),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "second_step.html")]
pub struct SecondStepPage {
    page: Page,
    code_error: Option<String>,
}

/// The second step's form, while a sign-in waits for its code.
pub async fn second_step_form(session: Session, page: Page) -> Either<HttpResponse, SecondStepPage> {
    if session::pending_sign_in(&session).is_none() {
        return Either::Left(see_other("/login"));
    }
    Either::Right(SecondStepPage { page, code_error: None })
}

type StepAnswer = Either<HttpResponse, CustomizeResponder<SecondStepPage>>;

fn step_again(page: Page, message: String, status: StatusCode) -> StepAnswer {
    Either::Right(SecondStepPage { page, code_error: Some(message) }.customize().with_status(status))
}

pub async fn second_step(
    req: HttpRequest,
    session: Session,
    state: web::Data<AppState>,
    page: Page,
    form: web::Form<CodeForm>,
) -> Result<StepAnswer, AppError> {
    let Some(pending) = session::pending_sign_in(&session) else {
        session::sign_out(&session, Some(Flash::info(START_AGAIN)));
        return Ok(Either::Left(see_other("/login")));
    };
    let code = match Code::parse(&form.code) {
        Ok(code) => code,
        Err(e) => return Ok(step_again(page, sentence(e), StatusCode::UNPROCESSABLE_ENTITY)),
    };
    let mut conn = state.pools.main.get().await?;
    // The account as it is now: deactivated, suspended or signed out everywhere since the
    // password step means starting again.
    let user = users::find_for_login(&mut conn, &pending.email).await?.filter(|u| {
        u.id == pending.user
            && u.is_active
            && u.org_status.is_active()
            && u.session_version == pending.version
            && u.second_factor
    });
    let enrolment = match &user {
        Some(user) => store::enrolment(&mut conn, user.id).await?,
        None => None,
    };
    let (Some(user), Some(enrolment)) = (user, enrolment) else {
        session::sign_out(&session, Some(Flash::info(START_AGAIN)));
        return Ok(Either::Left(see_other("/login")));
    };
    let ip = client_ip(&req);
    let mut log = NewActivity {
        action: "login.failed",
        actor_email: Some(&pending.email),
        user_id: Some(user.id),
        organisation_id: Some(user.organisation_id),
        ip: ip.as_deref(),
        ..Default::default()
    };
    let (verdict, _) = verify(&mut conn, &pending.email, Some(user.id), &enrolment.secret, &code).await?;
    match verdict {
        Verdict::Throttled(until) => {
            log.detail = serde_json::json!({ "reason": "second factor throttled", "until": until });
            activity::record(&conn, &log).await?;
            Ok(Either::Right(throttled(SecondStepPage { page, code_error: Some(throttled_message(until)) }, until)))
        }
        Verdict::Wrong => {
            log.detail = serde_json::json!({ "reason": "wrong second-factor code" });
            activity::record(&conn, &log).await?;
            Ok(step_again(page, WRONG_CODE.into(), StatusCode::UNPROCESSABLE_ENTITY))
        }
        Verdict::Accepted { recovery_code } => {
            users::record_successful_login(&mut conn, user.id).await?;
            let left = enrolment.recovery_codes_left - i64::from(recovery_code);
            log.action = "login.succeeded";
            log.detail = serde_json::json!({
                "second_factor": if recovery_code { "recovery code" } else { "authenticator" },
                "recovery_codes_left": left,
            });
            activity::record(&conn, &log).await?;
            session::sign_in(&session, user.id, user.session_version);
            if recovery_code {
                push_flash(
                    &session,
                    Flash::info(format!(
                        "You signed in with a recovery code; {left} left. Make new ones on the Second factor page \
                         if you are running short."
                    )),
                );
            }
            Ok(Either::Left(see_other(&pending.next)))
        }
    }
}

/// The enrolment page, or the enrolled user's status page.
#[derive(Template, WebTemplate)]
#[template(path = "second_factor.html")]
pub struct SecondFactorPage {
    page: Page,
    /// The user's roles require a second factor.
    required: bool,
    status: Status,
    /// The form's message, by the `code` field of the form that was sent.
    enrol_error: Option<String>,
    renew_error: Option<String>,
    remove_error: Option<String>,
}

pub enum Status {
    Enrolling { secret: String, qr_svg: String },
    Enrolled { since: String, recovery_codes_left: i64 },
}

/// Ten new recovery codes, shown this once.
#[derive(Template, WebTemplate)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage {
    page: Page,
    codes: Vec<String>,
}

async fn status(conn: &mut PooledConn, session: &Session, user: &CurrentUser) -> Result<Status, AppError> {
    Ok(match store::enrolment(conn, user.id).await? {
        Some(e) => Status::Enrolled { since: format_sast(e.enrolled_at), recovery_codes_left: e.recovery_codes_left },
        None => {
            let secret = session::enrolment_secret(session, second_factor::new_secret);
            let qr_svg = second_factor::otpauth_url(&secret, &user.email)
                .and_then(|url| second_factor::qr_svg(&url))
                .unwrap_or_default();
            Status::Enrolling { secret: second_factor::grouped(&secret), qr_svg }
        }
    })
}

fn page_of(page: Page, user: &CurrentUser, status: Status) -> SecondFactorPage {
    SecondFactorPage {
        page,
        required: second_factor::required_for(user.permissions),
        status,
        enrol_error: None,
        renew_error: None,
        remove_error: None,
    }
}

/// Any signed-in user: it is their own second factor.
pub async fn show(
    user: CurrentUser,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
) -> Result<SecondFactorPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let status = status(&mut conn, &session, &user).await?;
    Ok(page_of(page, &user, status))
}

type CodesOr<P> = Either<Either<HttpResponse, RecoveryCodesPage>, CustomizeResponder<P>>;

/// The page again with `message` by one form's field, 422 (or 429 while codes wait).
fn refused(page: SecondFactorPage, until: Option<DateTime<Utc>>) -> CodesOr<SecondFactorPage> {
    Either::Right(match until {
        Some(until) => throttled(page, until),
        None => page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY),
    })
}

fn new_codes() -> (Vec<String>, Vec<Vec<u8>>) {
    let codes = second_factor::new_recovery_codes();
    let hashes = codes.iter().map(|c| second_factor::recovery_code_hash(c)).collect();
    (codes, hashes)
}

/// Confirms an enrolment with a code from the QR code's secret, and shows the recovery
/// codes once.
pub async fn enrol(
    actor: Actor,
    user: CurrentUser,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> Result<CodesOr<SecondFactorPage>, AppError> {
    let mut conn = state.pools.main.get().await?;
    let status = status(&mut conn, &session, &user).await?;
    let Status::Enrolling { secret, .. } = &status else {
        push_flash(&session, Flash::info("Your second factor is already set up."));
        return Ok(Either::Left(Either::Left(see_other(ENROL))));
    };
    let secret = secret.replace(' ', "");
    let mut again = page_of(page, &user, status);
    let code = match Code::parse(&form.code) {
        Ok(code @ Code::Authenticator(_)) => code,
        _ => {
            again.enrol_error = Some("Enter the 6-digit code your authenticator app shows for this portal.".into());
            return Ok(refused(again, None));
        }
    };
    match verify(&mut conn, &user.email, None, &secret, &code).await? {
        (Verdict::Accepted { .. }, Some(step)) => {
            let (codes, hashes) = new_codes();
            if !store::enrol(&mut conn, user.id, &secret, step, &hashes, &actor).await? {
                push_flash(&session, Flash::info("Your second factor is already set up."));
                return Ok(Either::Left(Either::Left(see_other(ENROL))));
            }
            session::forget_enrolment_secret(&session);
            Ok(Either::Left(Either::Right(RecoveryCodesPage { page: again.page, codes })))
        }
        (Verdict::Throttled(until), _) => {
            again.enrol_error = Some(throttled_message(until));
            Ok(refused(again, Some(until)))
        }
        _ => {
            again.enrol_error = Some(
                "This code does not match. Check that the app's clock is right and enter the code it shows now.".into(),
            );
            Ok(refused(again, None))
        }
    }
}

/// Which of the enrolled user's two forms was sent.
#[derive(Clone, Copy)]
enum Change {
    RenewCodes,
    Remove,
}

/// Checks the code of an enrolled user's change: `Ok` to go ahead, or the page again.
async fn confirm(
    conn: &mut PooledConn,
    user: &CurrentUser,
    session: &Session,
    page: Page,
    change: Change,
    code: &str,
) -> Result<Result<Page, CodesOr<SecondFactorPage>>, AppError> {
    let Some(enrolment) = store::enrolment(conn, user.id).await? else {
        return Ok(Err(Either::Left(Either::Left(see_other(ENROL)))));
    };
    let status = status(conn, session, user).await?;
    let mut again = page_of(page, user, status);
    let (message, until) = match Code::parse(code) {
        Err(e) => (sentence(e), None),
        Ok(code) => match verify(conn, &user.email, Some(user.id), &enrolment.secret, &code).await?.0 {
            Verdict::Accepted { .. } => return Ok(Ok(again.page)),
            Verdict::Wrong => (WRONG_CODE.to_owned(), None),
            Verdict::Throttled(until) => (throttled_message(until), Some(until)),
        },
    };
    match change {
        Change::RenewCodes => again.renew_error = Some(message),
        Change::Remove => again.remove_error = Some(message),
    }
    Ok(Err(refused(again, until)))
}

/// Ten new recovery codes in place of the old ones (a current code first).
pub async fn renew_codes(
    actor: Actor,
    user: CurrentUser,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> Result<CodesOr<SecondFactorPage>, AppError> {
    let mut conn = state.pools.main.get().await?;
    let page = match confirm(&mut conn, &user, &session, page, Change::RenewCodes, &form.code).await? {
        Ok(page) => page,
        Err(answer) => return Ok(answer),
    };
    let (codes, hashes) = new_codes();
    store::renew_recovery_codes(&mut conn, user.id, &hashes, &actor).await?;
    Ok(Either::Left(Either::Right(RecoveryCodesPage { page, codes })))
}

/// Turns the second factor off, for someone whose roles do not require it.
pub async fn remove(
    actor: Actor,
    user: CurrentUser,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<CodeForm>,
) -> Result<PageOr303<SecondFactorPage>, AppError> {
    let mut conn = state.pools.main.get().await?;
    if second_factor::required_for(user.permissions) {
        let status = status(&mut conn, &session, &user).await?;
        let mut again = page_of(page, &user, status);
        again.remove_error =
            Some("Your roles require a second factor, so it stays on. An administrator can reset it.".into());
        return unprocessable(again);
    }
    match confirm(&mut conn, &user, &session, page, Change::Remove, &form.code).await? {
        Ok(_) => {}
        Err(Either::Right(again)) => return Ok(Either::Right(again)),
        Err(Either::Left(_)) => return done(&session, ENROL, Flash::info("You have no second factor.")),
    }
    store::remove(&mut conn, user.id, Removal::ByUser, &actor).await?;
    done(&session, ENROL, Flash::success("Your second factor is off: signing in needs only your password now."))
}
