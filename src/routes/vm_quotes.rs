//! The VM quote builder: a template (or a custom size priced from the AAS component
//! products), how many, and the term. The price panel updates live through htmx and
//! the same handler renders it for the "Update price" button without JavaScript.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{is_htmx, see_other};
use crate::auth::{Require, perm};
use crate::db::aas::catalog::{self, Product};
use crate::db::aas::templates::{self as vm_templates, VmTemplate};
use crate::db::main::quotes::{self as db, NewLine, NewQuote, VmSpec};
use crate::domain::ids::TemplateId;
use crate::domain::money::format_zar;
use crate::domain::pricing::{Billing, PricedLine, Totals, sell_price};
use crate::error::AppError;
use crate::startup::AppState;
use crate::templates::{Page, SelectOption, sentence};

pub const MAX_VM_COUNT: i32 = 50;
pub const TERMS: [i32; 3] = [12, 24, 36];

/// The VM form as typed, kept as text so that bad input comes back as it was.
#[derive(Deserialize, Default)]
pub struct VmForm {
    #[serde(default)]
    template_id: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    term_months: String,
    // The custom size, used when `template_id` is `custom`.
    #[serde(default)]
    vcpu: String,
    #[serde(default)]
    ram_gb: String,
    #[serde(default)]
    disk_gb: String,
    #[serde(default)]
    disk_type: String,
    #[serde(default)]
    os: String,
    /// `preview`: the no-JavaScript "Update price" button; anything else creates the quote.
    #[serde(default)]
    action: String,
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
pub const DISK_TYPES: [(&str, &str); 3] = [("ssd", "SSD"), ("nvme", "NVMe"), ("hdd", "HDD")];
pub const OPERATING_SYSTEMS: [(&str, &str); 2] = [("linux", "Linux"), ("windows", "Windows Server")];

struct CustomSize {
    vcpu: i32,
    ram_gb: i32,
    disk_gb: i32,
    disk_type: &'static str,
    os: &'static str,
    /// The component products, by their `vm_component` name.
    components: HashMap<String, Product>,
}

enum Size {
    Template(VmTemplate),
    Custom(CustomSize),
}

struct VmOrder {
    size: Size,
    count: i32,
    term_months: i32,
}

fn parse_bounded(raw: &str, (min, max): (i64, i64), what: &str) -> Result<i32, String> {
    match raw.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n as i32),
        _ => Err(format!("Enter {what} from {min} to {max}.")),
    }
}

