//! Pages of the catalog: filters, full-text search (SQLite FTS5, PostgreSQL
//! `tsvector` + GIN, both kept current by triggers) and keyset pagination over
//! a stable order, so a page costs what it shows whatever the catalog's size.
//!
//! A cursor names the last product of a page by its sort key and id, as the
//! database computed them (`{id}~{key}`): the next page starts strictly after
//! it, so products added or removed meanwhile never make one show twice or be
//! skipped.

use super::catalog::ProductRecord;
use super::core::{Arg, sql};
use super::{Backend, Db};
use crate::model::{COUNT_CAP, ProductId, Sort};

/// A checked catalog query (see `model::CatalogQuery`).
#[derive(Debug, Clone, Default)]
pub struct Listing<'a> {
    pub words: &'a [String],
    pub category: Option<&'a str>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub in_stock: bool,
    pub sort: Sort,
    pub after: Option<&'a str>,
    pub limit: i64,
}

/// A product's place in the order: what the page query sorts (narrow rows;
/// the 24 products are read afterwards) and what a cursor is made of.
#[derive(sqlx::FromRow)]
struct Key {
    id: i64,
    sort_tier: i64,
    sort_name: String,
    price_cents: i64,
    units_sold: i64,
}

/// Where a page starts, parsed from a cursor (`None`: it does not parse, so
/// the page starts at the beginning).
enum After<'a> {
    Relevance { tier: i64, name: &'a str, id: i64 },
    Number { key: i64, id: i64 },
    Id(i64),
}

fn after(sort: Sort, cursor: &str) -> Option<After<'_>> {
    let (id, rest) = cursor.split_once('~').unwrap_or((cursor, ""));
    let id: i64 = id.parse().ok()?;
    Some(match sort {
        Sort::Relevance => {
            let (tier, name) = rest.split_once('~')?;
            After::Relevance { tier: tier.parse().ok()?, name, id }
        }
        Sort::Newest => After::Id(id),
        Sort::PriceLow | Sort::PriceHigh | Sort::BestSelling => After::Number { key: rest.parse().ok()?, id },
    })
}

fn cursor(sort: Sort, last: &Key) -> String {
    match sort {
        Sort::Relevance => format!("{}~{}~{}", last.id, last.sort_tier, last.sort_name),
        Sort::PriceLow | Sort::PriceHigh => format!("{}~{}", last.id, last.price_cents),
        Sort::BestSelling => format!("{}~{}", last.id, last.units_sold),
        Sort::Newest => last.id.to_string(),
    }
}

/// Placeholders numbered as values are added.
#[derive(Default)]
struct Params<'a>(Vec<Arg<'a>>);

