//! `cfg(wasm_split)` when cargo-leptos builds the browser's wasm with `--split`
//! (it links with `--emit-relocs` then). Pages become lazy routes (`lazy_pages!`)
//! only then, so a plain `cargo leptos watch` still builds a wasm that loads.
//! And a changed migration rebuilds the crate that embeds it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasm_split)");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    // `sqlx::migrate!` embeds the migrations when this crate compiles; a new
    // or edited migration must rebuild it (sqlx cannot say so on stable).
    println!("cargo::rerun-if-changed=../migrations");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("--emit-relocs") {
        println!("cargo::rustc-cfg=wasm_split");
    }
}
