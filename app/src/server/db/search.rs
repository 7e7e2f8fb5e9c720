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

/// Which products a search matches, as a predicate on `p` (one per tier of
/// "best match": the name matches, then the description-only matches).
#[derive(Clone)]
enum Matching {
    /// SQLite: an FTS5 expression.
    Fts(String),
    /// PostgreSQL: a `to_tsquery('simple', …)` text.
    Ts(String),
}

impl Matching {
    /// Every product whose name or description has each word (as a prefix).
    fn all(postgres: bool, words: &[String]) -> Matching {
        if postgres {
            Matching::Ts(words.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & "))
        } else {
            Matching::Fts(fts_words(words))
        }
    }

    /// Products whose name has each word.
    fn names(postgres: bool, words: &[String]) -> Matching {
        if postgres {
            Matching::Ts(words.iter().map(|w| format!("{w}:*A")).collect::<Vec<_>>().join(" & "))
        } else {
            Matching::Fts(format!("name : ({})", fts_words(words)))
        }
    }

    /// Products that match, but not by their name alone.
    fn descriptions_only(postgres: bool, words: &[String]) -> Matching {
        match (Matching::all(postgres, words), Matching::names(postgres, words)) {
            (Matching::Ts(all), Matching::Ts(names)) => Matching::Ts(format!("({all}) & !({names})")),
            (Matching::Fts(all), Matching::Fts(names)) => Matching::Fts(format!("({all}) NOT ({names})")),
            _ => unreachable!("one backend"),
        }
    }

    /// The predicate. `scan`: the page walks an index in its sort order and
    /// tests each product against the match set (`+` keeps SQLite from
    /// driving the query from the set instead), which finds a page of a
    /// common word after a few hundred rows; otherwise SQLite reads the
    /// matches and sorts them, which is cheaper for a rare word. PostgreSQL
    /// estimates the match count itself.
    fn predicate(&self, params: &mut Params<'_>, scan: bool) -> String {
        match self {
            Matching::Fts(e) => format!(
                "{}p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH {})",
                if scan { "+" } else { "" },
                params.add(e.clone())
            ),
            Matching::Ts(q) => format!("p.search @@ to_tsquery('simple', {})", params.add(q.clone())),
        }
    }
}

/// Each word as a quoted FTS5 prefix (quotes keep operators and column names
/// in the shopper's words from meaning anything).
fn fts_words(words: &[String]) -> String {
    words.iter().map(|w| format!("\"{}\"*", w.replace('"', ""))).collect::<Vec<_>>().join(" ")
}

/// Above this many matches a search page scans the sort order's index rather
/// than sorting the matches.
const SCAN_ABOVE: i64 = COUNT_CAP;

impl Db {
    /// One page of listed products and the cursor of the next, plus how many
    /// match (counted up to [`COUNT_CAP`]; `COUNT_CAP + 1` means more).
    ///
    /// "Best match" for a search is the name matches by name, then the
    /// description-only matches by name: two tiers, each read on its own from
    /// the cursor, so a page costs about the same whatever the word.
    pub async fn list_page(&self, l: &Listing<'_>) -> anyhow::Result<(Vec<ProductRecord>, Option<String>, i64)> {
        let postgres = matches!(self.backend, Backend::Postgres(_));
        let searching = !l.words.is_empty();
        let start = l.after.and_then(|c| after(l.sort, c));
        let want = l.limit + 1;
        // How many match (the index drives and the count stops at the cap):
        // for one tier, it also says whether to scan the sort order.
        let total = self.count_matching(l, postgres).await?;
        let mut keys = Vec::new();
        if searching && l.sort == Sort::Relevance {
            let start_tier = match start {
                Some(After::Relevance { tier, .. }) => tier.clamp(0, 1),
                _ => 0,
            };
            if start_tier == 0 {
                keys = self.keys(l, Some((0, Matching::names(postgres, l.words))), None, start.as_ref(), want).await?;
            }
            if (keys.len() as i64) < want {
                let from = if start_tier == 1 { start.as_ref() } else { None };
                let rest = want - keys.len() as i64;
                keys.extend(self.keys(l, Some((1, Matching::descriptions_only(postgres, l.words))), None, from, rest).await?);
            }
        } else {
            let matching = searching.then(|| (0, Matching::all(postgres, l.words)));
            keys = self.keys(l, matching, Some(total), start.as_ref(), want).await?;
        }
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
        Ok((rows, next, total))
    }

    /// The filters every query of a listing shares (category, price, stock).
    fn listing_filters<'a>(l: &Listing<'a>, params: &mut Params<'a>) -> Vec<String> {
        let mut filters = vec!["p.archived_at IS NULL".to_string()];
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
        filters
    }

