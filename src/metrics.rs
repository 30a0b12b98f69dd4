//! `/metrics` in the OpenMetrics text format (through `prometheus-client`): requests and
//! their latency per route, the connection pools of the three databases, quote
//! acceptances and insufficient-funds refusals. Each instance reports its own.
//!
//! Labels come only from fixed sets, so no request can add a series: the route is the
//! matched pattern from the route table (`/quotes/{id}`, never the id) or `unmatched`,
//! the method one of GET, HEAD, POST or OTHER, the status its class (2xx…5xx).
//!
//! Who may read it: with `PORTAL_METRICS_TOKEN` set, whoever sends it as a bearer token;
//! without, only clients on the loopback interface (a scraper on the same host).

use std::sync::Mutex;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::db::Pools;
use crate::db::registry::DATABASES;
use crate::error::AppError;
use crate::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// A billing run takes from milliseconds (nothing due) to minutes (month end, many services).
const BILLING_RUN_BUCKETS: [f64; 8] = [0.01, 0.1, 1.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

/// The method label: one of four words.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        _ => "OTHER",
    }
}

/// The status label: its class.
fn status_label(status: u16) -> &'static str {
    match status {
        ..200 => "1xx",
        200..300 => "2xx",
        300..400 => "3xx",
        400..500 => "4xx",
        _ => "5xx",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    /// A pattern of the route table (a `&'static str` from it) or "unmatched".
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    /// `cache` (this process's fenced copy) or `database`.
    answered_by: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DatabaseLabels {
    database: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    database: &'static str,
    state: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    pool_connections: Family<ConnectionLabels, Gauge>,
    pool_max: Family<DatabaseLabels, Gauge>,
    pool_waiting: Family<DatabaseLabels, Gauge>,
    access_checks: Family<CheckLabels, Counter>,
    acceptances: Counter,
    insufficient_funds: Counter,
    months_charged: Counter,
    organisations_short: Counter,
    billing_runs: Histogram,
    /// Every worker's pools, summed per database.
    pools: Mutex<Vec<Pools>>,
    token: Option<SecretString>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(None)
    }
}

impl Metrics {
    /// `token` is `PORTAL_METRICS_TOKEN`.
    pub fn new(token: Option<SecretString>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let durations =
            Family::<RouteLabels, Histogram>::new_with_constructor((|| Histogram::new(BUCKETS)) as fn() -> Histogram);
        let pool_connections = Family::<ConnectionLabels, Gauge>::default();
        let pool_max = Family::<DatabaseLabels, Gauge>::default();
        let pool_waiting = Family::<DatabaseLabels, Gauge>::default();
        let access_checks = Family::<CheckLabels, Counter>::default();
        let acceptances = Counter::default();
        let insufficient_funds = Counter::default();
        let months_charged = Counter::default();
        let organisations_short = Counter::default();
        let billing_runs = Histogram::new(BILLING_RUN_BUCKETS);
        registry.register("portal_http_requests", "HTTP requests by route, method and status class", requests.clone());
        registry.register("portal_http_request_duration_seconds", "Time to answer, by route", durations.clone());
        registry.register(
            "portal_db_pool_connections",
            "Connections of each database's pools, by state",
            pool_connections.clone(),
        );
        registry.register(
            "portal_db_pool_max_connections",
            "The most connections each database's pools open",
            pool_max.clone(),
        );
        registry.register("portal_db_pool_waiting_requests", "Requests waiting for a connection", pool_waiting.clone());
        registry.register(
            "portal_access_checks",
            "Session and API key checks, by what answered them (the worker's copy or the database)",
            access_checks.clone(),
        );
        registry.register(
            "portal_quote_acceptances",
            "Quotes accepted (and their wallets debited)",
            acceptances.clone(),
        );
        registry.register(
            "portal_quote_acceptances_refused_insufficient_funds",
            "Acceptances refused for want of funds",
            insufficient_funds.clone(),
        );
        registry.register(
            "portal_billing_months_charged",
            "Service months charged by the billing runs of this process",
            months_charged.clone(),
        );
        registry.register(
            "portal_billing_organisations_short",
            "Organisations whose wallet could not pay their due months, per run",
            organisations_short.clone(),
        );
        registry.register(
            "portal_billing_run_duration_seconds",
            "How long each billing run of this process took",
            billing_runs.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            pool_connections,
            pool_max,
            pool_waiting,
            access_checks,
            acceptances,
            insufficient_funds,
            months_charged,
            organisations_short,
            billing_runs,
            pools: Mutex::default(),
            token,
        }
    }

