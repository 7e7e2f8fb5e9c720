//! The cart for a browser without JavaScript, or before the page's code has
//! arrived: kept in the session on the server and changed by plain form
//! posts, each answered with a redirect to `/cart` (post, redirect, get).
//! Once the cart page's code runs it moves these lines into the browser's
//! cart ([`take_session_cart`]) and the session's cart empties, so a shopper
//! has one cart whichever way they added to it.
//!
//! The form endpoints never answer with an error: a plain form post cannot
//! show one. What happened (added, refused and why) is kept in the session as
//! a notice that the next render of `/cart` shows once.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{Address, CartLine, ProductSummary};

/// What `/cart` shows of the session's cart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionCartView {
    /// Each line with its product as it is now (`None`: no longer sold).
    pub lines: Vec<(CartLine, Option<ProductSummary>)>,
    /// What the last form post did, or why it did not, shown once.
    pub notice: Option<Notice>,
    /// The address typed into a checkout that was refused, to fill in again.
    pub address: Option<Address>,
}

impl SessionCartView {
    /// What the page showed: each line's product, quantity and price. The
    /// checkout form sends it back, and an order is placed only for a cart
    /// that still reads the same (not one another tab or a price change
    /// altered since).
    pub fn fingerprint(&self) -> String {
        let shown: String = self
            .lines
            .iter()
            .map(|(line, p)| {
                format!("{}x{}@{};", line.product_id, line.quantity, p.as_ref().map(|p| p.price.to_string()).unwrap_or_default())
            })
            .collect();
        // FNV-1a: a short, stable digest (not a secret).
        let hash = shown.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        format!("{hash:016x}")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub text: String,
    pub problem: bool,
}

#[cfg(feature = "ssr")]
mod ssr {
    use serde::{Deserialize, Serialize};
    use tower_sessions::Session;

    use super::Notice;
    use crate::error::AppError;
    use crate::model::{Address, CartLine};

    const CART: &str = "cart";
    const NOTICE: &str = "cart_notice";
    const ADDRESS: &str = "cart_address";
    const LAST_ORDER: &str = "cart_last_order";

    /// The cart as the session keeps it, with the idempotency key its
    /// checkout will use (the same for every retry, a new one after an order).
    #[derive(Debug, Default, Serialize, Deserialize)]
    pub struct Stored {
        pub lines: Vec<CartLine>,
        pub key: String,
    }

    fn session_error(e: tower_sessions::session::Error) -> AppError {
        AppError::internal(anyhow::anyhow!("the session store: {e}"))
    }

    pub async fn session() -> Result<Session, AppError> {
        crate::server::auth::request_session().await
    }

    pub async fn load(session: &Session) -> Result<Stored, AppError> {
        Ok(session.get::<Stored>(CART).await.map_err(session_error)?.unwrap_or_default())
    }

    pub async fn save(session: &Session, mut cart: Stored) -> Result<(), AppError> {
        if cart.lines.is_empty() {
            return session.remove::<Stored>(CART).await.map(drop).map_err(session_error);
        }
        if cart.key.is_empty() {
            cart.key = format!("s{}", tower_sessions::session::Id::default());
        }
        session.insert(CART, cart).await.map_err(session_error)
    }

    /// A cart whose lines changed: a new idempotency key for its checkout,
    /// so an order placed from the old lines is never taken for this one.
    pub fn changed(mut cart: Stored) -> Stored {
        cart.key.clear();
        cart
    }

    pub async fn tell(session: &Session, text: impl Into<String>, problem: bool) -> Result<(), AppError> {
        session.insert(NOTICE, Notice { text: text.into(), problem }).await.map_err(session_error)
    }

    pub async fn take_notice(session: &Session) -> Result<Option<Notice>, AppError> {
        session.remove::<Notice>(NOTICE).await.map_err(session_error)
    }

    pub async fn keep_address(session: &Session, address: Option<Address>) -> Result<(), AppError> {
        match address {
            Some(a) => session.insert(ADDRESS, a).await.map_err(session_error),
            None => session.remove::<Address>(ADDRESS).await.map(drop).map_err(session_error),
        }
    }

    /// Kept until an order is placed: the page may be shown many times between.
    pub async fn typed_address(session: &Session) -> Result<Option<Address>, AppError> {
        session.get::<Address>(ADDRESS).await.map_err(session_error)
    }

