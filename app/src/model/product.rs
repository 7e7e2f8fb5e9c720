use serde::{Deserialize, Serialize};

use super::{CategorySlug, Money, ProductId, has_control};

/// What a catalog card shows. Sent on the `catalog` and `category:{slug}` topics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductSummary {
    pub id: ProductId,
    pub name: String,
    pub category: CategorySlug,
    pub price: Money,
    pub stock: i64,
    pub units_sold: i64,
    /// Path of the product image under the site root, e.g. `/images/p/headphones.svg`.
    pub image: String,
    /// Questions shoppers asked about it, and how many of them staff answered.
    pub questions: i64,
    pub answered: i64,
}

/// One product in full. Sent on the `product:{id}` topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Product {
    #[serde(flatten)]
    pub summary: ProductSummary,
    pub description: String,
}

/// A product as staff see it: archived ones too.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StaffProduct {
    #[serde(flatten)]
    pub product: Product,
    pub archived: bool,
    /// Moves with every staff edit of a field (not with stock or sales). An edit
    /// based on an older version is refused (409); on the JSON API it is the ETag.
    pub version: i64,
}

impl StaffProduct {
    /// What differs between an older copy and this one, in words for staff
    /// (stock and sales move on their own and are left out).
    pub fn changes_since(&self, older: &StaffProduct) -> Vec<String> {
        let (new, old) = (&self.product, &older.product);
        let mut changes = Vec::new();
        let mut note = |what: &str, from: String, to: String| {
            if from != to {
                changes.push(format!("{what}: {from} → {to}"));
            }
        };
        note("Name", old.summary.name.clone(), new.summary.name.clone());
        note("Category", old.summary.category.to_string(), new.summary.category.to_string());
        note("Price", old.summary.price.to_string(), new.summary.price.to_string());
        let photo =
            |p: &Product| if p.summary.image.starts_with(PLACEHOLDER_IMAGES) { "none".to_string() } else { p.summary.image.clone() };
        note("Image", photo(old), photo(new));
        let yes_no = |archived: bool| if archived { "archived" } else { "on sale" }.to_string();
        note("Status", yes_no(older.archived), yes_no(self.archived));
        if old.description != new.description {
            changes.push("Description: changed".to_string());
        }
        changes
    }
}

/// Where the pictures drawn for products without a photo are served.
pub const PLACEHOLDER_IMAGES: &str = "/images/placeholder/";

/// What staff enter to create or edit a product. Checked by [`ProductDraft::validated`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductDraft {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub category: String,
    /// Price in minor units (cents).
    pub price_minor: i64,
    pub stock: i64,
    #[serde(default)]
    pub image: String,
}

impl ProductDraft {
    pub const MAX_NAME: usize = 200;
    pub const MAX_DESCRIPTION: usize = 5000;
    /// Ten million dollars: well past anything a shop sells, far from overflow.
    pub const MAX_PRICE_MINOR: i64 = 1_000_000_000;
    pub const MAX_STOCK: i64 = 1_000_000_000;

    /// Trimmed and within bounds; the first problem (field, message) otherwise.
    pub fn validated(&self) -> Result<ProductDraft, (&'static str, String)> {
        Ok(ProductDraft {
            name: Self::check_name(&self.name)?,
            description: Self::check_description(&self.description)?,
            category: Self::check_category(&self.category)?,
            price_minor: Self::check_price(self.price_minor)?,
            stock: check_stock(self.stock).map_err(|m| ("stock", m))?,
            image: Self::check_image(&self.image)?,
        })
    }

    /// A name, trimmed: 1 to [`Self::MAX_NAME`] characters.
    pub fn check_name(name: &str) -> Result<String, (&'static str, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_NAME {
            return Err(("name", format!("name must be 1 to {} characters", Self::MAX_NAME)));
        }
        if has_control(name, false) {
            return Err(("name", "name must be plain text on one line (no control characters)".to_string()));
        }
        Ok(name.to_string())
    }

    pub fn check_description(description: &str) -> Result<String, (&'static str, String)> {
        let description = description.trim();
        if description.chars().count() > Self::MAX_DESCRIPTION {
            return Err(("description", format!("description is over {} characters", Self::MAX_DESCRIPTION)));
        }
        if has_control(description, true) {
            return Err(("description", "description must be plain text (no control characters)".to_string()));
        }
        Ok(description.to_string())
    }

    pub fn check_category(category: &str) -> Result<String, (&'static str, String)> {
        let category = CategorySlug::parse(category.trim()).map_err(|e| ("category", e.to_string()))?;
        Ok(category.as_str().to_string())
    }

    pub fn check_price(price_minor: i64) -> Result<i64, (&'static str, String)> {
        if !(0..=Self::MAX_PRICE_MINOR).contains(&price_minor) {
            return Err(("price_minor", format!("price must be between 0 and {} cents", Self::MAX_PRICE_MINOR)));
        }
        Ok(price_minor)
    }

    /// Empty, or a path on this site (no other hosts, no `javascript:`). A
    /// drawn picture's address (see [`PLACEHOLDER_IMAGES`]) is stored as no
    /// photo: the picture follows the name.
    pub fn check_image(image: &str) -> Result<String, (&'static str, String)> {
        let image = image.trim();
        if image.starts_with(PLACEHOLDER_IMAGES) {
            return Ok(String::new());
        }
        if !(image.is_empty() || (image.starts_with('/') && !image.starts_with("//") && !image.contains('\\') && image.len() <= 300)) {
            return Err(("image", "image must be a path on this site, e.g. /media/12".to_string()));
        }
        Ok(image.to_string())
    }
}

/// A stock level the shop accepts: 0 to [`ProductDraft::MAX_STOCK`].
pub fn check_stock(stock: i64) -> Result<i64, String> {
    if (0..=ProductDraft::MAX_STOCK).contains(&stock) {
        Ok(stock)
    } else if stock < 0 {
        Err(format!("stock cannot go below 0 (would be {stock})"))
    } else {
        Err(format!("stock cannot exceed {}", ProductDraft::MAX_STOCK))
    }
}

/// A product category.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Category {
    pub slug: CategorySlug,
    pub name: String,
}

/// An item of a live collection: how it is identified and ordered.
pub trait Keyed {
    /// What a list is ordered by (ties: by key).
    type Sort: Ord;
    fn key(&self) -> i64;
    fn sort_key(&self) -> Self::Sort;
}

impl Keyed for ProductSummary {
    type Sort = String;
    fn key(&self) -> i64 {
        self.id.0
    }
    fn sort_key(&self) -> String {
        self.name.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_are_plain_text() {
        assert_eq!(ProductDraft::check_name("  Tea  ").map_err(|e| e.0), Ok("Tea".to_string()));
        for bad in ["\0&\u{ca}", "Tea\nCup", "Tea\u{1b}[31m", "Tea\u{7f}"] {
            assert_eq!(ProductDraft::check_name(bad).map_err(|e| e.0), Err("name"), "{bad:?}");
        }
        assert!(ProductDraft::check_description("Two lines,\r\nand a\ttab.").is_ok());
        assert_eq!(ProductDraft::check_description("NUL\0here").map_err(|e| e.0), Err("description"));
    }
}
