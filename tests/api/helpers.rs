//! The test harness: one private PostgreSQL cluster per test run (fsync off), three
//! template databases migrated and seeded once, and for every test a fresh clone of
//! all three, dropped when the test ends. `spawn_app` serves the real application on
//! port 0 against that clone; `Browser` is a cookie-keeping HTTP client.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use portal::config::DatabaseUrls;
use portal::db::cluster::{Cluster, ClusterOptions, ident};
use portal::db::{Pools, migrate};
use portal::startup::{self, Sessions};
use portal::state::{AppState, Shared};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use rust_decimal::Decimal;

pub const TEMPLATES: [&str; 3] = ["tpl_main", "tpl_aas", "tpl_enetworks"];
pub const DEMO_PASSWORD: &str = portal::db::seed::DEMO_PASSWORD;
pub const ADMIN: &str = "admin@demo.test";
pub const STAFF: &str = "staff@demo.test";
pub const CUSTOMER: &str = "customer@demo.test";
pub const DEMO_TOTP_SECRET: &str = portal::db::seed::DEMO_TOTP_SECRET;
pub const SECOND_STEP: &str = "/login/second-factor";

/// What an authenticator app set up with `secret` shows now.
pub fn current_code(secret: &str) -> String {
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap();
    portal::domain::second_factor::code_at(secret, now).unwrap()
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static READY: OnceLock<()> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// Removes the folders of earlier test runs whose process is gone.
fn remove_stale_folders(base: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("portal-test-")
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// This run's folder: the cluster, and the tests' own folders.
fn run_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("portal-test-{}", std::process::id()))
}

/// A folder of its own for one test, inside this run's folder (removed with it by the
/// next run, like the cluster).
pub fn test_dir(name: &str) -> std::path::PathBuf {
    let dir = run_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The cluster, started on first use by a thread that never ends: the server dies
/// with the test process (PR_SET_PDEATHSIG is tied to the starting thread).
pub fn cluster() -> &'static Cluster {
    READY.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            remove_stale_folders(&std::env::temp_dir());
            let dir = run_dir();
            let cluster = Cluster::start(&dir, &ClusterOptions { durable: false, bin_dir: None })
                .expect("start the test cluster");
            let urls = DatabaseUrls {
                main: cluster.url(TEMPLATES[0]).into(),
                aas: cluster.url(TEMPLATES[1]).into(),
                enetworks: cluster.url(TEMPLATES[2]).into(),
            };
            block_on(async {
                cluster.create_databases(&TEMPLATES, None).await.expect("create the templates");
                migrate::run_all(&urls).await.expect("migrate the templates");
                let pools = Pools::new(&urls, 2);
                portal::db::seed::seed_demo(&pools).await.expect("seed the templates");
            });
            // Every connection to the templates is closed now (the pools are dropped),
            // so they can be cloned.
            let _ = CLUSTER.set(cluster);
            tx.send(()).unwrap();
            loop {
                std::thread::park();
            }
        });
        rx.recv().expect("the test cluster started");
    });
    CLUSTER.get().unwrap()
}

/// A fresh copy of the three seeded databases, dropped on `Drop`.
pub struct TestDatabases {
    pub names: [String; 3],
    pub urls: DatabaseUrls,
}

impl TestDatabases {
    pub async fn new() -> TestDatabases {
        TestDatabases::create(Some(TEMPLATES)).await
    }

    /// Three databases with nothing in them, not even the schema (where a restore goes).
    pub async fn empty() -> TestDatabases {
        TestDatabases::create(None).await
    }

    async fn create(templates: Option<[&str; 3]>) -> TestDatabases {
        let cluster = cluster();
        let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
        let names = ["main", "aas", "enetworks"].map(|db| format!("t{n}_{db}"));
        for (i, name) in names.iter().enumerate() {
            let template = templates.map(|t| t[i]);
            cluster.create_databases(&[name], template).await.expect("create a test database");
        }
        let urls = DatabaseUrls {
            main: cluster.url(&names[0]).into(),
            aas: cluster.url(&names[1]).into(),
            enetworks: cluster.url(&names[2]).into(),
        };
        TestDatabases { names, urls }
    }

    pub async fn drop_database(name: &str) {
        let mut conn = AsyncPgConnection::establish(&cluster().url("postgres")).await.unwrap();
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(name))).await.unwrap();
    }
}

impl Drop for TestDatabases {
    fn drop(&mut self) {
        let names = self.names.clone();
        // The test's runtime is busy dropping us: drop the databases from a thread of our own.
        let _ = std::thread::spawn(move || {
            block_on(async {
                for name in &names {
                    TestDatabases::drop_database(name).await;
                }
            })
        })
        .join();
    }
}

pub struct TestApp {
    pub address: String,
    pub pools: Pools,
    pub db: TestDatabases,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Shared::new(Decimal::from(15))).await
}

/// The app with these shared settings (HSTS, the VAT rate).
pub async fn spawn_app_with(shared: Shared) -> TestApp {
    spawn_app_on(shared, Sessions::Cookie).await
}

