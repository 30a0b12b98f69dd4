//! Quotes: the list, one quote, the VM quote builder (with its live price panel), and
//! accepting or declining, which moves money (see `db::main::acceptance`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{client_ip, is_htmx, see_other};
use crate::auth::session::{Flash, push_flash};
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::aas::templates::{self as vm_templates, VmTemplate};
use crate::db::main::acceptance::{self, Actor, DeclineOutcome, Outcome, Refusal};
use crate::db::main::quotes::{self as db, NewLine, NewQuote, Quote, VmSpec, effective_status};
use crate::db::main::wallets;
use crate::domain::ids::{QuoteId, TemplateId};
use crate::domain::money::format_zar;
use crate::domain::pricing::{Billing, PricedLine, Totals, sell_price};
use crate::domain::time::format_sast;
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::{Page, QUOTE_READERS, SelectOption};

const PAGE_SIZE: i64 = 25;
pub const MAX_VM_COUNT: i32 = 50;
pub const TERMS: [i32; 3] = [12, 24, 36];

// ---------------------------------------------------------------- the list

pub struct QuoteRow {
    id: QuoteId,
    number: String,
    organisation: String,
    kind: String,
    status: String,
    title: String,
    amount_due: String,
    valid_until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "quotes.html")]
pub struct QuotesPage {
    page: Page,
    rows: Vec<QuoteRow>,
    all_organisations: bool,
    can_create: bool,
    older: Option<QuoteId>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    before: Option<i64>,
}

pub async fn list(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<QuotesPage, AppError> {
    user.require_any(QUOTE_READERS)?;
    let all = user.can(Permission::QuoteViewAll);
    let mut conn = state.pools.main.get().await?;
    let scope = (!all).then_some(user.organisation_id);
    let quotes = db::list(&mut conn, scope, query.before.map(QuoteId), PAGE_SIZE).await?;
    let now = chrono::Utc::now();
    let older = (quotes.len() as i64 == PAGE_SIZE).then(|| quotes.last().map(|q| q.id)).flatten();
    let rows = quotes
        .into_iter()
        .map(|q| QuoteRow {
            id: q.id,
            status: effective_status(&q.status, q.valid_until, now).to_owned(),
            number: q.number,
            organisation: q.organisation_name,
            kind: q.kind,
            title: q.title,
            amount_due: format_zar(q.amount_due),
            valid_until: format_sast(q.valid_until),
        })
        .collect();
    Ok(QuotesPage { page, rows, all_organisations: all, can_create: user.can(Permission::QuoteCreate), older })
}

// ---------------------------------------------------------------- one quote

pub struct LineView {
    line_no: i32,
    sku: String,
    description: String,
    billing: &'static str,
    unit_price: String,
    quantity: i32,
    amount: String,
}

pub struct QuoteView {
    id: QuoteId,
    number: String,
    title: String,
    kind: String,
    status: String,
    term_months: Option<i32>,
    site_address: Option<String>,
    valid_until: String,
    created_at: String,
    lines: Vec<LineView>,
    vat_rate: String,
    once_off_subtotal: String,
    monthly_subtotal: String,
    once_off_vat: String,
    monthly_vat: String,
    once_off_total: String,
    monthly_total: String,
    amount_due: String,
    accepted_at: Option<String>,
}

/// For a pending quote of the viewer's own organisation: what accepting would do.
pub struct Payment {
    balance: String,
    balance_after: String,
    covered: bool,
    short: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "quote.html")]
pub struct QuotePage {
    page: Page,
    quote: QuoteView,
    payment: Option<Payment>,
    can_accept: bool,
    error: Option<String>,
}

fn billing_label(billing: &str) -> &'static str {
    if billing == "once_off" { Billing::OnceOff.label() } else { Billing::Monthly.label() }
}

async fn quote_page(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    page: Page,
    id: QuoteId,
    error: Option<String>,
) -> Result<QuotePage, AppError> {
    let quote = db::find(conn, id).await?.ok_or(AppError::NotFound)?;
    let own = quote.organisation_id == user.organisation_id;
    if !own && !user.can(Permission::QuoteViewAll) {
        return Err(AppError::NotFound);
    }
    let lines = db::lines(conn, id).await?;
    let status = quote.status_now().to_owned();
    let payment = match (own && status == "pending" && user.can(Permission::WalletView), quote.amount_due) {
        (true, due) => wallets::for_organisation(conn, quote.organisation_id).await?.map(|w| Payment {
            balance: format_zar(w.balance),
            balance_after: format_zar(w.balance - due),
            covered: w.balance >= due,
            short: format_zar((due - w.balance).max(Decimal::ZERO)),
        }),
        _ => None,
    };
    let can_accept = own && status == "pending" && user.can(Permission::QuoteAccept);
    Ok(QuotePage { page, quote: quote_view(quote, lines, status), payment, can_accept, error })
}

