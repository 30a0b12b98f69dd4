//! `/healthz`: the process is up. `/readyz`: all three databases answer.

use std::time::Duration;

use actix_web::{HttpResponse, web};

use crate::db::PooledConn;
use crate::db::registry::DATABASES;
use crate::state::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn ping(conn: Result<PooledConn, impl std::fmt::Display>) -> Result<(), String> {
    let mut conn = conn.map_err(|e| e.to_string())?;
    let query = crate::db::ping(&mut conn);
    match tokio::time::timeout(Duration::from_secs(2), query).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

/// Whether the Redis server at `addr` (`host:port`) answers a PING within the session
/// store's time bound. Spoken in RESP by hand, on a connection of its own: a server that
/// asks for a password (`-NOAUTH`) is answering too.
async fn ping_redis(addr: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut conn = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        conn.write_all(b"PING\r\n").await.map_err(|e| e.to_string())?;
        let mut answer = [0u8; 16];
        let n = conn.read(&mut answer).await.map_err(|e| e.to_string())?;
        let answer = &answer[..n];
        if answer.starts_with(b"+PONG") || answer.starts_with(b"-NOAUTH") {
            Ok(())
        } else {
            Err(format!("unexpected answer {:?}", String::from_utf8_lossy(answer)))
        }
    };
    match tokio::time::timeout(crate::startup::SESSION_STORE_TIMEOUT, exchange).await {
        Ok(result) => result,
        Err(_) => Err("timed out".into()),
    }
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pools = &state.pools;
    let checks = DATABASES.iter().map(|db| async move { (db.name, ping(db.connection(pools).await).await) });
    let mut body = String::new();
    let mut ready = true;
    for (name, result) in futures_util::future::join_all(checks).await {
        match result {
            Ok(()) => body.push_str(&format!("{name}: ok\n")),
            Err(e) => {
                ready = false;
                tracing::warn!(database = name, error = %e, "readiness check failed");
                body.push_str(&format!("{name}: unavailable\n"));
            }
        }
    }
    if let Some(addr) = &state.redis_addr {
        match ping_redis(addr).await {
            Ok(()) => body.push_str("redis: ok\n"),
            Err(e) => {
                ready = false;
                tracing::warn!(error = %e, "readiness check of Redis failed");
                body.push_str("redis: unavailable\n");
            }
        }
    }
    let mut response = if ready { HttpResponse::Ok() } else { HttpResponse::ServiceUnavailable() };
    response.content_type("text/plain").body(body)
}
