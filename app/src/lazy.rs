//! Lazy routes: pages whose code loads when they are opened.

/// Pages as lazy routes: built with `cargo leptos ... --split`, each page's code
/// is a separate wasm file, downloaded when the page is first opened (or, for
/// the page the server rendered, before hydrating). Without `--split` (see
/// `build.rs`) they are ordinary routes, because a lazy function's placeholder
/// import only resolves in a split build. Call it where `leptos::prelude::*`
/// and the page components are in scope.
macro_rules! lazy_pages {
    ($($(#[$doc:meta])* $route:ident => $page:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $route;

        #[cfg(wasm_split)]
        #[::leptos_router::lazy_route]
        impl ::leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                $crate::live::page_hydrated();
                view! { <$page/> }.into_any()
            }
        }

        #[cfg(not(wasm_split))]
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
