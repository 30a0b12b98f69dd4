//! Staff corrections (`wallet.credit`): refunding an accepted quote
//! (`/quotes/{id}/refund`, which may end one of its services at once, refunding its
//! unused part) and adjusting a wallet (`/admin/organisations/{id}/adjust`).
//! Each form carries a fresh idempotency key, so a double submit records once.

use actix_session::Session;
use actix_web::{Either, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::see_other;
use super::{PageOr303, unprocessable};
use crate::auth::session::{Flash, push_flash};
use crate::auth::{Require, perm};
use crate::db::main::activity::Actor;
use crate::db::main::corrections::{self, Clerk, NewAdjustment, NewRefund, Outcome, Refused};
use crate::db::main::ledger::Direction;
use crate::db::main::{organisations, services, wallets};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::ids::{OrganisationId, QuoteId, ServiceId};
use crate::domain::money::{MAX_TOP_UP, format_zar, parse_amount};
use crate::domain::states::QuoteStatus;
use crate::domain::text::{self, Lines};
use crate::domain::time::today_sast;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, SelectOption, sentence};

const MAX_REASON_CHARS: usize = 200;

/// A correction's amount: positive, in cents, at most [`MAX_TOP_UP`] at once.
fn parse_correction(input: &str) -> Result<Decimal, String> {
    let amount = parse_amount(input).map_err(|e| sentence(&e))?;
    if amount <= Decimal::ZERO {
        return Err("Must be more than zero.".into());
    }
    if amount > MAX_TOP_UP {
        return Err(format!("At most {} in one correction.", format_zar(MAX_TOP_UP)));
    }
    Ok(amount)
}

fn parse_reason(input: &str) -> Result<&str, String> {
    let reason = input.trim();
    if let Err(e) = text::check(reason, Lines::One) {
        Err(sentence(e))
    } else if reason.is_empty() {
        Err("Say why: the reason is shown to the customer and kept in the ledger.".into())
    } else if reason.chars().count() > MAX_REASON_CHARS {
        Err(format!("Use at most {MAX_REASON_CHARS} characters."))
    } else {
        Ok(reason)
    }
}

fn parse_key(key: &str, errors: &mut CorrectionErrors) -> Option<IdempotencyKey> {
    let key = IdempotencyKey::parse(key).ok();
    if key.is_none() {
        errors.form = Some("This form is incomplete. Reload the page and enter the correction again.".to_owned());
    }
    key
}

fn fresh_key() -> String {
    IdempotencyKey::new().to_string()
}

#[derive(Deserialize, Default)]
pub struct CorrectionForm {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    idempotency_key: String,
    /// An adjustment that corrects a charge: the tax invoice it credits.
    #[serde(default)]
    corrects: String,
    /// A refund's service to end at once (its id), or empty.
    #[serde(default)]
    end_service: String,
}

#[derive(Default)]
pub struct CorrectionErrors {
    direction: Option<String>,
    amount: Option<String>,
    reason: Option<String>,
    corrects: Option<String>,
    form: Option<String>,
}

impl CorrectionErrors {
    fn any(&self) -> bool {
        self.direction.is_some()
            || self.amount.is_some()
            || self.reason.is_some()
            || self.corrects.is_some()
            || self.form.is_some()
    }
}

/// The tax invoice an adjustment corrects (`INV-000012`, any case), if one is named.
fn parse_corrects(input: &str, direction: Option<Direction>) -> Result<Option<String>, String> {
    let number = input.trim().to_ascii_uppercase();
    if number.is_empty() {
        return Ok(None);
    }
    let digits = number.strip_prefix("INV-").filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if digits.is_none() {
        return Err("Use the tax invoice's number, like INV-000012, or leave this empty.".into());
    }
    if direction == Some(Direction::Out) {
        return Err("Only an adjustment that adds to the balance corrects a charge (with a credit note).".into());
    }
    Ok(Some(number))
}

// ---------------------------------------------------------------- refunds