fn quote_view(q: Quote, lines: Vec<db::QuoteLine>, status: String) -> QuoteView {
    QuoteView {
        id: q.id,
        number: q.number,
        title: q.title,
        kind: q.kind,
        status,
        term_months: q.term_months,
        site_address: q.site_address,
        valid_until: format_sast(q.valid_until),
        created_at: format_sast(q.created_at),
        lines: lines
            .into_iter()
            .map(|l| LineView {
                line_no: l.line_no,
                billing: billing_label(&l.billing),
                sku: l.sku,
                description: l.description,
                unit_price: format_zar(l.unit_price),
                quantity: l.quantity,
                amount: format_zar(l.amount),
            })
            .collect(),
        vat_rate: q.vat_rate.normalize().to_string(),
        once_off_subtotal: format_zar(q.once_off_subtotal),
        monthly_subtotal: format_zar(q.monthly_subtotal),
        once_off_vat: format_zar(q.once_off_vat),
        monthly_vat: format_zar(q.monthly_vat),
        once_off_total: format_zar(q.once_off_total),
        monthly_total: format_zar(q.monthly_total),
        amount_due: format_zar(q.amount_due),
        accepted_at: q.accepted_at.map(format_sast),
    }
}

pub async fn show(
    user: CurrentUser,
    page: Page,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<QuotePage, AppError> {
    user.require_any(QUOTE_READERS)?;
    let mut conn = state.pools.main.get().await?;
    quote_page(&mut conn, &user, page, QuoteId(id.into_inner()), None).await
}

// ---------------------------------------------------------------- accept and decline

fn actor<'a>(user: &CurrentUser, ip: Option<&'a str>) -> Actor<'a> {
    Actor { user_id: user.id, organisation_id: user.organisation_id, ip }
}

/// A refusal on the quote page (422), or 404 for a quote that is not the user's to act on.
async fn refused(
    conn: &mut AsyncPgConnection,
    user: &CurrentUser,
    page: Page,
    id: QuoteId,
    refusal: Refusal,
) -> Result<CustomizeResponder<QuotePage>, AppError> {
    let message = match refusal {
        Refusal::NotFound => {
            // Staff may see another organisation's quote, but only its members accept it.
            let exists = db::find(conn, id).await?.is_some();
            return Err(if exists && user.can(Permission::QuoteViewAll) {
                AppError::Forbidden
            } else {
                AppError::NotFound
            });
        }
        Refusal::Database(e) => return Err(e.into()),
        Refusal::InsufficientFunds { short } => {
            format!("Insufficient funds: {} short. Top up the wallet, then accept again.", format_zar(short))
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str() + ".").unwrap_or_default()
        }
    };
    let page = quote_page(conn, user, page, id, Some(message)).await?;
    Ok(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY))
}

pub async fn accept(
    req: HttpRequest,
    required: Require<perm::QuoteAccept>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<Either<HttpResponse, CustomizeResponder<QuotePage>>, AppError> {
    let user = required.user;
    let id = QuoteId(id.into_inner());
    let ip = client_ip(&req);
    let mut conn = state.pools.main.get().await?;
    match acceptance::accept(&mut conn, id, &actor(&user, ip.as_deref())).await {
        Ok(Outcome::Accepted { balance_after }) => {
            let message = format!("Quote accepted. The wallet balance is now {}.", format_zar(balance_after));
            push_flash(&session, Flash::success(message));
        }
        Ok(Outcome::AlreadyAccepted) => {
            push_flash(&session, Flash::info("This quote was already accepted; nothing more was debited."));
        }
        Err(refusal) => return Ok(Either::Right(refused(&mut conn, &user, page, id, refusal).await?)),
    }
    Ok(Either::Left(see_other(&format!("/quotes/{id}"))))
}

pub async fn decline(
    req: HttpRequest,
    required: Require<perm::QuoteAccept>,
    page: Page,
    session: Session,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<Either<HttpResponse, CustomizeResponder<QuotePage>>, AppError> {
    let user = required.user;
    let id = QuoteId(id.into_inner());
    let ip = client_ip(&req);
    let mut conn = state.pools.main.get().await?;
    match acceptance::decline(&mut conn, id, &actor(&user, ip.as_deref())).await {
        Ok(DeclineOutcome::Declined) => push_flash(&session, Flash::success("Quote declined.")),
        Ok(DeclineOutcome::AlreadyDeclined) => push_flash(&session, Flash::info("This quote was already declined.")),
        Err(refusal) => return Ok(Either::Right(refused(&mut conn, &user, page, id, refusal).await?)),
    }
    Ok(Either::Left(see_other(&format!("/quotes/{id}"))))
}

// ---------------------------------------------------------------- the VM quote builder

/// The VM form as typed, kept as text so that bad input comes back as it was.
#[derive(Deserialize, Default)]
pub struct VmForm {
    #[serde(default)]
    template_id: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    term_months: String,
    /// `preview`: the no-JavaScript "Update price" button; anything else creates the quote.
    #[serde(default)]
    action: String,
}

#[derive(Default)]
pub struct VmErrors {
    template_id: Option<String>,
    count: Option<String>,
    term_months: Option<String>,
}

impl VmErrors {
    fn any(&self) -> bool {
        self.template_id.is_some() || self.count.is_some() || self.term_months.is_some()
    }
}

struct VmOrder {
    template: VmTemplate,
    count: i32,
    term_months: i32,
}

fn parse_count(raw: &str) -> Result<i32, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if (1..=i64::from(MAX_VM_COUNT)).contains(&n) => Ok(n as i32),
        Ok(_) => Err(format!("Choose between 1 and {MAX_VM_COUNT} VMs.")),
        Err(_) if raw.trim().is_empty() => Err("Enter how many VMs.".into()),
        Err(_) => Err(format!("Enter a whole number between 1 and {MAX_VM_COUNT}.")),
    }
}

