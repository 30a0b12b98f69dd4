//! Integration tests: the real application over HTTP against real PostgreSQL.

mod access;
mod activity;
mod admin_browser;
mod admin_helpers;
mod admin_organisations;
mod admin_roles;
mod admin_users;
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
