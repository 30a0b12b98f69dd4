//! `/admin/organisations`: the list (search, status, balance) for `org.manage`, and
//! `/admin/organisations/new` the create form, which posts to the list's address; `/admin/organisations/{id}`: details, status, users, quotes and the
//! wallet panel, where staff with `wallet.credit` record top-ups exactly once per form.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::Utc;
use serde::Deserialize;

use super::see_other;
use super::wallet::{LedgerView, RunwayView};
use super::{PageOr303, done, unprocessable};
use crate::auth::session::{Flash, push_flash};
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::main::activity::Actor;
use crate::db::main::organisations::{self, CreateOrganisationError, Details, Organisation, StatusError};
use crate::db::main::quotes;
use crate::db::main::services;
use crate::db::main::users;
use crate::db::main::wallets::{self, CreditError, CreditOutcome, NewCredit};
use crate::db::main::workspace;
use crate::domain::email::Email;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::ids::{OrganisationId, QuoteId, UserId};
use crate::domain::money::{format_zar, parse_threshold, parse_top_up};
use crate::domain::organisation::{VatNumber, parse_address, parse_name};
use crate::domain::states::{OrganisationStatus, QuoteKind, QuoteStatus};
use crate::domain::text::{self, Lines};
use crate::domain::time::{format_sast, today_sast};
use crate::domain::wallet_stats;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, SelectOption, sentence};

const RECENT: i64 = 10;
const MAX_REFERENCE_CHARS: usize = 200;
const MAX_FIELD_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 500;
const NAME_TAKEN: &str = "An organisation with this name already exists.";

/// The details form (create and edit), as typed.
#[derive(Deserialize, Default, Clone)]
pub struct DetailsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    registration_number: String,
    #[serde(default)]
    vat_number: String,
    #[serde(default)]
    billing_email: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    low_balance_threshold: String,
}

#[derive(Default)]
pub struct DetailsErrors {
    name: Option<String>,
    registration_number: Option<String>,
    vat_number: Option<String>,
    billing_email: Option<String>,
    address: Option<String>,
    low_balance_threshold: Option<String>,
}

/// The details parsed: owned, for [`Details`] to borrow.
struct ParsedDetails {
    name: String,
    registration_number: Option<String>,
    vat_number: Option<VatNumber>,
    billing_email: Option<Email>,
    address: Option<String>,
    low_balance_threshold: rust_decimal::Decimal,
}

impl ParsedDetails {
    fn details(&self) -> Details<'_> {
        Details {
            name: &self.name,
            registration_number: self.registration_number.as_deref(),
            vat_number: self.vat_number.as_ref(),
            billing_email: self.billing_email.as_ref(),
            address: self.address.as_deref(),
            low_balance_threshold: self.low_balance_threshold,
        }
    }
}

/// An optional field: empty is None.
fn optional(raw: &str) -> Option<&str> {
    Some(raw.trim()).filter(|s| !s.is_empty())
}

impl DetailsForm {
    fn parse(&self) -> Result<ParsedDetails, Box<DetailsErrors>> {
        let mut errors = DetailsErrors::default();
        let name = parse_name(&self.name).map_err(|e| errors.name = Some(sentence(&e))).ok();
        let registration_number = optional(&self.registration_number);
        if let Err(e) = text::check(&self.registration_number, Lines::One) {
            errors.registration_number = Some(sentence(e));
        } else if registration_number.is_some_and(|r| r.chars().count() > MAX_FIELD_CHARS) {
            errors.registration_number = Some(format!("Use at most {MAX_FIELD_CHARS} characters."));
        }
        let vat_number = optional(&self.vat_number)
            .map(|v| VatNumber::parse(v).map_err(|e| errors.vat_number = Some(sentence(e))))
            .transpose()
            .ok()
            .flatten();
        let billing_email = optional(&self.billing_email)
            .map(|e| Email::parse(e).map_err(|e| errors.billing_email = Some(sentence(e))))
            .transpose()
            .ok()
            .flatten();
        let address = optional(&self.address)
            .map(|a| parse_address(a).map_err(|e| errors.address = Some(sentence(&e))))
            .transpose()
            .ok()
            .flatten();
        let threshold =
            parse_threshold(&self.low_balance_threshold).map_err(|e| errors.low_balance_threshold = Some(sentence(&e)));
        match (name, threshold) {
            (Some(name), Ok(low_balance_threshold))
                if errors.registration_number.is_none()
                    && errors.vat_number.is_none()
                    && errors.billing_email.is_none()
                    && errors.address.is_none() =>
            {
                Ok(ParsedDetails {
                    name: name.to_owned(),
                    registration_number: registration_number.map(str::to_owned),
                    vat_number,
                    billing_email,
                    address,
                    low_balance_threshold,
                })
            }
            _ => Err(Box::new(errors)),
        }
    }
}

