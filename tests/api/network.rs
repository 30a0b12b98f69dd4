//! Network connectivity: the price grid, comparing providers for a site, and the quote
//! made from the chosen offer, with each provider's rules.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{quote_lines, quotes};
use reqwest::StatusCode;

use crate::helpers::{CUSTOMER, TestApp, spawn_app};

async fn quote_count(app: &TestApp) -> i64 {
    let mut conn = app.main_conn().await;
    quotes::table.count().get_result(&mut conn).await.unwrap()
}

fn site(suburb: &'static str, speed: &'static str, term: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("site_address", "12 Rivonia Road"),
        ("site_suburb", suburb),
        ("speed_mbps", speed),
        ("term_months", term),
        ("bandwidth_mbps", "fit"),
        ("cpe_id", ""),
        ("cpe_billing", "monthly"),
    ]
}

fn query(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).unwrap()
}

#[actix_web::test]
async fn the_catalog_shows_every_provider_side_by_side() {
    let app = spawn_app().await;
    let page = app.signed_in(CUSTOMER).await.get("/catalog/network").await;
    assert_eq!(page.status, StatusCode::OK);
    for provider in ["DFA Magellan", "DFA Helios", "Metro Fibre Networx", "Liquid"] {
        assert!(page.body.contains(provider), "{provider}");
    }
    assert!(page.body.contains("12-month term") && page.body.contains("36-month term"));
    assert!(page.body.contains("not offered"), "gaps are shown as gaps");
    assert!(page.body.contains("Sandton Node"), "Helios coverage");
    assert!(page.body.contains("MikroTik RB5009"));
    assert!(!page.body.contains("Juniper SRX300"), "an inactive router is not offered");
}

