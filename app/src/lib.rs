//! livecart's pages, shared types and server functions. Compiled twice: with
//! `ssr` into the server, with `hydrate` into the browser's wasm.

pub mod catalog;
pub mod components;
pub mod error;
pub mod live;
pub mod model;
pub mod protocol;
#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::catalog::{CatalogPage, ProductPage};
use crate::components::{Footer, Header, NotFound};
use crate::live::LiveClient;

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="description" content="livecart: a shop whose prices and stock update live."/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let live = LiveClient::new();
    provide_context(live);
    Effect::new(move |_| {
        live.start();
        live::mark_hydrated();
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/livecart.css"/>
        <Title text="livecart"/>
        <Router>
            <Header/>
            <main class="container main">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/products/:id") view=ProductPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <Footer/>
        </Router>
    }
}