// ---------------------------------------------------------------------------
// The list and the create form
// ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    /// Which page of [`PAGE_SIZE`] rows, from 1.
    #[serde(default)]
    page: String,
}

impl ListQuery {
    /// The filters as a query string, for the paging links.
    fn query_string(&self) -> String {
        serde_urlencoded::to_string([("q", self.q.trim()), ("status", self.status.trim())]).unwrap_or_default()
    }
}

pub struct ListView {
    id: OrganisationId,
    name: String,
    status: OrganisationStatus,
    is_operator: bool,
    vat_number: String,
    balance: String,
    /// Below its low-balance threshold.
    low: bool,
    /// (when, amount) of the latest top-up.
    last_top_up: Option<(String, String)>,
    in_arrears: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "organisations.html")]
pub struct OrganisationsPage {
    page: Page,
    query: ListQuery,
    statuses: Vec<SelectOption>,
    status_error: Option<String>,
    rows: Vec<ListView>,
    /// Links to the pages before and after this one.
    previous: Option<String>,
    next: Option<String>,
    page_number: i64,
    /// Admins create organisations; staff who record top-ups only find them.
    can_manage: bool,
}

/// The create form: a page of its own, so that the list has the page's whole width.
#[derive(Template, WebTemplate)]
#[template(path = "organisation_new.html")]
pub struct NewOrganisationPage {
    page: Page,
    details: DetailsForm,
    details_errors: DetailsErrors,
}

/// Organisations listed per page.
const PAGE_SIZE: i64 = 50;
/// Deeper than this, a search finds faster than paging.
const MAX_PAGE: i64 = 1000;

async fn organisations_page(
    state: &AppState,
    user: &CurrentUser,
    page: Page,
    query: ListQuery,
) -> Result<OrganisationsPage, AppError> {
    let status = match query.status.trim() {
        "" => Ok(None),
        raw => OrganisationStatus::parse(raw).map(Some).ok_or("Choose active or suspended."),
    };
    let text = optional(&query.q).map(|q| q.chars().take(100).collect::<String>());
    // A malformed page number only comes from an edited link: the first page.
    let page_number = query.page.trim().parse::<i64>().unwrap_or(1).clamp(1, MAX_PAGE);
    let mut conn = state.pools.main.get().await?;
    let mut rows = match status {
        Ok(status) => {
            let filter = workspace::DirectoryFilter { text, status };
            workspace::directory(&mut conn, &filter, (page_number - 1) * PAGE_SIZE, PAGE_SIZE + 1).await?
        }
        Err(_) => Vec::new(),
    };
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let filters = query.query_string();
    Ok(OrganisationsPage {
        page,
        statuses: OrganisationStatus::ALL
            .iter()
            .map(|s| SelectOption::new(s.as_str(), s.as_str(), &query.status))
            .collect(),
        status_error: status.err().map(str::to_owned),
        previous: (page_number > 1).then(|| format!("/admin/organisations?{filters}&page={}", page_number - 1)),
        next: (more && page_number < MAX_PAGE)
            .then(|| format!("/admin/organisations?{filters}&page={}", page_number + 1)),
        page_number,
        can_manage: user.can(Permission::OrgManage),
        rows: rows
            .into_iter()
            .map(|r| ListView {
                id: r.id,
                name: r.name,
                status: r.status,
                is_operator: r.is_operator,
                vat_number: r.vat_number.unwrap_or_default(),
                low: r.balance < r.low_balance_threshold,
                balance: format_zar(r.balance),
                last_top_up: r
                    .last_top_up_at
                    .zip(r.last_top_up)
                    .map(|(at, amount)| (format_sast(at), format_zar(amount))),
                in_arrears: r.in_arrears,
            })
            .collect(),
        query,
    })
}