impl<'a> Params<'a> {
    fn add(&mut self, value: impl Into<Arg<'a>>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }
}

impl Db {
    /// One page of listed products and the cursor of the next, plus how many
    /// match (counted up to [`COUNT_CAP`]; `COUNT_CAP + 1` means more).
    pub async fn list_page(&self, l: &Listing<'_>) -> anyhow::Result<(Vec<ProductRecord>, Option<String>, i64)> {
        let postgres = matches!(self.backend, Backend::Postgres(_));
        let mut params = Params::default();
        let mut filters = vec!["p.archived_at IS NULL".to_string()];
        let mut tier = "0".to_string();
        if !l.words.is_empty() {
            if postgres {
                let all: Vec<String> = l.words.iter().map(|w| format!("{w}:*")).collect();
                let names: Vec<String> = l.words.iter().map(|w| format!("{w}:*A")).collect();
                filters.push(format!("p.search @@ to_tsquery('simple', {})", params.add(all.join(" & "))));
                tier = format!("CASE WHEN p.search @@ to_tsquery('simple', {}) THEN 0 ELSE 1 END", params.add(names.join(" & ")));
            } else {
                let all: Vec<String> = l.words.iter().map(|w| format!("\"{w}\"*")).collect();
                let all = all.join(" ");
                filters.push(format!("p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH {})", params.add(all.clone())));
                tier = format!(
                    "CASE WHEN p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH {}) THEN 0 ELSE 1 END",
                    params.add(format!("name : ({all})"))
                );
            }
        }
        if let Some(category) = l.category {
            // A constant for the planner: the (category, key) indexes apply.
            filters.push(format!("p.category_id = (SELECT id FROM categories WHERE slug = {})", params.add(category)));
        }
        if let Some(min) = l.min_price {
            filters.push(format!("p.price_cents >= {}", params.add(min)));
        }
        if let Some(max) = l.max_price {
            filters.push(format!("p.price_cents <= {}", params.add(max)));
        }
        if l.in_stock {
            filters.push("p.stock > 0".to_string());
        }
        let tier = format!("CAST({tier} AS BIGINT)");
        // How many match: the same filters, without the page's start.
        let count_filters = filters.join(" AND ");
        let count_args = params.0.clone();
        // Written as a range on the sort key plus a tie-break on the id, so the
        // index on (key, id) is searched from the cursor, not scanned up to it.
        if let Some(after) = l.after.and_then(|c| after(l.sort, c)) {
            filters.push(match after {
                After::Relevance { tier: t, name, id } if !l.words.is_empty() => {
                    format!("({tier}, lower(p.name), p.id) > ({}, {}, {})", params.add(t), params.add(name), params.add(id))
                }
                After::Relevance { name, id, .. } => {
                    let (k, id) = (params.add(name), params.add(id));
                    format!("lower(p.name) >= {k} AND (lower(p.name) > {k} OR p.id > {id})")
                }
                After::Number { key, id } => {
                    let (column, op) = match l.sort {
                        Sort::PriceLow => ("p.price_cents", ">"),
                        Sort::PriceHigh => ("p.price_cents", "<"),
                        _ => ("p.units_sold", "<"),
                    };
                    let (k, id) = (params.add(key), params.add(id));
                    format!("{column} {op}= {k} AND ({column} {op} {k} OR p.id {op} {id})")
                }
                After::Id(id) => format!("p.id < {}", params.add(id)),
            });
        }
        let by_name = "lower(p.name), p.id".to_string();
        let order = match l.sort {
            Sort::Relevance if l.words.is_empty() => by_name,
            Sort::Relevance => format!("{tier}, {by_name}"),
            Sort::PriceLow => "p.price_cents, p.id".into(),
            Sort::PriceHigh => "p.price_cents DESC, p.id DESC".into(),
            Sort::Newest => "p.id DESC".into(),
            Sort::BestSelling => "p.units_sold DESC, p.id DESC".into(),
        };
        // Sort narrow rows (ids and keys, no descriptions), then read the page's
        // products by id. No join: the planner has only product indexes to
        // choose from (with statistics, SQLite would otherwise start from the
        // few categories and sort every product).
        let page = sql(format!(
            "SELECT p.id, {tier} AS sort_tier, lower(p.name) AS sort_name, p.price_cents, p.units_sold \
             FROM products p WHERE {filters} ORDER BY {order} LIMIT {limit}",
            filters = filters.join(" AND "),
            limit = l.limit + 1,
        ))
        .bind_each(params.0);
        let mut keys: Vec<Key> = page.fetch_all(self).await?;
        let next = if keys.len() as i64 > l.limit {
            keys.truncate(l.limit as usize);
            keys.last().map(|last| cursor(l.sort, last))
        } else {
            None
        };
        let ids: Vec<ProductId> = keys.iter().map(|k| ProductId(k.id)).collect();
        let mut found: std::collections::HashMap<ProductId, ProductRecord> =
            self.products_by_ids(&ids).await?.into_iter().map(|p| (p.id, p)).collect();
        let rows: Vec<ProductRecord> = ids.iter().filter_map(|id| found.remove(id)).collect();
        let total: i64 =
            sql(format!("SELECT count(*) FROM (SELECT 1 FROM products p WHERE {count_filters} LIMIT {}) AS matching", COUNT_CAP + 1))
                .bind_each(count_args)
                .scalar(self)
                .await?;
        Ok((rows, next, total))
    }
}
