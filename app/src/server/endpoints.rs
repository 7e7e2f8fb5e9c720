//! Which body type each server function takes, so the host can refuse any other
//! (415) before Leptos decodes it: a JSON body sent as `text/plain` (which a
//! foreign page can post without asking) must not place an order.

use leptos::server_fn::codec::Encoding;
use leptos::server_fn::{Http, ServerFn};

use crate::account::api::{CurrentUser, Login, Logout, Register};
use crate::admin::api::{
    AdminCategories, AdminOrders, AdminProduct, AdminProducts, ApiTokens, ArchiveProduct, CreateApiToken, CreateCategory, MoveOrder,
    RenameCategory, Restock, RevokeApiToken, SaveProduct,
};
use crate::cart::{CartAdd, CartCheckout, CartUpdate, SessionCart, TakeSessionCart};
use crate::catalog::api::{CatalogPage, GetProduct, ListCategories, ProductsById};
use crate::orders::api::{GetOrder, ListMyOrders, PlaceOrder};
use crate::orders::conversation_api::{MarkConversationRead, MyUnread, OlderMessages, OrderConversation, SendMessage, StaffInbox};
use crate::questions::api::{
    AnswerQuestion, AskQuestion, DeleteQuestion, HideAuthor, ProductQuestions, QuestionQueue, SetDisplayName, VoteQuestion,
};

fn declared<S, I, O>() -> (&'static str, &'static str)
where
    S: ServerFn<Protocol = Http<I, O>>,
    I: Encoding,
{
    (S::PATH, I::CONTENT_TYPE)
}

/// Every server function's path and the content type its body must have.
pub fn input_types() -> Vec<(&'static str, &'static str)> {
    vec![
        declared::<CurrentUser, _, _>(),
        declared::<Login, _, _>(),
        declared::<Logout, _, _>(),
        declared::<Register, _, _>(),
        declared::<AdminCategories, _, _>(),
        declared::<AdminOrders, _, _>(),
        declared::<AdminProduct, _, _>(),
        declared::<AdminProducts, _, _>(),
        declared::<ApiTokens, _, _>(),
        declared::<ArchiveProduct, _, _>(),
        declared::<CreateApiToken, _, _>(),
        declared::<CreateCategory, _, _>(),
        declared::<MoveOrder, _, _>(),
        declared::<RenameCategory, _, _>(),
        declared::<RevokeApiToken, _, _>(),
        declared::<Restock, _, _>(),
        declared::<SaveProduct, _, _>(),
        declared::<GetProduct, _, _>(),
        declared::<CatalogPage, _, _>(),
        declared::<ListCategories, _, _>(),
        declared::<ProductsById, _, _>(),
        declared::<GetOrder, _, _>(),
        declared::<ListMyOrders, _, _>(),
        declared::<PlaceOrder, _, _>(),
        declared::<SessionCart, _, _>(),
        declared::<TakeSessionCart, _, _>(),
        declared::<CartAdd, _, _>(),
        declared::<CartUpdate, _, _>(),
        declared::<CartCheckout, _, _>(),
        declared::<ProductQuestions, _, _>(),
        declared::<AskQuestion, _, _>(),
        declared::<VoteQuestion, _, _>(),
        declared::<SetDisplayName, _, _>(),
        declared::<AnswerQuestion, _, _>(),
        declared::<DeleteQuestion, _, _>(),
        declared::<HideAuthor, _, _>(),
        declared::<QuestionQueue, _, _>(),
        declared::<OrderConversation, _, _>(),
        declared::<OlderMessages, _, _>(),
        declared::<SendMessage, _, _>(),
        declared::<MarkConversationRead, _, _>(),
        declared::<StaffInbox, _, _>(),
        declared::<MyUnread, _, _>(),
    ]
}

/// Whether a request's `Content-Type` header is the type an endpoint takes
/// (parameters such as `charset` aside).
pub fn content_type_matches(header: Option<&str>, declared: &str) -> bool {
    header.and_then(|h| h.split(';').next()).is_some_and(|m| m.trim().eq_ignore_ascii_case(declared))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_server_function_declares_its_body_type() {
        let listed: std::collections::HashSet<&str> = input_types().into_iter().map(|(path, _)| path).collect();
        for (path, _) in leptos::server_fn::axum::server_fn_paths() {
            assert!(listed.contains(path), "{path} is missing from endpoints::input_types()");
        }
        assert!(input_types().contains(&(PlaceOrder::PATH, "application/json")));
        assert!(input_types().contains(&(Login::PATH, "application/x-www-form-urlencoded")));
    }

    #[test]
    fn content_types_match_by_media_type_only() {
        assert!(content_type_matches(Some("application/json; charset=utf-8"), "application/json"));
        assert!(content_type_matches(Some("Application/JSON"), "application/json"));
        assert!(!content_type_matches(Some("text/plain"), "application/json"));
        assert!(!content_type_matches(None, "application/x-www-form-urlencoded"));
    }
}
