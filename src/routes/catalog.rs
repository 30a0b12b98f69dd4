//! The AAS catalog: categories and every product with its sell price (`/catalog`), a category's products (`/catalog/{slug}`),
//! search across name, SKU and description (htmx as you type, or on submit), the VM
//! templates (`/catalog/vm`), and the service quote made from chosen products
//! (`POST /quotes/service`), whose bad input comes back on the same product list. The
//! price of that quote is [`crate::domain::aas::service`]'s.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{is_htmx, see_other};
use crate::auth::{CurrentUser, Permission, Require, perm};
use crate::db::aas::catalog;
use crate::db::aas::templates;
use crate::db::main::quotes::{self as db_quotes, NewQuote};
use crate::domain::aas::{Product, service};
use crate::domain::ids::{ProductId, TemplateId};
use crate::domain::money::format_zar;
use crate::domain::pricing::check_line_count;
use crate::domain::quote::PricedQuote;
use crate::domain::text::{self, Lines};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{Page, sentence};

pub const MAX_QUANTITY: i64 = 10_000;
const MAX_SEARCH_CHARS: usize = 100;

pub struct ProductRow {
    id: ProductId,
    sku: String,
    name: String,
    description: String,
    unit: String,
    billing: &'static str,
    price: String,
    active: bool,
    quantity: String,
    error: Option<String>,
}

fn product_row(p: Product, quantities: &HashMap<i64, String>, errors: &HashMap<i64, String>) -> ProductRow {
    ProductRow {
        billing: p.billing.label(),
        price: format_zar(p.unit_price()),
        quantity: quantities.get(&p.id.0).cloned().unwrap_or_default(),
        error: errors.get(&p.id.0).cloned(),
        id: p.id,
        sku: p.sku,
        name: p.name,
        description: p.description,
        unit: p.unit,
        active: p.active,
    }
}

/// The product list with its quantity form: a category, search results, or a service
/// quote form coming back with messages.
#[derive(Template, WebTemplate)]
#[template(path = "catalog_products.html")]
pub struct ProductsPage {
    page: Page,
    title: String,
    intro: String,
    category: String,
    rows: Vec<ProductRow>,
    can_quote: bool,
    form_error: Option<String>,
}

pub struct CategoryCard {
    slug: String,
    name: String,
    description: String,
    count: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "catalog.html")]
pub struct CatalogPage {
    page: Page,
    categories: Vec<CategoryCard>,
    results: Option<SearchResults>,
    q: String,
    /// Every product with its sell price (empty while search results are shown).
    rows: Vec<ProductRow>,
    can_quote: bool,
}

