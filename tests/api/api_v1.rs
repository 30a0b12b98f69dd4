//! The billing API (DESIGN.md §11): keys made at `/account/api-keys`, bearer
//! authentication that follows the key's creator, the endpoints with the forms'
//! messages, JSON errors everywhere under `/api/`, idempotent POSTs and the rate limit.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures_util::future::join_all;
use portal::db::aas::schema::{products, terraform_vm_config};
use portal::db::main::schema::{
    api_keys, organisations, quotes, role_permissions, roles, user_activity_log, users, wallet_transactions,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, Browser, CUSTOMER, STAFF, TestApp, spawn_app, spawn_app_with};
use crate::support::{ACME, BONGANI, PENDING, UBUNTU, balance, credit_directly, insert_quote, org_id, quote_id};

/// An API client with one key. It keeps every answer, for [`Api::conforms`].
pub struct Api {
    base: String,
    client: reqwest::Client,
    pub key: String,
    answers: std::sync::Mutex<Vec<(String, String, StatusCode, Value)>>,
}

/// What a test looks at: status, headers and the JSON body.
#[derive(Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or_default()
    }

    fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
}

impl Api {
    pub fn new(app: &TestApp, key: &str) -> Api {
        Api {
            base: app.address.clone(),
            client: reqwest::Client::new(),
            key: key.to_owned(),
            answers: Default::default(),
        }
    }

    fn keep(&self, method: &str, path: &str, answer: Answer) -> Answer {
        let kept = (method.to_owned(), path.to_owned(), answer.status, answer.body.clone());
        self.answers.lock().unwrap().push(kept);
        answer
    }

    /// Every answer this client had matches the schema `/api/v1/openapi.json` gives for
    /// its operation and status (the contract test).
    pub async fn conforms(&self) {
        let spec: Value = serde_json::from_str(
            &reqwest::get(format!("{}/api/v1/openapi.json", self.base)).await.unwrap().text().await.unwrap(),
        )
        .unwrap();
        let answers = self.answers.lock().unwrap().clone();
        assert!(!answers.is_empty());
        for (method, path, status, body) in answers {
            let path = path.split('?').next().unwrap();
            let Some(template) = operation_of(&spec, path) else {
                // Not an operation (an unknown path, a method a path does not take).
                assert!(matches!(status.as_u16(), 404 | 405), "{method} {path} is not described");
                continue;
            };
            let operation = &spec["paths"][&template][method.to_lowercase()];
            if operation.is_null() {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {template} is not described");
                continue;
            }
            let response = &operation["responses"][status.as_str()];
            assert!(response.is_object(), "{method} {template} does not describe {status}: {body}");
            let schema = &response["content"]["application/json"]["schema"];
            assert!(schema.is_object(), "{method} {template} {status} has no JSON schema");
            let root = json!({"components": spec["components"], "allOf": [schema]});
            let validator = jsonschema::draft202012::new(&root).unwrap();
            let errors: Vec<String> = validator.iter_errors(&body).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{method} {path} {status}: {errors:?} in {body}");
        }
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"));
        Answer { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        let request = self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.key);
        let answer = Self::answer(request.send().await.unwrap()).await;
        self.keep("GET", path, answer)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_with(path, body, None).await
    }

    pub async fn post_with(&self, path: &str, body: &Value, idempotency_key: Option<&str>) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let answer = Self::answer(request.send().await.unwrap()).await;
        self.keep("POST", path, answer)
    }
}

/// The path template of the described operation `path` is, if any.
fn operation_of(spec: &Value, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let matches = |template: &str| {
        let pattern: Vec<&str> = template.split('/').collect();
        pattern.len() == parts.len()
            && pattern.iter().zip(&parts).all(|(p, a)| match p.strip_prefix('{') {
                None => p == a,
                Some(rest) => match rest.split_once('}') {
                    Some((_, "")) => !a.is_empty() && !a.contains('.'),
                    Some((_, suffix)) => a.ends_with(suffix) && a.len() > suffix.len(),
                    None => false,
                },
            })
    };
    let templates = spec["paths"].as_object()?;
    templates.keys().find(|t| *t == path).or_else(|| templates.keys().find(|t| matches(t))).cloned()
}

