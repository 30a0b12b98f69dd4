//! Integration tests: the real application over HTTP against real PostgreSQL.

mod access;
mod auth;
mod cli;
mod health;
mod helpers;
mod schema;
