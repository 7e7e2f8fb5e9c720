//! The staff console under `/admin`: orders (live), products, the inbox and questions (live), categories, API tokens.

pub mod api;
mod categories_page;
mod inbox_page;
mod orders_page;
mod product_form;
mod products_page;
mod questions_page;
mod tokens_page;

use categories_page::AdminCategoriesPage;
use inbox_page::AdminInboxPage;
use orders_page::AdminOrdersPage;
use product_form::ProductFormPage;
use products_page::AdminProductsPage;
use questions_page::AdminQuestionsPage;
use tokens_page::AdminTokensPage;

use leptos::prelude::*;
use leptos_router::components::{A, Redirect};
use leptos_router::hooks::use_location;

// The staff pages as lazy routes (see `lazy_pages!`): only staff download
// their code, when they open the console.
lazy_pages! {
    /// `/admin`
    OrdersRoute => AdminOrdersPage;
    /// `/admin/products`
    ProductsRoute => AdminProductsPage;
    /// `/admin/products/new` and `/admin/products/{id}`
    ProductFormRoute => ProductFormPage;
    /// `/admin/categories`
    CategoriesRoute => AdminCategoriesPage;
    /// `/admin/questions`
    QuestionsRoute => AdminQuestionsPage;
    /// `/admin/inbox`
    InboxRoute => AdminInboxPage;
    /// `/admin/tokens`
    TokensRoute => AdminTokensPage;
}

use crate::components::ErrorBox;
use crate::error::AppError;

/// The console's tabs.
#[component]
fn AdminNav() -> impl IntoView {
    view! {
        <nav class="admin-nav" aria-label="Staff console">
            <span class="admin-label">"Staff"</span>
            <A href="/admin" exact=true>"Orders"</A>
            <A href="/admin/products" exact=true>"Products"</A>
            <A href="/admin/products/new">"New product"</A>
            <A href="/admin/inbox">"Inbox"</A>
            <A href="/admin/questions">"Questions"</A>
            <A href="/admin/categories">"Categories"</A>
            <A href="/admin/tokens">"API tokens"</A>
            <StaffOnline/>
        </nav>
    }
}

/// Who else has the console open (staff names travel to staff only).
#[component]
fn StaffOnline() -> impl IntoView {
    let presence = crate::live::use_presence(crate::protocol::Topic::Staff);
    move || {
        presence.get().filter(|f| !f.names.is_empty()).map(|f| {
            view! { <span class="staff-online" data-test-id="staff-online">{format!("Online: {}", f.names.join(", "))}</span> }
        })
    }
}

/// What a staff page shows when its data did not load: the login page for a
/// visitor, a 403 for a shopper, the error otherwise.
fn staff_error(err: AppError) -> AnyView {
    match err {
        AppError::Unauthorized => {
            let back = use_location().pathname.get_untracked();
            view! { <Redirect path=format!("/login?next={back}")/> }.into_any()
        }
        AppError::Forbidden => view! { <Forbidden/> }.into_any(),
        err => view! { <ErrorBox message=err.sentence()/> }.into_any(),
    }
}

/// 403 for signed-in shoppers who open a staff page.
#[component]
fn Forbidden() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <section class="notice" data-test-id="forbidden">
            <p class="notice-code">"403"</p>
            <h1>"Staff only"</h1>
            <p>"This part of the shop is for staff. Sign in with a staff account to use it."</p>
            <A href="/" attr:class="button">"Back to the shop"</A>
        </section>
    }
}

/// A one-line result of the last action: its error, or nothing.
fn action_error<T>(value: impl Fn() -> Option<Result<T, AppError>> + Send + Sync + 'static) -> impl IntoView {
    move || value().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert" data-test-id="form-error">{e.sentence()}</p> })
}