#[derive(Template, WebTemplate)]
#[template(path = "refund.html")]
pub struct RefundPage {
    page: Page,
    quote_id: QuoteId,
    number: String,
    organisation: String,
    debited: Option<String>,
    refunded: Option<String>,
    /// Why no refund can be made, when none can.
    closed: Option<String>,
    /// The quote's running services: (id, what, what is unused today).
    services: Vec<(ServiceId, String, String)>,
    form: CorrectionForm,
    errors: CorrectionErrors,
}

async fn refund_page(
    conn: &mut AsyncPgConnection,
    page: Page,
    id: QuoteId,
    form: Option<CorrectionForm>,
    errors: CorrectionErrors,
) -> Result<RefundPage, AppError> {
    let quote = corrections::refundable(conn, id).await?.ok_or(AppError::NotFound)?;
    let organisation =
        organisations::find_by_id(conn, quote.organisation_id).await?.map(|o| o.name).unwrap_or_default();
    let closed = match (quote.status, quote.debited, quote.refunded) {
        (_, _, Some(refunded)) => Some(format!("This quote was already refunded ({}).", format_zar(refunded))),
        (QuoteStatus::Accepted, Some(_), None) => None,
        (QuoteStatus::Accepted, None, None) => {
            Some("Nothing was debited for this quote, so there is nothing to refund.".into())
        }
        (status, _, _) => Some(format!("Only an accepted quote can be refunded; this one is {status}.")),
    };
    let form = form.unwrap_or_else(|| CorrectionForm {
        amount: quote.debited.map(|d| d.to_string()).unwrap_or_default(),
        idempotency_key: fresh_key(),
        ..Default::default()
    });
    let today = today_sast();
    let services = services::running_of_quote(conn, id)
        .await?
        .into_iter()
        .map(|s| (s.id, s.description.clone(), format_zar(s.schedule().unused(s.monthly_amount, today))))
        .collect();
    Ok(RefundPage {
        page,
        quote_id: id,
        number: quote.number,
        organisation,
        debited: quote.debited.map(format_zar),
        refunded: quote.refunded.map(format_zar),
        closed,
        services,
        form,
        errors,
    })
}

pub async fn refund_form(
    _: Require<perm::WalletCredit>,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
) -> Result<RefundPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    refund_page(&mut conn, page, id.into_inner(), None, CorrectionErrors::default()).await
}

pub async fn refund(
    actor: Actor,
    required: Require<perm::WalletCredit>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<QuoteId>,
    form: web::Form<CorrectionForm>,
) -> Result<PageOr303<RefundPage>, AppError> {
    let id = id.into_inner();
    let form = form.into_inner();
    let mut errors = CorrectionErrors::default();
    let amount = parse_correction(&form.amount).map_err(|e| errors.amount = Some(e)).ok();
    let reason = parse_reason(&form.reason).map_err(|e| errors.reason = Some(e)).ok();
    let key = parse_key(&form.idempotency_key, &mut errors);
    let end_service = match form.end_service.trim() {
        "" => None,
        raw => raw.parse().ok().map(ServiceId).or_else(|| {
            errors.form = Some("Choose a service from the list, or none.".into());
            None
        }),
    };
    let mut conn = state.pools.main.get().await?;
    if let (Some(amount), Some(reason), Some(key), false) = (amount, reason, &key, errors.any()) {
        let refund = NewRefund { quote_id: id, amount, reason, idempotency_key: key.as_str(), end_service };
        let clerk = Clerk { user_id: required.user.id, ip: actor.ip.as_deref() };
        match corrections::refund(&mut conn, &refund, &clerk).await {
            Ok(outcome) => {
                push_flash(&session, flash(outcome, "refund"));
                return Ok(Either::Left(see_other(&format!("/quotes/{id}"))));
            }
            Err(Refused::NotFound) => return Err(AppError::NotFound),
            Err(Refused::Database(e)) => return Err(e.into()),
            Err(e @ (Refused::MoreThanDebited { .. } | Refused::TooLarge)) => {
                errors.amount = Some(sentence(&e.to_string()))
            }
            Err(e) => errors.form = Some(sentence(&e.to_string())),
        }
    }
    let page = refund_page(&mut conn, page, id, Some(form), errors).await?;
    unprocessable(page)
}

