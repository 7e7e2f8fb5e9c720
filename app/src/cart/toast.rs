//! "Added … to your cart": a short message after each add, in a region a
//! screen reader announces, with the way to the cart.

use std::time::Duration;

use leptos::prelude::*;

/// How long a message stays.
const SHOWN_FOR: Duration = Duration::from_millis(4000);

/// The page's one message slot (provided by the app, next to the cart).
#[derive(Debug, Clone, Copy, Default)]
pub struct Toast {
    message: RwSignal<Option<(u64, String)>>,
}

impl Toast {
    pub fn new() -> Self {
        Self { message: RwSignal::new(None) }
    }

    /// Show `text` for a few seconds (a newer message replaces it at once).
    pub fn show(self, text: String) {
        let n = self.message.with_untracked(|m| m.as_ref().map_or(1, |(n, _)| n + 1));
        self.message.set(Some((n, text)));
        set_timeout(
            move || {
                if self.message.try_with_untracked(|m| m.as_ref().map(|(shown, _)| *shown)) == Some(Some(n)) {
                    self.message.set(None);
                }
            },
            SHOWN_FOR,
        );
    }
}

/// Where the message shows; always in the page, so it is announced.
#[component]
pub fn ToastRegion() -> impl IntoView {
    let toast = expect_context::<Toast>();
    view! {
        <div class="toast-region" role="status" aria-live="polite" data-test-id="toast-region">
            {move || {
                toast.message.get().map(|(_, text)| {
                    view! {
                        <div class="toast" data-test-id="toast">
                            <span>{text}</span>
                            <a href="/cart" class="toast-link">"View cart"</a>
                        </div>
                    }
                })
            }}
        </div>
    }
}