/// What the search box fills in (the whole of it, for htmx).
#[derive(Template, WebTemplate)]
#[template(path = "catalog_results_partial.html")]
pub struct SearchResults {
    q: String,
    error: Option<String>,
    rows: Vec<ProductRow>,
    can_quote: bool,
    csrf_token: String,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn index(
    req: HttpRequest,
    required: Require<perm::CatalogView>,
    page: Page,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<Either<SearchResults, CatalogPage>, AppError> {
    let user = required.user;
    let staff = user.can(Permission::PricingManage);
    let can_quote = user.can(Permission::QuoteCreate);
    let none = HashMap::new();
    let q = query.q.trim().to_owned();
    let results = if q.is_empty() {
        None
    } else if q.chars().count() > MAX_SEARCH_CHARS {
        Some(SearchResults {
            error: Some(format!("Search for at most {MAX_SEARCH_CHARS} characters.")),
            rows: Vec::new(),
            can_quote: false,
            csrf_token: page.csrf_token.clone(),
            q: q.clone(),
        })
    } else {
        let mut conn = state.pools.aas.get().await?;
        let found = catalog::search(&mut conn, &q, staff).await?;
        Some(SearchResults {
            rows: found.into_iter().map(|p| product_row(p, &none, &none)).collect(),
            error: None,
            can_quote,
            csrf_token: page.csrf_token.clone(),
            q: q.clone(),
        })
    };
    if is_htmx(&req) {
        let results = results.unwrap_or(SearchResults {
            q,
            error: None,
            rows: Vec::new(),
            can_quote: false,
            csrf_token: page.csrf_token,
        });
        return Ok(Either::Left(results));
    }
    let catalog = state.prices.catalog(&state.pools.aas).await??;
    let categories = catalog
        .categories_with_counts(staff)
        .into_iter()
        .map(|(c, count)| CategoryCard { slug: c.slug, name: c.name, description: c.description, count })
        .collect();
    // The whole list, unless the page shows search results instead.
    let rows = match results {
        Some(_) => Vec::new(),
        None => catalog.products(None, staff).into_iter().map(|p| product_row(p, &none, &none)).collect(),
    };
    Ok(Either::Right(CatalogPage { page, categories, results, q, rows, can_quote }))
}

async fn products_page(
    state: &AppState,
    user: &CurrentUser,
    page: Page,
    slug: &str,
    quantities: &HashMap<i64, String>,
    errors: &HashMap<i64, String>,
    form_error: Option<String>,
) -> Result<ProductsPage, AppError> {
    let staff = user.can(Permission::PricingManage);
    let catalog = state.prices.catalog(&state.pools.aas).await??;
    let (title, intro, category, products) = match catalog.category(slug) {
        Some(c) => (c.name.clone(), c.description.clone(), c.slug.clone(), catalog.products(Some(c.id), staff)),
        // A service quote sent from the whole list or from search results comes back on
        // the whole list.
        None if slug.is_empty() => {
            ("All products".to_owned(), String::new(), String::new(), catalog.products(None, staff))
        }
        None => return Err(AppError::NotFound),
    };
    Ok(ProductsPage {
        page,
        title,
        intro,
        category,
        rows: products.into_iter().map(|p| product_row(p, quantities, errors)).collect(),
        can_quote: user.can(Permission::QuoteCreate),
        form_error,
    })
}

pub async fn category(
    required: Require<perm::CatalogView>,
    page: Page,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<ProductsPage, AppError> {
    let none = HashMap::new();
    products_page(&state, &required.user, page, &slug, &none, &none, None).await
}

pub struct TemplateRow {
    id: TemplateId,
    name: String,
    description: String,
    vcpu: i32,
    ram_gb: i32,
    disk: String,
    os: String,
    monthly: String,
    setup: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "catalog_vm.html")]
pub struct VmCatalogPage {
    page: Page,
    rows: Vec<TemplateRow>,
    can_quote: bool,
}

pub async fn vm_templates(
    required: Require<perm::CatalogView>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<VmCatalogPage, AppError> {
    let mut conn = state.pools.aas.get().await?;
    let rows = templates::list_active(&mut conn)
        .await?
        .into_iter()
        .map(|t| TemplateRow {
            id: t.id,
            disk: format!("{} GB {}", t.disk_gb, t.disk_type.to_uppercase()),
            monthly: format_zar(t.monthly_price()),
            setup: t.setup_price().map(format_zar),
            name: t.name,
            description: t.description,
            vcpu: t.vcpu,
            ram_gb: t.ram_gb,
            os: t.os,
        })
        .collect();
    Ok(VmCatalogPage { page, rows, can_quote: required.user.can(Permission::QuoteCreate) })
}

/// `POST /quotes/service`: pairs of `product_id` and `quantity` (repeatable, in order;
/// an empty quantity means "not chosen"), plus the `category` the list came from.
pub async fn create_service_quote(
    required: Require<perm::QuoteCreate>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<Either<HttpResponse, CustomizeResponder<ProductsPage>>, AppError> {
    let user = required.user;
    let mut category = String::new();
    let mut chosen: Vec<(String, String)> = Vec::new();
    for (key, value) in form.into_inner() {
        match key.as_str() {
            "product_id" => chosen.push((value, String::new())),
            "quantity" => {
                if let Some(last) = chosen.last_mut() {
                    last.1 = value;
                }
            }
            "category" => category = value,
            _ => {}
        }
    }
    let chosen: Vec<(String, String)> = chosen.into_iter().filter(|(_, q)| !q.trim().is_empty()).collect();

    // The list the form came from: a hidden field, so anything odd is a tampered form,
    // answered on the whole list.
    let mut form_error = None;
    if text::check(&category, Lines::One).is_err() {
        category.clear();
        form_error = Some("This form was changed on its way here. Choose the products again.".to_owned());
    }
    let quote = match price_service_order(&state, &chosen, form_error).await? {
        Ok(quote) => quote,
        Err(refused) => {
            let quantities = chosen.iter().filter_map(|(id, q)| Some((id.trim().parse().ok()?, q.clone()))).collect();
            let page =
                products_page(&state, &user, page, &category, &quantities, &refused.quantities, refused.form).await?;
            return Ok(Either::Right(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    let new = NewQuote { organisation_id: user.organisation_id, created_by: user.id, quote: &quote };
    let mut conn = state.pools.main.get().await?;
    let id = db_quotes::create(&mut conn, &new).await?;
    Ok(Either::Left(see_other(&format!("/quotes/{id}"))))
}

/// Why a service order cannot be quoted: a message for the whole order, and one by
/// each product's quantity (by product id).
pub struct ServiceErrors {
    pub form: Option<String>,
    pub quantities: HashMap<i64, String>,
}

/// Prices a service quote from (product id, quantity) pairs as typed, with the form's
/// rules and messages (the API's too). `form_error` is a refusal the caller found.
pub async fn price_service_order(
    state: &AppState,
    chosen: &[(String, String)],
    mut form_error: Option<String>,
) -> Result<Result<PricedQuote, ServiceErrors>, AppError> {
    let mut errors = HashMap::new();
    let mut order: Vec<(ProductId, i32)> = Vec::new();
    for (id, quantity) in chosen {
        let Ok(id) = id.trim().parse::<i64>() else {
            form_error = Some(service::NotQuotable::Unknown.to_string());
            continue;
        };
        match quantity.trim().parse::<i64>() {
            Ok(n) if (1..=MAX_QUANTITY).contains(&n) => order.push((ProductId(id), n as i32)),
            Ok(_) => {
                errors.insert(id, format!("Enter a quantity from 1 to {MAX_QUANTITY}."));
            }
            Err(_) => {
                errors.insert(id, format!("Enter a whole number from 1 to {MAX_QUANTITY}."));
            }
        }
    }
    let refused = |form: Option<String>, quantities| Ok(Err(ServiceErrors { form, quantities }));
    // Refused before the catalog is asked about thousands of products.
    if let Err(e) = check_line_count(chosen.len()) {
        return refused(Some(sentence(&e.to_string())), errors);
    }
    let mut conn = state.pools.aas.get().await?;
    let ids: Vec<ProductId> = order.iter().map(|(id, _)| *id).collect();
    let products = catalog::products_by_ids(&mut conn, &ids).await?;
    drop(conn);
    let quote = match service::lines(&order, &products) {
        // The page has room for one message at the top: the last refusal's.
        Err(refusals) => Err(refusals.last().map(ToString::to_string)),
        Ok(_) if form_error.is_some() || !errors.is_empty() => Err(form_error),
        Ok(lines) => service::quote(lines, state.vat_rate).map_err(|refusal| Some(refusal.to_string())),
    };
    let quote = match quote {
        Ok(quote) => quote,
        Err(form) => return refused(form.or_else(|| Some("Correct the quantities marked below.".into())), errors),
    };
    if let Err(e) = quote.totals.check_total() {
        return refused(Some(sentence(&e.to_string())), errors);
    }
    Ok(Ok(quote))
}
