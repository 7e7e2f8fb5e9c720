//! The wasm files of the lazy page the server is rendering, preloaded from the
//! page's `<head>` so they download beside the main wasm instead of after it.
//!
//! Leptos names a page's files in the split build's manifest
//! (`__wasm_split_manifest.json`, content-hashed like the other files), under
//! `__{route}_view_{hash}`. Its own preloading of them (leptos_integration_utils
//! 0.8.9) looks the manifest up outside the page's reactive owner and finds
//! nothing, so the server does it here. Without a split build there is no
//! manifest and nothing is preloaded.

use std::collections::HashMap;
use std::sync::OnceLock;

use leptos::prelude::*;
use leptos_meta::Link;

struct Manifest {
    /// `/pkg`, as the browser asks for the files.
    pkg: String,
    /// `__wasm_split.{hash}.js`: the loader the files go through.
    loader: String,
    files: HashMap<String, Vec<String>>,
}

static MANIFEST: OnceLock<Option<Manifest>> = OnceLock::new();

/// Read the split build's manifest, once at startup (a missing one is no error:
/// `cargo leptos watch` builds without `--split`).
pub fn load(options: &LeptosOptions) {
    MANIFEST.get_or_init(|| read(options));
}

fn read(options: &LeptosOptions) -> Option<Manifest> {
    let (mut manifest, mut loader) = ("__wasm_split_manifest.json".to_string(), "__wasm_split.js".to_string());
    if options.hash_files {
        let beside = std::env::current_exe().ok()?.parent()?.join(options.hash_file.as_ref());
        let hashes = std::fs::read_to_string(beside).ok()?;
        for (file, hash) in hashes.lines().filter_map(|line| line.split_once(':')) {
            match file.trim() {
                "manifest" => manifest = format!("__wasm_split_manifest.{}.json", hash.trim()),
                "split" => loader = format!("__wasm_split.{}.js", hash.trim()),
                _ => {}
            }
        }
    }
    let pkg_dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let text = std::fs::read_to_string(pkg_dir.join(&manifest)).ok()?;
    let files = serde_json::from_str(&text).ok()?;
    Some(Manifest { pkg: format!("/{}", options.site_pkg_dir), loader, files })
}

/// Put preloads for the lazy route `route` (its type's name, e.g.
/// `ProductRoute`) into the page's `<head>`. Nothing goes into the page's body,
/// so the browser's hydration sees the same view.
pub fn route(route: &str) {
    let Some(Some(manifest)) = MANIFEST.get() else { return };
    let prefix = format!("__{}_view_", snake_case(route));
    let Some(files) = manifest.files.iter().find(|(name, _)| name.starts_with(&prefix)).map(|(_, files)| files) else {
        return;
    };
    let pkg = &manifest.pkg;
    // Rendering a leptos_meta tag on the server registers it for the <head>.
    for file in files {
        let href = format!("{pkg}/{file}.wasm");
        _ = view! { <Link rel="preload" href=href as_="fetch" type_="application/wasm" crossorigin="anonymous"/> }.to_html();
    }
    let loader = format!("{pkg}/{}", manifest.loader);
    _ = view! { <Link rel="modulepreload" href=loader crossorigin="anonymous"/> }.to_html();
}

/// `ProductFormRoute` -> `product_form_route`, as leptos names the view function.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn route_types_name_their_view_functions_as_leptos_does() {
        assert_eq!(super::snake_case("ProductRoute"), "product_route");
        assert_eq!(super::snake_case("MyOrdersRoute"), "my_orders_route");
        assert_eq!(super::snake_case("ProductFormRoute"), "product_form_route");
    }
}