/// Makes a key on the page as `browser`'s user and returns it (shown once).
async fn create_key(browser: &Browser, name: &str) -> String {
    let page = browser.post("/account/api-keys", &[("name", name)]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    crate::support::text_of(&page, "new-key-value").expect("the new key on the page")
}

async fn api_as(app: &TestApp, email: &str) -> Api {
    let browser = app.signed_in(email).await;
    Api::new(app, &create_key(&browser, "tests").await)
}

async fn service_product(app: &TestApp) -> i64 {
    let mut conn = app.pools.aas.get().await.unwrap();
    products::table
        .filter(products::active.eq(true))
        .filter(products::vm_component.is_null())
        .order(products::id.asc())
        .select(products::id)
        .first(&mut conn)
        .await
        .unwrap()
}

async fn vm_template(app: &TestApp) -> i64 {
    let mut conn = app.pools.aas.get().await.unwrap();
    terraform_vm_config::table
        .filter(terraform_vm_config::active.eq(true))
        .order(terraform_vm_config::id.asc())
        .select(terraform_vm_config::id)
        .first(&mut conn)
        .await
        .unwrap()
}

/// Money as the API writes it: two decimals, no currency.
fn money(amount: Decimal) -> String {
    format!("{:.2}", amount)
}

async fn debits_of(app: &TestApp, quote: i64) -> i64 {
    let mut conn = app.main_conn().await;
    wallet_transactions::table
        .filter(wallet_transactions::quote_id.eq(quote))
        .filter(wallet_transactions::kind.eq("debit"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap()
}

/// Takes every permission from the customer role (the matrix version moves with it).
async fn strip_customer_role(app: &TestApp) {
    let mut conn = app.main_conn().await;
    let role: i64 = roles::table.filter(roles::name.eq("customer")).select(roles::id).first(&mut conn).await.unwrap();
    diesel::delete(role_permissions::table.filter(role_permissions::role_id.eq(role)))
        .execute(&mut conn)
        .await
        .unwrap();
}

// ---------------------------------------------------------------- the keys page

#[actix_web::test]
async fn a_key_is_shown_once_listed_by_prefix_logged_and_revoked() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let key = create_key(&customer, "Billing sync").await;
    assert!(key.starts_with("pk_live_") && key.len() > 40, "{key}");
    let prefix = &key[..16];

    let list = customer.get("/account/api-keys").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains(&key), "the key is never shown again");
    assert!(list.body.contains(prefix) && list.body.contains("Billing sync"), "listed by prefix and name");
    assert!(list.body.contains("never"), "not used yet");
    assert!(customer.get("/").await.body.contains("href=\"/account/api-keys\""), "in the account menu");

    let api = Api::new(&app, &key);
    assert_eq!(api.get("/api/v1/wallet").await.status, StatusCode::OK);
    assert!(!customer.get("/account/api-keys").await.body.contains("never"), "its last use is shown");

    let mut conn = app.main_conn().await;
    let (id, stored_prefix, hash): (i64, String, Vec<u8>) =
        api_keys::table.select((api_keys::id, api_keys::prefix, api_keys::secret_hash)).first(&mut conn).await.unwrap();
    assert_eq!(stored_prefix, prefix);
    assert_ne!(hash, key.as_bytes(), "only a hash is kept");
    let details: Vec<(String, Value)> = user_activity_log::table
        .filter(user_activity_log::action.like("api_key.%"))
        .select((user_activity_log::action, user_activity_log::detail))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].0, "api_key.create");
    assert!(!details[0].1.to_string().contains(&key[16..]), "the key is never logged");
    drop(conn);

    let revoked = customer.post(&format!("/account/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(revoked.location(), "/account/api-keys");
    assert!(customer.get("/account/api-keys").await.body.contains("revoked"));
    let refused = api.get("/api/v1/wallet").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "revoked at once");
    assert_eq!(refused.code(), "unauthenticated");
    assert_eq!(crate::admin_helpers::logged(&app, "api_key.revoke").await.len(), 1);
}

