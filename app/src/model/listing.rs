//! A page of the catalog: what the shopper asked for (in the URL, so results
//! are shareable, survive reloads and work without wasm) and what came back.

use serde::{Deserialize, Serialize};

use super::{Money, ProductSummary};

/// How the catalog is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Names matching the search first, then by name (by name when not searching).
    #[default]
    Relevance,
    PriceLow,
    PriceHigh,
    Newest,
    BestSelling,
}

impl Sort {
    pub const ALL: [Sort; 5] = [Sort::Relevance, Sort::PriceLow, Sort::PriceHigh, Sort::Newest, Sort::BestSelling];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::PriceLow => "price_low",
            Sort::PriceHigh => "price_high",
            Sort::Newest => "newest",
            Sort::BestSelling => "best_selling",
        }
    }

    /// What the sort menu says.
    pub fn label(self, searching: bool) -> &'static str {
        match self {
            Sort::Relevance if searching => "Best match",
            Sort::Relevance => "Name",
            Sort::PriceLow => "Price: low to high",
            Sort::PriceHigh => "Price: high to low",
            Sort::Newest => "Newest",
            Sort::BestSelling => "Best selling",
        }
    }

    /// Whether `a` may be shown before `b` under this sort, judged by what
    /// changes live (price, units sold); `None` when live changes cannot
    /// reorder it (by name, newest).
    pub fn live_order_holds(self, a: &ProductSummary, b: &ProductSummary) -> Option<bool> {
        match self {
            Sort::PriceLow => Some((a.price.minor, a.id.0) <= (b.price.minor, b.id.0)),
            Sort::PriceHigh => Some((a.price.minor, a.id.0) >= (b.price.minor, b.id.0)),
            Sort::BestSelling => Some((a.units_sold, a.id.0) >= (b.units_sold, b.id.0)),
            Sort::Relevance | Sort::Newest => None,
        }
    }

    /// What a shopper is told when live changes have put the page out of order.
    pub fn reordered_notice(self) -> &'static str {
        match self {
            Sort::BestSelling => "Sales have changed the order",
            _ => "Prices have changed the order",
        }
    }

    /// Unknown names read as the default: a link from an older build still works.
    pub fn parse(s: &str) -> Sort {
        Sort::ALL.into_iter().find(|o| o.as_str() == s).unwrap_or_default()
    }
}

/// The catalog query as it stands in the URL: `/?q=tea&category=coffee-tea&min=5&max=20&stock=1&sort=price_low&after=…`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CatalogQuery {
    /// Words to search names and descriptions for.
    pub q: String,
    /// A category slug, or empty for all.
    pub category: String,
    /// Price bounds as typed (`12`, `12.50`), or empty.
    pub min: String,
    pub max: String,
    /// Only products in stock.
    pub in_stock: bool,
    pub sort: Sort,
    /// Where the page starts: the cursor of the previous page's last product.
    pub after: String,
}

/// The most search words looked at.
pub const MAX_SEARCH_WORDS: usize = 8;
/// The longest search the box takes.
pub const MAX_SEARCH_CHARS: usize = 200;

