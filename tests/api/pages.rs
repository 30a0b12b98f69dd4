//! Every page a person can open, per role, with real ids from the demo data: what the
//! HTML checker (`html_validity.rs`) and the layout suite in Chromium (`layout.rs`)
//! walk through. A new page belongs here.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{invoices, quotes, services};

use crate::helpers::{ADMIN, CUSTOMER, STAFF, TestApp};
use crate::support::{ACCEPTED, ACME, PENDING, org_id, quote_id, user_id};

/// A role's sign-in and the paths of its pages (each answers it 200).
pub struct RolePages {
    pub role: &'static str,
    pub email: &'static str,
    pub paths: Vec<String>,
}

/// Pages every signed-in role opens.
const COMMON: &[&str] = &[
    "/",
    "/catalog",
    "/catalog/compute",
    "/catalog/vm",
    "/catalog/network",
    "/quotes",
    "/invoices",
    "/alerts",
    "/account/password",
    "/account/second-factor",
    "/account/api-keys",
    "/api/docs",
];

/// A customer's own pages: building, accepting, paying.
const CUSTOMER_ONLY: &[&str] = &["/quotes/new/vm", "/quotes/new/network", "/wallet", "/services", "/cards"];

/// The operator's pages that staff and admins share.
const OPERATOR: &[&str] = &[
    "/transactions",
    "/transactions/totals",
    "/admin/billing",
    "/admin/vat",
    "/admin/pricing",
    "/admin/pricing/products/1",
    "/admin/pricing/vm-templates/1",
    "/ops/vms",
    "/ops/disks",
];

/// The administrator's own pages.
const ADMIN_ONLY: &[&str] = &[
    "/admin/organisations",
    "/admin/organisations/new",
    "/admin/users",
    "/admin/users/new",
    "/admin/roles",
    "/admin/activity",
];

/// Acme's ids the pages need: a quote of each kind (and its accept, decline and refund
/// pages), a tax invoice and a credit note, an active service, Acme itself and its customer.
struct Ids {
    acme: i64,
    quotes: Vec<i64>,
    pending: i64,
    accepted: i64,
    invoices: Vec<i64>,
    service: i64,
    customer: i64,
}

async fn ids(app: &TestApp) -> Ids {
    let acme = org_id(app, ACME).await;
    let mut conn = app.main_conn().await;
    let mut quotes: Vec<i64> = quotes::table
        .filter(quotes::organisation_id.eq(acme))
        .distinct_on(quotes::kind)
        .order((quotes::kind, quotes::id))
        .select(quotes::id)
        .load(&mut conn)
        .await
        .unwrap();
    let mut invoices: Vec<i64> = invoices::table
        .filter(invoices::organisation_id.eq(acme))
        .distinct_on(invoices::kind)
        .order((invoices::kind, invoices::id))
        .select(invoices::id)
        .load(&mut conn)
        .await
        .unwrap();
    let service: i64 = services::table
        .filter(services::organisation_id.eq(acme).and(services::status.eq("active")))
        .order(services::id)
        .select(services::id)
        .first(&mut conn)
        .await
        .unwrap();
    drop(conn);
    quotes.sort_unstable();
    invoices.sort_unstable();
    assert!(
        quotes.len() >= 2 && !invoices.is_empty(),
        "the demo data has quotes and invoices: {quotes:?} {invoices:?}"
    );
    Ids {
        acme,
        quotes,
        pending: quote_id(app, PENDING).await,
        accepted: quote_id(app, ACCEPTED).await,
        invoices,
        service,
        customer: user_id(app, CUSTOMER).await,
    }
}

/// The current month's statement, `/statements/YYYY-MM`.
fn this_months_statement() -> String {
    format!("/statements/{}", portal::domain::time::today_sast().format("%Y-%m"))
}

/// Every role's pages.
pub async fn every_page(app: &TestApp) -> Vec<RolePages> {
    let ids = ids(app).await;
    let owned = |paths: &[&str]| paths.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    let quote_pages = ids.quotes.iter().map(|q| format!("/quotes/{q}"));
    let invoice_pages = ids.invoices.iter().map(|i| format!("/invoices/{i}"));
    let shared: Vec<String> =
        owned(COMMON).into_iter().chain(quote_pages).chain(invoice_pages).chain([this_months_statement()]).collect();

    let mut customer = shared.clone();
    customer.extend(owned(CUSTOMER_ONLY));
    customer.extend([
        format!("/quotes/{}/accept", ids.pending),
        format!("/quotes/{}/decline", ids.pending),
        format!("/services/{}/cancel", ids.service),
    ]);

    let mut staff = shared;
    staff.extend(owned(OPERATOR));
    staff.extend([
        format!("/quotes/{}/refund", ids.accepted),
        format!("/admin/organisations/{}", ids.acme),
        format!("/admin/organisations/{}/adjust", ids.acme),
    ]);

    let mut admin = staff.clone();
    admin.extend(owned(ADMIN_ONLY));
    admin.push(format!("/admin/users/{}", ids.customer));

    vec![
        RolePages { role: "customer", email: CUSTOMER, paths: customer },
        RolePages { role: "staff", email: STAFF, paths: staff },
        RolePages { role: "admin", email: ADMIN, paths: admin },
    ]
}
