//! Cloud and network reseller portal: catalogs, quotes and a prepaid wallet over
//! three PostgreSQL databases. `main.rs` only hands over to [`cli`].

pub mod assets;
pub mod auth;
pub mod bulkhead;
pub mod cli;
pub mod config;
pub mod copies;
pub mod db;
pub mod documents;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod templates;
