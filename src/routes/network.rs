//! Network connectivity: the price grid (`/catalog/network`), the comparison of every
//! provider that can serve a site at a speed and term (`/quotes/new/network`, live
//! through htmx or on submit), and the quote made from the chosen offer
//! (`POST /quotes/network`), priced by [`crate::domain::network`] from the price tables
//! as they are in the database then, not as the cache last saw them.

use actix_web::http::StatusCode;
use actix_web::{CustomizeResponder, Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use serde::Deserialize;

use super::{is_htmx, see_other};
use crate::auth::{Permission, Require, perm};
use crate::db::main::quotes::{self as db_quotes, NewQuote};
use crate::domain::money::format_zar;
use crate::domain::network::bandwidth::tiers_up_to;
use crate::domain::network::{Bandwidth, CpeBilling, PriceTables, Provider, Request};
use crate::domain::quote::PricedQuote;
use crate::domain::text::{self, Lines};
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::{ContractValueView, Page, SelectOption, sentence};

const TERMS: [i32; 3] = [12, 24, 36];
const MAX_ADDRESS_CHARS: usize = 300;
const MAX_SUBURB_CHARS: usize = 100;

// ---------------------------------------------------------------- the price grid

/// One speed's row of a term's table: each provider's MRC and NRC, or nothing.
pub struct GridLine {
    speed: i32,
    cells: Vec<Option<(String, String)>>,
}

pub struct TermTable {
    term: i32,
    lines: Vec<GridLine>,
}

pub struct CpeView {
    model: String,
    description: String,
    max_mbps: i32,
    buy: Option<String>,
    rent: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "catalog_network.html")]
pub struct NetworkCatalogPage {
    page: Page,
    providers: Vec<&'static str>,
    terms: Vec<TermTable>,
    /// (speed, contention, MRC)
    bandwidth: Vec<(i32, String, String)>,
    cpes: Vec<CpeView>,
    /// (node, suburbs)
    helios: Vec<(String, String)>,
    can_quote: bool,
}

pub async fn catalog(
    required: Require<perm::CatalogView>,
    page: Page,
    state: web::Data<AppState>,
) -> Result<NetworkCatalogPage, AppError> {
    let tables = state.prices.network(&state.pools.enetworks).await??;
    let grid = tables.grid();
    let terms = TERMS
        .iter()
        .map(|term| TermTable {
            term: *term,
            lines: tables
                .speeds()
                .into_iter()
                .map(|speed| GridLine {
                    speed,
                    cells: Provider::ALL
                        .iter()
                        .map(|p| {
                            grid.iter()
                                .find(|g| g.provider == *p && g.speed_mbps == speed && g.term_months == *term)
                                .map(|g| (format_zar(g.mrc), format_zar(g.nrc)))
                        })
                        .collect(),
                })
                .filter(|line| line.cells.iter().any(Option::is_some))
                .collect(),
        })
        .collect();
    let bandwidth =
        tables.bandwidth.iter().map(|b| (b.speed_mbps, b.contention.clone(), format_zar(b.sell_price()))).collect();
    let cpes = tables
        .cpes()
        .iter()
        .map(|c| CpeView {
            model: c.model.clone(),
            description: c.description.clone(),
            max_mbps: c.max_throughput_mbps,
            buy: c.sell_price(CpeBilling::OnceOff).map(format_zar),
            rent: c.sell_price(CpeBilling::Monthly).map(format_zar),
        })
        .collect();
    let mut helios: Vec<(String, String)> = Vec::new();
    for s in &tables.helios_suburbs {
        match helios.iter_mut().find(|(node, _)| *node == s.node) {
            Some((_, suburbs)) => {
                suburbs.push_str(", ");
                suburbs.push_str(&s.suburb);
            }
            None => helios.push((s.node.clone(), s.suburb.clone())),
        }
    }
    Ok(NetworkCatalogPage {
        page,
        providers: Provider::ALL.iter().map(|p| p.label()).collect(),
        terms,
        bandwidth,
        cpes,
        helios,
        can_quote: required.user.can(Permission::QuoteCreate),
    })
}