#[actix_web::test]
async fn the_keys_page_refuses_bad_names_forged_forms_and_other_peoples_keys() {
    let app = spawn_app().await;
    let customer = app.signed_in(CUSTOMER).await;
    let empty = customer.post("/account/api-keys", &[("name", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(crate::support::text_of(&empty, "name-error").is_some_and(|e| e.contains("name")), "{}", empty.body);
    let long = "x".repeat(101);
    let too_long = customer.post("/account/api-keys", &[("name", &long)]).await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(crate::support::text_of(&too_long, "name-error").is_some_and(|e| e.contains("100 characters")));
    assert_eq!(crate::support::input_value(&too_long, "name"), long, "the value is kept");
    assert!(crate::support::text_of(&too_long, "new-key-value").is_none(), "no key made");

    let forged = customer.post_raw("/account/api-keys", &[("name", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "CSRF applies to the page");
    let mut conn = app.main_conn().await;
    assert_eq!(api_keys::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0);
    drop(conn);

    let key = create_key(&customer, "mine").await;
    let mut conn = app.main_conn().await;
    let id: i64 = api_keys::table.select(api_keys::id).first(&mut conn).await.unwrap();
    drop(conn);
    let other = app.signed_in(BONGANI).await;
    let refused = other.post(&format!("/account/api-keys/{id}/revoke"), &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(!other.get("/account/api-keys").await.body.contains(&key[..16]), "nor listed for another user");
    assert_eq!(Api::new(&app, &key).get("/api/v1/wallet").await.status, StatusCode::OK, "still works");
}

// ---------------------------------------------------------------- authentication

#[actix_web::test]
async fn only_a_valid_key_of_an_active_user_of_an_active_organisation_is_accepted() {
    let app = spawn_app().await;
    let browser = app.signed_in(CUSTOMER).await;
    let key = create_key(&browser, "auth").await;
    let api = Api::new(&app, &key);
    assert_eq!(api.get("/api/v1/wallet").await.status, StatusCode::OK);

    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/wallet", app.address);
    let anonymous = Api::answer(client.get(&url).send().await.unwrap()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.code(), "unauthenticated");
    assert_eq!(anonymous.headers.get("www-authenticate").unwrap(), "Bearer");
    // A browser's session is never accepted, even with its CSRF token.
    let cookie = browser.cookie_header();
    let session = client.get(&url).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(session.status(), StatusCode::UNAUTHORIZED);
    assert!(session.headers().get("set-cookie").is_none(), "no session is made or renewed");
    let token = browser.csrf_token().await;
    let quote = quote_id(&app, PENDING).await;
    let forged = client
        .post(format!("{}/api/v1/quotes/{quote}/accept", app.address))
        .header("cookie", &cookie)
        .header("X-CSRF-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    for wrong in ["pk_live_nonsense", &format!("{}x", &key[..key.len() - 1]), &key[8..]] {
        assert_eq!(Api::new(&app, wrong).get("/api/v1/wallet").await.status, StatusCode::UNAUTHORIZED, "{wrong}");
    }

    // The creator deactivated: refused on the next request; active again: accepted.
    let mut conn = app.main_conn().await;
    let set_active =
        |active: bool| diesel::update(users::table.filter(users::email.eq(CUSTOMER))).set(users::is_active.eq(active));
    set_active(false).execute(&mut conn).await.unwrap();
    assert_eq!(api.get("/api/v1/wallet").await.status, StatusCode::UNAUTHORIZED, "deactivated creator");
    set_active(true).execute(&mut conn).await.unwrap();
    assert_eq!(api.get("/api/v1/wallet").await.status, StatusCode::OK);
    // The organisation suspended.
    let acme = org_id(&app, ACME).await;
    diesel::update(organisations::table.find(acme))
        .set(organisations::status.eq("suspended"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(api.get("/api/v1/wallet").await.status, StatusCode::UNAUTHORIZED, "suspended organisation");
}

#[actix_web::test]
async fn every_error_under_the_api_is_json() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let missing = api.get("/api/v1/no-such-thing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
    let wrong_method = api.post("/api/v1/wallet", &json!({})).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.code(), "method_not_allowed");
    assert_eq!(wrong_method.headers.get("allow").unwrap(), "GET, HEAD");
    let client = reqwest::Client::new();
    let bad_json = client
        .post(format!("{}/api/v1/quotes", app.address))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .body("{\"kind\": ")
        .send()
        .await
        .unwrap();
    let bad_json = Api::answer(bad_json).await;
    assert_eq!(bad_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.code(), "bad_request");
    let form = client
        .post(format!("{}/api/v1/quotes", app.address))
        .bearer_auth(&api.key)
        .form(&[("kind", "vm")])
        .send()
        .await
        .unwrap();
    assert_eq!(Api::answer(form).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let not_an_id = api.get("/api/v1/quotes/abc").await;
    assert_eq!(not_an_id.status, StatusCode::NOT_FOUND);
    for answer in [&missing, &wrong_method, &bad_json, &not_an_id] {
        assert!(!answer.message().is_empty());
        assert_eq!(answer.headers.get("x-content-type-options").unwrap(), "nosniff");
    }
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
}

// ---------------------------------------------------------------- wallet

#[actix_web::test]
async fn the_wallet_shows_the_balance_and_pages_the_ledger() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let acme = org_id(&app, ACME).await;
    let wallet = api.get("/api/v1/wallet").await;
    assert_eq!(wallet.status, StatusCode::OK);
    assert_eq!(wallet.body["balance"], money(balance(&app, acme).await));
    assert!(wallet.body["committed_monthly"].as_str().unwrap().contains('.'));

    for n in 0..60 {
        credit_directly(&app, acme, Decimal::from(10 + n), &format!("EFT-API-{n}")).await;
    }
    let first = api.get("/api/v1/wallet/transactions").await;
    assert_eq!(first.status, StatusCode::OK);
    let rows = first.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 50);
    assert_eq!(rows[0]["reference"], "EFT-API-59", "newest first");
    assert_eq!(rows[0]["amount"], "69.00");
    assert_eq!(rows[0]["balance_after"], money(balance(&app, acme).await));
    let next = first.body["next_before"].as_i64().expect("a next page");
    let second = api.get(&format!("/api/v1/wallet/transactions?before={next}")).await;
    let older = second.body["data"].as_array().unwrap();
    assert!(!older.is_empty());
    assert!(older.iter().all(|r| r["id"].as_i64().unwrap() < next));

    let bad = api.get("/api/v1/wallet/transactions?before=yesterday").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.field(), "before");
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
}

// ---------------------------------------------------------------- quotes

#[actix_web::test]
async fn quotes_of_each_kind_are_made_with_the_forms_rules_and_messages() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let product = service_product(&app).await;
    let made = api
        .post("/api/v1/quotes", &json!({"kind": "service", "lines": [{"product_id": product, "quantity": 2}]}))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.body["id"].as_i64().unwrap();
    assert_eq!(made.headers.get("location").unwrap(), &format!("/api/v1/quotes/{id}"));
    assert!(made.body["number"].as_str().unwrap().starts_with("Q-"));
    assert_eq!(made.body["status"], "pending");
    assert_eq!(made.body["lines"][0]["quantity"], 2);
    let mut conn = app.main_conn().await;
    let (org, due): (i64, Decimal) =
        quotes::table.find(id).select((quotes::organisation_id, quotes::amount_due)).first(&mut conn).await.unwrap();
    drop(conn);
    assert_eq!(org, org_id(&app, ACME).await);
    assert_eq!(made.body["amount_due"], money(due));
    // The form prices the same order the same.
    let browser = app.signed_in(CUSTOMER).await;
    let product_field = product.to_string();
    let form = browser.post("/quotes/service", &[("product_id", product_field.as_str()), ("quantity", "2")]).await;
    assert_eq!(form.status, StatusCode::SEE_OTHER, "{}", form.body);
    let from_form: i64 = form.location().trim_start_matches("/quotes/").parse().unwrap();
    let mut conn = app.main_conn().await;
    let form_due: Decimal = quotes::table.find(from_form).select(quotes::amount_due).first(&mut conn).await.unwrap();
    drop(conn);
    assert_eq!(form_due, due);

    let bad_quantity = api
        .post("/api/v1/quotes", &json!({"kind": "service", "lines": [{"product_id": product, "quantity": 0}]}))
        .await;
    assert_eq!(bad_quantity.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_quantity.field(), "lines[0].quantity");
    assert_eq!(bad_quantity.message(), "Enter a quantity from 1 to 10000.", "the form's message");
    let unknown =
        api.post("/api/v1/quotes", &json!({"kind": "service", "lines": [{"product_id": 999999, "quantity": 1}]})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.field(), "lines");

    let template = vm_template(&app).await;
    let vm = api
        .post("/api/v1/quotes", &json!({"kind": "vm", "template_id": template, "count": 2, "term_months": 24}))
        .await;
    assert_eq!(vm.status, StatusCode::CREATED, "{}", vm.body);
    assert_eq!(vm.body["kind"], "vm");
    assert_eq!(vm.body["term_months"], 24);
    let custom = api
        .post(
            "/api/v1/quotes",
            &json!({"kind": "vm", "template_id": "custom", "count": 1, "term_months": 12,
                    "vcpu": 2, "ram_gb": 4, "disk_gb": 50, "disk_type": "ssd", "os": "linux"}),
        )
        .await;
    assert_eq!(custom.status, StatusCode::CREATED, "{}", custom.body);
    let too_many = api
        .post("/api/v1/quotes", &json!({"kind": "vm", "template_id": template, "count": 51, "term_months": 24}))
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_many.field(), "count");
    assert_eq!(too_many.message(), "Choose between 1 and 50 VMs.");
    let bad_term =
        api.post("/api/v1/quotes", &json!({"kind": "vm", "template_id": template, "count": 1, "term_months": 5})).await;
    assert_eq!(bad_term.field(), "term_months");
    assert_eq!(bad_term.message(), "Choose a term of 12, 24 or 36 months.");
    let kind = api.post("/api/v1/quotes", &json!({"kind": "boat"})).await;
    assert_eq!(kind.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(kind.field(), "kind");
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
}

#[actix_web::test]
async fn quotes_are_read_and_listed_within_the_organisation_and_staff_see_all() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let pending = quote_id(&app, PENDING).await;
    let one = api.get(&format!("/api/v1/quotes/{pending}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["number"], PENDING);
    assert!(one.body["lines"].as_array().is_some_and(|l| !l.is_empty()));

    let intruder = api_as(&app, BONGANI).await;
    let refused = intruder.get(&format!("/api/v1/quotes/{pending}")).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "another organisation's quote");
    let theirs = intruder.get("/api/v1/quotes").await;
    assert!(theirs.body["data"].as_array().unwrap().iter().all(|q| q["organisation"] == UBUNTU));
    let staff = api_as(&app, STAFF).await;
    assert_eq!(staff.get(&format!("/api/v1/quotes/{pending}")).await.status, StatusCode::OK);

    let acme = org_id(&app, ACME).await;
    for _ in 0..55 {
        insert_quote(&app, acme, Decimal::from(100), Decimal::ZERO, chrono::Duration::days(10)).await;
    }
    let first = api.get("/api/v1/quotes?status=pending").await;
    assert_eq!(first.status, StatusCode::OK);
    let rows = first.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 50);
    assert!(rows.iter().all(|q| q["status"] == "pending"));
    let next = first.body["next_before"].as_i64().unwrap();
    let second = api.get(&format!("/api/v1/quotes?status=pending&before={next}")).await;
    assert!(second.body["data"].as_array().unwrap().iter().all(|q| q["id"].as_i64().unwrap() < next));
    let bad = api.get("/api/v1/quotes?status=maybe").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.field(), "status");
    assert_eq!(bad.message(), "Choose one of the statuses listed.");
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
    intruder.conforms().await;
    staff.conforms().await;
}

#[actix_web::test]
async fn accepting_debits_once_and_declining_answers_with_the_new_status() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let acme = org_id(&app, ACME).await;
    let (quote, _) = insert_quote(&app, acme, Decimal::from(100), Decimal::from(50), chrono::Duration::days(5)).await;
    let before = balance(&app, acme).await;

    let staff = api_as(&app, STAFF).await;
    let refused = staff.post(&format!("/api/v1/quotes/{quote}/accept"), &json!({})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "staff read it but do not accept for Acme");
    let intruder = api_as(&app, BONGANI).await;
    assert_eq!(
        intruder.post(&format!("/api/v1/quotes/{quote}/accept"), &json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        intruder.post(&format!("/api/v1/quotes/{quote}/decline"), &json!({})).await.status,
        StatusCode::NOT_FOUND
    );

    let accepted = api.post(&format!("/api/v1/quotes/{quote}/accept"), &json!({})).await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(accepted.body["balance_after"], money(before - Decimal::from(150)));
    assert_eq!(balance(&app, acme).await, before - Decimal::from(150));
    let again = api.post(&format!("/api/v1/quotes/{quote}/accept"), &json!({})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body, accepted.body, "a retry is answered as the first");
    assert_eq!(debits_of(&app, quote).await, 1);
    let decline = api.post(&format!("/api/v1/quotes/{quote}/decline"), &json!({})).await;
    assert_eq!(decline.status, StatusCode::UNPROCESSABLE_ENTITY, "an accepted quote is not declined");

    let (other, _) = insert_quote(&app, acme, Decimal::from(10), Decimal::ZERO, chrono::Duration::days(5)).await;
    let declined = api.post(&format!("/api/v1/quotes/{other}/decline"), &json!({})).await;
    assert_eq!(declined.status, StatusCode::OK);
    assert_eq!(declined.body, json!({"status": "declined"}));

    // More than the wallet holds: the page's message.
    let (dear, _) =
        insert_quote(&app, acme, balance(&app, acme).await + Decimal::ONE, Decimal::ZERO, chrono::Duration::days(5))
            .await;
    let short = api.post(&format!("/api/v1/quotes/{dear}/accept"), &json!({})).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short.code(), "insufficient_funds");
    assert_eq!(short.message(), "Insufficient funds: R 1.00 short. Top up the wallet, then accept again.");
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
    staff.conforms().await;
    intruder.conforms().await;
}

#[actix_web::test]
async fn without_the_permission_every_endpoint_is_refused_with_403() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let pending = quote_id(&app, PENDING).await;
    strip_customer_role(&app).await;
    for path in
        ["/api/v1/wallet", "/api/v1/wallet/transactions", "/api/v1/quotes", &format!("/api/v1/quotes/{pending}")]
    {
        let answer = api.get(path).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "GET {path}");
        assert_eq!(answer.code(), "forbidden");
    }
    for path in
        ["/api/v1/quotes", &format!("/api/v1/quotes/{pending}/accept"), &format!("/api/v1/quotes/{pending}/decline")]
    {
        assert_eq!(api.post(path, &json!({"kind": "vm"})).await.status, StatusCode::FORBIDDEN, "POST {path}");
    }
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
}

