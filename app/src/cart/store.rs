use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{CartLine, ProductId};

const STORAGE_KEY: &str = "livecart.cart";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Saved {
    lines: Vec<CartLine>,
    key: String,
}

/// The tab's cart. Empty during SSR; loaded from localStorage after hydration.
#[derive(Debug, Clone, Copy)]
pub struct Cart {
    lines: RwSignal<Vec<CartLine>>,
    /// The idempotency key of the checkout this cart will become; a new one
    /// after each order, the same one for every retry of the same checkout.
    key: RwSignal<String>,
    loaded: RwSignal<bool>,
}

impl Cart {
    /// Products one cart (and one order) may hold.
    pub const MAX_LINES: usize = 50;

    pub fn new() -> Self {
        Self { lines: RwSignal::new(Vec::new()), key: RwSignal::new(String::new()), loaded: RwSignal::new(false) }
    }

    /// Load from storage and keep storage in step (browser only; call from an Effect).
    pub fn load(self) {
        self.restore(storage_get().as_deref());
        self.loaded.set(true);
        // Another tab of this shop changed the cart: show the same one here
        // (the browser tells every other tab; writing it back unchanged tells
        // no one, so the tabs do not echo).
        #[cfg(feature = "hydrate")]
        {
            let announcer = use_context::<crate::components::Announcer>();
            let listener = window_event_listener(leptos::ev::storage, move |ev: web_sys::StorageEvent| {
                if ev.key().as_deref() == Some(STORAGE_KEY) {
                    let before = self.count_untracked();
                    self.restore(ev.new_value().as_deref());
                    let now = self.count_untracked();
                    if let Some(announcer) = announcer
                        && now != before
                    {
                        let items = if now == 1 { "1 item".to_string() } else { format!("{now} items") };
                        announcer.say(format!("Your cart changed in another tab: {items}."));
                    }
                }
            });
            // The cart lives as long as the page.
            std::mem::forget(listener);
        }
        Effect::new(move |_| {
            let saved = Saved { lines: self.lines.get(), key: self.key.get() };
            if let Ok(json) = serde_json::to_string(&saved) {
                storage_set(&json);
            }
        });
    }

    /// Whether the cart may be shown by the calling component: loaded, and the
    /// component hydrated. A page that hydrates late (a lazy route, whose code
    /// arrives after the app's effects loaded the cart) must first render as the
    /// server did, without the cart, or hydration finds other nodes than the
    /// server sent. Call once per component, while building its view.
    pub fn ready_here(self) -> Signal<bool> {
        let hydrated = RwSignal::new(false);
        Effect::new(move |_| hydrated.set(true));
        Signal::derive(move || hydrated.get() && self.loaded.get())
    }

    pub fn lines(&self) -> Signal<Vec<CartLine>> {
        self.lines.into()
    }

    pub fn key(&self) -> String {
        self.key.get_untracked()
    }

    /// Units in the cart.
    pub fn count(&self) -> i64 {
        self.lines.with(|ls| ls.iter().map(|l| l.quantity).sum())
    }

    #[cfg(feature = "hydrate")]
    fn count_untracked(&self) -> i64 {
        self.lines.with_untracked(|ls| ls.iter().map(|l| l.quantity).sum())
    }

    /// How many of one product are in the cart.
    pub fn quantity_of(&self, product_id: ProductId) -> i64 {
        self.lines.with(|ls| ls.iter().find(|l| l.product_id == product_id).map_or(0, |l| l.quantity))
    }

    /// Set the cart from its saved JSON (anything unreadable or out of
    /// bounds is dropped; a missing key gets a fresh one).
    fn restore(self, json: Option<&str>) {
        let saved: Saved = json.and_then(|s| crate::json::decode(s).ok()).unwrap_or_default();
        let valid = |l: &CartLine| l.product_id.0 > 0 && (1..=CartLine::MAX_QUANTITY).contains(&l.quantity);
        let lines: Vec<CartLine> = saved.lines.into_iter().filter(valid).take(Self::MAX_LINES).collect();
        if self.lines.with_untracked(|current| *current != lines) {
            self.lines.set(lines);
        }
        let key = if saved.key.len() >= 8 { saved.key } else { new_key() };
        if self.key.with_untracked(|current| *current != key) {
            self.key.set(key);
        }
    }

    /// Whether another product fits: a cart holds at most [`Cart::MAX_LINES`]
    /// products (what one order may hold).
    pub fn has_room_for(&self, product_id: ProductId) -> bool {
        self.lines.with(|ls| ls.len() < Self::MAX_LINES || ls.iter().any(|l| l.product_id == product_id))
    }

    /// Add to the cart; `false` (and nothing changes) when it is full.
    pub fn add(&self, product_id: ProductId, quantity: i64) -> bool {
        if !self.has_room_for(product_id) {
            return false;
        }
        self.lines.update(|ls| match ls.iter_mut().find(|l| l.product_id == product_id) {
            Some(line) => line.quantity = (line.quantity + quantity).clamp(1, CartLine::MAX_QUANTITY),
            None => ls.push(CartLine { product_id, quantity: quantity.clamp(1, CartLine::MAX_QUANTITY) }),
        });
        true
    }

    pub fn set_quantity(&self, product_id: ProductId, quantity: i64) {
        self.lines.update(|ls| {
            if let Some(line) = ls.iter_mut().find(|l| l.product_id == product_id) {
                line.quantity = quantity.clamp(1, CartLine::MAX_QUANTITY);
            }
        });
    }

    pub fn remove(&self, product_id: ProductId) {
        self.lines.update(|ls| ls.retain(|l| l.product_id != product_id));
    }

    /// After an order: empty, with a fresh key for the next checkout.
    pub fn clear(&self) {
        self.lines.set(Vec::new());
        self.key.set(new_key());
    }
}

impl Default for Cart {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

#[cfg(feature = "hydrate")]
fn storage_get() -> Option<String> {
    storage()?.get_item(STORAGE_KEY).ok()?
}

#[cfg(feature = "hydrate")]
fn storage_set(value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(STORAGE_KEY, value);
    }
}

#[cfg(feature = "hydrate")]
fn new_key() -> String {
    let part = || (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
    format!("{:013x}{:013x}", part(), part())
}

#[cfg(not(feature = "hydrate"))]
fn storage_get() -> Option<String> {
    let _ = STORAGE_KEY;
    None
}

#[cfg(not(feature = "hydrate"))]
fn storage_set(_: &str) {}

#[cfg(not(feature = "hydrate"))]
fn new_key() -> String {
    String::new()
}
