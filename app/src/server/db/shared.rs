//! Queries whose SQL is the same on both backends (`$N` placeholders work on
//! SQLite too). `shared_queries!` is expanded once in `sqlite.rs` and once in
//! `postgres.rs`, each with its own pool type and its own `begin_write`.

/// A stored user, with the secret parts. Never leaves `server`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
}

/// What a checkout came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// A new order.
    Placed(i64),
    /// The idempotency key was used before: that order.
    Existing(i64),
    /// A line could not be filled; nothing was bought.
    OutOfStock { product: String, available: i64 },
    /// A line names no product.
    UnknownProduct(i64),
}

/// A product row as staff see it (archived ones too).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i64,
    pub units_sold: i64,
    pub image: String,
    pub archived: bool,
    /// Moves with every staff edit of a field (not with stock or sales).
    pub version: i64,
}

/// A checked staff edit of a product: the fields to write (`None`: leave it),
/// a stock change, and the version it was based on (`None`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductEdit {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub price_minor: Option<i64>,
    pub image: Option<String>,
    pub archived: Option<bool>,
    pub stock: Option<StockChange>,
    pub expected_version: Option<i64>,
}

impl ProductEdit {
    /// Whether the edit writes any field besides stock.
    pub fn touches_fields(&self) -> bool {
        self.name.is_some()
            || self.description.is_some()
            || self.category.is_some()
            || self.price_minor.is_some()
            || self.image.is_some()
            || self.archived.is_some()
    }
}

/// How stock changes: to a level, or by a delta. Never by writing back a figure read earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    Set(i64),
    Adjust(i64),
}

/// What a staff edit came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOutcome {
    Edited,
    NoSuchProduct,
    NoSuchCategory,
    /// The edit was based on another version; nothing was written.
    Stale {
        current: i64,
    },
    /// The stock change would leave 0..=max; nothing was written.
    StockOutOfRange {
        current: i64,
    },
}

/// What adjusting stock came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockOutcome {
    /// The new stock level.
    Set(i64),
    NoSuchProduct,
    /// The change would take stock below 0 or over the maximum; stock is `current`.
    OutOfRange {
        current: i64,
    },
}

/// What moving an order along its lifecycle came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveOutcome {
    Moved,
    NoSuchOrder,
    /// Not allowed from the order's current status.
    Illegal {
        from: crate::model::OrderStatus,
    },
}

impl MoveOutcome {
    /// Why a move did not happen, from the order's current status (if it exists).
    pub(super) fn refused(current: Option<String>) -> anyhow::Result<Self> {
        Ok(match current {
            Some(status) => MoveOutcome::Illegal { from: status.parse().map_err(anyhow::Error::msg)? },
            None => MoveOutcome::NoSuchOrder,
        })
    }
}

/// A stored API token (its hash only).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

