//! Times as the reader's clock shows them.

use leptos::prelude::*;

/// A moment (RFC 3339, UTC) in the reader's own time zone and words
/// ("Nov 30, 2026, 9:32 AM"). The server cannot know the zone, so its HTML
/// (and a page without wasm) says the time in UTC; the browser rewrites it
/// once the page runs.
#[component]
pub fn LocalTime(#[prop(into)] at: String) -> impl IntoView {
    let text = RwSignal::new(utc_time(&at));
    #[cfg(feature = "hydrate")]
    {
        let at = at.clone();
        Effect::new(move |_| {
            if let Some(local) = local_time(&at) {
                text.set(local);
            }
        });
    }
    view! { <time datetime=at>{move || text.get()}</time> }
}

/// `2026-11-30 14:32 UTC`: what the server renders.
pub fn utc_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// The browser's rendering of a moment in its zone and locale (`None` when it
/// does not parse).
#[cfg(feature = "hydrate")]
fn local_time(rfc3339: &str) -> Option<String> {
    use wasm_bindgen::JsValue;
    let date = js_sys::Date::new(&JsValue::from_str(rfc3339));
    if date.get_time().is_nan() {
        return None;
    }
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into()).ok()?;
    js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into()).ok()?;
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &options);
    let text = format.format().call1(&format, &date).ok()?;
    text.as_string()
}
