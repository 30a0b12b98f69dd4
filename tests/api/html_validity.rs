//! Valid HTML: every page of every role, as the server sends it, passes the Nu HTML
//! Checker with no error. The checker is `vnu.jar` from the `vnu-jar` npm package
//! (`.ci/run` installs it and Java and sets `VNU_JAR`); without `VNU_JAR` the test says
//! so and passes, unless it runs in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::{ADMIN, CUSTOMER, Page, spawn_app, test_dir};
use crate::pages::every_page;

fn write_page(dir: &Path, name: &str, page: &Page) -> PathBuf {
    let file = dir.join(format!("{name}.html"));
    std::fs::write(&file, &page.body).unwrap();
    file
}

/// A file name for a page: `admin-quotes-12`.
fn file_name(role: &str, path: &str) -> String {
    let slug: String = path.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("{role}{}", if slug == "-" { "-dashboard".to_owned() } else { slug })
}

#[actix_web::test]
async fn every_page_of_every_role_is_valid_html() {
    let Some(jar) = std::env::var_os("VNU_JAR") else {
        assert!(std::env::var_os("CI").is_none(), "CI must set VNU_JAR (.ci/run installs vnu-jar)");
        eprintln!("skipping the HTML check: set VNU_JAR to the Nu HTML Checker's vnu.jar (npm install vnu-jar)");
        return;
    };
    let app = spawn_app().await;
    let dir = test_dir("html-validity");
    let mut files = Vec::new();

    // Signed out: the sign-in page, its second step and a form sent back with errors.
    let anonymous = app.browser();
    files.push(write_page(&dir, "anonymous-login", &anonymous.get("/login").await));
    let wrong = anonymous.login(CUSTOMER, "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    files.push(write_page(&dir, "anonymous-login-422", &wrong));
    let admin_half = app.browser();
    admin_half.login(ADMIN, crate::helpers::DEMO_PASSWORD).await;
    files.push(write_page(&dir, "anonymous-second-step", &admin_half.get(crate::helpers::SECOND_STEP).await));

    for role in every_page(&app).await {
        let browser = app.signed_in(role.email).await;
        for path in &role.paths {
            let page = browser.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{} GET {path}", role.role);
            files.push(write_page(&dir, &file_name(role.role, path), &page));
        }
        files.push(write_page(&dir, &format!("{}-404", role.role), &browser.get("/no/such/page").await));
    }
    // Forms sent back with their messages (422).
    let admin = app.signed_in(ADMIN).await;
    let user = admin.post("/admin/users", &[("name", ""), ("email", "x")]).await;
    assert_eq!(user.status, StatusCode::UNPROCESSABLE_ENTITY);
    files.push(write_page(&dir, "admin-users-422", &user));
    let org = admin.post("/admin/organisations", &[("name", "")]).await;
    assert_eq!(org.status, StatusCode::UNPROCESSABLE_ENTITY);
    files.push(write_page(&dir, "admin-organisations-422", &org));
    let key = admin.post("/account/api-keys", &[("name", "HTML check")]).await;
    assert_eq!(key.status, StatusCode::OK);
    files.push(write_page(&dir, "admin-api-key-shown", &key));
    let key = admin.post("/account/api-keys", &[("name", "")]).await;
    assert_eq!(key.status, StatusCode::UNPROCESSABLE_ENTITY);
    files.push(write_page(&dir, "admin-api-keys-422", &key));

    let output = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--errors-only", "--format", "json", "--stdout"])
        .args(&files)
        .output()
        .expect("run java (install a Java runtime: apt-get install default-jre-headless)");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "vnu's report ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let errors: Vec<String> = report["messages"]
        .as_array()
        .expect("a list of messages")
        .iter()
        .map(|m| {
            let file = m["url"].as_str().unwrap_or("").rsplit('/').next().unwrap_or("").to_owned();
            format!(
                "{file}:{} {}: {}\n    {}",
                m["lastLine"],
                m["type"].as_str().unwrap_or(""),
                m["message"].as_str().unwrap_or(""),
                m["extract"].as_str().unwrap_or("").trim()
            )
        })
        .collect();
    assert!(
        errors.is_empty(),
        "{} HTML errors in {} pages (kept in {}):\n{}",
        errors.len(),
        files.len(),
        dir.display(),
        errors.join("\n")
    );
    eprintln!("{} pages are valid HTML", files.len());
}
