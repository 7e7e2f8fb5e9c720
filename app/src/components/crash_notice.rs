//! What a shopper sees when the page's code stops: a panic aborts the whole
//! wasm module, so nothing reactive works after it. The most likely cause on
//! a page left open is a deploy (the page's next piece of code, a lazy page or
//! the unread link, is no longer on the server) or a dropped connection while
//! loading one. Rather than a page that silently ignores every tap, a notice
//! with a plain link that loads the page again.

/// Shows the notice (once), with plain DOM calls: the reactive system may be
/// what failed. Never panics.
pub fn show_crash_notice() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if document.get_element_by_id("crash-notice").is_some() {
        return;
    }
    let (Some(body), Ok(notice), Ok(text), Ok(reload)) =
        (document.body(), document.create_element("div"), document.create_element("span"), document.create_element("a"))
    else {
        return;
    };
    notice.set_id("crash-notice");
    let _ = notice.set_attribute("class", "crash-notice");
    let _ = notice.set_attribute("role", "alert");
    let _ = notice.set_attribute("data-test-id", "crash-notice");
    text.set_text_content(Some(
        "This page stopped responding. The shop may just have been updated, or the connection dropped while it loaded.",
    ));
    // An empty href is this page's address (the one the shopper was moving
    // to, if the move had begun): following it loads it afresh.
    let _ = reload.set_attribute("href", "");
    let _ = reload.set_attribute("class", "button button-small");
    let _ = reload.set_attribute("data-test-id", "crash-reload");
    let _ = reload.set_attribute("rel", "external");
    reload.set_text_content(Some("Reload the page"));
    let _ = notice.append_child(&text);
    let _ = notice.append_child(&reload);
    let _ = body.append_child(&notice);
}