macro_rules! shared_queries {
    ($pool:ty, $db:ty) => {
        use $crate::model::{Address, CartLine, OrderStatus, ProductDraft};
        use $crate::server::db::shared::{EditOutcome, MoveOutcome, PlaceOutcome, ProductEdit, ProductRow, StockChange, StockOutcome, TokenRow, UserRow};
        use $crate::server::db::{SeedCategory, SeedProduct};

        pub async fn ping(pool: &$pool) -> anyhow::Result<()> {
            sqlx::query::<$db>("SELECT 1").execute(pool).await?;
            Ok(())
        }

        pub async fn categories(pool: &$pool) -> anyhow::Result<Vec<(String, String)>> {
            Ok(sqlx::query_as::<$db, (String, String)>("SELECT slug, name FROM categories ORDER BY position, name").fetch_all(pool).await?)
        }

        pub async fn category_exists(pool: &$pool, slug: &str) -> anyhow::Result<bool> {
            Ok(sqlx::query_scalar::<$db, bool>("SELECT EXISTS (SELECT 1 FROM categories WHERE slug = $1)").bind(slug).fetch_one(pool).await?)
        }

        pub async fn pruned_through(pool: &$pool) -> anyhow::Result<i64> {
            Ok(sqlx::query_scalar::<$db, i64>("SELECT pruned_through FROM feed_state WHERE id = 1").fetch_one(pool).await?)
        }

        pub async fn has_staff(pool: &$pool) -> anyhow::Result<bool> {
            Ok(sqlx::query_scalar::<$db, bool>("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'staff')").fetch_one(pool).await?)
        }

        pub async fn catalog_is_empty(pool: &$pool) -> anyhow::Result<bool> {
            Ok(sqlx::query_scalar::<$db, bool>("SELECT NOT EXISTS (SELECT 1 FROM categories)").fetch_one(pool).await?)
        }

        /// Seed `categories` and `products` if the catalog is empty, in one
        /// transaction; `false` when it was not empty. Instances starting together
        /// on one empty database seed it once (the loser sees the winner's rows).
        pub async fn insert_catalog(pool: &$pool, categories: &[SeedCategory], products: &[SeedProduct]) -> anyhow::Result<bool> {
            let mut tx = begin_write(pool).await?;
            sqlx::query::<$db>(SERIALIZE_SEEDING).execute(&mut *tx).await?;
            if sqlx::query_scalar::<$db, bool>("SELECT EXISTS (SELECT 1 FROM categories)").fetch_one(&mut *tx).await? {
                return Ok(false);
            }
            for (position, c) in (0_i32..).zip(categories) {
                sqlx::query::<$db>("INSERT INTO categories (slug, name, position) VALUES ($1, $2, $3)")
                    .bind(c.slug)
                    .bind(c.name)
                    .bind(position)
                    .execute(&mut *tx)
                    .await?;
            }
            for p in products {
                sqlx::query::<$db>(
                    "INSERT INTO products (category_id, name, description, price_cents, stock, image) \
                     VALUES ((SELECT id FROM categories WHERE slug = $1), $2, $3, $4, $5, $6)",
                )
                .bind(p.category)
                .bind(p.name)
                .bind(p.description)
                .bind(p.price_cents)
                .bind(p.stock)
                .bind(&p.image)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("seeding product '{}'", p.name))?;
            }
            tx.commit().await?;
            Ok(true)
        }

        pub async fn product_count(pool: &$pool) -> anyhow::Result<i64> {
            Ok(sqlx::query_scalar::<$db, i64>("SELECT count(*) FROM products").fetch_one(pool).await?)
        }

        /// Many rows per statement (500 at most: SQLite allows 32,766 parameters).
        pub async fn insert_generated(pool: &$pool, products: &[crate::server::catalog_gen::GeneratedProduct]) -> anyhow::Result<()> {
            let mut tx = begin_write(pool).await?;
            for chunk in products.chunks(500) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let n = i * 6;
                        format!(
                            "((SELECT id FROM categories WHERE slug = ${}), ${}, ${}, ${}, ${}, ${})",
                            n + 1, n + 2, n + 3, n + 4, n + 5, n + 6
                        )
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO products (category_id, name, description, price_cents, stock, image) VALUES {}",
                    rows.join(", ")
                );
                let mut insert = sqlx::query::<$db>(&sql);
                for p in chunk {
                    insert = insert.bind(p.category).bind(&p.name).bind(&p.description).bind(p.price_cents).bind(p.stock).bind(&p.image);
                }
                insert.execute(&mut *tx).await.context("adding generated products (are the demo categories there? `livecart seed` makes them)")?;
            }
            tx.commit().await?;
            Ok(())
        }

        const USER_COLUMNS: &str = "id, username, password_hash, role, street, city, region, postal_code";

        /// The new user's id, or `None` when the name is taken.
        pub async fn create_user(pool: &$pool, username: &str, password_hash: &str, staff: bool) -> anyhow::Result<Option<i64>> {
            let role = if staff { "staff" } else { "customer" };
            let inserted = sqlx::query_scalar::<$db, i64>(
                "INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(username)
            .bind(password_hash)
            .bind(role)
            .fetch_one(pool)
            .await;
            match inserted {
                Ok(id) => Ok(Some(id)),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
                Err(e) => Err(e.into()),
            }
        }

        pub async fn user_by_name(pool: &$pool, username: &str) -> anyhow::Result<Option<UserRow>> {
            Ok(sqlx::query_as::<$db, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users WHERE lower(username) = lower($1)"))
                .bind(username)
                .fetch_optional(pool)
                .await?)
        }

        pub async fn user_by_id(pool: &$pool, id: i64) -> anyhow::Result<Option<UserRow>> {
            Ok(sqlx::query_as::<$db, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?)
        }

        pub async fn order_owner(pool: &$pool, order: i64) -> anyhow::Result<Option<i64>> {
            Ok(sqlx::query_scalar::<$db, i64>("SELECT customer_id FROM orders WHERE id = $1").bind(order).fetch_optional(pool).await?)
        }

        /// Buy every line in one transaction, all or nothing. `lines` are merged
        /// per product and validated by the caller; `save_address` keeps the
        /// address on the account for next time.
        ///
        /// Few statements on purpose: on SQLite the transaction holds the one write
        /// turn, and each statement is a round trip to the connection's thread, so
        /// their number sets the checkout ceiling.
        pub async fn place_order(
            pool: &$pool,
            customer: i64,
            lines: &[CartLine],
            address: &Address,
            key: &str,
            save_address: bool,
        ) -> anyhow::Result<PlaceOutcome> {
            let mut tx = begin_write(pool).await?;
            // The order row first: it claims the idempotency key, so a retry (even
            // a concurrent one, which waits here) finds this order instead of
            // buying again.
            let inserted = sqlx::query_scalar::<$db, i64>(
                "INSERT INTO orders (customer_id, street, city, region, postal_code, idempotency_key) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(customer)
            .bind(&address.street)
            .bind(&address.city)
            .bind(&address.region)
            .bind(&address.postal_code)
            .bind(key)
            .fetch_one(&mut *tx)
            .await;
            let order = match inserted {
                Ok(id) => id,
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    tx.rollback().await?;
                    let existing = sqlx::query_scalar::<$db, i64>("SELECT id FROM orders WHERE customer_id = $1 AND idempotency_key = $2")
                        .bind(customer)
                        .bind(key)
                        .fetch_optional(pool)
                        .await?;
                    return match existing {
                        Some(id) => Ok(PlaceOutcome::Existing(id)),
                        None => anyhow::bail!("idempotency key conflict without an order"),
                    };
                }
                Err(e) => return Err(e.into()),
            };
            let mut sold = Vec::with_capacity(lines.len());
            let mut total: i64 = 0;
            for line in lines {
                let taken = sqlx::query_as::<$db, (String, i64)>(
                    "UPDATE products SET stock = stock - $1, units_sold = units_sold + $1 \
                     WHERE id = $2 AND stock >= $1 AND archived_at IS NULL RETURNING name, price_cents",
                )
                .bind(line.quantity)
                .bind(line.product_id.0)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((name, price)) = taken else {
                    let left = sqlx::query_as::<$db, (String, i64)>("SELECT name, stock FROM products WHERE id = $1 AND archived_at IS NULL")
                        .bind(line.product_id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.rollback().await?;
                    return Ok(match left {
                        Some((product, available)) => PlaceOutcome::OutOfStock { product, available },
                        None => PlaceOutcome::UnknownProduct(line.product_id.0),
                    });
                };
                total = price
                    .checked_mul(line.quantity)
                    .and_then(|t| t.checked_add(total))
                    .ok_or_else(|| anyhow::anyhow!("order total overflows"))?;
                sold.push((line, name, price));
            }
            // Every line in one statement.
            let mut insert = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO order_lines (order_id, line_no, product_id, name, unit_price_cents, quantity) ",
            );
            insert.push_values((1_i32..).zip(&sold), |mut row, (line_no, (line, name, price))| {
                row.push_bind(order)
                    .push_bind(line_no)
                    .push_bind(line.product_id.0)
                    .push_bind(name.as_str())
                    .push_bind(*price)
                    .push_bind(line.quantity);
            });
            insert.build().execute(&mut *tx).await?;
            // Setting the total publishes the complete order (orders_updated trigger).
            sqlx::query::<$db>("UPDATE orders SET total_cents = $1 WHERE id = $2").bind(total).bind(order).execute(&mut *tx).await?;
            if save_address {
                sqlx::query::<$db>("UPDATE users SET street = $1, city = $2, region = $3, postal_code = $4 WHERE id = $5")
                    .bind(&address.street)
                    .bind(&address.city)
                    .bind(&address.region)
                    .bind(&address.postal_code)
                    .bind(customer)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(PlaceOutcome::Placed(order))
        }

        const PRODUCT_COLUMNS: &str = "p.id, p.name, p.description, c.slug AS category, p.price_cents, p.currency, p.stock, \
                                       p.units_sold, p.image, (p.archived_at IS NOT NULL) AS archived, p.version \
                                       FROM products p JOIN categories c ON c.id = p.category_id";

        /// Every product, archived ones too, by name.
        pub async fn staff_products(pool: &$pool) -> anyhow::Result<Vec<ProductRow>> {
            Ok(sqlx::query_as::<$db, ProductRow>(&format!("SELECT {PRODUCT_COLUMNS} ORDER BY lower(p.name), p.id")).fetch_all(pool).await?)
        }

        pub async fn staff_product(pool: &$pool, id: i64) -> anyhow::Result<Option<ProductRow>> {
            Ok(sqlx::query_as::<$db, ProductRow>(&format!("SELECT {PRODUCT_COLUMNS} WHERE p.id = $1")).bind(id).fetch_optional(pool).await?)
        }

        /// The new product's id, or `None` when the category does not exist.
        pub async fn create_product(pool: &$pool, d: &ProductDraft) -> anyhow::Result<Option<i64>> {
            Ok(sqlx::query_scalar::<$db, i64>(
                "INSERT INTO products (category_id, name, description, price_cents, stock, image) \
                 SELECT id, $2, $3, $4, $5, $6 FROM categories WHERE slug = $1 RETURNING id",
            )
            .bind(&d.category)
            .bind(&d.name)
            .bind(&d.description)
            .bind(d.price_minor)
            .bind(d.stock)
            .bind(&d.image)
            .fetch_optional(pool)
            .await?)
        }

        /// Apply a staff edit in one transaction: only the fields it names are
        /// written (never `stock` or `units_sold` from an earlier read), the
        /// version moves when a field does, and stock changes only by one
        /// conditional statement. Nothing is written unless all of it holds.
        pub async fn edit_product(pool: &$pool, id: i64, e: &ProductEdit, max_stock: i64) -> anyhow::Result<EditOutcome> {
            let mut tx = begin_write(pool).await?;
            let category = match &e.category {
                Some(slug) => match sqlx::query_scalar::<$db, i64>("SELECT id FROM categories WHERE slug = $1").bind(slug).fetch_optional(&mut *tx).await? {
                    Some(category) => Some(category),
                    None => return Ok(EditOutcome::NoSuchCategory),
                },
                None => None,
            };
            if e.touches_fields() {
                let version = sqlx::query_scalar::<$db, i64>(&format!(
                    "UPDATE products SET name = coalesce($1, name), description = coalesce($2, description), \
                     category_id = coalesce($3, category_id), price_cents = coalesce($4, price_cents), image = coalesce($5, image), \
                     archived_at = CASE WHEN $6 IS NULL THEN archived_at WHEN $6 THEN coalesce(archived_at, {NOW}) ELSE NULL END, \
                     version = version + 1, updated_at = {NOW} \
                     WHERE id = $7 AND ($8 IS NULL OR version = $8) RETURNING version"
                ))
                .bind(e.name.as_deref())
                .bind(e.description.as_deref())
                .bind(category)
                .bind(e.price_minor)
                .bind(e.image.as_deref())
                .bind(e.archived)
                .bind(id)
                .bind(e.expected_version)
                .fetch_optional(&mut *tx)
                .await?;
                if version.is_none() {
                    // No product, or another version: say which; nothing is written.
                    let current = sqlx::query_scalar::<$db, i64>("SELECT version FROM products WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
                    return Ok(match current {
                        Some(current) => EditOutcome::Stale { current },
                        None => EditOutcome::NoSuchProduct,
                    });
                }
            } else if let Some(expected) = e.expected_version {
                let current = sqlx::query_scalar::<$db, i64>("SELECT version FROM products WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
                match current {
                    None => return Ok(EditOutcome::NoSuchProduct),
                    Some(current) if current != expected => return Ok(EditOutcome::Stale { current }),
                    Some(_) => {}
                }
            }
            if let Some(change) = e.stock {
                let (value, set) = match change {
                    StockChange::Set(n) => (n, true),
                    StockChange::Adjust(n) => (n, false),
                };
                let sql = if set {
                    format!("UPDATE products SET stock = $1, updated_at = {NOW} WHERE id = $2 AND $1 BETWEEN 0 AND $3 RETURNING stock")
                } else {
                    format!("UPDATE products SET stock = stock + $1, updated_at = {NOW} WHERE id = $2 AND stock + $1 BETWEEN 0 AND $3 RETURNING stock")
                };
                let new = sqlx::query_scalar::<$db, i64>(&sql).bind(value).bind(id).bind(max_stock).fetch_optional(&mut *tx).await?;
                if new.is_none() {
                    let current = sqlx::query_scalar::<$db, i64>("SELECT stock FROM products WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
                    return Ok(match current {
                        Some(current) => EditOutcome::StockOutOfRange { current },
                        None => EditOutcome::NoSuchProduct,
                    });
                }
            } else if !e.touches_fields() && e.expected_version.is_none() {
                let exists = sqlx::query_scalar::<$db, i64>("SELECT id FROM products WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
                if exists.is_none() {
                    return Ok(EditOutcome::NoSuchProduct);
                }
            }
            tx.commit().await?;
            Ok(EditOutcome::Edited)
        }

        /// Add `delta` to the stock (`set` false) or set it to `value` (`set` true),
        /// keeping it within 0..=max, atomically.
        pub async fn change_stock(pool: &$pool, id: i64, value: i64, set: bool, max: i64) -> anyhow::Result<StockOutcome> {
            let sql = if set {
                format!("UPDATE products SET stock = $1, updated_at = {NOW} WHERE id = $2 AND $1 BETWEEN 0 AND $3 RETURNING stock")
            } else {
                format!("UPDATE products SET stock = stock + $1, updated_at = {NOW} WHERE id = $2 AND stock + $1 BETWEEN 0 AND $3 RETURNING stock")
            };
            let mut tx = begin_write(pool).await?;
            let new = sqlx::query_scalar::<$db, i64>(&sql).bind(value).bind(id).bind(max).fetch_optional(&mut *tx).await?;
            let outcome = match new {
                Some(stock) => StockOutcome::Set(stock),
                None => match sqlx::query_scalar::<$db, i64>("SELECT stock FROM products WHERE id = $1").bind(id).fetch_optional(&mut *tx).await? {
                    Some(current) => StockOutcome::OutOfRange { current },
                    None => StockOutcome::NoSuchProduct,
                },
            };
            tx.commit().await?;
            Ok(outcome)
        }

        /// Archive or bring back a product. `false` when there is no such product.
        pub async fn set_archived(pool: &$pool, id: i64, archived: bool) -> anyhow::Result<bool> {
            let sql = if archived {
                format!("UPDATE products SET archived_at = coalesce(archived_at, {NOW}), version = version + 1 WHERE id = $1")
            } else {
                "UPDATE products SET archived_at = NULL, version = version + 1 WHERE id = $1".to_string()
            };
            Ok(sqlx::query::<$db>(&sql).bind(id).execute(pool).await?.rows_affected() == 1)
        }

        /// `false` when the slug is taken.
        pub async fn create_category(pool: &$pool, slug: &str, name: &str) -> anyhow::Result<bool> {
            let inserted = sqlx::query::<$db>(
                "INSERT INTO categories (slug, name, position) \
                 VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM categories))",
            )
            .bind(slug)
            .bind(name)
            .execute(pool)
            .await;
            match inserted {
                Ok(_) => Ok(true),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
                Err(e) => Err(e.into()),
            }
        }

        /// `false` when there is no such category.
        pub async fn rename_category(pool: &$pool, slug: &str, name: &str) -> anyhow::Result<bool> {
            Ok(sqlx::query::<$db>("UPDATE categories SET name = $2 WHERE slug = $1").bind(slug).bind(name).execute(pool).await?.rows_affected() == 1)
        }

        /// Move an order to `to`, stamping when, if its current status allows it.
        /// Cancelling puts every line's units back in stock, in the same
        /// transaction, and only the one time the status actually changes.
        pub async fn move_order(pool: &$pool, id: i64, to: OrderStatus) -> anyhow::Result<MoveOutcome> {
            let from: Vec<String> = to.previous().into_iter().map(|s| format!("'{}'", s.as_str())).collect();
            if from.is_empty() {
                let current = sqlx::query_scalar::<$db, String>("SELECT status FROM orders WHERE id = $1").bind(id).fetch_optional(pool).await?;
                return MoveOutcome::refused(current);
            }
            let stamp = match to {
                OrderStatus::Paid => "paid_at",
                OrderStatus::Shipped => "shipped_at",
                OrderStatus::Delivered => "delivered_at",
                OrderStatus::Cancelled => "cancelled_at",
                OrderStatus::Placed => "created_at",
            };
            let mut tx = begin_write(pool).await?;
            let moved = sqlx::query::<$db>(&format!(
                "UPDATE orders SET status = $1, {stamp} = {NOW}, updated_at = {NOW} WHERE id = $2 AND status IN ({})",
                from.join(", ")
            ))
            .bind(to.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved == 0 {
                let current = sqlx::query_scalar::<$db, String>("SELECT status FROM orders WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
                tx.rollback().await?;
                return MoveOutcome::refused(current);
            }
            if to == OrderStatus::Cancelled {
                let lines = sqlx::query_as::<$db, (i64, i64)>(
                    "SELECT product_id, quantity FROM order_lines WHERE order_id = $1 ORDER BY product_id",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                for (product, quantity) in lines {
                    sqlx::query::<$db>(&format!(
                        "UPDATE products SET stock = stock + $1, \
                         units_sold = CASE WHEN units_sold >= $1 THEN units_sold - $1 ELSE 0 END, updated_at = {NOW} \
                         WHERE id = $2"
                    ))
                    .bind(quantity)
                    .bind(product)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(MoveOutcome::Moved)
        }

        pub async fn create_token(pool: &$pool, name: &str, hash: &str, scope: &str, created_by: Option<i64>) -> anyhow::Result<i64> {
            Ok(sqlx::query_scalar::<$db, i64>(
                "INSERT INTO api_tokens (name, token_hash, scope, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(name)
            .bind(hash)
            .bind(scope)
            .bind(created_by)
            .fetch_one(pool)
            .await?)
        }

        /// Every token, newest first (hashes stay in the database).
        pub async fn tokens(pool: &$pool) -> anyhow::Result<Vec<TokenRow>> {
            Ok(sqlx::query_as::<$db, TokenRow>(&format!(
                "SELECT id, name, scope, {ts_created} AS created_at, {ts_used} AS last_used_at, {ts_revoked} AS revoked_at \
                 FROM api_tokens ORDER BY id DESC",
                ts_created = text_time("created_at"),
                ts_used = text_time("last_used_at"),
                ts_revoked = text_time("revoked_at"),
            ))
            .fetch_all(pool)
            .await?)
        }

        /// `false` when there is no such live token.
        pub async fn revoke_token(pool: &$pool, id: i64) -> anyhow::Result<bool> {
            Ok(sqlx::query::<$db>(&format!("UPDATE api_tokens SET revoked_at = {NOW} WHERE id = $1 AND revoked_at IS NULL"))
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
                == 1)
        }

        /// The id and scope of the live token with this hash (a read only).
        pub async fn token_by_hash(pool: &$pool, hash: &str) -> anyhow::Result<Option<(i64, String)>> {
            Ok(sqlx::query_as::<$db, (i64, String)>("SELECT id, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(hash)
                .fetch_optional(pool)
                .await?)
        }

        /// Note that a token was used now.
        pub async fn touch_token(pool: &$pool, id: i64) -> anyhow::Result<()> {
            sqlx::query::<$db>(&format!("UPDATE api_tokens SET last_used_at = {NOW} WHERE id = $1")).bind(id).execute(pool).await?;
            Ok(())
        }

        pub async fn insert_image(pool: &$pool, content_type: &str, bytes: &[u8]) -> anyhow::Result<i64> {
            Ok(sqlx::query_scalar::<$db, i64>("INSERT INTO images (content_type, bytes) VALUES ($1, $2) RETURNING id")
                .bind(content_type)
                .bind(bytes)
                .fetch_one(pool)
                .await?)
        }

        pub async fn image(pool: &$pool, id: i64) -> anyhow::Result<Option<(String, Vec<u8>)>> {
            Ok(sqlx::query_as::<$db, (String, Vec<u8>)>("SELECT content_type, bytes FROM images WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?)
        }
    };
}

pub(crate) use shared_queries;