fn flash(outcome: Outcome, what: &str) -> Flash {
    match outcome {
        Outcome::Recorded(tx) => Flash::success(format!(
            "Recorded the {what} of {}. The balance is now {}.",
            format_zar(tx.amount),
            format_zar(tx.balance_after)
        )),
        Outcome::AlreadyRecorded(_) => Flash::info(format!("This {what} was already recorded; nothing changed.")),
    }
}

// ---------------------------------------------------------------- adjustments

#[derive(Template, WebTemplate)]
#[template(path = "adjustment.html")]
pub struct AdjustmentPage {
    page: Page,
    organisation_id: OrganisationId,
    organisation: String,
    balance: String,
    directions: Vec<SelectOption>,
    form: CorrectionForm,
    errors: CorrectionErrors,
}

async fn adjustment_page(
    conn: &mut AsyncPgConnection,
    page: Page,
    id: OrganisationId,
    form: CorrectionForm,
    errors: CorrectionErrors,
) -> Result<AdjustmentPage, AppError> {
    let org = organisations::find_by_id(conn, id).await?.ok_or(AppError::NotFound)?;
    let wallet = wallets::for_organisation(conn, id).await?.ok_or(AppError::NotFound)?;
    Ok(AdjustmentPage {
        page,
        organisation_id: id,
        organisation: org.name,
        balance: format_zar(wallet.balance),
        directions: vec![
            SelectOption::new("in", "Add to the balance", &form.direction),
            SelectOption::new("out", "Take from the balance", &form.direction),
        ],
        form,
        errors,
    })
}

pub async fn adjustment_form(
    _: Require<perm::WalletCredit>,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<OrganisationId>,
) -> Result<AdjustmentPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let form = CorrectionForm { idempotency_key: fresh_key(), ..Default::default() };
    adjustment_page(&mut conn, page, id.into_inner(), form, CorrectionErrors::default()).await
}

pub async fn adjust(
    actor: Actor,
    required: Require<perm::WalletCredit>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<OrganisationId>,
    form: web::Form<CorrectionForm>,
) -> Result<PageOr303<AdjustmentPage>, AppError> {
    let id = id.into_inner();
    let form = form.into_inner();
    let mut errors = CorrectionErrors::default();
    let direction = match form.direction.trim() {
        "in" => Some(Direction::In),
        "out" => Some(Direction::Out),
        _ => {
            errors.direction = Some("Choose whether to add to the balance or take from it.".into());
            None
        }
    };
    let amount = parse_correction(&form.amount).map_err(|e| errors.amount = Some(e)).ok();
    let reason = parse_reason(&form.reason).map_err(|e| errors.reason = Some(e)).ok();
    let corrects = parse_corrects(&form.corrects, direction).map_err(|e| errors.corrects = Some(e)).ok().flatten();
    let key = parse_key(&form.idempotency_key, &mut errors);
    let (_turn, mut conn) = state.money_connection(id).await?;
    if let (Some(direction), Some(amount), Some(reason), Some(key), false) =
        (direction, amount, reason, &key, errors.any())
    {
        let adjustment = NewAdjustment {
            organisation_id: id,
            direction,
            amount,
            reason,
            idempotency_key: key.as_str(),
            corrects: corrects.as_deref(),
        };
        let clerk = Clerk { user_id: required.user.id, ip: actor.ip.as_deref() };
        match corrections::adjust(&mut conn, &adjustment, &clerk).await {
            Ok(outcome) => {
                push_flash(&session, flash(outcome, "adjustment"));
                return Ok(Either::Left(see_other(&format!("/admin/organisations/{id}"))));
            }
            Err(Refused::NotFound) => return Err(AppError::NotFound),
            Err(Refused::Database(e)) => return Err(e.into()),
            Err(e @ (Refused::BelowZero { .. } | Refused::TooLarge | Refused::MoreThanInvoiced { .. })) => {
                errors.amount = Some(sentence(&e.to_string()))
            }
            Err(e @ Refused::UnknownInvoice) => errors.corrects = Some(sentence(&e.to_string())),
            Err(e) => errors.form = Some(sentence(&e.to_string())),
        }
    }
    let page = adjustment_page(&mut conn, page, id, form, errors).await?;
    unprocessable(page)
}
