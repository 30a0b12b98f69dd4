//! Integration tests: the real application over HTTP against real PostgreSQL.

mod access;
mod auth;
mod browser;
mod catalog;
mod cli;
mod health;
mod helpers;
mod network;
mod pricing;
mod quotes;
mod schema;
mod serve;
mod transactions;
mod wallet;
