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