fn parse_term(raw: &str) -> Result<i32, String> {
    match raw.trim().parse::<i32>() {
        Ok(term) if TERMS.contains(&term) => Ok(term),
        _ => Err("Choose a term of 12, 24 or 36 months.".into()),
    }
}

impl VmForm {
    fn is_blank(&self) -> bool {
        self.template_id.is_empty() && self.count.is_empty() && self.term_months.is_empty()
    }

    /// Parses the form; the template must exist and be active in the AAS catalog.
    async fn parse(&self, state: &AppState) -> Result<Result<VmOrder, VmErrors>, AppError> {
        let mut errors = VmErrors::default();
        let count = parse_count(&self.count).map_err(|e| errors.count = Some(e)).ok();
        let term = parse_term(&self.term_months).map_err(|e| errors.term_months = Some(e)).ok();
        let template = match self.template_id.trim().parse::<i64>() {
            Ok(id) => {
                let mut conn = state.pools.aas.get().await?;
                vm_templates::find_active(&mut conn, TemplateId(id)).await?
            }
            Err(_) => None,
        };
        if template.is_none() {
            errors.template_id = Some("Choose a VM template from the list.".into());
        }
        Ok(match (template, count, term) {
            (Some(template), Some(count), Some(term_months)) if !errors.any() => {
                Ok(VmOrder { template, count, term_months })
            }
            _ => Err(errors),
        })
    }
}

/// The snapshot lines of a VM order: the monthly price of the VMs and, where the
/// template has one, the once-off setup.
fn vm_lines(order: &VmOrder) -> Vec<NewLine> {
    let t = &order.template;
    let spec = VmSpec {
        template_id: Some(t.id.0),
        name: t.name.clone(),
        vcpu: t.vcpu,
        ram_gb: t.ram_gb,
        disk_gb: t.disk_gb,
        disk_type: t.disk_type.clone(),
        os: t.os.clone(),
        count: order.count,
    };
    let mut lines = vec![NewLine {
        catalog: "aas",
        item_kind: "vm_template",
        item_id: t.id.0,
        sku: t.name.clone(),
        description: format!(
            "{}: {} vCPU, {} GB RAM, {} GB {}, {}",
            t.name,
            t.vcpu,
            t.ram_gb,
            t.disk_gb,
            t.disk_type.to_uppercase(),
            t.os
        ),
        priced: PricedLine::new(Billing::Monthly, t.cost, t.margin_pct, order.count),
        vm: Some(spec),
    }];
    if t.setup_cost > Decimal::ZERO {
        lines.push(NewLine {
            catalog: "aas",
            item_kind: "vm_template",
            item_id: t.id.0,
            sku: t.name.clone(),
            description: format!("Setup: {}", t.name),
            priced: PricedLine::new(Billing::OnceOff, t.setup_cost, t.margin_pct, order.count),
            vm: None,
        });
    }
    lines
}

/// The lines of an order and their totals.
fn price_order(order: &VmOrder, vat_rate: Decimal) -> (Vec<NewLine>, Totals) {
    let lines = vm_lines(order);
    let priced: Vec<PricedLine> = lines.iter().map(|l| l.priced.clone()).collect();
    let totals = Totals::of(&priced, vat_rate);
    (lines, totals)
}