    /// How many products an FTS5 expression matches, up to `cap + 1` (the
    /// index alone: well under a millisecond).
    async fn fts_count(&self, expression: &str, cap: i64) -> anyhow::Result<i64> {
        Ok(sql(format!("SELECT count(*) FROM (SELECT rowid FROM products_fts WHERE products_fts MATCH $1 LIMIT {})", cap + 1))
            .bind(Arg::Owned(expression.to_string()))
            .scalar(self)
            .await?)
    }

    /// Up to `limit` sort keys of the listing (one tier of a search when
    /// `matching` is given, with its count when known), starting after `start`.
    async fn keys(
        &self,
        l: &Listing<'_>,
        matching: Option<(i64, Matching)>,
        matches: Option<i64>,
        start: Option<&After<'_>>,
        limit: i64,
    ) -> anyhow::Result<Vec<Key>> {
        let mut params = Params::default();
        let mut filters = Self::listing_filters(l, &mut params);
        let tier = matching.as_ref().map_or(0, |(tier, _)| *tier);
        if let Some((_, m)) = &matching {
            let scan = match (m, matches) {
                (Matching::Ts(_), _) => false,
                (Matching::Fts(_), Some(n)) => n > SCAN_ABOVE,
                (Matching::Fts(e), None) => self.fts_count(e, SCAN_ABOVE).await? > SCAN_ABOVE,
            };
            filters.push(m.predicate(&mut params, scan));
        }
        // Written as a range on the sort key plus a tie-break on the id, so the
        // index on (key, id) is searched from the cursor, not scanned up to it.
        if let Some(start) = start {
            filters.push(match *start {
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
        let order = match l.sort {
            Sort::Relevance => "lower(p.name), p.id",
            Sort::PriceLow => "p.price_cents, p.id",
            Sort::PriceHigh => "p.price_cents DESC, p.id DESC",
            Sort::Newest => "p.id DESC",
            Sort::BestSelling => "p.units_sold DESC, p.id DESC",
        };
        // Sort narrow rows (ids and keys, no descriptions), then read the page's
        // products by id. No join: the planner has only product indexes to
        // choose from (with statistics, SQLite would otherwise start from the
        // few categories and sort every product).
        Ok(sql(format!(
            "SELECT p.id, CAST({tier} AS BIGINT) AS sort_tier, lower(p.name) AS sort_name, p.price_cents, p.units_sold \
             FROM products p WHERE {filters} ORDER BY {order} LIMIT {limit}",
            filters = filters.join(" AND "),
        ))
        .bind_each(params.0)
        .fetch_all(self)
        .await?)
    }

    /// How many listed products match, up to `COUNT_CAP + 1`.
    async fn count_matching(&self, l: &Listing<'_>, postgres: bool) -> anyhow::Result<i64> {
        let mut params = Params::default();
        let mut filters = Self::listing_filters(l, &mut params);
        let from = match (l.words.is_empty(), Matching::all(postgres, l.words)) {
            (true, _) => "products p".to_string(),
            // The index drives and the count stops at the cap.
            (false, Matching::Fts(e)) => {
                filters.push(format!("products_fts MATCH {}", params.add(e)));
                "products_fts f CROSS JOIN products p ON p.id = f.rowid".to_string()
            }
            (false, m) => {
                filters.push(m.predicate(&mut params, false));
                "products p".to_string()
            }
        };
        Ok(sql(format!(
            "SELECT count(*) FROM (SELECT 1 FROM {from} WHERE {filters} LIMIT {}) AS matching",
            COUNT_CAP + 1,
            filters = filters.join(" AND ")
        ))
        .bind_each(params.0)
        .scalar(self)
        .await?)
    }

    /// Every word the search index holds, sorted (SQLite: FTS5's vocabulary,
    /// which counts each word's postings as it reads, ~50 ms at 100,000
    /// products; PostgreSQL: `search_terms`). Read again only when older than
    /// `max_age`, whatever asks, so a stream of misspelt searches costs at
    /// most one read per `max_age`.
    async fn vocabulary(&self, max_age: std::time::Duration) -> anyhow::Result<std::sync::Arc<Vec<String>>> {
        /// Words kept at most (a catalog of SKUs could hold very many).
        const MAX_TERMS: usize = 500_000;
        if let Some((at, words)) = self.vocabulary.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
            && at.elapsed() <= max_age
        {
            return Ok(words);
        }
        let table = match self.backend {
            Backend::Sqlite(_) => "products_fts_terms",
            Backend::Postgres(_) => "search_terms",
        };
        let rows: Vec<(String,)> = sql(format!("SELECT term FROM {table} LIMIT {MAX_TERMS}")).fetch_all(self).await?;
        // Only words a search could have typed (letters and digits): a
        // PostgreSQL lexeme may be a URL or an e-mail address.
        let mut words: Vec<String> =
            rows.into_iter().map(|(t,)| t).filter(|t| !t.is_empty() && t.chars().all(char::is_alphanumeric)).collect();
        words.sort_unstable();
        words.dedup();
        let words = std::sync::Arc::new(words);
        *self.vocabulary.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((std::time::Instant::now(), words.clone()));
        Ok(words)
    }

    /// The search with each word no product has corrected to the closest word
    /// the index holds (see [`closest_term`]); `None` when nothing could be
    /// corrected. Words of 3 letters or fewer are never guessed at, and a word
    /// the index knows (as a prefix) is kept as it is.
    pub async fn corrected_words(&self, words: &[String]) -> anyhow::Result<Option<Vec<String>>> {
        /// How old the cached vocabulary may be for a first try, and for a
        /// second one when the first found nothing close (a word just added).
        const FRESH: std::time::Duration = std::time::Duration::from_secs(300);
        const RETRY: std::time::Duration = std::time::Duration::from_secs(2);
        let mut corrected = words.to_vec();
        let mut changed = false;
        for word in &mut corrected {
            if word.chars().count() < 4 || self.known_prefix(word).await? {
                continue;
            }
            let mut found = closest_term(word, &self.vocabulary(FRESH).await?).map(str::to_string);
            if found.is_none() {
                found = closest_term(word, &self.vocabulary(RETRY).await?).map(str::to_string);
            }
            if let Some(term) = found {
                *word = term;
                changed = true;
            }
        }
        Ok(changed.then_some(corrected))
    }

    /// Whether some listed or unlisted product has a word starting with `word`
    /// (the index alone).
    async fn known_prefix(&self, word: &str) -> anyhow::Result<bool> {
        Ok(match Matching::all(matches!(self.backend, Backend::Postgres(_)), &[word.to_string()]) {
            Matching::Fts(e) => self.fts_count(&e, 0).await? > 0,
            Matching::Ts(q) => {
                sql("SELECT EXISTS (SELECT 1 FROM products p WHERE p.search @@ to_tsquery('simple', $1))")
                    .bind(Arg::Owned(q))
                    .scalar(self)
                    .await?
            }
        })
    }
}

/// The word of `terms` closest to `word` when no term starts with `word`:
/// one edit away (a letter wrong, missing, extra or two swapped) for words of
/// 4 to 7 letters, two for longer ones, comparing either the whole term or its
/// beginning (`expres` finds `espresso`). Short words are left alone; ties go
/// to the shorter term, then the first alphabetically (`terms` is sorted).
pub fn closest_term<'a>(word: &str, terms: &'a [String]) -> Option<&'a str> {
    let length = word.chars().count();
    let allowed = match length {
        0..=3 => return None,
        4..=7 => 1,
        _ => 2,
    };
    let first = word.chars().next()?;
    // The terms starting with the same letter (the list is sorted).
    let from = terms.partition_point(|t| t.as_str() < word.split_at(first.len_utf8()).0);
    let same_letter = terms[from..].iter().take_while(|t| t.starts_with(first));
    let mut best: Option<(usize, usize, &str)> = None;
    for term in same_letter {
        if term.starts_with(word) {
            return None;
        }
        let term_length = term.chars().count();
        // A term much shorter cannot be within reach, even by its beginning.
        if term_length + allowed < length {
            continue;
        }
        let start: String = term.chars().take(length).collect();
        let distance = strsim::osa_distance(word, &start).min(if term_length <= length + allowed {
            strsim::osa_distance(word, term)
        } else {
            usize::MAX
        });
        if distance <= allowed && best.is_none_or(|(d, l, _)| (distance, term_length) < (d, l)) {
            best = Some((distance, term_length, term.as_str()));
        }
    }
    best.map(|(_, _, term)| term)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(words: &[&str]) -> Vec<String> {
        let mut t: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        t.sort();
        t
    }

    #[test]
    fn a_word_one_slip_away_is_corrected_and_a_known_word_is_left_alone() {
        let t = terms(&["espresso", "beans", "headphones", "headset", "kettle", "tea"]);
        assert_eq!(closest_term("expresso", &t), Some("espresso"), "one letter wrong");
        assert_eq!(closest_term("espreso", &t), Some("espresso"), "one missing");
        assert_eq!(closest_term("kettel", &t), Some("kettle"), "two swapped");
        assert_eq!(closest_term("headphnoes", &t), Some("headphones"), "two slips in a long word");
        assert_eq!(closest_term("expres", &t), Some("espresso"), "the beginning of a word");
        assert_eq!(closest_term("esp", &t), None, "a prefix that exists is not a typo");
        assert_eq!(closest_term("espresso", &t), None);
        assert_eq!(closest_term("tex", &t), None, "short words are not guessed at");
        assert_eq!(closest_term("zebra", &t), None, "nothing close");
        assert_eq!(closest_term("xylophone", &t), None);
    }
}
