#![recursion_limit = "256"]
//! The browser entry point: hydrate the server-rendered page. `hydrate_lazy`
//! waits for a lazy route's split-out code (every page but the catalog) before
//! hydrating it.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
