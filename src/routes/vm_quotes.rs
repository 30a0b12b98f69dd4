//! The VM quote builder: a template (or a custom size priced from the AAS component
//! products), how many, and the term. The price panel updates live through htmx and
//! the same handler renders it for the "Update price" button without JavaScript. The
//! price itself is [`crate::domain::aas::vm`]'s.

use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{is_htmx, see_other};
use crate::auth::{Require, perm};
use crate::db::aas::catalog;
use crate::db::aas::templates as vm_templates;
use crate::db::main::quotes::{self as db, NewQuote};
use crate::domain::aas::vm::{self, CustomSize, DiskType, Os, Size, VmOrder};
use crate::domain::ids::TemplateId;
use crate::domain::money::format_zar;
use crate::domain::quote::PricedQuote;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{ContractValueView, Page, SelectOption, sentence};

pub const MAX_VM_COUNT: i32 = 50;
pub const TERMS: [i32; 3] = [12, 24, 36];

/// The VM form as typed, kept as text so that bad input comes back as it was.
#[derive(Deserialize, Default)]
pub struct VmForm {
    #[serde(default)]
    pub template_id: String,
    #[serde(default)]
    pub count: String,
    #[serde(default)]
    pub term_months: String,
    // The custom size, used when `template_id` is `custom`.
    #[serde(default)]
    pub vcpu: String,
    #[serde(default)]
    pub ram_gb: String,
    #[serde(default)]
    pub disk_gb: String,
    #[serde(default)]
    pub disk_type: String,
    #[serde(default)]
    pub os: String,
    /// `preview`: the no-JavaScript "Update price" button; anything else creates the quote.
    #[serde(default)]
    pub action: String,
}

#[derive(Default)]
pub struct VmErrors {
    template_id: Option<String>,
    count: Option<String>,
    term_months: Option<String>,
    vcpu: Option<String>,
    ram_gb: Option<String>,
    disk_gb: Option<String>,
    disk_type: Option<String>,
    os: Option<String>,
}

impl VmErrors {
    /// The first message, by the name of its field, in the form's order.
    pub fn first(&self) -> Option<(&'static str, &str)> {
        [
            ("template_id", &self.template_id),
            ("count", &self.count),
            ("term_months", &self.term_months),
            ("vcpu", &self.vcpu),
            ("ram_gb", &self.ram_gb),
            ("disk_gb", &self.disk_gb),
            ("disk_type", &self.disk_type),
            ("os", &self.os),
        ]
        .into_iter()
        .find_map(|(field, error)| Some((field, error.as_deref()?)))
    }

    fn any(&self) -> bool {
        [&self.template_id, &self.count, &self.term_months, &self.vcpu, &self.ram_gb, &self.disk_gb]
            .iter()
            .any(|e| e.is_some())
            || self.disk_type.is_some()
            || self.os.is_some()
    }
}

/// The `template_id` that asks for a custom size.
pub const CUSTOM: &str = "custom";
/// The bounds of a custom size, stated on the form.
pub const VCPU: (i64, i64) = (1, 64);
pub const RAM_GB: (i64, i64) = (1, 512);
pub const DISK_GB: (i64, i64) = (20, 8000);

fn parse_bounded(raw: &str, (min, max): (i64, i64), what: &str) -> Result<i32, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n as i32),
        _ => Err(format!("Enter {what} from {min} to {max}.")),
    }
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
    /// The first visit: no field sent at all.
    fn is_blank(&self) -> bool {
        [
            &self.template_id,
            &self.count,
            &self.term_months,
            &self.vcpu,
            &self.ram_gb,
            &self.disk_gb,
            &self.disk_type,
            &self.os,
        ]
        .iter()
        .all(|f| f.is_empty())
    }

    /// Parses the form; a template must exist and be active in the AAS catalog, a
    /// custom size must be within the stated bounds and priceable from the components.
    pub async fn parse(&self, state: &AppState) -> Result<Result<VmOrder, VmErrors>, AppError> {
        let mut errors = VmErrors::default();
        let count = parse_count(&self.count).map_err(|e| errors.count = Some(e)).ok();
        let term = parse_term(&self.term_months).map_err(|e| errors.term_months = Some(e)).ok();
        let mut conn = state.pools.aas.get().await?;
        let size = if self.template_id.trim() == CUSTOM {
            let vcpu = parse_bounded(&self.vcpu, VCPU, "a number of vCPUs").map_err(|e| errors.vcpu = Some(e)).ok();
            let ram = parse_bounded(&self.ram_gb, RAM_GB, "the GB of RAM").map_err(|e| errors.ram_gb = Some(e)).ok();
            let disk =
                parse_bounded(&self.disk_gb, DISK_GB, "the GB of disk").map_err(|e| errors.disk_gb = Some(e)).ok();
            let disk_type = DiskType::from_slug(self.disk_type.trim());
            if disk_type.is_none() {
                errors.disk_type = Some("Choose SSD, NVMe or HDD.".into());
            }
            let os = Os::from_slug(self.os.trim());
            if os.is_none() {
                errors.os = Some("Choose Linux or Windows Server.".into());
            }
            let components = catalog::vm_components(&mut conn).await?;
            match (vcpu, ram, disk, disk_type, os) {
                (Some(vcpu), Some(ram_gb), Some(disk_gb), Some(disk_type), Some(os)) => {
                    match CustomSize::new(vcpu, ram_gb, disk_gb, disk_type, os, &components) {
                        Ok(size) => Some(Size::Custom(size)),
                        Err(reason) => {
                            errors.template_id = Some(sentence(&reason.to_string()));
                            None
                        }
                    }
                }
                _ => None,
            }
        } else {
            let template = match self.template_id.trim().parse::<i64>() {
                Ok(id) => vm_templates::find_active(&mut conn, TemplateId(id)).await?,
                Err(_) => None,
            };
            if template.is_none() {
                errors.template_id = Some("Choose a VM template from the list.".into());
            }
            template.map(Size::Template)
        };
        Ok(match (size, count, term) {
            (Some(size), Some(count), Some(term_months)) if !errors.any() => Ok(VmOrder { size, count, term_months }),
            _ => Err(errors),
        })
    }
}

