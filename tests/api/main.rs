//! Integration tests: the real application over HTTP against real PostgreSQL.

mod access;
mod auth;
mod browser;
mod cli;
mod health;
mod helpers;
mod quotes;
mod schema;
mod transactions;
mod wallet;
