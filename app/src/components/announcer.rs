//! What a screen reader hears of live changes: one polite, visually hidden
//! region in the layout. Pages say what changed in words ("Price changed from
//! $80.00 to $72.00."); a region added or replaced with the change would not
//! be announced, so the words go to this one, which is always there.

use leptos::prelude::*;

#[derive(Debug, Clone, Copy)]
pub struct Announcer {
    text: RwSignal<String>,
}

impl Announcer {
    pub fn new() -> Self {
        Self { text: RwSignal::new(String::new()) }
    }

    /// Announce `text` (the same words twice in a row are announced twice).
    pub fn say(self, text: String) {
        // A trailing non-breaking space makes a repeat a change for the region.
        let text = if self.text.with_untracked(|t| t.trim_end_matches('\u{a0}') == text && !t.ends_with('\u{a0}')) {
            format!("{text}\u{a0}")
        } else {
            text
        };
        self.text.set(text);
    }
}

impl Default for Announcer {
    fn default() -> Self {
        Self::new()
    }
}

/// The region (placed once, by the layout).
#[component]
pub fn AnnouncerRegion() -> impl IntoView {
    let announcer = expect_context::<Announcer>();
    view! { <div class="sr-only" role="status" aria-live="polite" aria-atomic="true" data-test-id="announcer">{move || announcer.text.get()}</div> }
}

/// Announce what `describe(before, now)` says each time `value` changes
/// after the first render (nothing when it says `None`).
pub fn announce_changes<T>(value: impl Fn() -> T + 'static, describe: impl Fn(&T, &T) -> Option<String> + 'static)
where
    T: PartialEq + Clone + 'static,
{
    let Some(announcer) = use_context::<Announcer>() else { return };
    Effect::new(move |before: Option<T>| {
        let now = value();
        if let Some(before) = before
            && before != now
            && let Some(words) = describe(&before, &now)
        {
            announcer.say(words);
        }
        now
    });
}

/// A stock level's change in words, when it matters to a buyer: sold out,
/// back, or running low.
pub fn stock_change(before: i64, now: i64) -> Option<String> {
    match (before, now) {
        (_, 0) if before > 0 => Some("Sold out.".to_string()),
        (0, n) if n > 0 => Some(format!("Back in stock: {n} available.")),
        (_, n @ 1..=9) if n != before => Some(format!("Only {n} left.")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::stock_change;

    #[test]
    fn only_the_stock_changes_a_buyer_cares_about_are_spoken() {
        assert_eq!(stock_change(3, 0).as_deref(), Some("Sold out."));
        assert_eq!(stock_change(0, 4).as_deref(), Some("Back in stock: 4 available."));
        assert_eq!(stock_change(12, 9).as_deref(), Some("Only 9 left."));
        assert_eq!(stock_change(40, 39), None);
        assert_eq!(stock_change(0, 0), None);
    }
}
