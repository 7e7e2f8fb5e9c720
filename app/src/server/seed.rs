//! The demo catalog a fresh database starts with.

use super::Db;
use super::db::{SeedCategory, SeedProduct};

const CATEGORIES: &[SeedCategory] = &[
    SeedCategory { slug: "electronics", name: "Electronics" },
    SeedCategory { slug: "confectionery", name: "Confectionery" },
    SeedCategory { slug: "coffee-tea", name: "Coffee & Tea" },
    SeedCategory { slug: "home", name: "Home & Kitchen" },
];

/// (category, name, description, price in cents, stock)
const PRODUCTS: &[(&str, &str, &str, i64, i64)] = &[
    (
        "electronics",
        "Wireless Headphones",
        "Over-ear, 30 hours of battery, active noise cancelling and a case that folds flat.",
        12_900,
        25,
    ),
    ("electronics", "Mechanical Keyboard", "Tenkeyless, hot-swappable tactile switches, PBT keycaps and a braided USB-C cable.", 8_950, 40),
    ("electronics", "4K Monitor 27\"", "IPS panel, 99% sRGB, USB-C with 65 W power delivery, height-adjustable stand.", 32_900, 12),
    ("electronics", "Smart Speaker", "Room-filling sound in a fabric-wrapped cylinder; works over Wi-Fi and Bluetooth.", 7_900, 60),
    ("electronics", "Portable Charger", "20,000 mAh, charges a laptop over USB-C PD and two phones at once.", 4_500, 120),
    ("electronics", "Fitness Tracker", "Heart rate, sleep and steps; seven days per charge and water-resistant to 50 m.", 5_999, 35),
    ("electronics", "Action Camera", "4K at 60 fps with stabilisation, waterproof without a case.", 24_900, 8),
    ("confectionery", "Dark Chocolate Bar", "72% single-origin cacao from Ecuador, 100 g.", 450, 300),
    ("confectionery", "Salted Caramels", "Hand-cut soft caramels with sea salt flakes, box of 16.", 1_200, 80),
    ("confectionery", "Gummy Bears", "Fruit gummies in six flavours, no artificial colours, 250 g bag.", 399, 500),
    ("confectionery", "Hazelnut Pralines", "Milk chocolate shells around roasted hazelnut cream, box of 12.", 1_650, 45),
    ("confectionery", "Peppermint Drops", "Old-fashioned boiled sweets in a tin.", 550, 150),
    ("confectionery", "Macaron Box", "Twelve Parisian macarons: pistachio, raspberry, vanilla and salted caramel.", 2_400, 20),
    ("confectionery", "Licorice Twists", "Soft black licorice, 300 g.", 475, 90),
    ("coffee-tea", "Espresso Beans", "Dark roast blend for espresso, 1 kg, roasted this week.", 2_290, 70),
    ("coffee-tea", "Single-Origin Ethiopia", "Light roast with notes of blueberry and jasmine, 250 g whole beans.", 1_450, 40),
    ("coffee-tea", "Matcha Powder", "Ceremonial grade from Uji, 30 g tin.", 2_800, 25),
    ("coffee-tea", "Earl Grey Tea", "Black tea with bergamot oil, 50 loose-leaf servings.", 990, 110),
    ("coffee-tea", "Pour-Over Kettle", "Gooseneck kettle with thermometer, 1 litre.", 4_900, 18),
    ("coffee-tea", "Hand Grinder", "Conical steel burrs with 40 click settings.", 6_900, 22),
    ("coffee-tea", "Chamomile Blend", "Caffeine-free chamomile with lemon balm, 20 sachets.", 650, 95),
    ("home", "Chef's Knife", "20 cm, forged stainless steel, full tang.", 8_900, 30),
    ("home", "Cast Iron Skillet", "26 cm, pre-seasoned, oven-safe for life.", 3_900, 45),
    ("home", "Linen Tea Towels", "Set of three stonewashed linen towels.", 2_400, 60),
    ("home", "Ceramic Mug Set", "Four stoneware mugs, 350 ml, dishwasher-safe.", 3_200, 40),
    ("home", "Bamboo Cutting Board", "Large end-grain board with juice groove.", 2_900, 55),
    ("home", "Scented Candle", "Cedar and fig, 50 hours, cotton wick.", 1_800, 75),
];

/// Seed the demo catalog into an empty database. Returns whether it seeded.
#[tracing::instrument(skip_all)]
pub async fn seed_if_empty(db: &Db) -> anyhow::Result<bool> {
    if !db.catalog_is_empty().await? {
        return Ok(false);
    }
    let products: Vec<SeedProduct> = PRODUCTS
        .iter()
        .map(|&(category, name, description, price_cents, stock)| SeedProduct {
            category,
            name,
            description,
            price_cents,
            stock,
            // No photo: the shop draws a picture for each product.
            image: String::new(),
        })
        .collect();
    if !db.insert_catalog(CATEGORIES, &products).await? {
        return Ok(false); // another instance seeded it first
    }
    tracing::info!(categories = CATEGORIES.len(), products = products.len(), "seeded the demo catalog");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_product_gets_a_picture_of_what_it_is() {
        use crate::server::placeholder::Picture;
        for (_, name, ..) in PRODUCTS {
            assert_ne!(Picture::for_name(name), Picture::Parcel, "{name}");
        }
        assert!(PRODUCTS.len() >= 24);
        let cats: std::collections::HashSet<_> = PRODUCTS.iter().map(|p| p.0).collect();
        assert!(cats.len() >= 3);
    }
}
