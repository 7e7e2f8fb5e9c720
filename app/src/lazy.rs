//! Lazy routes: pages whose code loads when they are opened.

/// Pages as lazy routes: built with `cargo leptos ... --split`, each page's code
/// is a separate wasm file, downloaded when the page is first opened (or, for
/// the page the server rendered, before hydrating). Without `--split` (see
/// `build.rs`) the browser's are ordinary routes, because a lazy function's
/// placeholder import only resolves in a split build. Call it where
/// `leptos::prelude::*` and the page components are in scope.
///
/// The server's are lazy routes too, and rendering one preloads its wasm
/// files from the page's `<head>` (see `server::preload`): otherwise a page
/// opened directly fetched its files (up to ~60) only once the main wasm had run.
macro_rules! lazy_pages {
    ($($(#[$doc:meta])* $route:ident => $page:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $route;

        #[cfg(any(wasm_split, feature = "ssr"))]
        #[::leptos_router::lazy_route]
        impl ::leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                #[cfg(feature = "ssr")]
                $crate::server::preload::route(stringify!($route));
                $crate::live::page_hydrated();
                view! { <$page/> }.into_any()
            }
        }

        #[cfg(not(any(wasm_split, feature = "ssr")))]
        impl ::leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn view(_this: Self) -> AnyView {
                $crate::live::page_hydrated();
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

/// Once the page has loaded (its images too) and had a moment more: has the
/// browser fetch, at idle priority, the files of the pages the server named
/// in `<meta name="livecart-next-pages">` (the catalog does), so moving to one
/// of them needs no download. Only into the HTTP cache (the server sends them
/// as immutable): a file that fails here costs nothing, and the page's code
/// is not run until the page is opened.
pub fn prefetch_next_pages() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast as _;
        let Some(window) = web_sys::window() else { return };
        let Some(document) = window.document() else { return };
        if document.ready_state() == "complete" {
            prefetch_after_a_moment(document);
        } else {
            // The load event fires once per page: the closure is dropped after it.
            let on_load = wasm_bindgen::closure::Closure::once_into_js(move || prefetch_after_a_moment(document));
            let _ = window.add_event_listener_with_callback("load", on_load.unchecked_ref());
        }
    }
}

#[cfg(feature = "hydrate")]
fn prefetch_after_a_moment(document: web_sys::Document) {
    leptos::task::spawn_local(async move {
        gloo_timers::future::sleep(std::time::Duration::from_millis(1000)).await;
        let Ok(Some(meta)) = document.query_selector("head > meta[name=livecart-next-pages]") else { return };
        // Once per page load (the effect that calls this may run again).
        meta.remove();
        let (Some(files), Ok(Some(head))) = (meta.get_attribute("content"), document.query_selector("head")) else { return };
        // Only the build's own files.
        for href in files.split_whitespace().filter(|href| href.starts_with("/pkg/") && href.ends_with(".wasm")) {
            let Ok(link) = document.create_element("link") else { return };
            for (name, value) in [("rel", "prefetch"), ("href", href), ("as", "fetch"), ("crossorigin", "anonymous")] {
                let _ = link.set_attribute(name, value);
            }
            let _ = head.append_child(&link);
        }
    });
}
