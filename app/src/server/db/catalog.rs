//! Categories and products: what shoppers browse and staff edit. A product's
//! wire shapes ([`ProductSummary`], [`Product`], [`StaffProduct`]) are made
//! here from one row type, [`ProductRecord`], for pages, snapshots and the
//! feed's frames alike.

use anyhow::Context as _;

use super::Db;
use super::core::{Tx, is_unique_violation, placeholders, sql};
use crate::model::{CategorySlug, Currency, Money, Product, ProductDraft, ProductId, ProductSummary, StaffProduct};

/// A product as stored, with its category's slug (archived ones too).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProductRecord {
    pub id: ProductId,
    pub category_id: i64,
    pub category: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i64,
    pub units_sold: i64,
    pub image: String,
    pub archived: bool,
    /// Moves with every staff edit of a field (not with stock or sales).
    pub version: i64,
    pub questions: i64,
    pub answered: i64,
}

impl ProductRecord {
    pub fn summary(&self) -> anyhow::Result<ProductSummary> {
        let currency = match self.currency.as_str() {
            "EUR" => Currency::EUR,
            _ => Currency::USD,
        };
        Ok(ProductSummary {
            id: self.id,
            name: self.name.clone(),
            category: CategorySlug::parse(&self.category).context("a stored category slug")?,
            price: Money::new(self.price_cents, currency),
            stock: self.stock,
            units_sold: self.units_sold,
            // No photo: a picture drawn for this product.
            image: if self.image.is_empty() {
                crate::server::placeholder::placeholder_url(self.id.0, &self.name)
            } else {
                self.image.clone()
            },
            questions: self.questions,
            answered: self.answered,
        })
    }

    pub fn product(&self) -> anyhow::Result<Product> {
        Ok(Product { summary: self.summary()?, description: self.description.clone() })
    }

    pub fn staff(&self) -> anyhow::Result<StaffProduct> {
        Ok(StaffProduct { product: self.product()?, archived: self.archived, version: self.version })
    }
}

/// The columns of a [`ProductRecord`], from `products p` joined with `categories c`.
macro_rules! product_columns {
    () => {
        "p.id, p.category_id, c.slug AS category, p.name, p.description, p.price_cents, p.currency, p.stock, \
         p.units_sold, p.image, (p.archived_at IS NOT NULL) AS archived, p.version, p.questions, p.answered"
    };
}
pub(super) use product_columns;

const PRODUCTS: &str = concat!("SELECT ", product_columns!(), " FROM products p JOIN categories c ON c.id = p.category_id");

/// A [`ProductRecord`] from a row where the product may be missing (a left
/// join): `None` when its `id` is NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeProduct(pub Option<ProductRecord>);

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for MaybeProduct
where
    ProductRecord: sqlx::FromRow<'r, R>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    &'r str: sqlx::ColumnIndex<R>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        match row.try_get::<Option<i64>, _>("id")? {
            None => Ok(MaybeProduct(None)),
            Some(_) => ProductRecord::from_row(row).map(|p| MaybeProduct(Some(p))),
        }
    }
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

/// What changing stock came to.
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

/// What creating something with a unique name came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created<T> {
    Created(T),
    /// The name is taken (or, for a product, its category does not exist).
    Refused,
}

impl Db {
    /// Every category as (slug, name), in shop order.
    pub async fn categories(&self) -> anyhow::Result<Vec<(String, String)>> {
        Ok(sql("SELECT slug, name FROM categories ORDER BY position, name").fetch_all(self).await?)
    }

    pub async fn category_exists(&self, slug: &str) -> anyhow::Result<bool> {
        Ok(sql("SELECT EXISTS (SELECT 1 FROM categories WHERE slug = $1)").bind(slug).scalar(self).await?)
    }

    /// Slugs by category id (for the feed: the category a product left).
    pub async fn category_slugs(&self, ids: &[i64]) -> anyhow::Result<Vec<(i64, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = sql(format!("SELECT id, slug FROM categories WHERE id IN ({})", placeholders(1, ids.len())));
        Ok(query.bind_each(ids.iter().copied()).fetch_all(self).await?)
    }

