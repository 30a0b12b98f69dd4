//! Domain types: values that are valid by construction. Forms and CLI arguments become
//! these at the edge (parse, don't validate); handlers and queries only see them.

pub mod aas;
pub mod api_key;
pub mod billing;
pub mod cards;
pub mod documents;
pub mod email;
pub mod idempotency;
pub mod ids;
pub mod money;
pub mod network;
pub mod organisation;
pub mod password;
pub mod permissions;
pub mod pricing;
pub mod quote;
pub mod second_factor;
pub mod states;
pub mod text;
pub mod time;
pub mod wallet_stats;