fn order_panel(order: &VmOrder, vat_rate: Decimal) -> PriceView {
    price_view(&vm::quote(order, vat_rate), order.term_months)
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
    contract_value: ContractValueView,
    term_months: i32,
}

fn price_view(quote: &PricedQuote, term_months: i32) -> PriceView {
    let totals = &quote.totals;
    PriceView {
        lines: quote
            .lines
            .iter()
            .map(|l| {
                let what = format!("{} × {}", l.priced.quantity, format_zar(l.priced.unit_price));
                (l.description.clone(), l.priced.billing.label(), format!("{what} = {}", format_zar(l.priced.amount)))
            })
            .collect(),
        once_off_total: format_zar(totals.once_off_total),
        monthly_total: format_zar(totals.monthly_total),
        vat_rate: crate::domain::money::format_plain(quote.vat_rate),
        amount_due: format_zar(totals.amount_due),
        contract_value: totals.contract_value(term_months).into(),
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
    disk_types: Vec<SelectOption>,
    systems: Vec<SelectOption>,
    max_count: i32,
    /// vCPU, RAM and disk bounds of a custom size, as (min, max).
    bounds: [(i64, i64); 3],
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
                format_zar(t.monthly_price())
            );
            SelectOption::new(t.id, label, &form.template_id)
        })
        .chain([SelectOption::new(CUSTOM, "Custom size (set below)", &form.template_id)])
        .collect();
    let terms = TERMS.iter().map(|t| SelectOption::new(t, format!("{t} months"), &form.term_months)).collect();
    let disk_types = DiskType::ALL.iter().map(|d| SelectOption::new(d.slug(), d.label(), &form.disk_type)).collect();
    let systems = Os::ALL.iter().map(|os| SelectOption::new(os.slug(), os.label(), &form.os)).collect();
    Ok(NewVmPage {
        page,
        templates,
        form,
        errors,
        terms,
        disk_types,
        systems,
        max_count: MAX_VM_COUNT,
        bounds: [VCPU, RAM_GB, DISK_GB],
        price,
    })
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
        form.vcpu = "2".into();
        form.ram_gb = "4".into();
        form.disk_gb = "50".into();
        form.disk_type = "ssd".into();
        form.os = "linux".into();
    }
    let price = form.parse(&state).await?.ok().map(|order| order_panel(&order, state.vat_rate));
    if is_htmx(&req) {
        return Ok(Either::Left(PricePanel { price }));
    }
    Ok(Either::Right(new_vm_page(&state, page, form, VmErrors::default(), price).await?))
}

/// The quote of a parsed order, unless its total is more than a quote may be.
pub fn priced(order: &VmOrder, vat_rate: Decimal) -> Result<PricedQuote, Box<VmErrors>> {
    let quote = vm::quote(order, vat_rate);
    match quote.totals.check_total() {
        Ok(()) => Ok(quote),
        Err(e) => Err(Box::new(VmErrors { count: Some(sentence(&e.to_string())), ..Default::default() })),
    }
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
    let quote = match priced(&order, state.vat_rate) {
        Ok(quote) => quote,
        Err(errors) => {
            let page = new_vm_page(&state, page, form, *errors, None).await?;
            return Ok(Either::Right(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    let new = NewQuote { organisation_id: user.organisation_id, created_by: user.id, quote: &quote };
    let mut conn = state.pools.main.get().await?;
    let id = db::create(&mut conn, &new).await?;
    Ok(Either::Left(see_other(&format!("/quotes/{id}"))))
}
