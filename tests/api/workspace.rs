//! Issue 16, flows and scale: the staff workspace (the organisation directory, the
//! cross-organisation dashboard), the quotes list's filters and the quote document,
//! organisation and user fields that scale, and page sizes with many organisations.

use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use portal::db::main::schema::{in_app_alerts, organisations};
use reqwest::StatusCode;
use rust_decimal_macros::dec;

use crate::helpers::{ADMIN, CUSTOMER, STAFF, TestApp, spawn_app};
use crate::support::{
    ACCEPTED, ACME, BONGANI, PENDING, UBUNTU, credit_directly, input_value, insert_quote, org_id, quote_id, submit,
    text_of,
};

/// A new organisation with its empty wallet and nothing else: no transaction, no user.
async fn bare_organisation(app: &TestApp, name: &str) -> i64 {
    let mut conn = app.main_conn().await;
    let id: i64 = diesel::insert_into(organisations::table)
        .values(organisations::name.eq(name))
        .returning(organisations::id)
        .get_result(&mut conn)
        .await
        .unwrap();
    conn.batch_execute(&format!("INSERT INTO organisation_wallets (organisation_id) VALUES ({id})")).await.unwrap();
    id
}

/// `count` organisations ("Many Org 0001" …), each with a wallet and a user.
async fn many_organisations(app: &TestApp, count: i64) {
    let mut conn = app.main_conn().await;
    conn.batch_execute(&format!(
        "INSERT INTO organisations (name) SELECT 'Many Org ' || lpad(n::text, 4, '0') FROM generate_series(1, {count}) n;
         INSERT INTO organisation_wallets (organisation_id) SELECT id FROM organisations WHERE name LIKE 'Many Org %';
         INSERT INTO users (organisation_id, email, name, password_hash)
             SELECT id, 'user' || id || '@many.example', 'Many User ' || id, '!'
             FROM organisations WHERE name LIKE 'Many Org %';"
    ))
    .await
    .unwrap();
}

fn ids(page: &crate::helpers::Page, rows: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(rows).unwrap();
    page.html().select(&selector).filter_map(|tr| tr.value().id().map(str::to_owned)).collect()
}

// ------------------------------------------------------------ the organisation directory