// ---------------------------------------------------------------- idempotency

#[actix_web::test]
async fn twenty_concurrent_accepts_with_one_key_debit_once_and_answer_alike() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let acme = org_id(&app, ACME).await;
    let (quote, _) = insert_quote(&app, acme, Decimal::from(200), Decimal::from(20), chrono::Duration::days(5)).await;
    let before = balance(&app, acme).await;
    let path = format!("/api/v1/quotes/{quote}/accept");
    let key = "accept-7f1c2d";
    let empty = json!({});
    let answers = join_all((0..20).map(|_| api.post_with(&path, &empty, Some(key)))).await;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body, answers[0].body, "every answer is the first");
    }
    assert_eq!(answers[0].body["balance_after"], money(before - Decimal::from(220)));
    assert_eq!(answers.iter().filter(|a| a.headers.contains_key("idempotent-replayed")).count(), 19);
    assert_eq!(debits_of(&app, quote).await, 1);
    assert_eq!(balance(&app, acme).await, before - Decimal::from(220));

    // The same key with another request.
    let other = api.post_with("/api/v1/quotes", &json!({"kind": "vm"}), Some(key)).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.code(), "idempotency_key_reused");
    assert_eq!(other.field(), "Idempotency-Key");
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
}

#[actix_web::test]
async fn a_repeated_create_with_one_key_makes_one_quote_and_replays_errors_too() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let product = service_product(&app).await;
    let body = json!({"kind": "service", "lines": [{"product_id": product, "quantity": 1}]});
    let first = api.post_with("/api/v1/quotes", &body, Some("make-1")).await;
    let second = api.post_with("/api/v1/quotes", &body, Some("make-1")).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(second.status, StatusCode::CREATED, "the status is replayed too");
    assert_eq!(first.body["id"], second.body["id"]);
    let third = api.post_with("/api/v1/quotes", &body, Some("make-2")).await;
    assert_ne!(third.body["id"], first.body["id"], "a new key is a new request");
    let bad = json!({"kind": "service", "lines": [{"product_id": product, "quantity": -1}]});
    let refused = api.post_with("/api/v1/quotes", &bad, Some("make-3")).await;
    let again = api.post_with("/api/v1/quotes", &bad, Some("make-3")).await;
    assert_eq!((refused.status, again.status), (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(refused.body, again.body);
    // Another key's idempotency keys are its own.
    let admin = api_as(&app, ADMIN).await;
    let elsewhere = admin.post_with("/api/v1/quotes", &body, Some("make-1")).await;
    assert_ne!(elsewhere.body["id"], first.body["id"]);
    let blank = api.post_with("/api/v1/quotes", &body, Some(" ")).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(blank.field(), "Idempotency-Key");
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
    admin.conforms().await;
}

// ---------------------------------------------------------------- rate limit

#[actix_web::test]
async fn over_the_rate_limit_a_key_is_told_when_to_come_back() {
    let app = spawn_app_with(portal::state::Shared::new(Decimal::from(15)).with_api_rate(1, 2)).await;
    let api = api_as(&app, CUSTOMER).await;
    assert_eq!(api.get("/api/v1/wallet").await.status, StatusCode::OK);
    assert_eq!(api.get("/api/v1/wallet").await.status, StatusCode::OK);
    let limited = api.get("/api/v1/wallet").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.code(), "rate_limited");
    let wait: u64 = limited.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let other = api_as(&app, BONGANI).await;
    assert_ne!(other.get("/api/v1/wallet").await.status, StatusCode::TOO_MANY_REQUESTS, "each key has its own");
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
}

