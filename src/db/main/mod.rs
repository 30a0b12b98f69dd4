//! The main database: organisations, people and permissions, quotes, the wallet ledger,
//! logs and alerts. Query functions take a connection and return `QueryResult`.

pub mod activity;
pub mod alerts;
pub mod organisations;
pub mod quotes;
pub mod schema;
pub mod users;
pub mod wallets;
