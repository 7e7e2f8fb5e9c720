//! The JSON API for other systems, under `/api/v1`. Its OpenAPI document is built
//! from these handlers' annotations by the same router that serves them, so it
//! lists exactly what the server does.

mod extract;
mod orders;
mod products;
mod questions;

use std::sync::LazyLock;

pub use extract::{ApiError, limiter};

use axum::Json;
use axum::Router;
use axum::routing::any;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub const PREFIX: &str = "/api/v1";

/// The OpenAPI document of `/api/v1` (this document).
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "the OpenAPI 3.1 document")))]
async fn openapi_json() -> Json<&'static OpenApi> {
    Json(document())
}

/// Any other path under `/api/v1`.
async fn no_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no API route {}; see {PREFIX}/openapi.json", uri.path()))
}

fn build() -> (Router<AppState>, OpenApi) {
    let api = OpenApiRouter::<AppState>::new()
        .routes(routes!(products::list_products, products::create_product))
        .routes(routes!(products::get_product, products::update_product))
        .routes(routes!(products::set_stock, products::adjust_stock))
        .routes(routes!(orders::list_orders))
        .routes(routes!(orders::get_order))
        .routes(routes!(orders::move_order))
        .routes(routes!(questions::product_questions))
        .routes(routes!(questions::question_queue))
        .routes(routes!(questions::answer_question))
        .routes(routes!(questions::order_messages, questions::send_order_message))
        .routes(routes!(openapi_json));
    let (router, mut doc) = OpenApiRouter::<AppState>::new().nest(PREFIX, api).split_for_parts();
    doc.info = InfoBuilder::new()
        .title("livecart API")
        .version("1")
        .description(Some(
            "Products, stock, orders, product questions and order messages for other systems. Authenticate with `Authorization: Bearer <token>` \
             (`livecart token create`, or the staff console at /admin/tokens). Errors are JSON: \
             {\"error\": code, \"message\": text, \"field\": name (when one field is at fault)}.",
        ))
        .build();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme("token", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    document_shared_refusals(&mut doc);
    (router, doc)
}

/// Refusals that come from layers every route shares rather than from a
/// handler (the rate limit, the body limit and type, other methods): every
/// operation documents them, so a client (or schemathesis) can rely on the
/// document for every status it may see.
fn document_shared_refusals(doc: &mut OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let refusal = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ApiError"))).build())
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut add = |status: &str, description: &str| {
                operation.responses.responses.entry(status.to_string()).or_insert_with(|| refusal(description));
            };
            add("405", "method_not_allowed: this path does not take that method");
            if secured {
                add("401", "unauthorized: no, an unknown or a revoked token");
                add("429", "too_many_requests: over the token's requests per second");
            }
            if operation.request_body.is_some() {
                add("400", "bad_request: malformed JSON, wrong types or unknown fields");
                add("413", "payload_too_large: the body is over 64 KiB");
                add("415", "unsupported_media_type: the body is not application/json");
            }
        }
    }
}

/// The OpenAPI document, built once from the same routes the server serves.
pub fn document() -> &'static OpenApi {
    static DOC: LazyLock<OpenApi> = LazyLock::new(|| build().1);
    &DOC
}

/// The `/api/v1` routes, with a JSON 404 for anything else under the prefix.
pub fn routes() -> Router<AppState> {
    build().0.route(&format!("{PREFIX}/{{*rest}}"), any(no_route))
}
