//! `/cards`: saved card references of the user's organisation. Adding, the default
//! card, removing; a full card number is refused in every field and never echoed or
//! logged; another organisation's cards are out of reach.

use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use portal::db::main::schema::{customer_cards, user_activity_log};
use reqwest::StatusCode;

use crate::helpers::{Browser, CUSTOMER, Page, TestApp, spawn_app};
use crate::support::{ACME, BONGANI, org_id, text_of};

const GOOD: [(&str, &str); 6] = [
    ("brand", "Visa"),
    ("last_four", "4242"),
    ("exp_month", "12"),
    ("exp_year", "2099"),
    ("holder_name", "Thabo Mokoena"),
    ("gateway_token", "tok_live_acme_1"),
];

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    GOOD.iter().map(|(k, v)| (*k, changes.iter().find(|(c, _)| c == k).map_or(*v, |(_, nv)| *nv))).collect()
}

/// (id, last four, default) of the organisation's cards, by id.
async fn cards_of(app: &TestApp, org: i64) -> Vec<(i64, String, bool)> {
    let mut conn = app.main_conn().await;
    customer_cards::table
        .filter(customer_cards::organisation_id.eq(org))
        .order(customer_cards::id.asc())
        .select((customer_cards::id, customer_cards::last_four, customer_cards::is_default))
        .load(&mut conn)
        .await
        .unwrap()
}