    /// Reports these pools too (each worker has its own).
    pub fn watch(&self, pools: &Pools) {
        self.pools.lock().expect("metrics lock").push(pools.clone());
    }

    /// A session or key check of a signed-in request, answered from this process's
    /// copy or by the database.
    pub fn count_access_check(&self, from_cache: bool) {
        let answered_by = if from_cache { "cache" } else { "database" };
        self.access_checks.get_or_create(&CheckLabels { answered_by }).inc();
    }

    pub fn count_acceptance(&self) {
        self.acceptances.inc();
    }

    pub fn count_insufficient_funds(&self) {
        self.insufficient_funds.inc();
    }

    /// A billing run of this process: its months charged, organisations short, duration.
    pub fn count_billing_run(&self, months: u64, short: u64, seconds: f64) {
        self.months_charged.inc_by(months);
        self.organisations_short.inc_by(short);
        self.billing_runs.observe(seconds);
    }

    fn observe(&self, method: &'static str, route: &'static str, status: u16, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { method, route, status: status_label(status) }).inc();
        self.durations.get_or_create(&RouteLabels { method, route }).observe(seconds);
    }

    /// Sets the pool gauges to the sum of every worker's pools now.
    fn read_pools(&self) {
        let pools = self.pools.lock().expect("metrics lock");
        for db in &DATABASES {
            let database = db.name;
            let (mut size, mut idle, mut max, mut waiting) = (0, 0, 0, 0);
            for s in pools.iter().map(|p| db.pool_status(p)) {
                size += s.size as i64;
                idle += s.available as i64;
                max += s.max_size as i64;
                waiting += s.waiting as i64;
            }
            let connections = |state| ConnectionLabels { database, state };
            self.pool_connections.get_or_create(&connections("in_use")).set((size - idle).max(0));
            self.pool_connections.get_or_create(&connections("idle")).set(idle);
            self.pool_max.get_or_create(&DatabaseLabels { database }).set(max);
            self.pool_waiting.get_or_create(&DatabaseLabels { database }).set(waiting);
        }
    }

    /// Whether this request may read the metrics.
    fn allows(&self, req: &HttpRequest) -> bool {
        match &self.token {
            Some(token) => req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.expose_secret().as_bytes()))),
            None => req.peer_addr().is_some_and(|peer| peer.ip().is_loopback()),
        }
    }
}

/// The route table's pattern a request matched, as the table's own `&'static str`.
fn route_label(pattern: Option<String>) -> &'static str {
    pattern
        .and_then(|p| crate::routes::TABLE.iter().find(|(_, path)| *path == p).map(|(_, path)| *path))
        .unwrap_or("unmatched")
}

/// Times every request and counts it under its route pattern.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = method_label(req.method());
    let response = next.call(req).await?;
    if let Some(state) = state {
        let route = route_label(response.request().match_pattern());
        state.metrics.observe(method, route, response.status().as_u16(), started.elapsed().as_secs_f64());
    }
    Ok(response)
}

pub async fn show(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let metrics = &state.metrics;
    if !metrics.allows(&req) {
        return Err(AppError::Forbidden);
    }
    metrics.read_pools();
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &metrics.registry)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("encoding the metrics: {e}")))?;
    Ok(HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label(&Method::from_bytes(b"INVENTED").unwrap()), "OTHER");
        assert_eq!(status_label(404), "4xx");
        assert_eq!(route_label(Some("/quotes/{id}".into())), "/quotes/{id}");
        assert_eq!(route_label(Some("/not/a/route".into())), "unmatched");
        assert_eq!(route_label(None), "unmatched");
    }

    #[test]
    fn only_loopback_or_the_bearer_token_may_read() {
        use actix_web::test::TestRequest;
        let remote = "203.0.113.9:4000".parse().unwrap();
        let local = "127.0.0.1:4000".parse().unwrap();
        let open = Metrics::new(None);
        assert!(open.allows(&TestRequest::default().peer_addr(local).to_http_request()));
        assert!(!open.allows(&TestRequest::default().peer_addr(remote).to_http_request()));
        let guarded = Metrics::new(Some("s3cret-token".to_owned().into()));
        let with = |value: &str| {
            TestRequest::default().peer_addr(remote).insert_header((header::AUTHORIZATION, value)).to_http_request()
        };
        assert!(guarded.allows(&with("Bearer s3cret-token")));
        assert!(!guarded.allows(&with("Bearer wrong")));
        assert!(!guarded.allows(&TestRequest::default().peer_addr(local).to_http_request()));
    }
}
