//! Big catalogs for tests and benchmarks: `livecart seed --products N` adds N
//! made-up but plausible products (names, descriptions, prices, stock) to the
//! demo categories; each gets a picture drawn from its name (`placeholder`).
//! Deterministic for a given start index, so runs are repeatable.

use super::Db;

/// One made-up product, ready to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedProduct {
    pub category: &'static str,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub stock: i64,
    pub image: String,
}

/// Per category: (noun, price range in cents, what it is for).
type Kind = (&'static str, (i64, i64), &'static str);

const KINDS: &[(&str, &[Kind])] = &[
    (
        "electronics",
        &[
            ("Headphones", (2_900, 39_900), "long listening sessions"),
            ("Keyboard", (3_900, 24_900), "typing all day"),
            ("Monitor", (12_900, 89_900), "a desk with room for two windows"),
            ("Speaker", (2_900, 29_900), "music in the kitchen"),
            ("Power Bank", (1_900, 9_900), "a day away from a socket"),
            ("Fitness Band", (2_900, 19_900), "runs, rides and sleep"),
            ("Camera", (9_900, 59_900), "trails, waves and handlebars"),
        ],
    ),
    (
        "confectionery",
        &[
            ("Chocolate Bar", (250, 1_200), "an afternoon treat"),
            ("Caramels", (600, 2_400), "sharing after dinner"),
            ("Gummies", (250, 900), "the cinema"),
            ("Pralines", (900, 3_900), "a thank-you gift"),
            ("Mints", (250, 800), "the glovebox"),
            ("Macarons", (1_200, 4_800), "a birthday table"),
            ("Licorice", (300, 900), "road trips"),
        ],
    ),
    (
        "coffee-tea",
        &[
            ("Espresso Beans", (900, 4_900), "a morning espresso"),
            ("Filter Coffee", (800, 3_200), "a slow pour-over"),
            ("Matcha", (1_200, 5_900), "whisked tea or lattes"),
            ("Black Tea", (400, 2_400), "a pot at four o'clock"),
            ("Kettle", (2_900, 12_900), "precise pouring"),
            ("Grinder", (2_900, 19_900), "fresh grounds every cup"),
            ("Herbal Tea", (400, 1_800), "winding down"),
        ],
    ),
    (
        "home",
        &[
            ("Knife", (1_900, 19_900), "everyday prep"),
            ("Skillet", (1_900, 9_900), "searing and baking"),
            ("Tea Towels", (900, 3_900), "a tidy kitchen"),
            ("Mug Set", (1_500, 6_900), "the breakfast table"),
            ("Cutting Board", (1_200, 7_900), "chopping and serving"),
            ("Candle", (800, 4_500), "long evenings"),
        ],
    ),
];

const QUALITIES: &[&str] = &[
    "Classic",
    "Compact",
    "Everyday",
    "Premium",
    "Travel",
    "Studio",
    "Organic",
    "Deluxe",
    "Nordic",
    "Heritage",
    "Essential",
    "Pro",
    "Mini",
    "Signature",
    "Artisan",
    "Ultra",
];
const TRAITS: &[&str] =
    &["Walnut", "Midnight", "Coastal", "Alpine", "Amber", "Slate", "Sage", "Copper", "Ivory", "Ember", "Harbour", "Meadow"];
const MAKINGS: &[&str] = &[
    "Made in small batches and checked by hand before it ships.",
    "Backed by a two-year guarantee and free returns within 30 days.",
    "Packed in recycled cardboard without plastic.",
    "A favourite of our regulars, restocked every week.",
    "Designed to last and easy to look after.",
];

/// A small deterministic generator (SplitMix64): the same index always makes
/// the same product.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn pick<T: Copy>(list: &[T], r: u64) -> T {
    list[(r % list.len() as u64) as usize]
}

/// The `index`th made-up product.
pub fn product(index: u64) -> GeneratedProduct {
    let r = |salt: u64| mix(index.wrapping_mul(16).wrapping_add(salt));
    let (category, kinds) = pick(KINDS, r(1));
    let (noun, (low, high), purpose) = pick(kinds, r(2));
    let (quality, trait_) = (pick(QUALITIES, r(3)), pick(TRAITS, r(4)));
    let model = 100 + r(5) % 900;
    // Prices spread evenly on a log scale between the kind's bounds, ending in 9 or 0.
    let t = (r(6) % 1000) as f64 / 1000.0;
    let price = ((low as f64) * ((high as f64) / (low as f64)).powf(t)) as i64;
    let price_cents = (price / 10 * 10 + if r(7) % 2 == 0 { 9 } else { 0 }).clamp(low, high);
    // Mostly in stock, a few low, one in twenty sold out.
    let stock = match r(8) % 20 {
        0 => 0,
        1..=3 => 1 + (r(9) % 5) as i64,
        _ => 10 + (r(9) % 490) as i64,
    };
    GeneratedProduct {
        category,
        name: format!("{quality} {trait_} {noun} {model}"),
        description: format!(
            "{} {} {} for {purpose}, in the {} finish. {}",
            if quality.starts_with(['A', 'E', 'I', 'O', 'U']) { "An" } else { "A" },
            quality.to_lowercase(),
            noun.to_lowercase(),
            trait_.to_lowercase(),
            pick(MAKINGS, r(10))
        ),
        price_cents,
        stock,
        // No photo: the shop draws a picture for each product.
        image: String::new(),
    }
}

/// Add `count` made-up products after what is there, in transactions of
/// `batch` rows (so a running shop keeps serving between them). `progress` is
/// told how many are in after each batch.
pub async fn add_products(db: &Db, count: u64, batch: usize, mut progress: impl FnMut(u64)) -> anyhow::Result<u64> {
    let start = db.product_count().await?.max(0) as u64;
    let mut added = 0;
    while added < count {
        let n = (count - added).min(batch as u64);
        let rows: Vec<GeneratedProduct> = (start + added..start + added + n).map(product).collect();
        db.insert_generated(&rows).await?;
        added += n;
        progress(added);
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_plausible_repeatable_and_varied() {
        assert_eq!(product(7), product(7));
        let many: Vec<GeneratedProduct> = (0..2000).map(product).collect();
        for p in &many {
            assert!(p.price_cents > 0 && p.stock >= 0, "{p:?}");
            assert!(p.name.split(' ').count() >= 4 && p.description.ends_with('.'), "{p:?}");
            assert!(!p.description.starts_with("A u") && !p.description.starts_with("A e") && !p.description.starts_with("A o"), "{p:?}");
            assert!(
                crate::server::placeholder::Picture::for_name(&p.name) != crate::server::placeholder::Picture::Parcel,
                "{} gets a picture of what it is",
                p.name
            );
        }
        let names: std::collections::HashSet<&str> = many.iter().map(|p| p.name.as_str()).collect();
        assert!(names.len() > 1900, "names repeat too often: {} distinct of 2000", names.len());
        let categories: std::collections::HashSet<&str> = many.iter().map(|p| p.category).collect();
        assert_eq!(categories.len(), KINDS.len(), "every category gets products");
        let sold_out = many.iter().filter(|p| p.stock == 0).count();
        assert!((40..200).contains(&sold_out), "about one in twenty sold out: {sold_out}");
    }
}
