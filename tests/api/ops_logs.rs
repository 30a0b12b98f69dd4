//! `/ops/vms` and `/ops/disks` for staff (filters, keyset paging) and the provisioning
//! table a customer sees on their own accepted VM quote.

use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use portal::db::main::schema::{disk_logs, vm_logs};
use reqwest::StatusCode;

use crate::helpers::{ADMIN, CUSTOMER, Page, STAFF, TestApp, spawn_app};
use crate::support::{ACCEPTED, ACME, BONGANI, UBUNTU, input_value, org_id, quote_id};

fn log_ids(page: &Page) -> Vec<i64> {
    let selector = scraper::Selector::parse("table.logs tbody tr").unwrap();
    page.html().select(&selector).map(|tr| tr.value().id().unwrap()["log-".len()..].parse().unwrap()).collect()
}

fn next_link(page: &Page) -> Option<String> {
    let selector = scraper::Selector::parse("a#next-page").unwrap();
    page.html().select(&selector).next().map(|a| a.value().attr("href").unwrap().to_owned())
}

async fn vm_log_ids(app: &TestApp, org: i64) -> Vec<i64> {
    let mut conn = app.main_conn().await;
    vm_logs::table
        .filter(vm_logs::organisation_id.eq(org))
        .order(vm_logs::id.desc())
        .select(vm_logs::id)
        .load(&mut conn)
        .await
        .unwrap()
}

#[actix_web::test]
async fn staff_filter_the_vm_and_disk_logs() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let seeded = vm_log_ids(&app, acme).await;
    assert!(!seeded.is_empty(), "the accepted demo quote requested its VMs");
    let mut conn = app.main_conn().await;
    let disks: Vec<i64> =
        disk_logs::table.order(disk_logs::id.desc()).select(disk_logs::id).load(&mut conn).await.unwrap();
    drop(conn);
    for email in [STAFF, ADMIN] {
        let staff = app.signed_in(email).await;
        let page = staff.get("/ops/vms").await;
        assert_eq!(page.status, StatusCode::OK, "{email}");
        assert_eq!(log_ids(&page), seeded);
        assert!(page.body.contains(ACCEPTED));
        assert!(page.nav().contains(&"Operations".to_owned()));
        let page = staff.get("/ops/disks").await;
        assert_eq!(log_ids(&page), disks);
        assert!(page.body.contains("GB"), "the disk's size and type");
    }
    let staff = app.signed_in(STAFF).await;
    let ids = |query: &'static str| {
        let staff = &staff;
        async move {
            let page = staff.get(&format!("/ops/vms?{query}")).await;
            assert_eq!(page.status, StatusCode::OK, "{query}");
            log_ids(&page)
        }
    };
    assert_eq!(ids("status=requested").await, seeded);
    assert!(ids("status=failed").await.is_empty());
    assert_eq!(ids("quote=q-2026-000006").await, seeded, "the quote number ignores case");
    assert!(ids("quote=Q-2026-000001").await.is_empty());
    let page = staff.get(&format!("/ops/vms?org={acme}&status=requested")).await;
    assert_eq!(log_ids(&page), seeded);
    assert_eq!(input_value(&page, "org"), ACME, "the field shows the organisation's name");
    assert!(log_ids(&staff.get(&format!("/ops/vms?org={ubuntu}")).await).is_empty());
    assert!(log_ids(&staff.get(&format!("/ops/disks?org={ubuntu}")).await).is_empty());

    for (query, id, message) in [
        ("status=lost", "status-error", "Choose requested, in progress, succeeded or failed."),
        ("org=abc", "org-error", "No organisation matches “abc”. Check the spelling, or type less of it."),
        ("quote=%3Cscript%3E", "quote-error", "Enter a quote number like Q-2026-000123."),
    ] {
        for path in ["/ops/vms", "/ops/disks"] {
            let page = staff.get(&format!("{path}?{query}")).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}?{query}");
            assert!(page.body.contains(&format!(r#"<p class="field-error" id="{id}">{message}</p>"#)), "{query}");
            assert!(log_ids(&page).is_empty());
        }
    }
}

#[actix_web::test]
async fn the_vm_log_pages_back_with_after() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let mut conn = app.main_conn().await;
    conn.batch_execute(&format!(
        "INSERT INTO vm_logs (organisation_id, vm_name, event, status)
         SELECT {ubuntu}, 'vm-' || n, 'provision requested', CASE WHEN n % 2 = 0 THEN 'succeeded' ELSE 'failed' END
         FROM generate_series(1, 120) n"
    ))
    .await
    .unwrap();
    drop(conn);
    let staff = app.signed_in(STAFF).await;
    let expected = vm_log_ids(&app, ubuntu).await;
    let mut seen = Vec::new();
    let mut next = Some(format!("/ops/vms?org={ubuntu}"));
    let mut sizes = Vec::new();
    while let Some(path) = next {
        let page = staff.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        let ids = log_ids(&page);
        sizes.push(ids.len());
        seen.extend(ids);
        next = next_link(&page);
        assert!(sizes.len() < 10);
    }
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(seen, expected, "each row once, newest first");
    let failed = staff.get(&format!("/ops/vms?org={ubuntu}&status=failed")).await;
    assert_eq!(log_ids(&failed).len(), 50);
    let link = next_link(&failed).unwrap();
    assert!(link.starts_with(&format!("/ops/vms?org={ubuntu}&status=failed&quote=&after=")), "{link}");
    assert_eq!(log_ids(&staff.get(&link).await).len(), 10);
}

#[actix_web::test]
async fn customers_see_their_own_quotes_provisioning_but_not_the_log_pages() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let quote = quote_id(&app, ACCEPTED).await;
    let customer = app.signed_in(CUSTOMER).await;
    for path in ["/ops/vms", "/ops/disks", "/ops/vms?status=requested"] {
        assert_eq!(customer.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert!(!customer.get("/").await.nav().contains(&"Operations".to_owned()));
    let page = customer.get(&format!("/quotes/{quote}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let selector = scraper::Selector::parse("table#provisioning tbody tr").unwrap();
    let rows: Vec<Vec<String>> = page
        .html()
        .select(&selector)
        .map(|tr| tr.text().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), vm_log_ids(&app, acme).await.len());
    assert!(rows.iter().all(|r| r[1] == "provision requested" && r[2] == "requested"), "{rows:?}");
    // Another organisation's member cannot reach the quote at all.
    assert_eq!(app.signed_in(BONGANI).await.get(&format!("/quotes/{quote}")).await.status, StatusCode::NOT_FOUND);
}
