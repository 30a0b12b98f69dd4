//! The AAS catalog, service quotes, custom VM sizes, quote snapshots and quote numbers.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use portal::db::aas::schema::products;
use portal::db::main::schema::{quote_lines, quotes, vm_quotes, wallet_transactions};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use crate::helpers::{Browser, CUSTOMER, STAFF, TestApp, spawn_app};

async fn product_id(app: &TestApp, sku: &str) -> i64 {
    let mut conn = app.pools.aas.get().await.unwrap();
    products::table.filter(products::sku.eq(sku)).select(products::id).first(&mut conn).await.unwrap()
}

async fn active_products(app: &TestApp) -> usize {
    let mut conn = app.pools.aas.get().await.unwrap();
    let count: i64 = products::table.filter(products::active.eq(true)).count().get_result(&mut conn).await.unwrap();
    count as usize
}

async fn quote_count(app: &TestApp) -> i64 {
    let mut conn = app.main_conn().await;
    quotes::table.count().get_result(&mut conn).await.unwrap()
}

fn quote_id(page: &crate::helpers::Page) -> i64 {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page.location().trim_start_matches("/quotes/").parse().unwrap()
}

#[actix_web::test]
async fn categories_show_their_products_with_sell_prices_and_hide_inactive_ones_from_customers() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let index = customer.get("/catalog").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body.contains(r#"href="/catalog/compute""#));
    assert!(index.body.contains("4 products"), "compute shows 4 of its 5 products to customers");
    // The index lists every product a customer can buy, with its sell price.
    let listed = index.body.matches(r#"<tr id="product-"#).count();
    assert_eq!(listed, active_products(&app).await, "every active product is on the index");
    assert!(index.body.contains("CMP-VCPU") && index.body.contains("R 123.50") && index.body.contains("BAK-REPO"));
    assert!(!index.body.contains("CMP-GPU-T4"));
    let compute = customer.get("/catalog/compute").await;
    assert!(compute.body.contains("CMP-VCPU"));
    assert!(compute.body.contains("R 123.50"), "95.00 + 30 % margin");
    assert!(!compute.body.contains("CMP-GPU-T4"), "inactive products are hidden from customers");
    let staff = app.signed_in(STAFF).await.get("/catalog/compute").await;
    assert!(staff.body.contains("CMP-GPU-T4"), "staff who manage pricing see inactive products");
    assert!(staff.body.contains("badge-inactive"));
    assert_eq!(customer.get("/catalog/no-such-category").await.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn search_finds_name_sku_and_description_as_you_type_and_on_submit() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let page = customer.get("/catalog?q=sto-obj").await;
    assert!(page.body.contains("Object storage (S3)"), "by SKU, ignoring case");
    let page = customer.get("/catalog?q=egress").await;
    assert!(page.body.contains("STO-OBJ"), "by description");
    let partial = customer
        .client
        .get(format!("{}/catalog?q=Backup%20repository", app.address))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(partial.contains("BAK-REPO") && !partial.contains("<html"), "htmx gets the results only");
    let none = customer.get("/catalog?q=%25").await;
    assert!(none.body.contains("0 products match"), "% is a plain character");
    let gpu = customer.get("/catalog?q=T4").await;
    assert!(!gpu.body.contains("CMP-GPU-T4"), "inactive products are not found by customers");
    let long = customer.get(&format!("/catalog?q={}", "x".repeat(101))).await;
    assert!(long.body.contains("Search for at most 100 characters."));
    let script = customer.get("/catalog?q=%3Cscript%3E").await;
    // The page's own scripts carry a `src`; the searched text must come back escaped.
    assert!(!script.body.contains("<script>"), "the search text is escaped");
    assert!(script.body.contains("&#60;script&#62;") || script.body.contains("&lt;script&gt;"));
}

#[actix_web::test]
async fn chosen_products_become_a_service_quote_priced_per_unit() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let repo = product_id(&app, "BAK-REPO").await.to_string();
    let onboard = product_id(&app, "PS-ONBOARD").await.to_string();
    let edr = product_id(&app, "SEC-EDR").await.to_string();
    let fields = [
        ("category", ""),
        ("product_id", repo.as_str()),
        ("quantity", "1000"),
        ("product_id", edr.as_str()),
        ("quantity", ""),
        ("product_id", onboard.as_str()),
        ("quantity", "1"),
    ];
    let id = quote_id(&customer.post("/quotes/service", &fields).await);
    let mut conn = app.main_conn().await;
    let lines: Vec<(String, String, Decimal, i32, Decimal)> = quote_lines::table
        .filter(quote_lines::quote_id.eq(id))
        .order(quote_lines::line_no)
        .select((
            quote_lines::sku,
            quote_lines::billing,
            quote_lines::unit_price,
            quote_lines::quantity,
            quote_lines::amount,
        ))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        lines,
        [
            ("BAK-REPO".into(), "monthly".into(), dec!(0.53), 1000, dec!(530.00)),
            ("PS-ONBOARD".into(), "once_off".into(), dec!(2100.00), 1, dec!(2100.00)),
        ],
        "0.42 + 25 % = 0.525 rounds half away from zero to 0.53, per unit"
    );
    let (kind, due): (String, Decimal) =
        quotes::table.find(id).select((quotes::kind, quotes::amount_due)).first(&mut conn).await.unwrap();
    assert_eq!(kind, "service");
    assert_eq!(due, dec!(2415.00) + dec!(609.50), "2100 + 15 % VAT, plus 530 + 15 % VAT");
}