// ---------------------------------------------------------------- catalog and network

#[actix_web::test]
async fn the_catalogs_are_priced_as_their_pages_and_network_quotes_come_from_an_offer() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let product = service_product(&app).await;
    let products = api.get("/api/v1/catalog/products").await;
    assert_eq!(products.status, StatusCode::OK);
    let listed = products.body.as_array().unwrap().iter().find(|p| p["id"] == product).expect("listed").clone();
    let price = listed["unit_price"].as_str().unwrap();
    assert!(price.split_once('.').is_some_and(|(_, cents)| cents.len() == 2), "{price}");
    let made = api
        .post("/api/v1/quotes", &json!({"kind": "service", "lines": [{"product_id": product, "quantity": 1}]}))
        .await;
    assert_eq!(made.body["lines"][0]["unit_price"], listed["unit_price"], "the quote's price is the catalog's");
    let templates = api.get("/api/v1/catalog/vm-templates").await;
    let template = vm_template(&app).await;
    assert!(templates.body.as_array().unwrap().iter().any(|t| t["id"] == template));

    let site = "site_address=12%20Rivonia%20Road&site_suburb=Sandton&speed_mbps=50&term_months=24";
    let offers = api.get(&format!("/api/v1/catalog/network-offers?{site}")).await;
    assert_eq!(offers.status, StatusCode::OK, "{}", offers.body);
    let list = offers.body["offers"].as_array().unwrap();
    assert_eq!(list.len(), 4, "all four serve 50 Mbps for 24 months in Sandton");
    let away = api
        .get("/api/v1/catalog/network-offers?site_address=1%20Main&site_suburb=Soweto&speed_mbps=50&term_months=24")
        .await;
    assert!(
        away.body["unavailable"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["provider"] == "dfa-helios" || u["reason"].as_str().unwrap_or_default().contains("Helios"))
    );
    let bad =
        api.get("/api/v1/catalog/network-offers?site_address=x&site_suburb=Sandton&speed_mbps=7&term_months=24").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.field(), "speed_mbps");
    assert_eq!(bad.message(), "Choose a speed from the list.");

    let cheapest = &list[0];
    let network = api
        .post(
            "/api/v1/quotes",
            &json!({"kind": "network", "provider": cheapest["provider"], "speed_mbps": 50, "term_months": 24,
                    "site_address": "12 Rivonia Road", "site_suburb": "Sandton"}),
        )
        .await;
    assert_eq!(network.status, StatusCode::CREATED, "{}", network.body);
    assert_eq!(network.body["kind"], "network");
    assert_eq!(network.body["site_suburb"], "Sandton");
    assert_eq!(network.body["amount_due"], cheapest["amount_due"], "the offer's price");
    let no_provider = api
        .post(
            "/api/v1/quotes",
            &json!({"kind": "network", "provider": "nope", "speed_mbps": 50, "term_months": 24,
                    "site_address": "12 Rivonia Road", "site_suburb": "Sandton"}),
        )
        .await;
    assert_eq!(no_provider.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_provider.field(), "provider");
    let no_address = api
        .post("/api/v1/quotes", &json!({"kind": "network", "provider": "liquid", "speed_mbps": 50, "term_months": 24}))
        .await;
    assert_eq!(no_address.field(), "site_address");
    assert_eq!(no_address.message(), "Enter the site's street address.");
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
}

