//! "In N carts": while this tab's cart holds a product, the tab follows
//! `carts:{product}` and so is one of the carts counted as holding it (on
//! every instance, like presence; nothing is written). The cart page shows
//! how many other carts hold each line, the product page how many carts hold
//! the product (from its `presence:` figure).

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;

use super::Cart;
use crate::live::{LiveClient, LiveEvent, SubscriptionId};
use crate::model::ProductId;
use crate::protocol::{PresenceFigure, Topic};

/// How many carts hold each product this tab's cart holds (this one included).
#[derive(Debug, Clone, Copy)]
pub struct CartHolders {
    counts: RwSignal<HashMap<ProductId, u64>>,
}

impl CartHolders {
    pub fn new() -> Self {
        Self { counts: RwSignal::new(HashMap::new()) }
    }

    /// Follow what `cart` holds for as long as the page lives (browser only;
    /// call from an Effect).
    pub fn follow(self, cart: Cart, live: LiveClient) {
        let followed = StoredValue::new(HashMap::<ProductId, SubscriptionId>::new());
        let counts = self.counts;
        Effect::new(move |_| {
            let held: HashSet<ProductId> = cart.lines().with(|ls| ls.iter().map(|l| l.product_id).collect());
            followed.update_value(|followed| {
                followed.retain(|id, sub| {
                    let keep = held.contains(id);
                    if !keep {
                        live.unsubscribe(*sub);
                    }
                    keep
                });
                for id in &held {
                    let id = *id;
                    followed.entry(id).or_insert_with(|| {
                        live.subscribe(Topic::Carts(id), None, move |event| {
                            let count = match event {
                                LiveEvent::Snapshot(raw) => crate::json::decode::<PresenceFigure>(raw.get()).ok().map(|f| f.count),
                                LiveEvent::Presence(f) => Some(f.count),
                                _ => None,
                            };
                            if let Some(count) = count {
                                counts.update(|c| {
                                    c.insert(id, count);
                                });
                            }
                        })
                    });
                }
            });
            counts.update(|c| c.retain(|id, _| held.contains(id)));
        });
    }

    /// How many other carts hold `product`, which this cart holds (`None`
    /// until known).
    pub fn others(self, product: ProductId) -> Option<u64> {
        self.counts.with(|c| c.get(&product).map(|n| n.saturating_sub(1)))
    }
}

impl Default for CartHolders {
    fn default() -> Self {
        Self::new()
    }
}

/// "In 3 other carts", or nothing when no other cart holds it.
pub fn in_other_carts(others: u64) -> Option<String> {
    match others {
        0 => None,
        1 => Some("In 1 other cart".to_string()),
        n => Some(format!("In {n} other carts")),
    }
}