/// The organisation directory: for admins (who create from here) and for staff who
/// record top-ups (read only: every organisation, even one without a transaction, is
/// found here and opened for its wallet panel).
pub async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<Either<OrganisationsPage, CustomizeResponder<OrganisationsPage>>, AppError> {
    user.require_any(&[Permission::OrgManage, Permission::WalletCredit])?;
    let view = organisations_page(&state, &user, page, query.into_inner()).await?;
    if view.status_error.is_some() {
        return Ok(Either::Right(view.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
    }
    Ok(Either::Left(view))
}

/// `GET /admin/organisations/new`.
pub async fn new_form(_: Require<perm::OrgManage>, page: Page) -> NewOrganisationPage {
    NewOrganisationPage { page, details: DetailsForm::default(), details_errors: DetailsErrors::default() }
}

pub async fn create(
    actor: Actor,
    _: Require<perm::OrgManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    form: web::Form<DetailsForm>,
) -> Result<PageOr303<NewOrganisationPage>, AppError> {
    let form = form.into_inner();
    let errors = match form.parse() {
        Ok(parsed) => {
            let mut conn = state.pools.main.get().await?;
            match organisations::create_with_details(&mut conn, &parsed.details(), &actor).await {
                Ok(id) => {
                    push_flash(&session, Flash::success(format!("Created the organisation {}.", parsed.name)));
                    return Ok(Either::Left(see_other(&format!("/admin/organisations/{id}"))));
                }
                Err(CreateOrganisationError::NameTaken) => {
                    DetailsErrors { name: Some(NAME_TAKEN.into()), ..Default::default() }
                }
                Err(CreateOrganisationError::Database(e)) => return Err(e.into()),
            }
        }
        Err(errors) => *errors,
    };
    unprocessable(NewOrganisationPage { page, details: form, details_errors: errors })
}

// ---------------------------------------------------------------------------
// One organisation
// ---------------------------------------------------------------------------

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

#[derive(Deserialize, Default)]
pub struct SuspendForm {
    #[serde(default)]
    reason: String,
}

pub struct MemberView {
    id: UserId,
    name: String,
    email: String,
    roles: String,
    is_active: bool,
}

pub struct QuoteView {
    id: QuoteId,
    number: String,
    kind: QuoteKind,
    status: QuoteStatus,
    amount_due: String,
    created: String,
}

/// What the organisation page's forms hold: fresh, or as submitted with their errors.
#[derive(Default)]
struct Forms {
    credit: CreditForm,
    credit_errors: CreditErrors,
    /// None: the stored details.
    details: Option<DetailsForm>,
    details_errors: DetailsErrors,
    reason: String,
    reason_error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "organisation.html")]
pub struct OrganisationPage {
    page: Page,
    org: Organisation,
    balance: String,
    threshold: String,
    /// What the organisation has committed to each month, and how long its balance lasts
    /// at that rate: the same figures as its own wallet page.
    committed_monthly: String,
    runway: RunwayView,
    services: Vec<super::services::ServiceView>,
    can_cancel: bool,
    rows: Vec<LedgerView>,
    can_credit: bool,
    can_manage: bool,
    form: CreditForm,
    errors: CreditErrors,
    details: DetailsForm,
    details_errors: DetailsErrors,
    reason: String,
    reason_error: Option<String>,
    members: Vec<MemberView>,
    quotes: Vec<QuoteView>,
}

async fn organisation_page(
    state: &AppState,
    user: &CurrentUser,
    page: Page,
    id: OrganisationId,
    forms: Forms,
) -> Result<OrganisationPage, AppError> {
    let mut conn = state.pools.main.get().await?;
    let org = organisations::find_by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let (wallet, running) = services::wallet_and_billable(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let rows = wallets::ledger(&mut conn, id, None, RECENT).await?;
    let can_manage = user.can(Permission::OrgManage);
    let (members, quotes) = if can_manage {
        let now = Utc::now();
        let members = users::of_organisation(&mut conn, id).await?;
        let filter = quotes::ListFilter { organisation: Some(id), ..Default::default() };
        let quotes = quotes::list(&mut conn, &filter, RECENT).await?;
        (
            members
                .into_iter()
                .map(|u| MemberView {
                    id: u.id,
                    name: u.name,
                    email: u.email,
                    roles: u.roles.join(", "),
                    is_active: u.is_active,
                })
                .collect(),
            quotes
                .into_iter()
                .map(|q| QuoteView {
                    id: q.id,
                    status: q.status.at(q.valid_until, now),
                    number: q.number,
                    kind: q.kind,
                    amount_due: format_zar(q.amount_due),
                    created: format_sast(q.created_at),
                })
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let details = forms.details.unwrap_or_else(|| DetailsForm {
        name: org.name.clone(),
        registration_number: org.registration_number.clone().unwrap_or_default(),
        vat_number: org.vat_number.clone().unwrap_or_default(),
        billing_email: org.billing_email.clone().unwrap_or_default(),
        address: org.address.clone().unwrap_or_default(),
        low_balance_threshold: wallet.low_balance_threshold.to_string(),
    });
    Ok(OrganisationPage {
        page,
        org,
        balance: format_zar(wallet.balance),
        threshold: format_zar(wallet.low_balance_threshold),
        committed_monthly: format_zar(wallet_stats::committed(&running)),
        runway: wallet_stats::runway(wallet.balance, &running, today_sast()).into(),
        services: super::services::views_of(&mut conn, id).await?,
        can_cancel: false,
        rows: rows.into_iter().map(LedgerView::from).collect(),
        can_credit: user.can(Permission::WalletCredit),
        can_manage,
        form: forms.credit,
        errors: forms.credit_errors,
        details,
        details_errors: forms.details_errors,
        reason: forms.reason,
        reason_error: forms.reason_error,
        members,
        quotes,
    })
}

/// A fresh form: its idempotency key makes a double submit credit once.
fn blank_credit_form() -> CreditForm {
    CreditForm { idempotency_key: IdempotencyKey::new().to_string(), ..Default::default() }
}

async fn again(
    state: &AppState,
    user: &CurrentUser,
    page: Page,
    id: OrganisationId,
    forms: Forms,
) -> Result<PageOr303<OrganisationPage>, AppError> {
    let view = organisation_page(state, user, page, id, Forms { credit: blank_credit_form(), ..forms }).await?;
    unprocessable(view)
}

/// Open to `org.manage` (everything) and `wallet.credit` (the wallet panel only).
pub async fn show(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<OrganisationId>,
) -> Result<OrganisationPage, AppError> {
    user.require_any(&[Permission::OrgManage, Permission::WalletCredit])?;
    let forms = Forms { credit: blank_credit_form(), ..Default::default() };
    organisation_page(&state, &user, page, id.into_inner(), forms).await
}

pub async fn update(
    actor: Actor,
    required: Require<perm::OrgManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<OrganisationId>,
    form: web::Form<DetailsForm>,
) -> Result<PageOr303<OrganisationPage>, AppError> {
    let user = required.user;
    let id = id.into_inner();
    let form = form.into_inner();
    let details_errors = match form.parse() {
        Ok(parsed) => {
            let mut conn = state.pools.main.get().await?;
            match organisations::update(&mut conn, id, &parsed.details(), &actor).await {
                Ok(true) => {
                    return done(
                        &session,
                        &format!("/admin/organisations/{id}"),
                        Flash::success("Saved the organisation's details."),
                    );
                }
                Ok(false) => {
                    return done(&session, &format!("/admin/organisations/{id}"), Flash::info("Nothing changed."));
                }
                Err(CreateOrganisationError::NameTaken) => {
                    DetailsErrors { name: Some(NAME_TAKEN.into()), ..Default::default() }
                }
                Err(CreateOrganisationError::Database(e)) => return Err(e.into()),
            }
        }
        Err(errors) => *errors,
    };
    again(&state, &user, page, id, Forms { details: Some(form), details_errors, ..Default::default() }).await
}

fn status_message(e: StatusError) -> Result<String, AppError> {
    match e {
        StatusError::Operator => Ok("The operator organisation cannot be suspended.".into()),
        StatusError::LastAdmin => {
            Ok("Suspending it would leave no active user who can manage users and roles, so nothing was changed."
                .into())
        }
        StatusError::Database(e) => Err(e.into()),
    }
}

pub async fn suspend(
    actor: Actor,
    required: Require<perm::OrgManage>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<OrganisationId>,
    form: web::Form<SuspendForm>,
) -> Result<PageOr303<OrganisationPage>, AppError> {
    let user = required.user;
    let id = id.into_inner();
    let reason = form.into_inner().reason;
    let trimmed = reason.trim();
    let reason_error = if let Err(e) = text::check(trimmed, Lines::Many) {
        Some(sentence(e))
    } else if trimmed.is_empty() {
        Some("Say why the organisation is suspended: its users and the activity log will show it.".to_owned())
    } else if trimmed.chars().count() > MAX_REASON_CHARS {
        Some(format!("Use at most {MAX_REASON_CHARS} characters."))
    } else {
        let mut conn = state.pools.main.get().await?;
        match organisations::set_status(&mut conn, id, Some(trimmed), &actor).await {
            Ok(true) => {
                return done(
                    &session,
                    &format!("/admin/organisations/{id}"),
                    Flash::success("Suspended the organisation: its users can no longer sign in."),
                );
            }
            Ok(false) => {
                return done(
                    &session,
                    &format!("/admin/organisations/{id}"),
                    Flash::info("The organisation was already suspended."),
                );
            }
            Err(e) => Some(status_message(e)?),
        }
    };
    again(&state, &user, page, id, Forms { reason, reason_error, ..Default::default() }).await
}

pub async fn reactivate(
    actor: Actor,
    _: Require<perm::OrgManage>,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<OrganisationId>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let mut conn = state.pools.main.get().await?;
    let flash = match organisations::set_status(&mut conn, id, None, &actor).await {
        Ok(true) => Flash::success("Reactivated the organisation: its users can sign in again."),
        Ok(false) => Flash::info("The organisation was already active."),
        Err(e) => Flash::info(status_message(e)?),
    };
    push_flash(&session, flash);
    Ok(see_other(&format!("/admin/organisations/{id}")))
}

pub async fn credit(
    actor: Actor,
    required: Require<perm::WalletCredit>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<OrganisationId>,
    form: web::Form<CreditForm>,
) -> Result<PageOr303<OrganisationPage>, AppError> {
    let user = required.user;
    let id = id.into_inner();
    let form = form.into_inner();
    let mut errors = CreditErrors::default();
    let amount = parse_top_up(&form.amount).map_err(|e| errors.amount = Some(sentence(&e))).ok();
    let reference = form.reference.trim();
    if let Err(e) = text::check(reference, Lines::One) {
        errors.reference = Some(sentence(e));
    } else if reference.is_empty() {
        errors.reference = Some("Enter the payment's bank reference.".into());
    } else if reference.chars().count() > MAX_REFERENCE_CHARS {
        errors.reference = Some(format!("Use at most {MAX_REFERENCE_CHARS} characters."));
    }
    let key = IdempotencyKey::parse(&form.idempotency_key).map_err(|_| {
        errors.form = Some("This form is incomplete. Reload the page and enter the top-up again.".into());
    });
    let outcome = match (amount, key) {
        (Some(amount), Ok(key)) if errors.reference.is_none() => {
            let (_turn, mut conn) = state.money_connection(id).await?;
            let credit = NewCredit {
                organisation_id: id,
                amount,
                reference,
                description: "EFT received",
                idempotency_key: key.as_str(),
                created_by: Some(user.id),
                ip: actor.ip.as_deref(),
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
            let forms = Forms { credit: form, credit_errors: errors, ..Default::default() };
            let view = organisation_page(&state, &user, page, id, forms).await?;
            return unprocessable(view);
        }
    };
    done(&session, &format!("/admin/organisations/{id}"), message)
}