// ---------------------------------------------------------------- compare and quote

/// The network form as typed (kept as text so bad input comes back as it was).
#[derive(Deserialize, Default, Clone)]
pub struct NetworkForm {
    #[serde(default)]
    pub site_address: String,
    #[serde(default)]
    pub site_suburb: String,
    #[serde(default)]
    pub speed_mbps: String,
    #[serde(default)]
    pub term_months: String,
    /// Internet bandwidth on the link: `none`, `fit` (the largest tier up to the link
    /// speed, the default) or a tier's speed in Mbps.
    #[serde(default)]
    pub bandwidth_mbps: String,
    /// A `liquid_cpe` id, or empty for no router.
    #[serde(default)]
    pub cpe_id: String,
    /// `once_off` (purchase) or `monthly` (rental).
    #[serde(default)]
    pub cpe_billing: String,
    /// The chosen provider's slug (only when making the quote).
    #[serde(default)]
    pub provider: String,
}

#[derive(Default)]
pub struct NetworkErrors {
    site_address: Option<String>,
    site_suburb: Option<String>,
    speed_mbps: Option<String>,
    term_months: Option<String>,
    bandwidth_mbps: Option<String>,
    cpe_id: Option<String>,
    cpe_billing: Option<String>,
    form: Option<String>,
}

impl NetworkErrors {
    /// The first message, by the name of its field (`provider` for the whole form's).
    pub fn first(&self) -> Option<(&'static str, &str)> {
        [
            ("site_address", &self.site_address),
            ("site_suburb", &self.site_suburb),
            ("speed_mbps", &self.speed_mbps),
            ("term_months", &self.term_months),
            ("bandwidth_mbps", &self.bandwidth_mbps),
            ("cpe_id", &self.cpe_id),
            ("cpe_billing", &self.cpe_billing),
            ("provider", &self.form),
        ]
        .into_iter()
        .find_map(|(field, error)| Some((field, error.as_deref()?)))
    }

    fn any(&self) -> bool {
        [
            &self.site_address,
            &self.site_suburb,
            &self.speed_mbps,
            &self.term_months,
            &self.bandwidth_mbps,
            &self.cpe_id,
            &self.cpe_billing,
        ]
        .iter()
        .any(|e| e.is_some())
            || self.form.is_some()
    }

    /// What the comparison still needs, in the form's words ("the suburb, a speed").
    fn still_needed(&self) -> Vec<&'static str> {
        [
            (&self.site_address, "the site address"),
            (&self.site_suburb, "the suburb"),
            (&self.speed_mbps, "a speed"),
            (&self.term_months, "a term"),
            (&self.bandwidth_mbps, "a bandwidth tier up to the speed"),
            (&self.cpe_id, "a router that carries the speed"),
            (&self.cpe_billing, "how to pay for the router"),
        ]
        .into_iter()
        .filter(|(error, _)| error.is_some())
        .map(|(_, what)| what)
        .collect()
    }
}

pub struct Parsed {
    speed_mbps: i32,
    term_months: i32,
    bandwidth: Bandwidth,
    cpe: Option<(i64, CpeBilling)>,
}

impl NetworkForm {
    /// Internet bandwidth to fit the link unless another was asked for, as the builder
    /// page starts (for the API, which has no page to start from).
    pub fn with_default_bandwidth(self) -> NetworkForm {
        match self.bandwidth_mbps.trim() {
            "" => NetworkForm { bandwidth_mbps: "fit".into(), ..self },
            _ => self,
        }
    }

