//! Integration tests: the real application over HTTP against real PostgreSQL.

mod access;
mod alerts;
mod auth;
mod browser;
mod cards;
mod cli;
mod csv_large;
mod health;
mod helpers;
mod ops_logs;
mod quotes;
mod refunds;
mod schema;
mod support;
mod transactions;
mod wallet;
mod wallet_more;
