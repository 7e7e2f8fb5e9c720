//! Order server functions.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;

use crate::error::AppError;
use crate::model::{Address, CartLine, CustomerId, Order, OrderId, OrderSummary};
use crate::protocol::Snapshot;

#[cfg(feature = "ssr")]
mod ssr {
    use std::collections::BTreeMap;

    use crate::error::AppError;
    use crate::model::{CartLine, CustomerId, ProductId};
    use crate::server::Viewer;

    pub async fn viewer() -> Result<Viewer, AppError> {
        let ctx = crate::server::context::server_context()?;
        crate::server::auth::request_viewer(&ctx.db).await
    }

    pub async fn customer() -> Result<CustomerId, AppError> {
        match viewer().await? {
            Viewer::Customer(id) | Viewer::Staff(id) => Ok(id),
            Viewer::Anonymous => Err(AppError::Unauthorized),
        }
    }

    pub const MAX_LINES: usize = crate::cart::Cart::MAX_LINES;

    /// One line per product, quantities 1..=99, sorted by product (a fixed lock order).
    pub fn merge_lines(lines: &[CartLine]) -> Result<Vec<CartLine>, AppError> {
        if lines.is_empty() {
            return Err(AppError::validation("cart", "your cart is empty"));
        }
        if lines.len() > MAX_LINES {
            return Err(AppError::validation("cart", format!("at most {MAX_LINES} lines per order")));
        }
        let mut merged: BTreeMap<ProductId, i64> = BTreeMap::new();
        for line in lines {
            if line.product_id.0 <= 0 {
                return Err(AppError::NotFound(format!("Product {}", line.product_id)));
            }
            if !(1..=CartLine::MAX_QUANTITY).contains(&line.quantity) {
                return Err(AppError::validation("quantity", format!("quantity must be between 1 and {}", CartLine::MAX_QUANTITY)));
            }
            let q = merged.entry(line.product_id).or_default();
            *q += line.quantity;
            if *q > CartLine::MAX_QUANTITY {
                return Err(AppError::validation("quantity", format!("at most {} of one product per order", CartLine::MAX_QUANTITY)));
            }
        }
        Ok(merged.into_iter().map(|(product_id, quantity)| CartLine { product_id, quantity }).collect())
    }

    pub fn check_key(key: &str) -> Result<(), AppError> {
        let ok = (8..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(()) } else { Err(AppError::validation("idempotency_key", "8 to 64 letters, digits, '-' or '_'")) }
    }
}

/// Buy the cart: every line or nothing. Retrying with the same
/// `idempotency_key` returns the same order instead of buying twice.
#[server(endpoint = "checkout", input = Json)]
pub async fn place_order(lines: Vec<CartLine>, address: Address, idempotency_key: String) -> Result<OrderId, AppError> {
    let run = async {
        let ctx = crate::server::context::server_context()?;
        let user = crate::server::auth::request_user(&ctx.db).await?;
        place(&ctx, &user, &lines, &address, &idempotency_key).await
    };
    run.await.map_err(AppError::respond)
}

/// Check and place one order for `user`: the checkout of the browser's cart
/// ([`place_order`]) and of the session's (`cart_checkout`, without JavaScript).
#[cfg(feature = "ssr")]
pub async fn place(
    ctx: &crate::server::context::ServerContext,
    user: &crate::model::User,
    lines: &[CartLine],
    address: &Address,
    idempotency_key: &str,
) -> Result<OrderId, AppError> {
    use crate::server::PlaceOutcome;

    let lines = ssr::merge_lines(lines)?;
    let address = address.validated().map_err(|(field, message)| AppError::validation(field, message))?;
    ssr::check_key(idempotency_key)?;
    let save_address = user.address.as_ref() != Some(&address);
    match ctx.db.place_order(user.id, &lines, &address, idempotency_key, save_address).await.map_err(AppError::internal)? {
        PlaceOutcome::Placed(id) | PlaceOutcome::Existing(id) => Ok(id),
        PlaceOutcome::OutOfStock { product, available } => Err(AppError::OutOfStock { product, available }),
        PlaceOutcome::UnknownProduct(id) => Err(AppError::NotFound(format!("Product {id}"))),
    }
}

/// The signed-in customer's orders, newest first, with their topic's customer.
#[server(endpoint = "my_orders")]
pub async fn list_my_orders() -> Result<(CustomerId, Snapshot<Vec<OrderSummary>>), AppError> {
    let run = async {
        let ctx = crate::server::context::server_context()?;
        let customer = ssr::customer().await?;
        let seq = ctx.watermark.get();
        let data = crate::server::queries::orders::list_for_customer(&ctx.db, customer).await.map_err(AppError::internal)?;
        Ok((customer, Snapshot { seq, data }))
    };
    run.await.map_err(AppError::respond)
}

/// One order. Another customer's order is "not found", never its data.
#[server(endpoint = "order")]
pub async fn get_order(id: i64) -> Result<Snapshot<Order>, AppError> {
    use crate::server::Viewer;

    let run = async {
        let ctx = crate::server::context::server_context()?;
        let viewer = ssr::viewer().await?;
        if viewer == Viewer::Anonymous {
            return Err(AppError::Unauthorized);
        }
        let seq = ctx.watermark.get();
        let order = crate::server::queries::orders::get(&ctx.db, OrderId(id)).await.map_err(AppError::internal)?;
        match order {
            Some(order) if matches!(viewer, Viewer::Staff(_)) || viewer == Viewer::Customer(order.customer_id) => {
                Ok(Snapshot { seq, data: order })
            }
            _ => Err(AppError::NotFound(format!("Order {id}"))),
        }
    };
    run.await.map_err(AppError::respond)
}
