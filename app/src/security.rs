//! What keeps user-written strings and scripts in their place on every page:
//! the escaped `<title>` and the per-response Content-Security-Policy.

/// Escape text for an HTML text or attribute context (`&`, `<`, `>`, `"`, `'`).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text to put inside a `<textarea>`. Leptos writes a textarea's children into
/// the server's HTML unescaped (as for `<script>`), but the browser decodes
/// entities there and ends the element at `</textarea>`: so a description
/// holding `</textarea><script>…` would become markup. Escaped on the server;
/// in the browser it becomes a text node, plain text, as it is.
pub fn textarea_text(text: String) -> String {
    #[cfg(feature = "ssr")]
    return escape_html(&text);
    #[cfg(not(feature = "ssr"))]
    text
}

/// The formatter every `<title>` goes through. On the server `leptos_meta`
/// writes the title into the HTML as it is, so a product named
/// `</title><script>…` would become markup: escape it there. In the browser
/// the title is set as `document.title`, plain text, so nothing to do.
pub fn title_formatter() -> leptos_meta::Formatter {
    #[cfg(feature = "ssr")]
    let format = |text: String| escape_html(&text);
    #[cfg(not(feature = "ssr"))]
    let format = |text: String| text;
    leptos_meta::Formatter::from(format)
}

/// The policy for pages: scripts only with this response's nonce (Leptos puts
/// it on its hydration and resource scripts) or loaded by such a script
/// (`'strict-dynamic'`: the wasm glue and the lazily loaded page chunks), the
/// wasm compiled by the browser (`'wasm-unsafe-eval'`), no inline script
/// without the nonce. Styles may stay inline (Leptos sets `style=` attributes).
pub fn page_policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_string(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self' ws: wss:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )
}

/// This response's script nonce, made by the host's header middleware for each
/// request (and put in the request's extensions), so the header it writes and
/// the scripts Leptos writes carry the same one. (Setting the header from
/// inside the render instead lost it now and then under concurrent requests.)
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Give Leptos this request's nonce (call in the render's context closure,
/// after `leptos_axum` provided its own).
#[cfg(feature = "ssr")]
pub fn provide_request_nonce() {
    use leptos::prelude::{provide_context, use_context};
    let nonce = use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(nonce)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape_html(r#"</title><script>alert("x")</script>&'"#),
            "&lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
        assert_eq!(escape_html("Café · livecart"), "Café · livecart");
    }

    #[test]
    fn the_page_policy_allows_no_inline_script_without_the_nonce() {
        let policy = page_policy(Some("abc"));
        let scripts = policy.split(';').find(|d| d.trim().starts_with("script-src")).expect("script-src");
        assert!(scripts.contains("'nonce-abc'") && scripts.contains("'strict-dynamic'"));
        assert!(!scripts.contains("unsafe-inline"));
        assert!(!page_policy(None).split(';').any(|d| d.contains("script-src") && d.contains("unsafe-inline")));
    }
}
