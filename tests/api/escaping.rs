//! Markup typed into free-text fields is stored as text and shown escaped on every page
//! that shows it: an organisation's name, a user's name, a top-up reference, a network
//! site address.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use portal::db::main::schema::{organisations, roles};
use reqwest::StatusCode;

use crate::helpers::{ADMIN, CUSTOMER, Page, STAFF, spawn_app};

const PAYLOADS: [&str; 2] = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"];

fn assert_escaped(page: &Page, payload: &str, what: &str) {
    assert_eq!(page.status, StatusCode::OK, "{what}");
    assert!(!page.body.contains(payload), "{what}: the markup came back raw");
    assert!(!page.body.contains("<img src=x"), "{what}: an injected element");
    assert!(!page.body.contains("<script>alert"), "{what}: an injected script");
}

#[actix_web::test]
async fn markup_in_free_text_comes_back_escaped_everywhere_it_is_shown() {
    let app = spawn_app().await;
    let admin = app.signed_in(ADMIN).await;
    let staff = app.signed_in(STAFF).await;
    let customer = app.signed_in(CUSTOMER).await;
    let customer_role: i64 = {
        let mut conn = app.main_conn().await;
        roles::table.filter(roles::name.eq("customer")).select(roles::id).first(&mut conn).await.unwrap()
    };
    for (n, payload) in PAYLOADS.iter().enumerate() {
        // An organisation named with markup, and a user in it named with markup.
        let name = format!("{payload} Ltd {n}");
        let created =
            admin.post("/admin/organisations", &[("name", name.as_str()), ("low_balance_threshold", "0")]).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        let org: i64 = {
            let mut conn = app.main_conn().await;
            organisations::table
                .filter(organisations::name.eq(&name))
                .select(organisations::id)
                .first(&mut conn)
                .await
                .unwrap()
        };
        let email = format!("x{n}@escape.test");
        let user = admin
            .post(
                "/admin/users",
                &[
                    ("name", payload),
                    ("email", email.as_str()),
                    ("organisation_id", &org.to_string()),
                    ("role_id", &customer_role.to_string()),
                    ("password", "a long enough password"),
                ],
            )
            .await;
        assert_eq!(user.status, StatusCode::SEE_OTHER, "{}", user.body);
        // A top-up whose reference is markup.
        let page = staff.get(&format!("/admin/organisations/{org}")).await;
        let key =
            page.body.split(r#"name="idempotency_key" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
        let credit = staff
            .post(
                &format!("/admin/organisations/{org}/credit"),
                &[("amount", "10"), ("reference", payload), ("idempotency_key", &key)],
            )
            .await;
        assert_eq!(credit.status, StatusCode::SEE_OTHER, "{}", credit.body);
        for path in ["/admin/organisations", &format!("/admin/organisations/{org}"), "/admin/users", "/admin/activity"]
        {
            assert_escaped(&admin.get(path).await, payload, path);
        }
        for path in ["/transactions", "/transactions.csv"] {
            let page = staff.get(path).await;
            if path.ends_with(".csv") {
                assert!(!page.body.contains("<script>alert(1)</script>\n"), "CSV cells are text, quoted where needed");
            } else {
                assert_escaped(&page, payload, path);
            }
        }
        // A network quote whose site address is markup.
        let fields = [
            ("site_address", *payload),
            ("site_suburb", "Rosebank"),
            ("speed_mbps", "100"),
            ("term_months", "36"),
            ("with_bandwidth", ""),
            ("cpe_id", ""),
            ("cpe_billing", "monthly"),
            ("provider", "liquid"),
        ];
        let quote = customer.post("/quotes/network", &fields).await;
        assert_eq!(quote.status, StatusCode::SEE_OTHER, "{}", quote.body);
        assert_escaped(&customer.get(quote.location()).await, payload, "the quote page");
        assert_escaped(&customer.get("/quotes").await, payload, "the quote list");
        assert_escaped(&customer.get("/").await, payload, "the dashboard");
    }
}
