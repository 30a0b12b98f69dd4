//! `portal serve` with nothing configured: it starts its own PostgreSQL cluster in the
//! data folder, migrates and seeds on the first start, prints the URL and the demo
//! sign-ins, answers, and on SIGTERM stops the cluster it started. A second start on
//! the same folder reuses it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Served {
    child: std::process::Child,
    url: String,
    banner: String,
}

/// Starts `portal serve` on a free port; returns once it printed its address.
fn serve(data_dir: &std::path::Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PORTAL_DATA_DIR", data_dir)
        .env("PORTAL_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    let mut url = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if let Some(rest) = line.strip_prefix("Reseller portal: ") {
            url = Some(rest.trim_end_matches('/').to_owned());
        }
        if line.starts_with("Stop with Ctrl-C") {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Served { child, url: url.expect("serve printed its address"), banner }
}

fn stop(mut served: Served) -> std::process::ExitStatus {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(served.child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn login_page(url: &str) -> reqwest::StatusCode {
    reqwest::get(format!("{url}/login")).await.unwrap().status()
}

#[actix_web::test]
async fn serve_runs_with_nothing_configured_and_stops_its_cluster() {
    let data_dir = std::env::temp_dir().join(format!("portal-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);

    let started = Instant::now();
    let first = serve(&data_dir);
    assert_eq!(login_page(&first.url).await, reqwest::StatusCode::OK);
    eprintln!("fresh data folder: first answer after {:?}", started.elapsed());
    assert!(first.banner.contains("admin@demo.test"), "{}", first.banner);
    assert!(first.banner.contains("demo-password-123"));
    assert!(data_dir.join("pg/PG_VERSION").exists());
    assert!(data_dir.join("session.key").exists(), "a development session key is kept");
    assert!(stop(first).success());
    assert!(!data_dir.join("pg/postmaster.pid").exists(), "the cluster stopped with the portal");

    let started = Instant::now();
    let second = serve(&data_dir);
    assert_eq!(login_page(&second.url).await, reqwest::StatusCode::OK);
    eprintln!("existing data folder: first answer after {:?}", started.elapsed());
    // Sign in with the printed demo credentials.
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = client.get(format!("{}/login", second.url)).send().await.unwrap().text().await.unwrap();
    let token = form.split(r#"name="csrf_token" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let signed_in = client
        .post(format!("{}/login", second.url))
        .form(&[("email", "customer@demo.test"), ("password", "demo-password-123"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    assert!(stop(second).success());
    let _ = std::fs::remove_dir_all(&data_dir);
}