impl CatalogQuery {
    /// Read from URL parameters.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> CatalogQuery {
        let text = |k: &str| get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        CatalogQuery {
            q: text("q").chars().take(MAX_SEARCH_CHARS).collect(),
            category: text("category"),
            min: text("min"),
            max: text("max"),
            in_stock: matches!(text("stock").as_str(), "1" | "on" | "true"),
            sort: Sort::parse(&text("sort")),
            after: text("after"),
        }
    }

    /// This query's URL (`after`: the page to start at; `None`: the first).
    pub fn url(&self, after: Option<&str>) -> String {
        let mut url = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [("q", self.q.as_str()), ("category", &self.category), ("min", &self.min), ("max", &self.max)] {
            if !value.is_empty() {
                url.append_pair(key, value);
            }
        }
        if self.in_stock {
            url.append_pair("stock", "1");
        }
        if self.sort != Sort::default() {
            url.append_pair("sort", self.sort.as_str());
        }
        if let Some(after) = after {
            url.append_pair("after", after);
        }
        match url.finish() {
            query if query.is_empty() => "/".to_string(),
            query => format!("/?{query}"),
        }
    }

    /// The words searched for: letters and digits, lowercased, at most [`MAX_SEARCH_WORDS`].
    pub fn words(&self) -> Vec<String> {
        self.q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.chars().take(40).collect::<String>().to_lowercase())
            .take(MAX_SEARCH_WORDS)
            .collect()
    }

    /// The price bounds in minor units (min, max), or which one could not be read and why.
    pub fn price_range(&self) -> Result<PriceRange, (&'static str, String)> {
        let read = |field: &'static str, text: &str| -> Result<Option<i64>, (&'static str, String)> {
            if text.is_empty() {
                return Ok(None);
            }
            Money::parse_minor(text)
                .map(Some)
                .map_err(|_| (field, format!("'{}' is not a price; write it like 12 or 12.50", text.chars().take(20).collect::<String>())))
        };
        Ok((read("min", &self.min)?, read("max", &self.max)?))
    }

    pub fn is_search(&self) -> bool {
        !self.words().is_empty()
    }

    /// Whether anything narrows the catalog (a search, a category, a filter).
    pub fn is_filtered(&self) -> bool {
        self.is_search() || !self.category.is_empty() || !self.min.is_empty() || !self.max.is_empty() || self.in_stock
    }
}

/// Lower and upper price bounds in minor units.
pub type PriceRange = (Option<i64>, Option<i64>);

/// One page of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductPage {
    pub items: Vec<ProductSummary>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
    /// How many products match, counted up to [`COUNT_CAP`] (`COUNT_CAP + 1` means "more").
    pub total: i64,
    /// When the words as typed found nothing: the words searched instead
    /// (each unknown word replaced by the closest one the catalog has).
    #[serde(default)]
    pub corrected: Option<String>,
}

/// Products per page.
pub const PAGE_SIZE: i64 = 24;
/// Matches are counted up to this many.
pub const COUNT_CAP: i64 = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_survives_its_url() {
        let q = CatalogQuery {
            q: "green tea & co".into(),
            category: "coffee-tea".into(),
            min: "5".into(),
            max: "".into(),
            in_stock: true,
            sort: Sort::PriceLow,
            after: String::new(),
        };
        let url = q.url(Some("12~500"));
        assert_eq!(url, "/?q=green+tea+%26+co&category=coffee-tea&min=5&stock=1&sort=price_low&after=12%7E500");
        let params: Vec<(String, String)> = form_urlencoded::parse(&url.as_bytes()[2..]).into_owned().collect();
        let back = CatalogQuery::from_params(|k| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()));
        assert_eq!(back, CatalogQuery { after: "12~500".into(), ..q });
        assert_eq!(CatalogQuery::default().url(None), "/");
    }

    #[test]
    fn words_are_letters_and_digits_lowercased() {
        let q = CatalogQuery { q: "Crème-brûlée \"OR\" 2x*".into(), ..CatalogQuery::default() };
        assert_eq!(q.words(), ["crème", "brûlée", "or", "2x"]);
        assert_eq!(CatalogQuery { q: "a b c d e f g h i j".into(), ..CatalogQuery::default() }.words().len(), MAX_SEARCH_WORDS);
    }

    #[test]
    fn prices_read_as_people_type_them() {
        let q = CatalogQuery { min: "12.5".into(), max: "$1,000".into(), ..CatalogQuery::default() };
        assert_eq!(q.price_range(), Ok((Some(1250), Some(100_000))));
        assert!(CatalogQuery { min: "cheap".into(), ..CatalogQuery::default() }.price_range().is_err());
    }
}