#[actix_web::test]
async fn bad_service_quotes_come_back_with_messages_and_write_nothing() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let repo = product_id(&app, "BAK-REPO").await.to_string();
    let gpu = product_id(&app, "CMP-GPU-T4").await.to_string();
    let before = quote_count(&app).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("category", "backup"), ("product_id", &repo), ("quantity", "")],
            "Enter a quantity for at least one product.",
        ),
        (vec![("category", "backup"), ("product_id", &repo), ("quantity", "0")], "Enter a quantity from 1 to 10000."),
        (
            vec![("category", "backup"), ("product_id", &repo), ("quantity", "1000000000")],
            "Enter a quantity from 1 to 10000.",
        ),
        (vec![("category", "backup"), ("product_id", &repo), ("quantity", "-2")], "Enter a quantity from 1 to 10000."),
        (vec![("category", "backup"), ("product_id", &repo), ("quantity", "lots")], "Enter a whole number"),
        (vec![("category", "backup"), ("product_id", "999999"), ("quantity", "1")], "does not exist"),
        (vec![("category", "backup"), ("product_id", "<b>x</b>"), ("quantity", "1")], "does not exist"),
        (vec![("category", "compute"), ("product_id", &gpu), ("quantity", "1")], "no longer offered"),
    ];
    for (fields, message) in cases {
        let page = customer.post("/quotes/service", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(page.body.contains(message), "{fields:?}: {message}");
        assert!(!page.body.contains("<b>x</b>"));
    }
    // The typed quantity is kept next to its product.
    let page =
        customer.post("/quotes/service", &[("category", "backup"), ("product_id", &repo), ("quantity", "0")]).await;
    assert!(page.body.contains(r#"value="0""#));
    assert!(page.body.contains(&format!(r#"id="qty-error-{repo}""#)));
    assert_eq!(quote_count(&app).await, before);
}

async fn custom_vm(browser: &Browser, fields: &[(&str, &str)]) -> crate::helpers::Page {
    let mut all = vec![("template_id", "custom"), ("count", "2"), ("term_months", "12")];
    all.extend_from_slice(fields);
    browser.post("/quotes/vm", &all).await
}

#[actix_web::test]
async fn a_custom_vm_is_priced_from_the_component_products() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let fields = [("vcpu", "4"), ("ram_gb", "8"), ("disk_gb", "100"), ("disk_type", "nvme"), ("os", "windows")];
    let id = quote_id(&custom_vm(&customer, &fields).await);
    let mut conn = app.main_conn().await;
    let lines: Vec<(String, i32, Decimal)> = quote_lines::table
        .filter(quote_lines::quote_id.eq(id))
        .order(quote_lines::line_no)
        .select((quote_lines::sku, quote_lines::quantity, quote_lines::unit_price))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        lines,
        [
            ("CMP-VCPU".into(), 8, dec!(123.50)),
            ("CMP-RAM".into(), 16, dec!(49.40)),
            ("STO-NVME".into(), 200, dec!(3.24)),
            ("CMP-OS-WIN".into(), 2, dec!(384.00)),
        ],
        "each component for both VMs"
    );
    let spec: (Option<i64>, i32, i32, i32, String, i32) = vm_quotes::table
        .filter(vm_quotes::quote_id.eq(id))
        .select((
            vm_quotes::template_id,
            vm_quotes::vcpu,
            vm_quotes::ram_gb,
            vm_quotes::disk_gb,
            vm_quotes::disk_type,
            vm_quotes::count,
        ))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(spec, (None, 4, 8, 100, "nvme".into(), 2));
    // The live panel shows the same breakdown.
    let panel = customer
        .client
        .get(format!(
            "{}/quotes/new/vm?template_id=custom&count=2&term_months=12&vcpu=4&ram_gb=8&disk_gb=100&disk_type=nvme&os=windows",
            app.address
        ))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(panel.contains("8 × R 123.50"), "{panel}");
}

#[actix_web::test]
async fn a_custom_size_outside_the_stated_bounds_is_refused() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let before = quote_count(&app).await;
    let ok = [("vcpu", "2"), ("ram_gb", "4"), ("disk_gb", "50"), ("disk_type", "ssd"), ("os", "linux")];
    let cases: &[(&str, &str, &str)] = &[
        ("vcpu", "0", "Enter a number of vCPUs from 1 to 64."),
        ("vcpu", "65", "Enter a number of vCPUs from 1 to 64."),
        ("ram_gb", "100000000000000000000", "Enter the GB of RAM from 1 to 512."),
        ("disk_gb", "10", "Enter the GB of disk from 20 to 8000."),
        ("disk_type", "floppy", "Choose SSD, NVMe or HDD."),
        ("os", "<script>", "Choose Linux or Windows Server."),
    ];
    for (field, value, message) in cases {
        let fields: Vec<(&str, &str)> =
            ok.iter().map(|(k, v)| if k == field { (*k, *value) } else { (*k, *v) }).collect();
        let page = custom_vm(&customer, &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert!(page.body.contains(message), "{field}={value}");
        assert!(page.body.contains(&format!(r#"id="{field}-error""#)));
    }
    assert_eq!(quote_count(&app).await, before);
}

#[actix_web::test]
async fn an_issued_quote_keeps_its_prices_when_the_catalog_changes() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let edr = product_id(&app, "SEC-EDR").await.to_string();
    let id = quote_id(&customer.post("/quotes/service", &[("product_id", &edr), ("quantity", "10")]).await);
    let mut conn = app.main_conn().await;
    let due: Decimal = quotes::table.find(id).select(quotes::amount_due).first(&mut conn).await.unwrap();
    {
        let mut aas = app.pools.aas.get().await.unwrap();
        diesel::update(products::table.filter(products::sku.eq("SEC-EDR")))
            .set((products::cost.eq(dec!(999.00)), products::margin_pct.eq(dec!(50))))
            .execute(&mut aas)
            .await
            .unwrap();
    }
    let page = customer.get(&format!("/quotes/{id}")).await;
    assert!(page.body.contains(&portal::domain::money::format_zar(due)));
    assert_eq!(customer.post(&format!("/quotes/{id}/accept"), &[]).await.status, StatusCode::SEE_OTHER);
    let debit: Decimal = wallet_transactions::table
        .filter(wallet_transactions::quote_id.eq(id))
        .select(wallet_transactions::amount)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(debit, due, "the debit is the quoted amount, not the new price");
    assert_eq!(due, dec!(926.90), "10 × 80.60 = 806.00, + 15 % VAT");
}

#[actix_web::test]
async fn quote_numbers_never_repeat_under_concurrency() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let edr = product_id(&app, "SEC-EDR").await.to_string();
    let token = customer.csrf_token().await;
    let fields = [("product_id", edr.as_str()), ("quantity", "1"), ("csrf_token", token.as_str())];
    let pages = join_all((0..20).map(|_| customer.post_raw("/quotes/service", &fields))).await;
    let ids: Vec<i64> = pages.iter().map(quote_id).collect();
    let mut conn = app.main_conn().await;
    let mut numbers: Vec<String> =
        quotes::table.filter(quotes::id.eq_any(&ids)).select(quotes::number).load(&mut conn).await.unwrap();
    assert_eq!(numbers.len(), 20);
    let year = chrono::Utc::now().with_timezone(&chrono_tz::Africa::Johannesburg).format("%Y").to_string();
    for number in &numbers {
        assert!(number.starts_with(&format!("Q-{year}-")) && number.len() == 13, "{number}");
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 20, "all distinct");
}
