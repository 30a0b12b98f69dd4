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
mod cli;
mod health;
mod helpers;
mod quotes;
mod schema;
mod transactions;
mod wallet;