fn order_panel(order: &VmOrder, vat_rate: Decimal) -> PriceView {
    let (lines, totals) = price_order(order, vat_rate);
    price_view(&lines, &totals, vat_rate, order.term_months)
}

/// The live price panel.
#[derive(Template, WebTemplate)]
#[template(path = "quote_price_partial.html")]
pub struct PricePanel {
    price: Option<PriceView>,
}

pub struct PriceView {
    lines: Vec<(String, &'static str, String)>,
    once_off_total: String,
    monthly_total: String,
    vat_rate: String,
    amount_due: String,
    contract_value: String,
    term_months: i32,
}

fn price_view(lines: &[NewLine], totals: &Totals, vat_rate: Decimal, term_months: i32) -> PriceView {
    PriceView {
        lines: lines
            .iter()
            .map(|l| {
                let what = format!("{} × {}", l.priced.quantity, format_zar(l.priced.unit_price));
                (l.description.clone(), l.priced.billing.label(), format!("{what} = {}", format_zar(l.priced.amount)))
            })
            .collect(),
        once_off_total: format_zar(totals.once_off_total),
        monthly_total: format_zar(totals.monthly_total),
        vat_rate: vat_rate.normalize().to_string(),
        amount_due: format_zar(totals.amount_due),
        contract_value: format_zar(totals.contract_value(term_months)),
        term_months,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "quote_new_vm.html")]
pub struct NewVmPage {
    page: Page,
    templates: Vec<SelectOption>,
    form: VmForm,
    errors: VmErrors,
    terms: Vec<SelectOption>,
    max_count: i32,
    price: Option<PriceView>,
}

async fn new_vm_page(
    state: &AppState,
    page: Page,
    form: VmForm,
    errors: VmErrors,
    price: Option<PriceView>,
) -> Result<NewVmPage, AppError> {
    let mut conn = state.pools.aas.get().await?;
    let templates = vm_templates::list_active(&mut conn)
        .await?
        .into_iter()
        .map(|t| {
            let label = format!(
                "{} ({} vCPU, {} GB RAM, {} GB {}) {} a month",
                t.name,
                t.vcpu,
                t.ram_gb,
                t.disk_gb,
                t.disk_type.to_uppercase(),
                format_zar(sell_price(t.cost, t.margin_pct))
            );
            SelectOption::new(t.id, label, &form.template_id)
        })
        .collect();
    let terms = TERMS.iter().map(|t| SelectOption::new(t, format!("{t} months"), &form.term_months)).collect();
    Ok(NewVmPage { page, templates, form, errors, terms, max_count: MAX_VM_COUNT, price })
}

/// The builder page, or with `HX-Request` only its price panel, priced from the query.
pub async fn new_vm(
    req: HttpRequest,
    required: Require<perm::QuoteCreate>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Query<VmForm>,
) -> Result<Either<PricePanel, NewVmPage>, AppError> {
    let _ = required;
    let mut form = form.into_inner();
    if form.is_blank() {
        form.count = "1".into();
        form.term_months = "12".into();
    }
    let price = form.parse(&state).await?.ok().map(|order| order_panel(&order, state.vat_rate));
    if is_htmx(&req) {
        return Ok(Either::Left(PricePanel { price }));
    }
    Ok(Either::Right(new_vm_page(&state, page, form, VmErrors::default(), price).await?))
}

pub async fn create_vm(
    required: Require<perm::QuoteCreate>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<VmForm>,
) -> Result<Either<HttpResponse, CustomizeResponder<NewVmPage>>, AppError> {
    let user = required.user;
    let form = form.into_inner();
    let order = match form.parse(&state).await? {
        Ok(order) if form.action == "preview" => {
            let price = Some(order_panel(&order, state.vat_rate));
            let page = new_vm_page(&state, page, form, VmErrors::default(), price).await?;
            return Ok(Either::Right(page.customize()));
        }
        Ok(order) => order,
        Err(errors) => {
            let page = new_vm_page(&state, page, form, errors, None).await?;
            return Ok(Either::Right(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    let (lines, totals) = price_order(&order, state.vat_rate);
    let title = format!("{} × {}", order.count, order.template.name);
    let quote = NewQuote {
        organisation_id: user.organisation_id,
        created_by: user.id,
        kind: "vm",
        title: &title,
        term_months: Some(order.term_months),
        site_address: None,
        site_suburb: None,
        vat_rate: state.vat_rate,
        totals,
    };
    let mut conn = state.pools.main.get().await?;
    let id = db::create(&mut conn, &quote, &lines).await?;
    Ok(Either::Left(see_other(&format!("/quotes/{id}"))))
}
