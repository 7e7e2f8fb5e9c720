//! The wasm files of the lazy page the server is rendering, preloaded from the
//! page's `<head>` so they download beside the main wasm instead of after it.
//!
//! Leptos names a page's files in the split build's manifest
//! (`__wasm_split_manifest.{hash}.json`) under the name of its view function:
//! `__{route type, snake case}_view_{hash of the #[lazy] call site}`. Its own
//! preloading of them (leptos_integration_utils 0.8.9) looks the manifest up
//! outside the page's reactive owner and finds nothing, so the server does it
//! here. If a later Leptos does it itself, every lazy page's `<head>` gets each
//! link twice: then delete this module. Without a split build there is no
//! manifest and nothing is preloaded.
//!
//! The links are registered before the page's own `<head>` tags, and leptos_meta
//! hydrates its tags by position: a lazy page that adds a `<Meta>`, `<Link>`,
//! `<Script>` or `<Stylesheet>` of its own would be hydrated onto a preload
//! link. (`<Title>` is hydrated apart, and is all the pages use.)

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;
use leptos_meta::Link;

/// A split build's manifest, as the server read it at startup
/// (`assets::split_manifest` in the server crate, beside its other `hash.txt` reading).
pub struct Manifest {
    /// `/pkg`, as the browser asks for the files.
    pub pkg: String,
    /// `__wasm_split.{hash}.js`: the loader the files go through.
    pub loader: String,
    pub files: HashMap<String, Vec<String>>,
}

static MANIFEST: OnceLock<Option<Manifest>> = OnceLock::new();

/// Keep the split build's manifest, once at startup (none is no error:
/// `cargo leptos watch` builds without `--split`).
pub fn install(manifest: Option<Manifest>) {
    let _ = MANIFEST.set(manifest);
}

/// The manifest's name for the route type `route`'s view, if it is one:
/// `__{route}_view_` and the digits of a hash.
fn names_route(name: &str, route: &str) -> bool {
    name.strip_prefix("__")
        .and_then(|rest| rest.strip_prefix(route))
        .and_then(|rest| rest.strip_prefix("_view_"))
        .is_some_and(|hash| !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_digit()))
}

/// Put preloads for the lazy route `route` (its type's name, e.g.
/// `ProductRoute`) into the page's `<head>`. Nothing goes into the page's body.
pub fn route(route: &str) {
    static MISSING: AtomicBool = AtomicBool::new(false);
    let Some(Some(manifest)) = MANIFEST.get() else { return };
    let route = snake_case(route);
    let Some(files) = manifest.files.iter().find(|(name, _)| names_route(name, &route)).map(|(_, files)| files) else {
        if !MISSING.swap(true, Ordering::Relaxed) {
            tracing::warn!(route, "the wasm split manifest names no files for this page: its files are not preloaded");
        }
        return;
    };
    let pkg = &manifest.pkg;
    // Rendering a leptos_meta tag on the server registers it for the <head>.
    // At low priority: over HTTP/1.1's six connections, ~60 files at the
    // preload's usual high priority kept the page's image waiting behind them.
    for file in files {
        let href = format!("{pkg}/{file}.wasm");
        _ = view! {
            <Link rel="preload" href=href as_="fetch" type_="application/wasm" crossorigin="anonymous" fetchpriority="low"/>
        }
        .to_html();
    }
    let loader = format!("{pkg}/{}", manifest.loader);
    // No nonce needed: a modulepreload's fetch is not parser-inserted, which
    // the page policy's 'strict-dynamic' allows (as for Leptos' own).
    _ = view! { <Link rel="modulepreload" href=loader crossorigin="anonymous"/> }.to_html();
}

/// The wasm files of the lazy routes `routes` (their types' names), each
/// once, as the browser asks for them: what the catalog has the browser
/// fetch ahead, at idle priority, once it has hydrated (see
/// `lazy::prefetch_next_pages`). Empty without a split build.
pub fn files_of(routes: &[&str]) -> Vec<String> {
    let Some(Some(manifest)) = MANIFEST.get() else { return Vec::new() };
    let mut hrefs: Vec<String> = Vec::new();
    for route in routes {
        let route = snake_case(route);
        for (_, files) in manifest.files.iter().filter(|(name, _)| names_route(name, &route)) {
            hrefs.extend(files.iter().map(|file| format!("{}/{file}.wasm", manifest.pkg)));
        }
    }
    hrefs.sort_unstable();
    hrefs.dedup();
    hrefs
}

/// `ProductFormRoute` -> `product_form_route`, as leptos names the view
/// function (the routes' names are letters only).
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
    use super::*;

    #[test]
    fn route_types_name_their_view_functions_as_leptos_does() {
        assert_eq!(snake_case("ProductRoute"), "product_route");
        assert_eq!(snake_case("MyOrdersRoute"), "my_orders_route");
        assert_eq!(snake_case("ProductFormRoute"), "product_form_route");
    }

    #[test]
    fn a_route_finds_only_its_own_files() {
        assert!(names_route("__product_route_view_10756128382279153931", "product_route"));
        assert!(!names_route("__product_form_route_view_10756128382279153931", "product_route"));
        assert!(!names_route("__my_orders_route_view_1", "orders_route"));
        assert!(!names_route("__orders_route_view_1", "order_route"));
        assert!(!names_route("__product_route_view_", "product_route"));
    }
}
