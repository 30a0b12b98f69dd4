//! `/metrics` in Prometheus's text format: requests and their latency per route, the
//! connection pools of the three databases, quote acceptances and insufficient-funds
//! refusals. Counted in process (each instance reports its own), no dependency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::db::Pools;
use crate::startup::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    seconds: f64,
}

#[derive(Default)]
pub struct Metrics {
    /// By (method, route pattern).
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
    pub acceptances: AtomicU64,
    pub insufficient_funds: AtomicU64,
    /// Every worker's pools, summed per database.
    pools: Mutex<Vec<Pools>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().expect("metrics lock");
        let stats = routes.entry((method.to_owned(), route.to_owned())).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        for (bucket, bound) in stats.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        stats.count += 1;
        stats.seconds += seconds;
    }

    /// Reports these pools too (each worker has its own).
    pub fn watch(&self, pools: &Pools) {
        self.pools.lock().expect("metrics lock").push(pools.clone());
    }

    /// Size, idle connections, maximum and waiting requests of one database's pools.
    fn pool_status(&self, status: impl Fn(&Pools) -> deadpool::Status) -> deadpool::Status {
        let pools = self.pools.lock().expect("metrics lock");
        pools.iter().map(status).fold(deadpool::Status { max_size: 0, size: 0, available: 0, waiting: 0 }, |sum, s| {
            deadpool::Status {
                max_size: sum.max_size + s.max_size,
                size: sum.size + s.size,
                available: sum.available + s.available,
                waiting: sum.waiting + s.waiting,
            }
        })
    }

    pub fn count_acceptance(&self) {
        self.acceptances.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_insufficient_funds(&self) {
        self.insufficient_funds.fetch_add(1, Ordering::Relaxed);
    }
}

fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Times every request and counts it under its route pattern (`/quotes/{id}`, never the
/// id itself, so the series stay few).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let response = next.call(req).await?;
    if let Some(state) = state {
        let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        state.metrics.observe(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    }
    Ok(response)
}

pub async fn show(state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::new();
    out.push_str("# HELP portal_http_requests_total HTTP requests by route and status.\n");
    out.push_str("# TYPE portal_http_requests_total counter\n");
    let routes = state.metrics.routes.lock().expect("metrics lock");
    for ((method, route), stats) in routes.iter() {
        for (status, count) in &stats.by_status {
            let _ = writeln!(
                out,
                "portal_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                label(route)
            );
        }
    }
    out.push_str("# HELP portal_http_request_duration_seconds Time to answer, by route.\n");
    out.push_str("# TYPE portal_http_request_duration_seconds histogram\n");
    for ((method, route), stats) in routes.iter() {
        let labels = format!("method=\"{method}\",route=\"{}\"", label(route));
        for (count, bound) in stats.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(out, "portal_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "portal_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", stats.count);
        let _ = writeln!(out, "portal_http_request_duration_seconds_sum{{{labels}}} {}", stats.seconds);
        let _ = writeln!(out, "portal_http_request_duration_seconds_count{{{labels}}} {}", stats.count);
    }
    drop(routes);
    out.push_str("# HELP portal_db_pool_connections Connections of each database's pool, by state.\n");
    out.push_str("# TYPE portal_db_pool_connections gauge\n");
    let metrics = &state.metrics;
    for (database, status) in [
        ("main", metrics.pool_status(|p| p.main.status())),
        ("aas", metrics.pool_status(|p| p.aas.status())),
        ("enetworks", metrics.pool_status(|p| p.enetworks.status())),
    ] {
        let in_use = status.size.saturating_sub(status.available);
        let _ = writeln!(out, "portal_db_pool_connections{{database=\"{database}\",state=\"in_use\"}} {in_use}");
        let _ =
            writeln!(out, "portal_db_pool_connections{{database=\"{database}\",state=\"idle\"}} {}", status.available);
        let _ = writeln!(out, "portal_db_pool_max_connections{{database=\"{database}\"}} {}", status.max_size);
        let _ = writeln!(out, "portal_db_pool_waiting_requests{{database=\"{database}\"}} {}", status.waiting);
    }
    out.push_str("# HELP portal_quote_acceptances_total Quotes accepted (and their wallets debited).\n");
    out.push_str("# TYPE portal_quote_acceptances_total counter\n");
    let _ = writeln!(out, "portal_quote_acceptances_total {}", state.metrics.acceptances.load(Ordering::Relaxed));
    out.push_str(
        "# HELP portal_quote_acceptances_refused_insufficient_funds_total Acceptances refused for want of funds.\n",
    );
    out.push_str("# TYPE portal_quote_acceptances_refused_insufficient_funds_total counter\n");
    let _ = writeln!(
        out,
        "portal_quote_acceptances_refused_insufficient_funds_total {}",
        state.metrics.insufficient_funds.load(Ordering::Relaxed)
    );
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(out)
}
