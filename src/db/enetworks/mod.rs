//! The E-Networks database: the five network providers' price tables.

pub mod schema;