fn card_rows(page: &Page) -> Vec<String> {
    let selector = scraper::Selector::parse("table.cards-list tbody tr").unwrap();
    page.html()
        .select(&selector)
        .map(|tr| tr.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

async fn add(browser: &Browser, fields: &[(&str, &str)]) -> Page {
    browser.post("/cards", fields).await
}

#[actix_web::test]
async fn cards_are_added_made_default_and_removed() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    let page = customer.get("/cards").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No saved cards yet."));
    assert!(page.nav().contains(&"Cards".to_owned()));

    let response = add(&customer, &GOOD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.body);
    assert_eq!(response.location(), "/cards");
    let page = customer.get("/cards").await;
    assert!(page.body.contains("Saved the Visa card ending in 4242."));
    let second = with(&[("brand", "Mastercard"), ("last_four", "5100"), ("gateway_token", "tok_live_acme_2")]);
    assert_eq!(add(&customer, &second).await.status, StatusCode::SEE_OTHER);
    let cards = cards_of(&app, acme).await;
    assert_eq!(cards.iter().map(|c| (c.1.as_str(), c.2)).collect::<Vec<_>>(), [("4242", true), ("5100", false)]);
    let (first, other) = (cards[0].0, cards[1].0);

    let response = customer.post(&format!("/cards/{other}/default"), &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(customer.get("/cards").await.body.contains("That card is now the default."));
    assert_eq!(cards_of(&app, acme).await.iter().map(|c| c.2).collect::<Vec<_>>(), [false, true]);

    // Removing the default hands it on.
    assert_eq!(customer.post(&format!("/cards/{other}/remove"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(cards_of(&app, acme).await, [(first, "4242".to_owned(), true)]);

    // The same token twice is refused, next to the field.
    let again = add(&customer, &GOOD).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        text_of(&again, "gateway_token-error").as_deref(),
        Some("This gateway token is already saved for a card.")
    );

    // The log says which card changed, and nothing that was typed.
    let mut conn = app.main_conn().await;
    let logged: Vec<(String, serde_json::Value)> = user_activity_log::table
        .filter(user_activity_log::action.like("card.%"))
        .order(user_activity_log::id.asc())
        .select((user_activity_log::action, user_activity_log::detail))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        logged.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        ["card.add", "card.add", "card.default", "card.remove"]
    );
    for (_, detail) in &logged {
        assert_eq!(detail.as_object().unwrap().keys().collect::<Vec<_>>(), ["card"], "{detail}");
    }
}

#[actix_web::test]
async fn expired_cards_are_shown_as_expired() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let mut conn = app.main_conn().await;
    conn.batch_execute(&format!(
        "INSERT INTO customer_cards (organisation_id, brand, last_four, exp_month, exp_year, holder_name, gateway_token)
         VALUES ({acme}, 'Visa', '1111', 1, 2020, 'Old Card', 'tok_old'),
                ({acme}, 'Visa', '2222', 12, 2099, 'New Card', 'tok_new')"
    ))
    .await
    .unwrap();
    drop(conn);
    let rows = card_rows(&app.signed_in(CUSTOMER).await.get("/cards").await);
    assert_eq!(rows.len(), 2);
    let old = rows.iter().find(|r| r.contains("1111")).unwrap();
    let new = rows.iter().find(|r| r.contains("2222")).unwrap();
    assert!(old.contains("01/2020 expired"), "{old}");
    assert!(!new.contains("expired"), "{new}");
    // An expired card cannot be added.
    let page = add(&app.signed_in(CUSTOMER).await, &with(&[("exp_year", "2020")])).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(text_of(&page, "exp_year-error").as_deref(), Some("This card has expired."));
}

#[actix_web::test]
async fn a_full_card_number_is_refused_in_every_field_and_never_shown_again() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    for number in ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005"] {
        for (field, _) in GOOD {
            let page = add(&customer, &with(&[(field, number)])).await;
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {number}");
            assert_eq!(
                text_of(&page, &format!("{field}-error")).as_deref(),
                Some(
                    "This looks like a card number. Never enter one here: only the last four digits and the gateway's token."
                ),
                "{field}"
            );
            assert!(!page.body.contains(number), "{field}: the number is not echoed back");
            assert!(page.body.contains(r#"value="Thabo Mokoena""#) || field == "holder_name", "other values are kept");
        }
    }
    // Hidden inside other text, too.
    let page = add(&customer, &with(&[("holder_name", "T Mokoena 5105 1051 0510 5100")])).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(cards_of(&app, acme).await.is_empty(), "nothing written");
    let mut conn = app.main_conn().await;
    let logged: i64 = user_activity_log::table
        .filter(user_activity_log::action.like("card.%"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(logged, 0);
}

#[actix_web::test]
async fn bad_card_input_gets_a_message_per_field_and_writes_nothing() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    let long_holder: &'static str = Box::leak("x".repeat(101).into_boxed_str());
    for (field, value, message) in [
        ("brand", "", "Choose the card's brand."),
        ("brand", "Discover", "Choose the card's brand."),
        ("last_four", "42", "Enter the last four digits of the card, e.g. 4242."),
        ("last_four", "abcd", "Enter the last four digits of the card, e.g. 4242."),
        ("exp_month", "13", "Enter the expiry month, 1 to 12."),
        ("exp_month", "", "Enter the expiry month, 1 to 12."),
        ("exp_year", "29", "Enter the expiry year in four digits, e.g. 2028."),
        ("holder_name", "  ", "Enter the name on the card."),
        ("holder_name", long_holder, "Use at most 100 characters."),
        ("gateway_token", "", "Enter the token the payment gateway gave for this card."),
        ("gateway_token", "tok with spaces", "A gateway token has no spaces and at most 200 characters."),
    ] {
        let page = add(&customer, &with(&[(field, value)])).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
        assert_eq!(text_of(&page, &format!("{field}-error")).as_deref(), Some(message), "{field}={value}");
        assert!(page.body.contains(&format!(r#"aria-describedby="{field}-error""#)));
    }
    assert!(cards_of(&app, acme).await.is_empty());
}

#[actix_web::test]
async fn another_organisations_cards_are_out_of_reach() {
    let app = spawn_app().await;
    let acme = org_id(&app, ACME).await;
    let customer = app.signed_in(CUSTOMER).await;
    assert_eq!(add(&customer, &GOOD).await.status, StatusCode::SEE_OTHER);
    let card = cards_of(&app, acme).await[0].0;
    let bongani = app.signed_in(BONGANI).await;
    let page = bongani.get("/cards").await;
    assert!(card_rows(&page).is_empty());
    assert!(!page.body.contains("tok_live_acme_1"));
    for action in ["default", "remove"] {
        assert_eq!(bongani.post(&format!("/cards/{card}/{action}"), &[]).await.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(bongani.post("/cards/999999/remove", &[]).await.status, StatusCode::NOT_FOUND);
    // Without the CSRF token nothing happens.
    assert_eq!(customer.post_raw(&format!("/cards/{card}/remove"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(customer.post_raw("/cards", &GOOD).await.status, StatusCode::FORBIDDEN);
    assert_eq!(cards_of(&app, acme).await.len(), 1);
}