#[actix_web::test]
async fn staff_who_record_top_ups_find_every_organisation_read_only() {
    let app = spawn_app().await;
    let fresh = bare_organisation(&app, "Karoo Fresh Produce").await;
    let staff = app.signed_in(STAFF).await;
    assert!(staff.get("/").await.nav().contains(&"Organisations".to_owned()), "staff have the directory in the menu");

    let page = staff.get("/admin/organisations?q=karoo%20fresh").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(ids(&page, "#organisations tbody tr"), [format!("org-{fresh}")], "found without any transaction");
    assert!(page.body.contains("none yet"), "no top-up yet");
    assert!(!page.body.contains(r#"id="create-organisation""#), "staff cannot create organisations");
    // The directory links the organisation page, where the top-up is recorded.
    assert!(page.body.contains(&format!(r#"href="/admin/organisations/{fresh}""#)));
    let done = submit(
        &staff,
        &format!("/admin/organisations/{fresh}"),
        &format!("/admin/organisations/{fresh}/credit"),
        &[("amount", "1 000,50"), ("reference", "EFT KAROO-1")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "a comma decimal is accepted: {}", done.body);
    let listed = staff.get("/admin/organisations?q=karoo%20fresh").await;
    assert!(listed.body.contains("R 1 000.50"), "the balance and the last top-up: {}", listed.body);

    // Read only: creating is still the admins'.
    let refused = staff.post("/admin/organisations", &[("name", "Sneaky Ltd")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let bad = staff.get("/admin/organisations?status=closed").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(text_of(&bad, "status-error").as_deref(), Some("Choose active or suspended."));
    // Customers are not allowed at all.
    let customer = app.signed_in(CUSTOMER).await;
    let page = customer.get("/admin/organisations").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("Not allowed"));
    let admin = app.signed_in(ADMIN).await;
    assert!(admin.get("/admin/organisations").await.body.contains(r#"id="new-organisation""#));
    assert!(admin.get("/admin/organisations/new").await.body.contains(r#"id="create-organisation""#));
}

#[actix_web::test]
async fn the_directory_pages_through_every_organisation() {
    let app = spawn_app().await;
    many_organisations(&app, 120).await;
    let staff = app.signed_in(STAFF).await;
    let mut seen = Vec::new();
    let mut next = Some("/admin/organisations?q=many%20org".to_owned());
    while let Some(path) = next {
        let page = staff.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        seen.extend(ids(&page, "#organisations tbody tr"));
        next = text_of(&page, "next-page").and_then(|_| {
            let selector = scraper::Selector::parse("#next-page").unwrap();
            page.html().select(&selector).next().and_then(|a| a.value().attr("href")).map(str::to_owned)
        });
        assert!(seen.len() <= 120);
    }
    assert_eq!(seen.len(), 120, "each organisation once");
    let last = staff.get("/admin/organisations?q=many%20org&page=3").await;
    assert_eq!(ids(&last, "#organisations tbody tr").len(), 20);
    assert!(last.body.contains(r#"id="previous-page""#));
}

// ------------------------------------------------------------ the staff dashboard

#[actix_web::test]
async fn the_staff_dashboard_shows_every_organisation_s_figures_not_its_own_wallet() {
    let app = spawn_app().await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let acme = org_id(&app, ACME).await;
    credit_directly(&app, ubuntu, dec!(250.00), "EFT UBUNTU-9").await;
    let mut conn = app.main_conn().await;
    conn.batch_execute(&format!(
        "UPDATE services SET status = 'in_arrears' WHERE organisation_id = {acme};
         UPDATE organisation_wallets SET low_balance_threshold = 1000000 WHERE organisation_id = {ubuntu};"
    ))
    .await
    .unwrap();
    drop(conn);

    let staff = app.signed_in(STAFF).await;
    let page = staff.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(text_of(&page, "balance").is_none(), "not the operator's own empty wallet");
    let pending: i64 = text_of(&page, "pending-quotes").unwrap().parse().unwrap();
    assert!(pending >= 1, "every organisation's pending quotes");
    assert!(text_of(&page, "recent-top-ups").unwrap().contains("EFT UBUNTU-9"));
    assert!(text_of(&page, "lowest-balances").unwrap().contains(UBUNTU));
    assert!(text_of(&page, "arrears").unwrap().contains(ACME));
    assert_eq!(text_of(&page, "in-arrears").as_deref(), Some("1"));

    let customer = app.signed_in(CUSTOMER).await.get("/").await;
    assert!(text_of(&customer, "workspace").is_none(), "customers see their own organisation");
    assert!(text_of(&customer, "balance").is_some());
}

// ------------------------------------------------------------ quotes

#[actix_web::test]
async fn the_quotes_list_filters_by_status_kind_number_and_organisation() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let all = customer.get("/quotes").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.contains(r#"href="/quotes/new/network""#) && all.body.contains(r#"href="/quotes/new/vm""#));
    let html = all.html();
    let kinds = scraper::Selector::parse("#quotes tbody td:nth-child(2)").unwrap();
    let shown: Vec<String> = html.select(&kinds).map(|td| td.text().collect()).collect();
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|k| ["Virtual machines", "Services", "Connectivity"].contains(&k.as_str())), "{shown:?}");

    let pending = customer.get("/quotes?status=pending").await;
    assert!(pending.body.contains(PENDING) && !pending.body.contains(ACCEPTED), "{}", pending.body);
    let accepted = customer.get("/quotes?status=accepted").await;
    assert!(accepted.body.contains(ACCEPTED) && !accepted.body.contains(PENDING));
    let valid = scraper::Selector::parse("#quotes tbody td:nth-child(5)").unwrap();
    let html = accepted.html();
    assert!(html.select(&valid).all(|td| td.text().collect::<String>() == "—"), "no validity once decided");
    let network = customer.get("/quotes?kind=network").await;
    assert!(network.body.contains("Q-2026-000002") && !network.body.contains(ACCEPTED));
    let by_number = customer.get("/quotes?q=000011").await;
    assert_eq!(ids(&by_number, "#quotes tbody tr").len(), 1);

    let bad = customer.get("/quotes?status=lost&kind=vm&q=x").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(text_of(&bad, "status-error").as_deref(), Some("Choose one of the statuses listed."));
    assert_eq!(input_value(&bad, "q"), "x", "the search comes back as typed");

    // A customer's list is their own, whatever the link asks for.
    let ubuntu = org_id(&app, UBUNTU).await;
    let other = customer.get(&format!("/quotes?org={ubuntu}")).await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(!other.body.contains(r#"id="org""#), "no organisation field for customers");
    let bongani = app.signed_in(BONGANI).await;
    assert!(!bongani.get("/quotes").await.body.contains(PENDING), "another organisation's quotes stay out");

    let staff = app.signed_in(STAFF).await;
    let acme_only = staff.get("/quotes?org=Acme%20Logistics").await;
    assert_eq!(acme_only.status, StatusCode::OK);
    assert_eq!(input_value(&acme_only, "org"), ACME);
    assert!(acme_only.body.contains(PENDING) && !acme_only.body.contains("Q-2026-000010"));
    let unknown = staff.get("/quotes?org=Nobody%20Anywhere").await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&unknown, "org-error").unwrap().starts_with("No organisation matches"));
}

#[actix_web::test]
async fn the_quotes_list_pages_and_keeps_its_filters() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    for _ in 0..30 {
        insert_quote(&app, acme, dec!(10), dec!(0), chrono::Duration::days(5)).await;
    }
    let customer = app.signed_in(CUSTOMER).await;
    let first = customer.get("/quotes?status=pending&kind=service").await;
    assert_eq!(ids(&first, "#quotes tbody tr").len(), 25);
    let selector = scraper::Selector::parse("#older-quotes").unwrap();
    let older = first.html().select(&selector).next().unwrap().value().attr("href").unwrap().to_owned();
    assert!(older.starts_with("/quotes?status=pending&kind=service&"), "{older}");
    let second = customer.get(&older).await;
    assert!(!ids(&second, "#quotes tbody tr").is_empty());
}

#[actix_web::test]
async fn the_quote_document_shows_the_suburb_one_contract_value_and_a_print_button() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let network = customer.get(&format!("/quotes/{}", quote_id(&app, "Q-2026-000002").await)).await;
    assert_eq!(network.status, StatusCode::OK);
    assert!(text_of(&network, "site").unwrap().ends_with(", Century City"), "{:?}", text_of(&network, "site"));
    assert!(network.body.contains("Kind: Connectivity"));
    assert!(text_of(&network, "contract-excl").is_some() && text_of(&network, "contract-incl").is_some());
    assert!(network.body.contains("excl. VAT") && network.body.contains("incl. VAT"));
    assert!(text_of(&network, "valid-until").is_none(), "an expired quote says no validity");
    assert!(network.body.contains("data-print"), "a Print button (app.js prints)");
    let pending = customer.get(&format!("/quotes/{}", quote_id(&app, PENDING).await)).await;
    assert!(text_of(&pending, "valid-until").unwrap().starts_with("Valid until"));
    let script = app.browser().get("/static/app.js").await;
    assert!(script.body.contains("window.print()"));
}

#[actix_web::test]
async fn the_vm_builder_and_the_network_comparison_show_contract_value_both_ways() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let query = "site_address=12+Rivonia+Road&site_suburb=Sandton&speed_mbps=50&term_months=24&with_bandwidth=on&cpe_id=&cpe_billing=monthly";
    let page = customer.get(&format!("/quotes/new/network?{query}")).await;
    assert!(page.body.contains("Contract value excl. VAT") && page.body.contains("Contract value incl. VAT"));
}

// ------------------------------------------------------------ fields that scale

#[actix_web::test]
async fn organisation_and_user_fields_suggest_matches_as_you_type() {
    let app = spawn_app().await;
    let staff = app.signed_in(STAFF).await;
    let options = staff.get("/pickers/organisations?org=acme").await;
    assert_eq!(options.status, StatusCode::OK);
    assert!(options.body.contains(r#"<option value="Acme Logistics">"#), "{}", options.body);
    assert!(staff.get("/pickers/organisations?org=").await.body.trim().is_empty());
    assert_eq!(
        staff.get("/pickers/users?user=bongani").await.status,
        StatusCode::FORBIDDEN,
        "staff do not read the user list"
    );
    let customer = app.signed_in(CUSTOMER).await;
    let refused = customer.get("/pickers/organisations?org=a").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("Not allowed"));
    let admin = app.signed_in(ADMIN).await;
    let users = admin.get("/pickers/users?user=bongani").await;
    assert!(users.body.contains(&format!(r#"<option value="{BONGANI}">"#)), "{}", users.body);

    // Without JavaScript: a typed name filters on submit.
    let page = staff.get("/transactions?org=ubuntu%20freight").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(input_value(&page, "org"), UBUNTU);
    assert!(page.body.contains(r#"data-hx-get="/pickers/organisations""#));
    assert!(!page.body.contains("<select id=\"org\""), "no list of every organisation");
    let several = staff.get("/transactions?org=a").await;
    assert_eq!(several.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text_of(&several, "org-error").unwrap().starts_with("Several match “a”"),
        "{:?}",
        text_of(&several, "org-error")
    );
    let activity = admin.get(&format!("/admin/activity?user={BONGANI}&org=")).await;
    assert_eq!(activity.status, StatusCode::OK);
    assert_eq!(input_value(&activity, "user"), BONGANI);
    let users_page = admin.get("/admin/users?org=Acme").await;
    assert_eq!(input_value(&users_page, "org"), ACME);
}

#[actix_web::test]
async fn admins_create_a_user_in_an_organisation_typed_by_name() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let form = admin.get("/admin/users/new").await;
    let role = {
        let selector = scraper::Selector::parse("#role_id option").unwrap();
        let html = form.html();
        html.select(&selector)
            .find(|o| o.text().collect::<String>() == "customer")
            .unwrap()
            .value()
            .attr("value")
            .unwrap()
            .to_owned()
    };
    let fields = [
        ("name", "Thandi Nkosi"),
        ("email", "thandi@ubuntu-freight.demo.test"),
        ("organisation_id", "Ubuntu Freight"),
        ("role_id", role.as_str()),
        ("password", ""),
    ];
    let created = admin.post("/admin/users", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let user = admin.get(created.location()).await;
    assert_eq!(input_value(&user, "organisation_id"), UBUNTU);
    let wrong =
        [("organisation_id", "Freight Nowhere"), ("name", "X Y"), ("email", "x@y.test"), ("role_id", role.as_str())];
    let again = admin.post("/admin/users", &wrong).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(input_value(&again, "organisation_id"), "Freight Nowhere", "kept as typed");
    assert!(text_of(&again, "organisation_id-error").unwrap().starts_with("No organisation matches"));
}

#[actix_web::test]
async fn pages_stay_under_100_kb_with_two_thousand_organisations() {
    let app = spawn_app().await;
    many_organisations(&app, 2000).await;
    let admin = app.signed_in(ADMIN).await;
    for path in ["/transactions", "/ops/vms", "/admin/users", "/admin/activity", "/admin/organisations", "/quotes"] {
        let page = admin.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.len() < 100_000, "{path}: {} bytes", page.body.len());
        assert!(!page.body.contains("Many Org 1999"), "{path} lists no organisation it does not show rows of");
    }
}

// ------------------------------------------------------------ small things

#[actix_web::test]
async fn alerts_say_true_things_about_free_quotes_and_refund_reasons() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let (free, number) = insert_quote(&app, acme, dec!(0), dec!(0), chrono::Duration::days(5)).await;
    let customer = app.signed_in(CUSTOMER).await;
    crate::support::accept(&customer, free).await;
    let mut conn = app.main_conn().await;
    let body: String = in_app_alerts::table
        .filter(in_app_alerts::title.eq(format!("Quote {number} accepted")))
        .select(in_app_alerts::body)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(body, "Nothing was due on acceptance, so the wallet was not debited.");

    let staff = app.signed_in(STAFF).await;
    let quote = quote_id(&app, ACCEPTED).await;
    let path = format!("/quotes/{quote}/refund");
    let done = submit(&staff, &path, &path, &[("amount", "100,00"), ("reason", "Goodwill for the outage")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let body: String = in_app_alerts::table
        .filter(in_app_alerts::kind.eq("refund"))
        .select(in_app_alerts::body)
        .first(&mut conn)
        .await
        .unwrap();
    assert!(body.starts_with("Goodwill for the outage. The balance is now"), "{body}");
}

#[actix_web::test]
async fn the_activity_log_reads_as_text_not_json() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let ubuntu = org_id(&app, UBUNTU).await;
    let form = admin.get(&format!("/admin/organisations/{ubuntu}")).await;
    let mut fields: Vec<(String, String)> =
        ["name", "registration_number", "vat_number", "billing_email", "low_balance_threshold"]
            .iter()
            .map(|f| (f.to_string(), input_value(&form, f)))
            .collect();
    fields[0].1 = "Ubuntu Freight Services (Pty) Ltd".into();
    fields[4].1 = "2 500,00".into();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = admin.post(&format!("/admin/organisations/{ubuntu}"), &fields).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let log = admin.get("/admin/activity?action=organisation.updated").await;
    assert!(log.body.contains("Name: Ubuntu Freight Services → Ubuntu Freight Services (Pty) Ltd"), "{}", log.body);
    assert!(log.body.contains("Low balance threshold:"), "the comma decimal was accepted");
    let table = text_of(&log, "activity").unwrap();
    assert!(!table.contains("{\"") && !table.contains("\":"), "no JSON: {table}");
}

// ------------------------------------------------------------ admin pages

/// The id of a role by name, from the user form's select.
fn role_option(page: &crate::helpers::Page, name: &str) -> String {
    let selector = scraper::Selector::parse("#role_id option").unwrap();
    let html = page.html();
    let option = html.select(&selector).find(|o| o.text().collect::<String>() == name).unwrap();
    option.value().attr("value").unwrap().to_owned()
}

#[actix_web::test]
async fn giving_an_operator_role_to_a_customer_s_user_needs_i_understand() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let bongani = crate::support::user_id(&app, BONGANI).await;
    let path = format!("/admin/users/{bongani}");
    let form = admin.get(&path).await;
    let admin_role = role_option(&form, "admin");
    let fields = |understood: &'static str| {
        vec![
            ("name", input_value(&form, "name")),
            ("email", input_value(&form, "email")),
            ("organisation_id", UBUNTU.to_owned()),
            ("role_id", admin_role.clone()),
            ("understood", understood.to_owned()),
        ]
    };
    let unconfirmed = fields("");
    let unconfirmed: Vec<(&str, &str)> = unconfirmed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = admin.post(&path, &unconfirmed).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = text_of(&refused, "understood-error").unwrap();
    assert!(message.contains("Ubuntu Freight Services is a customer organisation"), "{message}");
    assert!(refused.body.contains(r#"id="understood""#), "the box to tick");
    assert_eq!(input_value(&refused, "organisation_id"), UBUNTU, "the form keeps what was typed");
    let unchanged = admin.get(&path).await;
    assert_eq!(role_option(&unchanged, "customer"), input_value_selected(&unchanged), "nothing changed");

    let confirmed = fields("yes");
    let confirmed: Vec<(&str, &str)> = confirmed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(admin.post(&path, &confirmed).await.status, StatusCode::SEE_OTHER);
    // Without a token nothing is done; a customer is not allowed.
    assert_eq!(admin.post_raw(&path, &confirmed).await.status, StatusCode::FORBIDDEN);
    let customer = app.signed_in(CUSTOMER).await;
    assert_eq!(customer.post(&path, &confirmed).await.status, StatusCode::FORBIDDEN);
}

/// The value of the selected role.
fn input_value_selected(page: &crate::helpers::Page) -> String {
    let selector = scraper::Selector::parse("#role_id option[selected]").unwrap();
    page.html().select(&selector).next().unwrap().value().attr("value").unwrap().to_owned()
}

#[actix_web::test]
async fn the_pricing_list_filters_and_pages_and_its_links_say_what_they_edit() {
    let app = spawn_app().await;
    let staff = app.signed_in(STAFF).await;
    let first = staff.get("/admin/pricing").await;
    assert_eq!(first.status, StatusCode::OK);
    let rows = scraper::Selector::parse("section.card table tbody tr").unwrap();
    assert_eq!(first.html().select(&rows).count(), 50, "50 a page");
    let count = text_of(&first, "pricing-count").unwrap();
    assert!(count.starts_with("Rows 1 to 50 of "), "{count}");
    assert!(first.body.contains(r#"id="next-page""#));
    assert!(first.body.contains(r#"aria-label="Edit price of "#));
    let one = staff.get("/admin/pricing?table=mfn&status=on_sale").await;
    assert!(one.body.contains(r#"id="mfn""#) && !one.body.contains(r#"id="products""#));
    let searched = staff.get("/admin/pricing?q=sec-edr").await;
    assert_eq!(searched.html().select(&rows).count(), 1);
    let none = staff.get("/admin/pricing?q=nothing-like-this").await;
    assert_eq!(text_of(&none, "pricing-count").as_deref(), Some("No priced row matches."));
    assert_eq!(app.signed_in(CUSTOMER).await.get("/admin/pricing").await.status, StatusCode::FORBIDDEN);

    let admin = app.signed_in(ADMIN).await;
    let roles = admin.get("/admin/roles").await;
    assert!(roles.body.contains(r#"aria-label="customer: catalog.view"#), "role and permission name each checkbox");
}
