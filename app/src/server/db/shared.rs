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

macro_rules! shared_queries {
    ($pool:ty, $db:ty) => {
        use $crate::model::{Address, CartLine};
        use $crate::server::db::shared::{PlaceOutcome, UserRow};
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

        pub async fn catalog_is_empty(pool: &$pool) -> anyhow::Result<bool> {
            Ok(sqlx::query_scalar::<$db, bool>("SELECT NOT EXISTS (SELECT 1 FROM categories)").fetch_one(pool).await?)
        }

        pub async fn insert_catalog(pool: &$pool, categories: &[SeedCategory], products: &[SeedProduct]) -> anyhow::Result<()> {
            let mut tx = begin_write(pool).await?;
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
        /// per product and validated by the caller.
        pub async fn place_order(pool: &$pool, customer: i64, lines: &[CartLine], address: &Address, key: &str) -> anyhow::Result<PlaceOutcome> {
            let mut tx = begin_write(pool).await?;
            if let Some(id) = sqlx::query_scalar::<$db, i64>("SELECT id FROM orders WHERE customer_id = $1 AND idempotency_key = $2")
                .bind(customer)
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?
            {
                return Ok(PlaceOutcome::Existing(id));
            }
            // The order row first: it claims the idempotency key, so a concurrent
            // retry waits here and then finds this order instead of buying again.
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
            let mut total: i64 = 0;
            for (line_no, line) in (1_i32..).zip(lines) {
                let sold = sqlx::query_as::<$db, (String, i64)>(
                    "UPDATE products SET stock = stock - $1, units_sold = units_sold + $1 \
                     WHERE id = $2 AND stock >= $1 RETURNING name, price_cents",
                )
                .bind(line.quantity)
                .bind(line.product_id.0)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((name, price)) = sold else {
                    let left = sqlx::query_as::<$db, (String, i64)>("SELECT name, stock FROM products WHERE id = $1")
                        .bind(line.product_id.0)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.rollback().await?;
                    return Ok(match left {
                        Some((product, available)) => PlaceOutcome::OutOfStock { product, available },
                        None => PlaceOutcome::UnknownProduct(line.product_id.0),
                    });
                };
                sqlx::query::<$db>(
                    "INSERT INTO order_lines (order_id, line_no, product_id, name, unit_price_cents, quantity) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(order)
                .bind(line_no)
                .bind(line.product_id.0)
                .bind(&name)
                .bind(price)
                .bind(line.quantity)
                .execute(&mut *tx)
                .await?;
                total = price
                    .checked_mul(line.quantity)
                    .and_then(|t| t.checked_add(total))
                    .ok_or_else(|| anyhow::anyhow!("order total overflows"))?;
            }
            // Setting the total publishes the complete order (orders_updated trigger).
            sqlx::query::<$db>("UPDATE orders SET total_cents = $1 WHERE id = $2").bind(total).bind(order).execute(&mut *tx).await?;
            sqlx::query::<$db>("UPDATE users SET street = $1, city = $2, region = $3, postal_code = $4 WHERE id = $5")
                .bind(&address.street)
                .bind(&address.city)
                .bind(&address.region)
                .bind(&address.postal_code)
                .bind(customer)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(PlaceOutcome::Placed(order))
        }
    };
}

pub(crate) use shared_queries;
