//! livecart's pages, shared types and server functions. Compiled twice: with
//! `ssr` into the server, with `hydrate` into the browser's wasm.

// The view types of a full page nest deeply; release builds need the room.
#![recursion_limit = "256"]

#[macro_use]
mod lazy;

pub mod account;
pub mod admin;
pub mod cart;
pub mod catalog;
pub mod components;
pub mod error;
pub mod json;
pub mod live;
pub mod model;
pub mod orders;
pub mod protocol;
pub mod questions;
pub mod security;
#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::Lazy;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::account::api::{Login, Logout, Register, current_user};
use crate::account::{LoginPage, RegisterPage};
use crate::admin::{CategoriesRoute, InboxRoute, OrdersRoute, ProductFormRoute, ProductsRoute, QuestionsRoute, TokensRoute};
use crate::cart::{Cart, CartPage};
use crate::catalog::{CatalogPage, ProductPage};
use crate::components::{Footer, Header, NotFound};
use crate::error::AppError;
use crate::live::{ConnStatus, LiveClient};
use crate::model::User;
use crate::orders::{OrderPage, OrdersPage};

// Every page but the catalog (the landing page) is a lazy route: a shopper's
// first visit downloads the catalog and what all pages share, each other page's
// code when it is first opened. (Pages that show browser-only state must not
// show it before they hydrate: see `Cart::ready_here`.)
lazy_pages! {
    /// `/products/{id}`
    ProductRoute => ProductPage;
    /// `/cart`
    CartRoute => CartPage;
    /// `/login`
    LoginRoute => LoginPage;
    /// `/register`
    RegisterRoute => RegisterPage;
    /// `/orders`
    MyOrdersRoute => OrdersPage;
    /// `/orders/{id}`
    OrderRoute => OrderPage;
}

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
                // Server-rendered only: the stylesheet's name carries its content hash.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
                // Without JavaScript, what waits for the page's code (e.g. "Loading
                // your cart…") is hidden; <noscript> content says what to do instead.
                <noscript><style>".needs-js{display:none!important}"</style></noscript>
                {next_pages_code()}
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// On the catalog, the landing page: the files of the pages a shopper most
/// likely opens next (a product, the cart), for the browser to fetch ahead
/// once the page has hydrated (`lazy::prefetch_next_pages`). ~65 small files
/// each: fetched only when tapped, over HTTP/1.1's six connections and a
/// phone's round trips, they made the first move to a product page take
/// ~3 s on the slow profile. Server-rendered only, outside what hydrates.
fn next_pages_code() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let files = {
        static FILES: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let on_catalog = with_context::<axum::http::request::Parts, _>(|parts| parts.uri.path() == "/").unwrap_or(false);
        on_catalog.then(|| FILES.get_or_init(|| server::preload::files_of(&["ProductRoute", "CartRoute"]).join(" ")).clone())
    };
    #[cfg(not(feature = "ssr"))]
    let files: Option<String> = None;
    files.filter(|files| !files.is_empty()).map(|files| view! { <meta name="livecart-next-pages" content=files/> })
}

/// The account actions and the signed-in user, shared by the header and pages.
#[derive(Clone, Copy)]
pub struct AuthActions {
    pub login: ServerAction<Login>,
    pub register: ServerAction<Register>,
    pub logout: ServerAction<Logout>,
    pub user: crate::json::Loaded<Result<Option<User>, AppError>>,
}

impl AuthActions {
    /// Changes when the shopper signs in, registers or signs out: the key of
    /// what is loaded per account (the same on the server and while hydrating).
    pub fn versions(&self) -> (usize, usize, usize) {
        versions(self.login, self.register, self.logout)
    }
}

fn versions(login: ServerAction<Login>, register: ServerAction<Register>, logout: ServerAction<Logout>) -> (usize, usize, usize) {
    (login.version().get(), register.version().get(), logout.version().get())
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let live = LiveClient::new();
    provide_context(live);
    let cart = Cart::new();
    provide_context(cart);
    let holders = crate::cart::CartHolders::new();
    provide_context(holders);
    provide_context(crate::cart::Toast::new());
    provide_context(crate::components::Announcer::new());
    let (routing, set_routing) = signal(false);
    Effect::new(move |_| {
        live.start();
        cart.load();
        holders.follow(cart, live);
        lazy::prefetch_next_pages();
    });

    view! {
        // Every page's <title> passes through this formatter: leptos_meta writes
        // the title into the server's HTML unescaped, so it is escaped here.
        <Title text="livecart" formatter=security::title_formatter()/>
        <Router set_is_routing=set_routing>
            // A move between pages that takes a moment (the page's code or data
            // on its way) shows a bar at the top while the current page stays.
            <Show when=move || routing.get()>
                <div class="route-progress" role="progressbar" aria-label="Loading the page" data-test-id="route-progress"></div>
            </Show>
            <Site/>
        </Router>
    }
}

/// Everything inside the router. The account actions are made here, where the
/// router provides the error a no-wasm form post was redirected back with.
#[component]
fn Site() -> impl IntoView {
    let live = expect_context::<LiveClient>();
    let (login, register, logout) = (ServerAction::<Login>::new(), ServerAction::<Register>::new(), ServerAction::<Logout>::new());
    let user = crate::json::load(move || versions(login, register, logout), |_| current_user());
    let actions = AuthActions { login, register, logout, user };
    provide_context(actions);
    // Signing in or out changes what the socket may follow: reconnect with the new session.
    Effect::new(move |previous: Option<(usize, usize, usize)>| {
        let now = actions.versions();
        if previous.is_some_and(|p| p != now) {
            live.reconnect();
        }
        now
    });

    view! {
            // The first Tab stop: past the header to the page (the browser
            // follows it, not the router: focus moves into <main>).
            <a href="#main" class="skip-link" rel="external">"Skip to content"</a>
            <Header/>
            <crate::cart::ToastRegion/>
            <crate::components::AnnouncerRegion/>
            // While the socket is down, what shows may be out of date: dimmed.
            <main id="main" tabindex="-1" class="container main" class:stale=move || matches!(live.status().get(), ConnStatus::Reconnecting | ConnStatus::Offline)>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=CatalogPage ssr=SsrMode::Async/>
                    <Route path=path!("/products/:id") view={Lazy::<ProductRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/cart") view={Lazy::<CartRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()}/>
                    <Route path=path!("/register") view={Lazy::<RegisterRoute>::new()}/>
                    <Route path=path!("/orders") view={Lazy::<MyOrdersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/orders/:id") view={Lazy::<OrderRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view={Lazy::<OrdersRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products") view={Lazy::<ProductsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products/new") view={Lazy::<ProductFormRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/products/:id") view={Lazy::<ProductFormRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/categories") view={Lazy::<CategoriesRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/questions") view={Lazy::<QuestionsRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/inbox") view={Lazy::<InboxRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/tokens") view={Lazy::<TokensRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
            <Footer/>
    }
}