    pub fn parse(&self, tables: &PriceTables) -> Result<Parsed, Box<NetworkErrors>> {
        let mut errors = NetworkErrors::default();
        let address = self.site_address.trim();
        if let Err(e) = text::check(address, Lines::One) {
            errors.site_address = Some(sentence(e));
        } else if address.is_empty() {
            errors.site_address = Some("Enter the site's street address.".into());
        } else if address.chars().count() > MAX_ADDRESS_CHARS {
            errors.site_address = Some(format!("Use at most {MAX_ADDRESS_CHARS} characters."));
        }
        let suburb = self.site_suburb.trim();
        if let Err(e) = text::check(suburb, Lines::One) {
            errors.site_suburb = Some(sentence(e));
        } else if suburb.is_empty() {
            errors.site_suburb = Some("Enter the site's suburb.".into());
        } else if suburb.chars().count() > MAX_SUBURB_CHARS {
            errors.site_suburb = Some(format!("Use at most {MAX_SUBURB_CHARS} characters."));
        }
        let speed = self.speed_mbps.trim().parse::<i32>().ok().filter(|s| tables.speeds().contains(s));
        if speed.is_none() {
            errors.speed_mbps = Some("Choose a speed from the list.".into());
        }
        let term = self.term_months.trim().parse::<i32>().ok().filter(|t| TERMS.contains(t));
        if term.is_none() {
            errors.term_months = Some("Choose a term of 12, 24 or 36 months.".into());
        }
        let bandwidth = match self.bandwidth_mbps.trim() {
            "" | "none" => Bandwidth::None,
            "fit" => Bandwidth::LargestThatFits,
            raw => match raw.parse::<i32>().ok().filter(|t| tables.bandwidth.iter().any(|b| b.speed_mbps == *t)) {
                Some(tier) => Bandwidth::Tier(tier),
                None => {
                    errors.bandwidth_mbps = Some("Choose a bandwidth tier from the list, or none.".into());
                    Bandwidth::None
                }
            },
        };
        if let Some(speed) = speed {
            match bandwidth {
                Bandwidth::Tier(tier) if tier > speed => {
                    errors.bandwidth_mbps = Some(format!(
                        "A {tier} Mbps tier is faster than the {speed} Mbps link: choose one up to {speed} Mbps."
                    ));
                }
                Bandwidth::LargestThatFits if tiers_up_to(&tables.bandwidth, speed).next().is_none() => {
                    errors.bandwidth_mbps = Some(format!("No bandwidth tier is as slow as {speed} Mbps: choose none."));
                }
                _ => {}
            }
        }
        let cpe = match self.cpe_id.trim() {
            "" => None,
            raw => {
                let row = raw.parse::<i64>().ok().and_then(|id| tables.cpes().iter().find(|c| c.id == id));
                let billing = CpeBilling::from_slug(self.cpe_billing.trim());
                match (row, billing) {
                    (None, _) => errors.cpe_id = Some("Choose a router from the list, or no router.".into()),
                    (Some(_), None) => errors.cpe_billing = Some("Choose to buy or to rent the router.".into()),
                    (Some(row), Some(billing)) if row.cost(billing).is_none() => {
                        let (only, choose) = match billing {
                            CpeBilling::OnceOff => ("rented", "Rent"),
                            CpeBilling::Monthly => ("bought", "Buy"),
                        };
                        errors.cpe_billing = Some(format!("The {} can only be {only}: choose {choose}.", row.model));
                    }
                    (Some(row), Some(_)) => {
                        if let Some(speed) = speed.filter(|s| !row.carries(*s)) {
                            errors.cpe_id = Some(format!(
                                "The {} carries at most {} Mbps, less than the {speed} Mbps link: choose a faster router or a lower speed.",
                                row.model, row.max_throughput_mbps
                            ));
                        }
                    }
                }
                row.map(|r| r.id).zip(billing)
            }
        };
        match (speed, term) {
            (Some(speed_mbps), Some(term_months)) if !errors.any() => {
                Ok(Parsed { speed_mbps, term_months, bandwidth, cpe })
            }
            _ => Err(Box::new(errors)),
        }
    }

    pub fn request<'a>(&'a self, parsed: &Parsed) -> Request<'a> {
        Request {
            speed_mbps: parsed.speed_mbps,
            term_months: parsed.term_months,
            suburb: self.site_suburb.trim(),
            bandwidth: parsed.bandwidth,
            cpe: parsed.cpe,
        }
    }
}