#[actix_web::test]
async fn comparing_a_site_lists_every_provider_that_can_serve_it_cheapest_first() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let page = customer.get(&format!("/quotes/new/network?{}", query(&site("Sandton", "50", "24")))).await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.html();
    let selector = scraper::Selector::parse("table.offers tbody tr").unwrap();
    let offers: Vec<(String, bool)> = rows
        .select(&selector)
        .map(|tr| (tr.value().attr("id").unwrap().to_owned(), tr.value().attr("class") == Some("cheapest")))
        .collect();
    assert_eq!(offers.len(), 4, "all four serve 50 Mbps for 24 months in Sandton: {offers:?}");
    assert!(offers[0].1 && offers[1..].iter().all(|o| !o.1), "only the first is marked cheapest");
    let values: Vec<rust_decimal::Decimal> = {
        let cell = scraper::Selector::parse("table.offers tbody tr td:nth-child(4)").unwrap();
        rows.select(&cell).map(|td| td.text().collect::<String>().replace(['R', ' '], "").parse().unwrap()).collect()
    };
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "sorted by contract value: {values:?}");

    let away = customer.get(&format!("/quotes/new/network?{}", query(&site("Soweto", "50", "24")))).await;
    assert!(!away.body.contains(r#"id="offer-dfa-helios""#), "Helios does not reach Soweto");
    assert!(away.body.contains("not within 5 km of a DFA Helios node"));
    let long = customer.get(&format!("/quotes/new/network?{}", query(&site("Sandton", "50", "36")))).await;
    assert!(!long.body.contains(r#"id="offer-dfa-helios""#), "Helios only has a 24-month term");
    // htmx asks for the comparison only.
    let partial = customer
        .client
        .get(format!("{}/quotes/new/network?{}", app.address, query(&site("Sandton", "50", "24"))))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(partial.contains(r#"id="offer-dfa-helios""#) && !partial.contains("<html"));
}

#[actix_web::test]
async fn the_chosen_offer_becomes_a_network_quote_with_bandwidth_and_a_router() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let mut fields = site("Rosebank", "100", "36");
    fields.retain(|(k, _)| !k.starts_with("cpe"));
    fields.extend([("cpe_id", "1"), ("cpe_billing", "monthly"), ("provider", "liquid")]);
    let page = customer.post("/quotes/network", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let id: i64 = page.location().trim_start_matches("/quotes/").parse().unwrap();
    let mut conn = app.main_conn().await;
    let (kind, term, address, suburb): (String, Option<i32>, Option<String>, Option<String>) = quotes::table
        .find(id)
        .select((quotes::kind, quotes::term_months, quotes::site_address, quotes::site_suburb))
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!((kind.as_str(), term), ("network", Some(36)));
    assert_eq!((address.as_deref(), suburb.as_deref()), (Some("12 Rivonia Road"), Some("Rosebank")));
    let lines: Vec<(String, String, String)> = quote_lines::table
        .filter(quote_lines::quote_id.eq(id))
        .order(quote_lines::line_no)
        .select((quote_lines::catalog, quote_lines::item_kind, quote_lines::sku))
        .load(&mut conn)
        .await
        .unwrap();
    let skus: Vec<&str> = lines.iter().map(|l| l.2.as_str()).collect();
    assert_eq!(skus, ["LIQ-100-36", "LIQ-100-36", "BW-100", "CPE-MIKROTIK-RB5009"], "MRC, NRC, bandwidth, router");
    assert!(lines.iter().all(|l| l.0 == "enetworks"));
    let quote = customer.get(&format!("/quotes/{id}")).await;
    assert!(quote.body.contains("Site: 12 Rivonia Road"));
    assert!(quote.body.contains("Kopano Cloud (Pty) Ltd"), "the reseller's letterhead");
    assert_eq!(customer.post(&format!("/quotes/{id}/accept"), &[]).await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn offers_a_provider_cannot_make_are_refused_with_its_reason_and_nothing_written() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let before = quote_count(&app).await;
    let with = |suburb, speed, term, extra: &[(&'static str, &'static str)]| {
        let mut fields = site(suburb, speed, term);
        for (k, v) in extra {
            fields.retain(|(key, _)| key != k);
            fields.push((k, v));
        }
        fields
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (with("Sandton", "100", "36", &[("provider", "nope")]), "Choose one of the offers below."),
        (
            with("Sandton", "10000", "36", &[("provider", "dfa-magellan")]),
            "DFA Magellan: This provider does not offer that speed.",
        ),
        (
            with("Sandton", "1000", "12", &[("provider", "mfn")]),
            "Metro Fibre Networx: This provider does not offer that term at that speed.",
        ),
        (
            with("Soweto", "50", "24", &[("provider", "dfa-helios")]),
            "DFA Helios: The site&#39;s suburb is not within 5 km",
        ),
        (
            with("Sandton", "1000", "36", &[("provider", "liquid"), ("cpe_id", "2")]),
            "The Cisco C1111-8P carries at most 500 Mbps, less than the 1000 Mbps link",
        ),
        (
            with("Sandton", "100", "36", &[("provider", "liquid"), ("cpe_id", "3"), ("cpe_billing", "monthly")]),
            "The Fortinet FortiGate 40F can only be bought: choose Buy.",
        ),
        (
            with("Sandton", "100", "36", &[("provider", "liquid"), ("cpe_id", "5")]),
            "Choose a router from the list, or no router.",
        ),
        (with("Sandton", "abc", "36", &[("provider", "liquid")]), "Choose a speed from the list."),
        (with("Sandton", "100", "7", &[("provider", "liquid")]), "Choose a term of 12, 24 or 36 months."),
        (
            with("Sandton", "100", "36", &[("provider", "liquid"), ("site_address", "")]),
            "Enter the site&#39;s street address.",
        ),
        (with("", "100", "36", &[("provider", "liquid")]), "Enter the site&#39;s suburb."),
    ];
    for (fields, message) in cases {
        let page = customer.post("/quotes/network", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        let message_html = message.replace('\'', "&#39;");
        assert!(
            page.body.contains(message) || page.body.contains(&message_html),
            "{fields:?}: {message}\n{}",
            page.body
        );
    }
    let long = "x".repeat(5000);
    let mut fields = site("Sandton", "100", "36");
    fields.retain(|(k, _)| *k != "site_address");
    fields.push(("site_address", &long));
    fields.push(("provider", "liquid"));
    assert_eq!(customer.post("/quotes/network", &fields).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let script = "<script>alert(1)</script>";
    let mut fields = site("Sandton", "abc", "36");
    fields.retain(|(k, _)| *k != "site_address");
    fields.push(("site_address", script));
    let page = customer.post("/quotes/network", &fields).await;
    assert!(!page.body.contains(script) && page.body.contains("&#60;script&#62;alert(1)"), "kept and escaped");
    assert_eq!(quote_count(&app).await, before, "nothing written");
}

#[actix_web::test]
async fn compare_offers_says_what_is_missing_and_what_a_router_or_term_needs() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let first = customer.get("/quotes/new/network").await;
    assert_eq!(first.status, StatusCode::OK, "the first visit has no messages");
    assert!(!first.body.contains("field-error"));
    let html = first.html();
    let billing = html.select(&scraper::Selector::parse("#cpe_billing").unwrap()).next().unwrap();
    assert!(billing.value().attr("disabled").is_some(), "buy or rent means nothing with No router");
    assert_eq!(billing.value().attr("data-enabled-by"), Some("cpe_id"));

    let blank = "site_address=&site_suburb=&speed_mbps=&term_months=36&bandwidth_mbps=fit&cpe_id=&cpe_billing=once_off";
    let empty = customer.get(&format!("/quotes/new/network?{blank}")).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["site_address-error", "site_suburb-error", "speed_mbps-error"] {
        assert!(empty.body.contains(&format!(r#"id="{field}""#)), "{field}: {}", empty.body);
    }
    assert!(empty.body.contains("the form still needs the site address, the suburb, a speed."), "{}", empty.body);

    // Buying a router that is only rented says so, instead of "no provider".
    let mut rent_only = site("Sandton", "100", "36");
    rent_only.retain(|(k, _)| !k.starts_with("cpe"));
    rent_only.extend([("cpe_id", "2"), ("cpe_billing", "once_off")]);
    let page = customer.get(&format!("/quotes/new/network?{}", query(&rent_only))).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("The Cisco C1111-8P can only be rented: choose Rent."), "{}", page.body);
    assert!(!page.body.contains("No provider can serve"));

    // Helios on 36 months: sold on 24 only.
    let page = customer.get(&format!("/quotes/new/network?{}", query(&site("Sandton", "50", "36")))).await;
    assert!(page.body.contains("DFA Helios: This provider sells it on 24-month terms only."), "{}", page.body);
}

#[actix_web::test]
async fn bandwidth_is_any_tier_up_to_the_link_speed_by_default_the_largest_that_fits() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    // MFN sells 25 Mbps; there is no 25 Mbps tier, so the 20 Mbps one goes with it.
    let page = customer.get(&format!("/quotes/new/network?{}", query(&site("Soweto", "25", "24")))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="offer-mfn""#), "{}", page.body);
    assert!(page.body.contains("Internet bandwidth 20 Mbps"));
    let mut ten_gig = site("Sandton", "10000", "36");
    ten_gig.retain(|(k, _)| *k != "bandwidth_mbps");
    ten_gig.extend([("bandwidth_mbps", "fit"), ("provider", "liquid")]);
    let made = customer.post("/quotes/network", &ten_gig).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "Liquid 10 Gbps is quoted with bandwidth: {}", made.body);
    let quote = customer.get(made.location()).await;
    assert!(quote.body.contains("BW-1000"));
    let mut chosen = site("Soweto", "25", "24");
    chosen.retain(|(k, _)| *k != "bandwidth_mbps");
    chosen.push(("bandwidth_mbps", "100"));
    let refused = customer.get(&format!("/quotes/new/network?{}", query(&chosen))).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("A 100 Mbps tier is faster than the 25 Mbps link: choose one up to 25 Mbps."));
    chosen.retain(|(k, _)| *k != "bandwidth_mbps");
    chosen.push(("bandwidth_mbps", "10"));
    let ten = customer.get(&format!("/quotes/new/network?{}", query(&chosen))).await;
    assert!(ten.body.contains("Internet bandwidth 10 Mbps"), "a smaller tier of the customer's choice");
}
