//! `cfg(wasm_split)` when cargo-leptos builds the browser's wasm with `--split`
//! (it links with `--emit-relocs` then). Pages become lazy routes (`lazy_pages!`)
//! only then, so a plain `cargo leptos watch` still builds a wasm that loads.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasm_split)");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("--emit-relocs") {
        println!("cargo::rustc-cfg=wasm_split");
    }
}