pub struct OfferView {
    provider: &'static str,
    slug: &'static str,
    mrc: String,
    nrc: String,
    contract_value: ContractValueView,
    amount_due: String,
    lines: Vec<(String, &'static str, String)>,
    cheapest: bool,
}

/// The comparison: every provider's offer, cheapest first, and why the others made none.
#[derive(Template, WebTemplate)]
#[template(path = "network_offers_partial.html")]
pub struct OffersPanel {
    offers: Vec<OfferView>,
    /// (provider, reason) for providers that cannot serve the request.
    missing: Vec<(&'static str, String)>,
    form: NetworkForm,
    csrf_token: String,
    compared: bool,
    /// What the form still needs before offers can be compared.
    still_needed: Vec<&'static str>,
    vat_rate: String,
}

fn offers_panel(tables: &PriceTables, form: &NetworkForm, state: &AppState, csrf_token: String) -> OffersPanel {
    let mut panel = OffersPanel {
        offers: Vec::new(),
        missing: Vec::new(),
        form: form.clone(),
        csrf_token,
        compared: false,
        still_needed: Vec::new(),
        vat_rate: crate::domain::money::format_plain(state.vat_rate),
    };
    let parsed = match form.parse(tables) {
        Ok(parsed) => parsed,
        Err(errors) => {
            panel.still_needed = errors.still_needed();
            return panel;
        }
    };
    let request = form.request(&parsed);
    let offers = tables.offers(&request);
    panel.compared = true;
    panel.missing = Provider::ALL
        .iter()
        .filter_map(|p| tables.offer(*p, &request).err().map(|e| (p.label(), sentence(&e.to_string()))))
        .collect();
    panel.offers = offers
        .iter()
        .enumerate()
        .map(|(i, offer)| OfferView {
            provider: offer.provider.label(),
            slug: offer.provider.slug(),
            mrc: format_zar(offer.mrc()),
            nrc: format_zar(offer.nrc()),
            contract_value: offer.totals(state.vat_rate).contract_value(offer.term_months).into(),
            amount_due: format_zar(offer.totals(state.vat_rate).amount_due),
            lines: offer
                .lines
                .iter()
                .map(|l| (l.description.clone(), l.priced.billing.label(), format_zar(l.priced.amount)))
                .collect(),
            cheapest: i == 0,
        })
        .collect();
    panel
}

#[derive(Template, WebTemplate)]
#[template(path = "quote_new_network.html")]
pub struct NewNetworkPage {
    page: Page,
    form: NetworkForm,
    errors: NetworkErrors,
    speeds: Vec<SelectOption>,
    terms: Vec<SelectOption>,
    cpes: Vec<SelectOption>,
    cpe_billings: Vec<SelectOption>,
    bandwidths: Vec<SelectOption>,
    panel: OffersPanel,
}

fn new_network_page(
    tables: &PriceTables,
    state: &AppState,
    page: Page,
    form: NetworkForm,
    errors: NetworkErrors,
) -> NewNetworkPage {
    let panel = if errors.any() {
        OffersPanel {
            offers: Vec::new(),
            missing: Vec::new(),
            form: form.clone(),
            csrf_token: page.csrf_token.clone(),
            compared: false,
            still_needed: errors.still_needed(),
            vat_rate: String::new(),
        }
    } else {
        offers_panel(tables, &form, state, page.csrf_token.clone())
    };
    let speeds = tables.speeds().iter().map(|s| SelectOption::new(s, format!("{s} Mbps"), &form.speed_mbps)).collect();
    let terms = TERMS.iter().map(|t| SelectOption::new(t, format!("{t} months"), &form.term_months)).collect();
    let cpes = [SelectOption::new("", "No router", &form.cpe_id)]
        .into_iter()
        .chain(tables.cpes().iter().map(|c| {
            let mut label = format!("{} (up to {} Mbps)", c.model, c.max_throughput_mbps);
            if let Some(price) = c.sell_price(CpeBilling::OnceOff) {
                label.push_str(&format!(", buy {}", format_zar(price)));
            }
            if let Some(price) = c.sell_price(CpeBilling::Monthly) {
                label.push_str(&format!(", rent {} a month", format_zar(price)));
            }
            SelectOption::new(c.id, label, &form.cpe_id)
        }))
        .collect();
    let cpe_billings = [(CpeBilling::OnceOff, "Buy (once-off)"), (CpeBilling::Monthly, "Rent (monthly)")]
        .iter()
        .map(|(b, label)| SelectOption::new(b.slug(), *label, &form.cpe_billing))
        .collect();
    let bandwidths = [
        SelectOption::new("none", "No internet bandwidth", &form.bandwidth_mbps),
        SelectOption::new("fit", "The largest tier up to the link speed", &form.bandwidth_mbps),
    ]
    .into_iter()
    .chain(tables.bandwidth.iter().map(|b| {
        let label = format!("{} Mbps ({}), {} a month", b.speed_mbps, b.contention, format_zar(b.sell_price()));
        SelectOption::new(b.speed_mbps, label, &form.bandwidth_mbps)
    }))
    .collect();
    NewNetworkPage { page, form, errors, speeds, terms, cpes, cpe_billings, bandwidths, panel }
}

pub async fn new_network(
    req: HttpRequest,
    _: Require<perm::QuoteCreate>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Query<NetworkForm>,
) -> Result<Either<OffersPanel, CustomizeResponder<NewNetworkPage>>, AppError> {
    let mut form = form.into_inner();
    let tables = state.prices.network(&state.pools.enetworks).await??;
    if is_htmx(&req) {
        return Ok(Either::Left(offers_panel(&tables, &form, &state, page.csrf_token)));
    }
    // The first visit: defaults, no messages. A submitted form, even an empty one, is
    // checked, so "Compare offers" says what is missing.
    if req.query_string().is_empty() {
        form.term_months = "36".into();
        form.bandwidth_mbps = "fit".into();
        return Ok(Either::Right(new_network_page(&tables, &state, page, form, NetworkErrors::default()).customize()));
    }
    let errors = form.parse(&tables).err().map(|e| *e).unwrap_or_default();
    let status = if errors.any() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(Either::Right(new_network_page(&tables, &state, page, form, errors).customize().with_status(status)))
}

pub async fn create(
    required: Require<perm::QuoteCreate>,
    page: Page,
    state: web::Data<AppState>,
    form: web::Form<NetworkForm>,
) -> Result<Either<HttpResponse, CustomizeResponder<NewNetworkPage>>, AppError> {
    let user = required.user;
    let form = form.into_inner();
    let quote = match price_network_order(&state, &form).await? {
        Ok(quote) => quote,
        Err(errors) => {
            let tables = state.prices.network(&state.pools.enetworks).await??;
            let page = new_network_page(&tables, &state, page, form, errors);
            return Ok(Either::Right(page.customize().with_status(StatusCode::UNPROCESSABLE_ENTITY)));
        }
    };
    let new = NewQuote { organisation_id: user.organisation_id, created_by: user.id, quote: &quote };
    let mut conn = state.pools.main.get().await?;
    let id = db_quotes::create(&mut conn, &new).await?;
    Ok(Either::Left(see_other(&format!("/quotes/{id}"))))
}

/// Prices the network quote the form asks for (the chosen provider's offer), with the
/// form's rules and messages (the API's too).
pub async fn price_network_order(
    state: &AppState,
    form: &NetworkForm,
) -> Result<Result<PricedQuote, NetworkErrors>, AppError> {
    let tables = state.prices.network_for_quote(&state.pools.enetworks).await??;
    let refused = |message: String| Ok(Err(NetworkErrors { form: Some(message), ..Default::default() }));
    let parsed = match form.parse(&tables) {
        Ok(parsed) => parsed,
        Err(errors) => return Ok(Err(*errors)),
    };
    let Some(provider) = Provider::from_slug(form.provider.trim()) else {
        return refused("Choose one of the offers below.".into());
    };
    let quote = match tables.quote(provider, &form.request(&parsed), form.site_address.trim(), state.vat_rate) {
        Ok(quote) => quote,
        Err(reason) => return refused(format!("{}: {}", provider.label(), sentence(&reason.to_string()))),
    };
    if let Err(e) = quote.totals.check_total() {
        return refused(sentence(&e.to_string()));
    }
    Ok(Ok(quote))
}