/// The app with these shared parts and this session store.
pub async fn spawn_app_on(shared: Shared, sessions: Sessions) -> TestApp {
    let db = TestDatabases::new().await;
    let pools = Pools::new(&db.urls, 4);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let app_pools = pools.clone();
    let state = move || AppState::new(app_pools.clone(), &shared);
    let key: [u8; 64] = rand::random();
    let server = startup::run(state, listener, &key, sessions, 1).expect("start the app");
    actix_web::rt::spawn(server);
    TestApp { address, pools, db }
}

impl TestApp {
    /// A new browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        self.browser_at("127.0.0.1".parse().unwrap())
    }

    /// A new browser connecting from this loopback address (127.0.0.2 is another
    /// client to the app, as far as its client address goes).
    pub fn browser_at(&self, local: std::net::IpAddr) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            base: self.address.clone(),
            client: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .local_address(local)
                .build()
                .unwrap(),
            jar,
        }
    }

    /// A request with exactly these headers and no cookie jar.
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Page {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser::page(client.get(format!("{}{path}", self.address)).header("cookie", cookie).send().await.unwrap())
            .await
    }

    /// A browser signed in as `email` (a demo user, demo password), with a code from
    /// the demo secret when the user has a second factor.
    pub async fn signed_in(&self, email: &str) -> Browser {
        let browser = self.browser();
        let response = browser.login(email, DEMO_PASSWORD).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "sign-in as {email} failed: {}", response.body);
        if response.location() == SECOND_STEP {
            let response = self.second_step(&browser, email).await;
            assert_eq!(response.status, StatusCode::SEE_OTHER, "second step as {email} failed: {}", response.body);
        }
        browser
    }

    /// Sets up a second factor for the signed-in `browser` as an authenticator app
    /// would (from the key on the enrolment page); returns the secret and the recovery codes.
    pub async fn enrol(&self, browser: &Browser) -> (String, Vec<String>) {
        let page = browser.get("/account/second-factor").await;
        assert_eq!(page.status, StatusCode::OK);
        let secret = crate::support::text_of(&page, "totp-secret").expect("the key to type in").replace(' ', "");
        let done = browser.post("/account/second-factor", &[("code", &current_code(&secret))]).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
        let selector = scraper::Selector::parse("#recovery-codes code").unwrap();
        let codes = done.html().select(&selector).map(|c| c.text().collect::<String>()).collect();
        (secret, codes)
    }

    /// The sign-in's second step with the current code of the demo secret. A code is
    /// good once, and tests sign in many times within one 30-second step, so the
    /// user's last used step is forgotten first.
    pub async fn second_step(&self, browser: &Browser, email: &str) -> Page {
        diesel::sql_query("UPDATE users SET totp_last_step = NULL WHERE email = $1")
            .bind::<diesel::sql_types::Text, _>(email)
            .execute(&mut self.main_conn().await)
            .await
            .unwrap();
        browser.post("/login/second-factor", &[("code", &current_code(DEMO_TOTP_SECRET))]).await
    }

    pub async fn main_conn(&self) -> portal::db::PooledConn {
        self.pools.main.get().await.unwrap()
    }
}

/// What a test looks at: status, headers, body text.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The CSRF token of the page's forms.
    pub fn csrf_token(&self) -> Option<String> {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_owned())
    }

    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }

    /// The texts of the main navigation's menus and links, in order.
    pub fn nav(&self) -> Vec<String> {
        let selector = scraper::Selector::parse("nav.mainnav a, nav.mainnav summary").unwrap();
        self.html().select(&selector).map(|a| a.text().collect::<String>().trim().to_owned()).collect()
    }
}

pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Browser {
    /// The `Cookie` header this browser sends (to replay a captured session).
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore as _;
        let url: reqwest::Url = self.base.parse().unwrap();
        self.jar.cookies(&url).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }

    pub async fn page(response: reqwest::Response) -> Page {
        Page { status: response.status(), headers: response.headers().clone(), body: response.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::page(self.client.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    /// Posts a form exactly as given (no token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::page(self.client.post(format!("{}{path}", self.base)).form(fields).send().await.unwrap()).await
    }

    /// A CSRF token of this browser's session, from a page that has forms.
    pub async fn csrf_token(&self) -> String {
        let page = self.get("/").await;
        // Anonymous visitors are sent to sign in, and a user held at a page (a temporary
        // password, a second factor to set up) to that page: its form has the token.
        let page = if page.status == StatusCode::SEE_OTHER { self.get(page.location()).await } else { page };
        page.csrf_token().expect("a page with a CSRF token")
    }

    /// Posts a form with this session's CSRF token, as the page's form would.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf_token().await;
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token));
        self.post_raw(path, &fields).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let token = form.csrf_token().expect("the sign-in form has a CSRF token");
        self.post_raw("/login", &[("email", email), ("password", password), ("csrf_token", &token)]).await
    }
}
