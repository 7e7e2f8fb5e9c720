/// Bring the element the address's `#fragment` names into view, when it is
/// one of `ids`. For sections that load after the page: the router's own
/// scroll to the fragment (or to the top, after a client-side move) happens
/// before they exist, so this waits for it first. Call from an `Effect`
/// (browser only; on the server it does nothing).
pub fn scroll_to_fragment(ids: &'static [&'static str]) {
    #[cfg(feature = "hydrate")]
    leptos::prelude::set_timeout(
        move || {
            let Some(window) = web_sys::window() else { return };
            let hash = window.location().hash().unwrap_or_default();
            let target = hash.trim_start_matches('#');
            if ids.contains(&target)
                && let Some(el) = window.document().and_then(|d| d.get_element_by_id(target))
            {
                el.scroll_into_view();
            }
        },
        std::time::Duration::from_millis(100),
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = ids;
}