// ---------------------------------------------------------------- services and invoices

#[actix_web::test]
async fn services_are_listed_and_cancelled_within_the_organisation() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let listed = api.get("/api/v1/services").await;
    assert_eq!(listed.status, StatusCode::OK);
    let service = listed.body.as_array().unwrap().iter().next().expect("Acme has a service").clone();
    let id = service["id"].as_i64().unwrap();
    assert!(service["monthly_amount"].as_str().unwrap().contains('.'));

    let intruder = api_as(&app, BONGANI).await;
    let refused = intruder.post(&format!("/api/v1/services/{id}/cancel"), &json!({})).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(intruder.get("/api/v1/services").await.body.as_array().unwrap().iter().all(|s| s["id"] != id));

    let cancelled = api.post(&format!("/api/v1/services/{id}/cancel"), &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert!(cancelled.body["cancel_at"].is_string());
    let again = api.post(&format!("/api/v1/services/{id}/cancel"), &json!({})).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.code(), "not_cancellable");
    assert!(again.message().starts_with("This service is already cancelled"), "the page's message");
    let now = api.get("/api/v1/services").await;
    assert_eq!(
        now.body.as_array().unwrap().iter().find(|s| s["id"] == id).unwrap()["cancel_at"],
        cancelled.body["cancel_at"]
    );
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
    intruder.conforms().await;
}