    /// The products on sale (not archived), by name; one category's when given.
    pub async fn products(&self, category: Option<&str>) -> anyhow::Result<Vec<ProductRecord>> {
        let query = sql(format!("{PRODUCTS} WHERE p.archived_at IS NULL AND ($1 IS NULL OR c.slug = $1) ORDER BY lower(p.name), p.id"));
        Ok(query.bind(category).fetch_all(self).await?)
    }

    /// How many products are on sale, in one category or all, counted up to
    /// `COUNT_CAP + 1` (more than that reads as "more").
    pub async fn listed_count(&self, category: Option<&str>) -> anyhow::Result<i64> {
        Ok(sql(format!(
            "SELECT count(*) FROM (SELECT 1 FROM products p JOIN categories c ON c.id = p.category_id \
             WHERE p.archived_at IS NULL AND ($1 IS NULL OR c.slug = $1) LIMIT {}) AS listed",
            crate::model::COUNT_CAP + 1
        ))
        .bind(category)
        .scalar(self)
        .await?)
    }

    /// These products as they are now, archived ones too (missing ids: deleted).
    pub async fn products_by_ids(&self, ids: &[ProductId]) -> anyhow::Result<Vec<ProductRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = sql(format!("{PRODUCTS} WHERE p.id IN ({})", placeholders(1, ids.len())));
        Ok(query.bind_each(ids.iter().copied()).fetch_all(self).await?)
    }

    /// One product, archived or not.
    pub async fn product(&self, id: ProductId) -> anyhow::Result<Option<ProductRecord>> {
        Ok(sql(format!("{PRODUCTS} WHERE p.id = $1")).bind(id).fetch_optional(self).await?)
    }

    /// Every product, archived ones too, by name (the staff list).
    pub async fn all_products(&self) -> anyhow::Result<Vec<ProductRecord>> {
        Ok(sql(format!("{PRODUCTS} ORDER BY lower(p.name), p.id")).fetch_all(self).await?)
    }

    /// The new product's id; `Refused` when its category does not exist.
    pub async fn create_product(&self, d: &ProductDraft) -> anyhow::Result<Created<ProductId>> {
        let mut tx = self.begin().await?;
        let id = sql("INSERT INTO products (category_id, name, description, price_cents, stock, image) \
                      SELECT id, $2, $3, $4, $5, $6 FROM categories WHERE slug = $1 RETURNING id")
        .bind(&d.category)
        .bind(&d.name)
        .bind(&d.description)
        .bind(d.price_minor)
        .bind(d.stock)
        .bind(&d.image)
        .scalar_optional::<i64>(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(id.map_or(Created::Refused, |id| Created::Created(ProductId(id))))
    }

    /// Apply a staff edit in one transaction: only the fields it names are
    /// written (never `stock` or `units_sold` from an earlier read), the
    /// version moves when a field does, and stock changes only by one
    /// conditional statement. Nothing is written unless all of it holds.
    pub async fn edit_product(&self, id: ProductId, e: &ProductEdit, max_stock: i64) -> anyhow::Result<EditOutcome> {
        let now = self.dialect().now;
        let mut tx = self.begin().await?;
        let category = match &e.category {
            Some(slug) => match sql("SELECT id FROM categories WHERE slug = $1").bind(slug).scalar_optional::<i64>(&mut tx).await? {
                Some(category) => Some(category),
                None => return Ok(EditOutcome::NoSuchCategory),
            },
            None => None,
        };
        if e.touches_fields() {
            let version = sql(format!(
                "UPDATE products SET name = coalesce($1, name), description = coalesce($2, description), \
                 category_id = coalesce($3, category_id), price_cents = coalesce($4, price_cents), image = coalesce($5, image), \
                 archived_at = CASE WHEN $6 IS NULL THEN archived_at WHEN $6 THEN coalesce(archived_at, {now}) ELSE NULL END, \
                 version = version + 1, updated_at = {now} \
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
            .scalar_optional::<i64>(&mut tx)
            .await?;
            if version.is_none() {
                // No product, or another version: say which; nothing is written.
                return Ok(match version_of(&mut tx, id).await? {
                    Some(current) => EditOutcome::Stale { current },
                    None => EditOutcome::NoSuchProduct,
                });
            }
        } else if let Some(expected) = e.expected_version {
            match version_of(&mut tx, id).await? {
                None => return Ok(EditOutcome::NoSuchProduct),
                Some(current) if current != expected => return Ok(EditOutcome::Stale { current }),
                Some(_) => {}
            }
        }
        if let Some(change) = e.stock {
            match self.stock_in(&mut tx, id, change, max_stock).await? {
                StockOutcome::Set(_) => {}
                StockOutcome::NoSuchProduct => return Ok(EditOutcome::NoSuchProduct),
                StockOutcome::OutOfRange { current } => return Ok(EditOutcome::StockOutOfRange { current }),
            }
        } else if !e.touches_fields() && e.expected_version.is_none() && version_of(&mut tx, id).await?.is_none() {
            return Ok(EditOutcome::NoSuchProduct);
        }
        tx.commit().await?;
        Ok(EditOutcome::Edited)
    }

    /// Set the stock or change it by a delta, keeping it within 0..=max, atomically.
    pub async fn change_stock(&self, id: ProductId, change: StockChange, max: i64) -> anyhow::Result<StockOutcome> {
        let mut tx = self.begin().await?;
        let outcome = self.stock_in(&mut tx, id, change, max).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// One conditional statement inside `tx`; on refusal, why.
    async fn stock_in(&self, tx: &mut Tx, id: ProductId, change: StockChange, max: i64) -> anyhow::Result<StockOutcome> {
        let now = self.dialect().now;
        let (text, value) = match change {
            StockChange::Set(n) => {
                (format!("UPDATE products SET stock = $1, updated_at = {now} WHERE id = $2 AND $1 BETWEEN 0 AND $3 RETURNING stock"), n)
            }
            StockChange::Adjust(n) => (
                format!(
                    "UPDATE products SET stock = stock + $1, updated_at = {now} WHERE id = $2 AND stock + $1 BETWEEN 0 AND $3 RETURNING stock"
                ),
                n,
            ),
        };
        if let Some(stock) = sql(text).bind(value).bind(id).bind(max).scalar_optional::<i64>(&mut *tx).await? {
            return Ok(StockOutcome::Set(stock));
        }
        Ok(match sql("SELECT stock FROM products WHERE id = $1").bind(id).scalar_optional::<i64>(&mut *tx).await? {
            Some(current) => StockOutcome::OutOfRange { current },
            None => StockOutcome::NoSuchProduct,
        })
    }

    /// Archive or bring back a product. `false` when there is no such product.
    pub async fn set_archived(&self, id: ProductId, archived: bool) -> anyhow::Result<bool> {
        let now = self.dialect().now;
        let text = if archived {
            format!("UPDATE products SET archived_at = coalesce(archived_at, {now}), version = version + 1 WHERE id = $1")
        } else {
            "UPDATE products SET archived_at = NULL, version = version + 1 WHERE id = $1".to_string()
        };
        Ok(self.write(sql(text).bind(id)).await? == 1)
    }

    /// `Refused` when the slug is taken.
    pub async fn create_category(&self, slug: &str, name: &str) -> anyhow::Result<Created<()>> {
        let inserted = sql("INSERT INTO categories (slug, name, position) \
                            VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM categories))")
        .bind(slug)
        .bind(name)
        .execute(self)
        .await;
        match inserted {
            Ok(_) => Ok(Created::Created(())),
            Err(e) if is_unique_violation(&e) => Ok(Created::Refused),
            Err(e) => Err(e.into()),
        }
    }

    /// `false` when there is no such category.
    pub async fn rename_category(&self, slug: &str, name: &str) -> anyhow::Result<bool> {
        Ok(sql("UPDATE categories SET name = $2 WHERE slug = $1").bind(slug).bind(name).execute(self).await? == 1)
    }
}

async fn version_of(tx: &mut Tx, id: ProductId) -> sqlx::Result<Option<i64>> {
    sql("SELECT version FROM products WHERE id = $1").bind(id).scalar_optional(tx).await
}