    /// Each line with its product as it is now (`None`: no longer sold).
    pub async fn with_products(
        ctx: &crate::server::ServerContext,
        lines: Vec<CartLine>,
    ) -> Result<Vec<(CartLine, Option<crate::model::ProductSummary>)>, AppError> {
        let ids: Vec<crate::model::ProductId> = lines.iter().map(|l| l.product_id).collect();
        let rows = ctx.db.products_by_ids(&ids).await.map_err(AppError::internal)?;
        let mut out = Vec::with_capacity(lines.len());
        for line in lines {
            let product = match rows.iter().find(|p| p.id == line.product_id && !p.archived) {
                Some(row) => Some(row.summary().map_err(AppError::internal)?),
                None => None,
            };
            out.push((line, product));
        }
        Ok(out)
    }

    /// The order this session's cart last became: where a checkout sent
    /// again after it (a double click) is sent too.
    pub async fn remember_order(session: &Session, id: crate::model::OrderId) -> Result<(), AppError> {
        session.insert(LAST_ORDER, id).await.map_err(session_error)
    }

    pub async fn last_order(session: &Session) -> Result<Option<crate::model::OrderId>, AppError> {
        session.get(LAST_ORDER).await.map_err(session_error)
    }

    /// Where every form post here lands.
    pub fn back_to_cart() {
        leptos_axum::redirect("/cart");
    }
}

/// The session's cart with its products, and the notice left by the last
/// form post (taken: it shows once).
#[server(endpoint = "session_cart")]
pub async fn session_cart() -> Result<SessionCartView, AppError> {
    let ctx = crate::server::context::server_context()?;
    let session = ssr::session().await?;
    let stored = ssr::load(&session).await?;
    let lines = ssr::with_products(&ctx, stored.lines).await?;
    Ok(SessionCartView { lines, notice: ssr::take_notice(&session).await?, address: ssr::typed_address(&session).await? })
}

/// Empty the session's cart and return its lines, for the browser's cart to
/// take in; nothing when those lines were bought already (a checkout sent
/// before the page's code ran, answered after).
#[server(endpoint = "take_session_cart")]
pub async fn take_session_cart() -> Result<Vec<CartLine>, AppError> {
    let ctx = crate::server::context::server_context()?;
    let session = ssr::session().await?;
    let stored = ssr::load(&session).await?;
    ssr::save(&session, ssr::Stored::default()).await?;
    if let Some(customer) = crate::server::auth::session_user(&session).await.map_err(AppError::internal)?
        && !stored.key.is_empty()
        && ctx.db.order_for_key(customer, &stored.key).await.map_err(AppError::internal)?.is_some()
    {
        return Ok(Vec::new());
    }
    Ok(stored.lines)
}

/// "Add to cart" as a plain form: one more of `product`, never more than is
/// in stock; then to `/cart`, which says what happened.
#[server(endpoint = "cart_add")]
pub async fn cart_add(product: i64, quantity: Option<i64>) -> Result<(), AppError> {
    use crate::cart::Cart;
    use crate::model::ProductId;

    let ctx = crate::server::context::server_context()?;
    let session = ssr::session().await?;
    let id = ProductId(product);
    let row = ctx.db.products_by_ids(&[id]).await.map_err(AppError::internal)?.into_iter().find(|p| p.id == id && !p.archived);
    // A visitor without a session gets one only for a cart that holds
    // something, and only so many per address: each is a row until it expires.
    let new_visitor = session.id().is_none();
    let Some(p) = row.filter(|p| p.stock > 0 || !new_visitor) else {
        // Gone or sold out: its page says so.
        leptos_axum::redirect(&format!("/products/{id}"));
        return Ok(());
    };
    if new_visitor && ctx.auth.begin_anonymous_cart(crate::server::auth::request_client_addr()).is_err() {
        leptos_axum::redirect(&format!("/products/{id}"));
        return Ok(());
    }
    let mut cart = ssr::load(&session).await?;
    let limit = p.stock.min(CartLine::MAX_QUANTITY);
    let have = cart.lines.iter().find(|l| l.product_id == id).map_or(0, |l| l.quantity);
    let want = (have + quantity.unwrap_or(1).clamp(1, CartLine::MAX_QUANTITY)).min(limit);
    let (text, problem) = if p.stock <= 0 {
        (format!("{} is sold out.", p.name), true)
    } else if have == 0 && cart.lines.len() >= Cart::MAX_LINES {
        (format!("Your cart is full ({} products). Buy or remove some to add more.", Cart::MAX_LINES), true)
    } else if want == have && limit == CartLine::MAX_QUANTITY {
        (format!("One order can hold at most {limit} of one product."), true)
    } else if want == have && limit == 1 {
        (format!("The last {} is in your cart already.", p.name), true)
    } else if want == have {
        (format!("Your cart already holds all {limit} of {} there are.", p.name), true)
    } else {
        let text = if want < have {
            (format!("Only {want} of {} are left: your cart now holds {want}.", p.name), true)
        } else {
            (format!("Added {} to your cart.", p.name), false)
        };
        match cart.lines.iter_mut().find(|l| l.product_id == id) {
            Some(line) => line.quantity = want,
            None => cart.lines.push(CartLine { product_id: id, quantity: want }),
        }
        ssr::save(&session, ssr::changed(cart)).await?;
        text
    };
    ssr::tell(&session, text, problem).await?;
    ssr::back_to_cart();
    Ok(())
}

/// A line's new quantity as a plain form (0 removes it); then to `/cart`.
#[server(endpoint = "cart_update")]
pub async fn cart_update(product: i64, quantity: i64) -> Result<(), AppError> {
    let session = ssr::session().await?;
    let mut cart = ssr::load(&session).await?;
    if quantity <= 0 {
        cart.lines.retain(|l| l.product_id.0 != product);
    } else if let Some(line) = cart.lines.iter_mut().find(|l| l.product_id.0 == product) {
        line.quantity = quantity.min(CartLine::MAX_QUANTITY);
    }
    ssr::save(&session, ssr::changed(cart)).await?;
    ssr::back_to_cart();
    Ok(())
}

/// Buy the session's cart as a plain form: to the order's page when it is
/// placed, to sign in when nobody is, back to `/cart` saying why otherwise.
/// Sending the form twice buys once (the cart's idempotency key); a cart
/// that changed since the page showed it (`shown`, its fingerprint) is shown
/// again instead of bought.
#[server(endpoint = "cart_checkout")]
pub async fn cart_checkout(
    name: String,
    street: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    shown: String,
) -> Result<(), AppError> {
    let ctx = crate::server::context::server_context()?;
    let session = ssr::session().await?;
    let user = match crate::server::auth::current_user(&ctx.db, &session).await.map_err(AppError::internal)? {
        Some(user) => user,
        None => {
            leptos_axum::redirect("/login?next=/cart");
            return Ok(());
        }
    };
    let address = Address { name, street, city, region, postal_code, country };
    let mut cart = ssr::load(&session).await?;
    if cart.lines.is_empty()
        && let Some(id) = ssr::last_order(&session).await?
    {
        // Sent again after the order was placed: to that order.
        leptos_axum::redirect(&format!("/orders/{id}?placed=1"));
        return Ok(());
    }
    let now = SessionCartView { lines: ssr::with_products(&ctx, cart.lines.clone()).await?, notice: None, address: None };
    if now.fingerprint() != shown {
        ssr::tell(
            &session,
            "Your cart changed since this page was shown (a price, the stock or another tab). Check it and place your order again.",
            true,
        )
        .await?;
        ssr::keep_address(&session, Some(address)).await?;
        ssr::back_to_cart();
        return Ok(());
    }
    if cart.key.is_empty() {
        // A cart saved before keys: give it one now, kept for its retries.
        ssr::save(&session, std::mem::take(&mut cart)).await?;
        cart = ssr::load(&session).await?;
    }
    match crate::orders::api::place(&ctx, &user, &cart.lines, &address, &cart.key).await {
        Ok(id) => {
            ssr::save(&session, ssr::Stored::default()).await?;
            ssr::remember_order(&session, id).await?;
            ssr::keep_address(&session, None).await?;
            leptos_axum::redirect(&format!("/orders/{id}?placed=1"));
        }
        Err(err) => {
            ssr::tell(&session, err.sentence(), true).await?;
            ssr::keep_address(&session, Some(address)).await?;
            ssr::back_to_cart();
        }
    }
    Ok(())
}
