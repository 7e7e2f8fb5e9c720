#![recursion_limit = "256"]
//! The browser entry point: hydrate the server-rendered page. `hydrate_lazy`
//! waits for a lazy route's split-out code (every page but the catalog) before
//! hydrating it.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic stops the module for good: say so on the page, not only in
    // the console (see `show_crash_notice`).
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        app::components::show_crash_notice();
    }));
    leptos::mount::hydrate_lazy(app::App);
}