#[actix_web::test]
async fn invoices_are_read_as_json_and_pdf_by_their_organisation_and_by_staff() {
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let listed = api.get("/api/v1/invoices").await;
    assert_eq!(listed.status, StatusCode::OK);
    let first = listed.body["data"].as_array().unwrap().last().expect("Acme has a tax invoice").clone();
    let id = first["id"].as_i64().unwrap();
    let one = api.get(&format!("/api/v1/invoices/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["number"], first["number"]);
    assert_eq!(one.body["kind"], "tax_invoice");
    assert!(!one.body["lines"].as_array().unwrap().is_empty());

    let pdf = reqwest::Client::new()
        .get(format!("{}/api/v1/invoices/{id}.pdf", app.address))
        .bearer_auth(&api.key)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers().get("content-type").unwrap(), "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));

    let intruder = api_as(&app, BONGANI).await;
    assert_eq!(intruder.get(&format!("/api/v1/invoices/{id}")).await.status, StatusCode::NOT_FOUND);
    let theirs = intruder.get(&format!("/api/v1/invoices/{id}.pdf")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "a JSON 404 for the PDF too");
    let bad = api.get("/api/v1/invoices?month=2026-13").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.field(), "month");
    let staff = api_as(&app, STAFF).await;
    assert_eq!(staff.get(&format!("/api/v1/invoices/{id}")).await.status, StatusCode::OK, "staff read every one");
    let acme = org_id(&app, ACME).await;
    let filtered = staff.get(&format!("/api/v1/invoices?organisation={acme}")).await;
    assert!(filtered.body["data"].as_array().unwrap().iter().all(|d| d["organisation_id"] == acme));
    // The contract: every answer above matches openapi.json.
    api.conforms().await;
    intruder.conforms().await;
    staff.conforms().await;
}

// ---------------------------------------------------------------- the description

#[actix_web::test]
async fn the_api_is_described_in_openapi_and_on_a_page_without_scripts_from_elsewhere() {
    let app = spawn_app().await;
    let spec: Value =
        serde_json::from_str(&app.browser().get("/api/v1/openapi.json").await.body).expect("the document is JSON");
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let described: std::collections::BTreeSet<(String, String)> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(|m| (m.to_uppercase(), path.clone())))
        .collect();
    let served: std::collections::BTreeSet<(String, String)> = portal::routes::TABLE
        .iter()
        .filter(|(_, path)| path.starts_with("/api/v1/") && !path.ends_with("openapi.json"))
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(described, served, "every endpoint is described, and nothing else");
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    // The schemas hold the answers to their shape: money is a string, not a number.
    let wallet = json!({"components": spec["components"], "$ref": "#/components/schemas/Wallet"});
    let wallet = jsonschema::draft202012::new(&wallet).unwrap();
    assert!(wallet.is_valid(&json!({"balance": "1.00", "low_balance_threshold": "0.00", "committed_monthly": "0.00"})));
    assert!(!wallet.is_valid(&json!({"balance": 1, "low_balance_threshold": "0.00", "committed_monthly": "0.00"})));

    let page = app.browser().get("/api/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    for (method, path) in &served {
        assert!(page.body.contains(&format!("{method} {path}")), "{method} {path} on the page");
    }
    assert!(page.body.contains("Idempotency-Key") && page.body.contains("NewQuoteRequest"));
    let scripts = scraper::Selector::parse("script").unwrap();
    assert!(page.html().select(&scripts).all(|s| s.value().attr("src").is_some_and(|src| src.starts_with("/static/"))));
}

