//! Seeding: the demo catalog on a fresh database, and made-up products in bulk
//! (`livecart seed --products N`), through the same triggers as every write.

use anyhow::Context as _;

use super::Db;
use super::core::{placeholders, sql};

/// A category to seed.
#[derive(Debug, Clone)]
pub struct SeedCategory {
    pub slug: &'static str,
    pub name: &'static str,
}

/// A product to seed.
#[derive(Debug, Clone)]
pub struct SeedProduct {
    pub category: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub price_cents: i64,
    pub stock: i64,
    pub image: String,
}

impl Db {
    /// How many products there are (archived ones too).
    pub async fn product_count(&self) -> anyhow::Result<i64> {
        Ok(sql("SELECT count(*) FROM products").scalar(self).await?)
    }

    /// True when the catalog has no categories yet (a fresh database).
    pub async fn catalog_is_empty(&self) -> anyhow::Result<bool> {
        Ok(sql("SELECT NOT EXISTS (SELECT 1 FROM categories)").scalar(self).await?)
    }

    /// Seed `categories` and `products` if the catalog is empty, in one
    /// transaction; `false` when it was not empty. Instances starting together
    /// on one empty database seed it once (the loser sees the winner's rows).
    pub async fn insert_catalog(&self, categories: &[SeedCategory], products: &[SeedProduct]) -> anyhow::Result<bool> {
        let mut tx = self.begin().await?;
        sql(self.dialect().serialize_seeding).execute(&mut tx).await?;
        if sql("SELECT EXISTS (SELECT 1 FROM categories)").scalar::<bool>(&mut tx).await? {
            return Ok(false);
        }
        for (position, c) in (0_i32..).zip(categories) {
            sql("INSERT INTO categories (slug, name, position) VALUES ($1, $2, $3)")
                .bind(c.slug)
                .bind(c.name)
                .bind(position)
                .execute(&mut tx)
                .await?;
        }
        for p in products {
            sql("INSERT INTO products (category_id, name, description, price_cents, stock, image) \
                 VALUES ((SELECT id FROM categories WHERE slug = $1), $2, $3, $4, $5, $6)")
            .bind(p.category)
            .bind(p.name)
            .bind(p.description)
            .bind(p.price_cents)
            .bind(p.stock)
            .bind(&p.image)
            .execute(&mut tx)
            .await
            .with_context(|| format!("seeding product '{}'", p.name))?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Insert made-up products (`livecart seed --products`) in one transaction,
    /// through the same triggers as every other write; 500 rows per statement
    /// (SQLite allows 32,766 parameters).
    pub async fn insert_generated(&self, products: &[crate::server::catalog_gen::GeneratedProduct]) -> anyhow::Result<()> {
        let mut tx = self.begin().await?;
        for chunk in products.chunks(500) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let n = i * 6;
                    format!("((SELECT id FROM categories WHERE slug = ${}), {})", n + 1, placeholders(n + 2, 5))
                })
                .collect();
            let mut insert =
                sql(format!("INSERT INTO products (category_id, name, description, price_cents, stock, image) VALUES {}", rows.join(", ")));
            for p in chunk {
                insert = insert.bind(p.category).bind(&p.name).bind(&p.description).bind(p.price_cents).bind(p.stock).bind(&p.image);
            }
            insert
                .execute(&mut tx)
                .await
                .context("adding generated products (are the demo categories there? `livecart seed` makes them)")?;
        }
        tx.commit().await?;
        Ok(())
    }
}