fn parse_choice(raw: &str, choices: &[(&'static str, &str)], message: &str) -> Result<&'static str, String> {
    choices.iter().map(|(value, _)| *value).find(|v| *v == raw.trim()).ok_or_else(|| message.to_owned())
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
    /// custom size must be within the stated bounds and its components on sale.
    async fn parse(&self, state: &AppState) -> Result<Result<VmOrder, VmErrors>, AppError> {
        let mut errors = VmErrors::default();
        let count = parse_count(&self.count).map_err(|e| errors.count = Some(e)).ok();
        let term = parse_term(&self.term_months).map_err(|e| errors.term_months = Some(e)).ok();
        let mut conn = state.pools.aas.get().await?;
        let size = if self.template_id.trim() == CUSTOM {
            let vcpu = parse_bounded(&self.vcpu, VCPU, "a number of vCPUs").map_err(|e| errors.vcpu = Some(e)).ok();
            let ram = parse_bounded(&self.ram_gb, RAM_GB, "the GB of RAM").map_err(|e| errors.ram_gb = Some(e)).ok();
            let disk =
                parse_bounded(&self.disk_gb, DISK_GB, "the GB of disk").map_err(|e| errors.disk_gb = Some(e)).ok();
            let disk_type = parse_choice(&self.disk_type, &DISK_TYPES, "Choose SSD, NVMe or HDD.")
                .map_err(|e| errors.disk_type = Some(e))
                .ok();
            let os = parse_choice(&self.os, &OPERATING_SYSTEMS, "Choose Linux or Windows Server.")
                .map_err(|e| errors.os = Some(e))
                .ok();
            let components: HashMap<String, Product> = catalog::vm_components(&mut conn)
                .await?
                .into_iter()
                .filter_map(|p| p.vm_component.clone().map(|c| (c, p)))
                .collect();
            match (vcpu, ram, disk, disk_type, os) {
                (Some(vcpu), Some(ram_gb), Some(disk_gb), Some(disk_type), Some(os)) => {
                    let needed =
                        ["vcpu".to_owned(), "ram_gb".into(), format!("disk_gb_{disk_type}"), format!("os_{os}")];
                    if needed.iter().all(|c| components.contains_key(c)) {
                        Some(Size::Custom(CustomSize { vcpu, ram_gb, disk_gb, disk_type, os, components }))
                    } else {
                        errors.template_id =
                            Some("This custom size cannot be priced right now; choose a template.".into());
                        None
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

/// The snapshot lines of a VM order. A template: the monthly price of the VMs and,
/// where it has one, the once-off setup. A custom size: one monthly line per component
/// (vCPUs, GB of RAM, GB of disk, the OS licence), each for all the VMs.
fn vm_lines(order: &VmOrder) -> Vec<NewLine> {
    match &order.size {
        Size::Template(t) => template_lines(t, order.count),
        Size::Custom(c) => custom_lines(c, order.count),
    }
}

fn template_lines(t: &VmTemplate, count: i32) -> Vec<NewLine> {
    let spec = VmSpec {
        template_id: Some(t.id.0),
        name: t.name.clone(),
        vcpu: t.vcpu,
        ram_gb: t.ram_gb,
        disk_gb: t.disk_gb,
        disk_type: t.disk_type.clone(),
        os: t.os.clone(),
        count,
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
        priced: PricedLine::new(Billing::Monthly, t.cost, t.margin_pct, count),
        vm: Some(spec),
    }];
    if t.setup_cost > Decimal::ZERO {
        lines.push(NewLine {
            catalog: "aas",
            item_kind: "vm_template",
            item_id: t.id.0,
            sku: t.name.clone(),
            description: format!("Setup: {}", t.name),
            priced: PricedLine::new(Billing::OnceOff, t.setup_cost, t.margin_pct, count),
            vm: None,
        });
    }
    lines
}

fn custom_lines(c: &CustomSize, count: i32) -> Vec<NewLine> {
    let label = |value: &str, choices: &[(&str, &'static str)]| {
        choices.iter().find(|(v, _)| *v == value).map_or("", |(_, l)| *l)
    };
    let name = format!("custom-{}vcpu-{}gb-{}gb-{}", c.vcpu, c.ram_gb, c.disk_gb, c.disk_type);
    let spec = VmSpec {
        template_id: None,
        name: name.clone(),
        vcpu: c.vcpu,
        ram_gb: c.ram_gb,
        disk_gb: c.disk_gb,
        disk_type: c.disk_type.to_owned(),
        os: label(c.os, &OPERATING_SYSTEMS).to_owned(),
        count,
    };
    let parts = [
        ("vcpu".to_owned(), c.vcpu, format!("{} vCPU", c.vcpu)),
        ("ram_gb".to_owned(), c.ram_gb, format!("{} GB RAM", c.ram_gb)),
        (
            format!("disk_gb_{}", c.disk_type),
            c.disk_gb,
            format!("{} GB {} disk", c.disk_gb, label(c.disk_type, &DISK_TYPES)),
        ),
        (format!("os_{}", c.os), 1, label(c.os, &OPERATING_SYSTEMS).to_owned()),
    ];
    let mut spec = Some(spec);
    parts
        .into_iter()
        .map(|(component, units, what)| {
            let p = &c.components[&component];
            NewLine {
                catalog: "aas",
                item_kind: "vm_component",
                item_id: p.id.0,
                sku: p.sku.clone(),
                description: format!("Custom VM ({name}): {what}"),
                priced: PricedLine::new(Billing::Monthly, p.cost, p.margin_pct, units * count),
                // The VM configuration rides on the first line.
                vm: spec.take(),
            }
        })
        .collect()
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
                format_zar(sell_price(t.cost, t.margin_pct))
            );
            SelectOption::new(t.id, label, &form.template_id)
        })
        .chain([SelectOption::new(CUSTOM, "Custom size (set below)", &form.template_id)])
        .collect();
    let terms = TERMS.iter().map(|t| SelectOption::new(t, format!("{t} months"), &form.term_months)).collect();
    let disk_types = DISK_TYPES.iter().map(|(v, l)| SelectOption::new(v, *l, &form.disk_type)).collect();
    let systems = OPERATING_SYSTEMS.iter().map(|(v, l)| SelectOption::new(v, *l, &form.os)).collect();
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
    if let Err(e) = totals.check_total() {
        let errors = VmErrors { count: Some(sentence(&e.to_string())), ..Default::default() };
        let page = new_vm_page(&state, page, form, errors, None).await?;
        return Ok(Either::Right(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
    }
    let title = match &order.size {
        Size::Template(t) => format!("{} × {}", order.count, t.name),
        Size::Custom(c) => {
            format!("{} × custom VM ({} vCPU, {} GB RAM, {} GB disk)", order.count, c.vcpu, c.ram_gb, c.disk_gb)
        }
    };
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