#[actix_web::test]
async fn a_key_is_held_where_its_user_would_be_held_in_the_browser() {
    let app = spawn_app().await;
    let customer = api_as(&app, CUSTOMER).await;
    let staff = api_as(&app, STAFF).await;
    let mut conn = app.main_conn().await;
    diesel::update(users::table.filter(users::email.eq(CUSTOMER)))
        .set(users::must_change_password.eq(true))
        .execute(&mut conn)
        .await
        .unwrap();
    // An administrator reset the staff member's second factor.
    diesel::sql_query("UPDATE users SET totp_secret = NULL, totp_enrolled_at = NULL WHERE email = $1")
        .bind::<diesel::sql_types::Text, _>(STAFF)
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);
    let held = customer.get("/api/v1/wallet").await;
    assert_eq!(held.status, StatusCode::FORBIDDEN);
    assert_eq!(held.code(), "password_change_required");
    let held = staff.get("/api/v1/quotes").await;
    assert_eq!(held.status, StatusCode::FORBIDDEN);
    assert_eq!(held.code(), "second_factor_required");
}

#[actix_web::test]
async fn a_repeat_waits_for_an_unanswered_first_request_and_takes_over_an_abandoned_one() {
    use portal::db::main::schema::api_idempotency as idem;
    let app = spawn_app().await;
    let api = api_as(&app, CUSTOMER).await;
    let product = service_product(&app).await;
    let body = json!({"kind": "service", "lines": [{"product_id": product, "quantity": 1}]});
    let mut conn = app.main_conn().await;
    let key_id: i64 = api_keys::table.select(api_keys::id).first(&mut conn).await.unwrap();
    let hash = {
        // This request's hash, as the same request under another key wrote it.
        let probe = api.post_with("/api/v1/quotes", &body, Some("probe")).await;
        assert_eq!(probe.status, StatusCode::CREATED);
        idem::table.find((key_id, "probe")).select(idem::request_hash).first::<Vec<u8>>(&mut conn).await.unwrap()
    };
    let claimed = |key: &'static str, seconds_ago: i64| {
        diesel::insert_into(idem::table).values((
            idem::api_key_id.eq(key_id),
            idem::idempotency_key.eq(key),
            idem::request_hash.eq(hash.clone()),
            idem::claimed_at.eq(chrono::Utc::now() - chrono::Duration::seconds(seconds_ago)),
        ))
    };
    // Unanswered for two minutes: its request is gone, this one runs.
    claimed("abandoned", 120).execute(&mut conn).await.unwrap();
    let taken = api.post_with("/api/v1/quotes", &body, Some("abandoned")).await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.body);
    let replay = api.post_with("/api/v1/quotes", &body, Some("abandoned")).await;
    assert_eq!(replay.body["id"], taken.body["id"]);
    // Being answered now: the repeat waits, then gives up with 409.
    claimed("busy", 0).execute(&mut conn).await.unwrap();
    drop(conn);
    let started = std::time::Instant::now();
    let busy = api.post_with("/api/v1/quotes", &body, Some("busy")).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert_eq!(busy.code(), "idempotency_key_in_flight");
    assert!(started.elapsed() >= std::time::Duration::from_secs(15), "it waited");

    // The hourly job forgets answers older than a day.
    let mut conn = app.main_conn().await;
    diesel::update(idem::table.find((key_id, "probe")))
        .set(idem::created_at.eq(chrono::Utc::now() - chrono::Duration::hours(25)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(portal::db::main::idempotency::prune(&mut conn).await.unwrap(), 1);
    let left: i64 = idem::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(left, 2, "the day's answers stay");
    drop(conn);
    api.conforms().await;
}
