//! `embed_migrations!` reads `migrations/` at compile time, but cargo cannot see that:
//! without this, a new migration folder alone does not rebuild the crate, and the binary
//! goes on running the old list.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
