//! The AAS database: categories, products and VM templates (cloud services).

pub mod schema;
