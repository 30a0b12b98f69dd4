//! `/admin/organisations/{id}`: an organisation's page. For now its wallet panel, where
//! staff with `wallet.credit` record top-ups (EFT received), exactly once per form.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::wallet::LedgerView;
use super::{client_ip, see_other};
use crate::auth::session::{Flash, push_flash};
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::main::organisations::{self, Organisation};
use crate::db::main::wallets::{self, CreditError, CreditOutcome, NewCredit};
use crate::domain::ids::OrganisationId;
use crate::domain::money::{format_zar, parse_top_up};
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::{Page, sentence};

const RECENT: i64 = 10;
const MAX_REFERENCE_CHARS: usize = 200;

#[derive(Deserialize, Default)]
pub struct CreditForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    idempotency_key: String,
}

#[derive(Default)]
pub struct CreditErrors {
    amount: Option<String>,
    reference: Option<String>,
    form: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "organisation.html")]
pub struct OrganisationPage {
    page: Page,
    org: Organisation,
    balance: String,
    threshold: String,
    rows: Vec<LedgerView>,
    can_credit: bool,
    form: CreditForm,
    errors: CreditErrors,
}

async fn organisation_page(
    state: &AppState,
    user: &CurrentUser,
    page: Page,
    id: OrganisationId,
    form: CreditForm,
    errors: CreditErrors,
) -> Result<OrganisationPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let org = organisations::find_by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let wallet = wallets::for_organisation(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let rows = wallets::ledger(&mut conn, id, None, RECENT).await?;
    Ok(OrganisationPage {
        page,
        org,
        balance: format_zar(wallet.balance),
        threshold: format_zar(wallet.low_balance_threshold),
        rows: rows.into_iter().map(LedgerView::from).collect(),
        can_credit: user.can(Permission::WalletCredit),
        form,
        errors,
    })
}

/// A fresh form: its idempotency key makes a double submit credit once.
fn blank_credit_form() -> CreditForm {
    CreditForm { idempotency_key: uuid::Uuid::new_v4().to_string(), ..Default::default() }
}

pub async fn show(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<OrganisationPage, AppError> {
    user.require_any(&[Permission::OrgManage, Permission::WalletCredit])?;
    organisation_page(
        &state,
        &user,
        page,
        OrganisationId(id.into_inner()),
        blank_credit_form(),
        CreditErrors::default(),
    )
    .await
}

pub async fn credit(
    req: HttpRequest,
    required: Require<perm::WalletCredit>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    form: web::Form<CreditForm>,
) -> Result<Either<HttpResponse, CustomizeResponder<OrganisationPage>>, AppError> {
    let user = required.user;
    let id = OrganisationId(id.into_inner());
    let form = form.into_inner();
    let mut errors = CreditErrors::default();
    let amount = parse_top_up(&form.amount).map_err(|e| errors.amount = Some(sentence(&e))).ok();
    let reference = form.reference.trim();
    if reference.is_empty() {
        errors.reference = Some("Enter the payment's bank reference.".into());
    } else if reference.chars().count() > MAX_REFERENCE_CHARS {
        errors.reference = Some(format!("Use at most {MAX_REFERENCE_CHARS} characters."));
    }
    if uuid::Uuid::parse_str(form.idempotency_key.trim()).is_err() {
        errors.form = Some("This form is incomplete. Reload the page and enter the top-up again.".into());
    }
    let ip = client_ip(&req);
    let outcome = match amount {
        Some(amount) if errors.reference.is_none() && errors.form.is_none() => {
            let mut conn = state.pools.main.get().await?;
            let credit = NewCredit {
                organisation_id: id,
                amount,
                reference,
                description: "EFT received",
                idempotency_key: form.idempotency_key.trim(),
                created_by: Some(user.id),
                ip: ip.as_deref(),
            };
            match wallets::credit(&mut conn, &credit).await {
                Ok(outcome) => Some(outcome),
                Err(CreditError::NoWallet) => return Err(AppError::NotFound),
                Err(CreditError::Database(e)) => return Err(e.into()),
                Err(CreditError::TooLarge) => {
                    errors.amount = Some("The balance would exceed what a wallet can hold.".into());
                    None
                }
                Err(CreditError::KeyReused) => {
                    errors.form = Some("This form was already used for another top-up. Reload the page.".into());
                    None
                }
            }
        }
        _ => None,
    };
    let message = match outcome {
        Some(CreditOutcome::Credited(tx)) => Flash::success(format!(
            "Recorded a top-up of {}. The balance is now {}.",
            format_zar(tx.amount),
            format_zar(tx.balance_after)
        )),
        Some(CreditOutcome::AlreadyRecorded(_)) => Flash::info("This top-up was already recorded; nothing changed."),
        None => {
            let page = organisation_page(&state, &user, page, id, form, errors).await?;
            return Ok(Either::Right(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    push_flash(&session, message);
    Ok(Either::Left(see_other(&format!("/admin/organisations/{id}"))))
}
