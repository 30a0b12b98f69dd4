//! Pricing management: staff edit costs and margins of both catalogs; every change is
//! logged with its old and new values, the pricing cache follows at once, issued quotes
//! keep their snapshot, and new quotes are priced from the database, never the cache.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::aas::schema::{products, terraform_vm_config};
use portal::db::enetworks::schema::{liquid_costs, mfn};
use portal::db::main::schema::{quote_lines, quotes, user_activity_log};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::helpers::{CUSTOMER, STAFF, TestApp, spawn_app};

async fn product(app: &TestApp, sku: &str) -> (i64, Decimal, Decimal, bool) {
    let mut conn = app.pools.aas.get().await.unwrap();
    products::table
        .filter(products::sku.eq(sku))
        .select((products::id, products::cost, products::margin_pct, products::active))
        .first(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn customers_cannot_reach_pricing_management() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let (id, cost, margin, _) = product(&app, "SEC-EDR").await;
    assert_eq!(customer.get("/admin/pricing").await.status, StatusCode::FORBIDDEN);
    assert_eq!(customer.get(&format!("/admin/pricing/products/{id}")).await.status, StatusCode::FORBIDDEN);
    let fields = [("cost_a", "1.00"), ("margin_pct", "1"), ("active", "on")];
    let page = customer.post(&format!("/admin/pricing/products/{id}"), &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(product(&app, "SEC-EDR").await, (id, cost, margin, true), "nothing changed");
    assert!(!customer.get("/").await.nav().contains(&"Pricing".to_owned()));
}

#[actix_web::test]
async fn staff_change_a_price_and_it_is_logged_with_old_and_new_values() {
    let app = spawn_app().await;
    let staff = app.signed_in(STAFF).await;
    let customer = app.signed_in(CUSTOMER).await;
    let (id, _, _, _) = product(&app, "SEC-EDR").await;
    assert!(customer.get("/catalog/security").await.body.contains("R 80.60"), "62.00 + 30 %, now cached");
    // A quote made before the change keeps its price.
    let before = customer.post("/quotes/service", &[("product_id", &id.to_string()), ("quantity", "10")]).await;
    let quote: i64 = before.location().trim_start_matches("/quotes/").parse().unwrap();

    let overview = staff.get("/admin/pricing?q=sec-edr").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("SEC-EDR · Endpoint protection (EDR)"));
    let form = staff.get(&format!("/admin/pricing/products/{id}")).await;
    assert!(form.body.contains(r#"value="62.00""#) && form.body.contains(r#"value="30""#));
    let saved = staff
        .post(&format!("/admin/pricing/products/{id}"), &[("cost_a", "70"), ("margin_pct", "25"), ("active", "on")])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(product(&app, "SEC-EDR").await, (id, dec!(70.00), dec!(25), true));
    assert!(customer.get("/catalog/security").await.body.contains("R 87.50"), "the catalog shows the new sell price");

    let mut conn = app.main_conn().await;
    let detail: serde_json::Value = user_activity_log::table
        .filter(user_activity_log::action.eq("pricing.update"))
        .filter(user_activity_log::target.eq(format!("products:{id}")))
        .select(user_activity_log::detail)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(detail["before"]["cost_a"], "62.00");
    assert_eq!(detail["before"]["margin_pct"], "30.0000");
    assert_eq!(detail["after"]["cost_a"], "70.00");
    let due: Decimal = quotes::table.find(quote).select(quotes::amount_due).first(&mut conn).await.unwrap();
    assert_eq!(due, dec!(926.90), "the issued quote keeps the old price");
    let after = customer.post("/quotes/service", &[("product_id", &id.to_string()), ("quantity", "10")]).await;
    let new_quote: i64 = after.location().trim_start_matches("/quotes/").parse().unwrap();
    let due: Decimal = quotes::table.find(new_quote).select(quotes::amount_due).first(&mut conn).await.unwrap();
    assert_eq!(due, dec!(1006.25), "10 × 87.50 + 15 % VAT");
}

#[actix_web::test]
async fn a_deactivated_product_leaves_the_customer_catalog_and_comes_back() {
    let app = spawn_app().await;
    let staff = app.signed_in(STAFF).await;
    let customer = app.signed_in(CUSTOMER).await;
    let (id, _, _, _) = product(&app, "SEC-EDR").await;
    let path = format!("/admin/pricing/products/{id}");
    assert!(customer.get("/catalog").await.body.contains("SEC-EDR"), "listed, and the catalog is cached");
    assert_eq!(staff.post(&path, &[("cost_a", "62"), ("margin_pct", "30")]).await.status, StatusCode::SEE_OTHER);
    assert!(!customer.get("/catalog").await.body.contains("SEC-EDR"), "an edit empties the cache at once");
    assert!(!customer.get("/catalog/security").await.body.contains("SEC-EDR"));
    let refused = customer.post("/quotes/service", &[("product_id", &id.to_string()), ("quantity", "1")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        staff.post(&path, &[("cost_a", "62"), ("margin_pct", "30"), ("active", "on")]).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(customer.get("/catalog/security").await.body.contains("SEC-EDR"));
}

#[actix_web::test]
async fn a_network_price_change_reaches_the_comparison_at_once() {
    let app = spawn_app().await;
    let staff = app.signed_in(STAFF).await;
    let compare = "/quotes/new/network?site_address=1+Main&site_suburb=Soweto&speed_mbps=100&term_months=36&cpe_id=&cpe_billing=monthly";
    let first = staff.get(compare).await;
    assert!(first.body.contains(r#"id="offer-liquid""#));
    let id: i64 = {
        let mut conn = app.pools.enetworks.get().await.unwrap();
        liquid_costs::table
            .filter(liquid_costs::speed_mbps.eq(100))
            .filter(liquid_costs::term_months.eq(36))
            .select(liquid_costs::id)
            .first(&mut conn)
            .await
            .unwrap()
    };
    let saved = staff
        .post(
            &format!("/admin/pricing/liquid/{id}"),
            &[("cost_a", "1000"), ("cost_b", "0"), ("margin_pct", "0"), ("active", "on")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let second = staff.get(compare).await;
    let row = second.body.split(r#"id="offer-liquid""#).nth(1).unwrap().split("</tr>").next().unwrap().to_owned();
    assert!(row.contains("R 1 000.00"), "the cache was dropped: {row}");
}

#[actix_web::test]
async fn bad_prices_come_back_with_messages_and_change_nothing() {
    let app = spawn_app().await;
    let staff = app.signed_in(STAFF).await;
    let (id, cost, margin, active) = product(&app, "SEC-EDR").await;
    let path = format!("/admin/pricing/products/{id}");
    let cases: &[(&str, &str, &str, &str)] = &[
        ("", "30", "cost_a-error", "Enter a cost."),
        ("abc", "30", "cost_a-error", "Use digits and a decimal point or comma only"),
        ("-1", "30", "cost_a-error", "Enter a cost from 0"),
        ("1.234", "30", "cost_a-error", "At most two decimals"),
        ("100000000000000000000", "30", "cost_a-error", "Enter a cost from 0"),
        ("62", "-100", "margin_pct-error", "Enter a margin"),
        ("62", "abc", "margin_pct-error", "Enter a margin"),
        ("62", "1.23456", "margin_pct-error", "Enter a margin"),
        ("<script>", "30", "cost_a-error", "Use digits"),
    ];
    for (cost_a, margin_pct, id_attr, message) in cases {
        let page = staff.post(&path, &[("cost_a", cost_a), ("margin_pct", margin_pct), ("active", "on")]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{cost_a} {margin_pct}");
        assert!(
            page.body.contains(&format!(r#"id="{id_attr}""#)) && page.body.contains(message),
            "{cost_a} {margin_pct}"
        );
        assert!(!page.body.contains("<script>"), "escaped");
    }
    assert_eq!(product(&app, "SEC-EDR").await, (id, cost, margin, active));
    // A provider's own rule: MFN waives installation at 36 months.
    let mfn_id: i64 = {
        let mut conn = app.pools.enetworks.get().await.unwrap();
        mfn::table.filter(mfn::term_months.eq(36)).select(mfn::id).first(&mut conn).await.unwrap()
    };
    let page = staff
        .post(
            &format!("/admin/pricing/mfn/{mfn_id}"),
            &[("cost_a", "1000"), ("cost_b", "500"), ("margin_pct", "20"), ("active", "on")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("waives installation at 36 months"));
    let page = staff.post("/admin/pricing/liquid-cpe/1", &[("cost_a", ""), ("cost_b", ""), ("margin_pct", "20")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("A router needs a purchase price, a rental price, or both."));
    assert_eq!(staff.get("/admin/pricing/nope/1").await.status, StatusCode::NOT_FOUND);
    assert_eq!(staff.get("/admin/pricing/products/999999").await.status, StatusCode::NOT_FOUND);
    let forged = staff.post_raw(&path, &[("cost_a", "1"), ("margin_pct", "1")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(product(&app, "SEC-EDR").await, (id, cost, margin, active));
}

/// A price edit made on another instance reaches the database but not this instance's
/// cache: its pages may show the old prices for up to a minute, its quotes never do.
#[actix_web::test]
async fn quotes_are_priced_from_the_database_while_pages_still_show_cached_prices() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let compare = "/quotes/new/network?site_address=1+Main&site_suburb=Soweto&speed_mbps=100&term_months=36&cpe_id=&cpe_billing=monthly";
    let liquid_offer =
        |body: &str| body.split(r#"id="offer-liquid""#).nth(1).unwrap().split("</tr>").next().unwrap().to_owned();
    assert!(!liquid_offer(&customer.get(compare).await.body).contains("R 1 000.00"), "now cached");
    assert!(customer.get("/catalog/security").await.body.contains("R 80.60"), "now cached");

    // The edits, as another instance makes them: to the database only.
    let mut enetworks = app.pools.enetworks.get().await.unwrap();
    diesel::update(
        liquid_costs::table.filter(liquid_costs::speed_mbps.eq(100)).filter(liquid_costs::term_months.eq(36)),
    )
    .set((
        liquid_costs::mrc_cost.eq(dec!(1000)),
        liquid_costs::nrc_cost.eq(dec!(0)),
        liquid_costs::margin_pct.eq(dec!(0)),
    ))
    .execute(&mut enetworks)
    .await
    .unwrap();
    let mut aas = app.pools.aas.get().await.unwrap();
    diesel::update(products::table.filter(products::sku.eq("SEC-EDR")))
        .set((products::cost.eq(dec!(70)), products::margin_pct.eq(dec!(25))))
        .execute(&mut aas)
        .await
        .unwrap();
    let template: i64 = terraform_vm_config::table
        .filter(terraform_vm_config::active.eq(true))
        .select(terraform_vm_config::id)
        .first(&mut aas)
        .await
        .unwrap();
    diesel::update(terraform_vm_config::table.find(template))
        .set((
            terraform_vm_config::cost.eq(dec!(100)),
            terraform_vm_config::setup_cost.eq(dec!(0)),
            terraform_vm_config::margin_pct.eq(dec!(0)),
        ))
        .execute(&mut aas)
        .await
        .unwrap();
    assert!(!liquid_offer(&customer.get(compare).await.body).contains("R 1 000.00"), "the page is still cached");
    assert!(customer.get("/catalog/security").await.body.contains("R 80.60"), "so is the catalog");

    let mut conn = app.main_conn().await;
    let mut quoted = async |page: crate::helpers::Page| -> (Vec<Decimal>, Decimal) {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let id: i64 = page.location().trim_start_matches("/quotes/").parse().unwrap();
        let prices = quote_lines::table
            .filter(quote_lines::quote_id.eq(id))
            .order(quote_lines::line_no)
            .select(quote_lines::unit_price)
            .load(&mut conn)
            .await
            .unwrap();
        let due = quotes::table.find(id).select(quotes::amount_due).first(&mut conn).await.unwrap();
        (prices, due)
    };
    let network = [
        ("site_address", "1 Main"),
        ("site_suburb", "Soweto"),
        ("speed_mbps", "100"),
        ("term_months", "36"),
        ("cpe_id", ""),
        ("cpe_billing", "monthly"),
        ("provider", "liquid"),
    ];
    let (prices, due) = quoted(customer.post("/quotes/network", &network).await).await;
    assert_eq!(prices, [dec!(1000.00)], "the new MRC; an installation of R 0.00 is left off");
    assert_eq!(due, dec!(1150.00));
    let edr = product(&app, "SEC-EDR").await.0.to_string();
    let (prices, due) =
        quoted(customer.post("/quotes/service", &[("product_id", &edr), ("quantity", "10")]).await).await;
    assert_eq!((prices, due), (vec![dec!(87.50)], dec!(1006.25)), "70 + 25 %, not the cached 80.60");
    let template = template.to_string();
    let vm = [("template_id", template.as_str()), ("count", "2"), ("term_months", "12")];
    let (prices, due) = quoted(customer.post("/quotes/vm", &vm).await).await;
    assert_eq!((prices, due), (vec![dec!(100.00)], dec!(230.00)));

    // The quote's read refreshed this instance's cache for the pages that follow.
    assert!(liquid_offer(&customer.get(compare).await.body).contains("R 1 000.00"));
}
