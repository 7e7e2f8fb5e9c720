//! Refusals and headers that protect every response.

use std::net::{IpAddr, SocketAddr};

use app::security::CspNonce;
use app::server::auth::ClientAddr;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::realtime::origin_allowed;
use crate::state::AppState;

/// Leptos server functions do no CSRF checking of their own, so refuse any
/// state-changing request that a browser marks as cross-site or whose Origin is
/// another site. GET, HEAD and OPTIONS change nothing and pass.
pub async fn refuse_cross_site(State(state): State<AppState>, request: Request<Body>, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = request.headers();
        let cross_site = headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        if cross_site || !origin_allowed(headers, &state.config.allowed_origins) {
            tracing::info!(method = %request.method(), path = request.uri().path(), "refused a cross-site request");
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                r#"{"error":"forbidden","message":"requests from other sites are not allowed"}"#,
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Security headers on every response. Each request gets a fresh script nonce
/// that Leptos puts on the page's scripts (`app::security::CspNonce`); an HTML
/// answer's Content-Security-Policy allows scripts with that nonce only, any
/// other answer's allows no inline script at all. HSTS when the shop says it
/// is served over TLS (`--secure-cookies`).
pub async fn headers(State(state): State<AppState>, mut request: Request<Body>, next: Next) -> Response {
    let nonce = leptos::nonce::Nonce::new().to_string();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let status = response.status();
    let h = response.headers_mut();
    let html = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if let Ok(policy) = HeaderValue::from_str(&app::security::page_policy(html.then_some(nonce.as_str()))) {
        h.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    h.entry(header::X_CONTENT_TYPE_OPTIONS).or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    let options = &state.leptos_options;
    if let Some(policy) = crate::assets::cache_policy(&path, &options.site_pkg_dir, options.hash_files, status, h) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    crate::assets::vary_on_encoding(status, h);
    if state.config.secure_cookies {
        h.entry(header::STRICT_TRANSPORT_SECURITY).or_insert(HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}

/// Work out the client's address and put it in the request's extensions
/// (`ClientAddr`) for the sign-in limits and anything else keyed by client.
pub async fn client_address(State(state): State<AppState>, mut request: Request<Body>, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(peer) = peer {
        let addr = client_addr(peer, request.headers(), &state.config.trusted_proxies);
        request.extensions_mut().insert(ClientAddr(addr));
    }
    next.run(request).await
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy, then
/// the nearest address in `X-Forwarded-For` (else `Forwarded: for=`) that is
/// not a trusted proxy, read from the right (what our own proxies appended),
/// since the left end is whatever the client chose to send.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| parse_hop(hop.trim()))
        .collect();
    if hops.is_empty() {
        hops = headers
            .get_all(header::FORWARDED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    name.trim().eq_ignore_ascii_case("for").then(|| parse_hop(value.trim().trim_matches('"')))
                })
            })
            .collect();
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(&ip) => client = ip,
            Some(ip) => return ip,
            // Garbage or an obfuscated name: nothing further left can be believed.
            None => return client,
        }
    }
    client
}

/// One hop of a forwarding header: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.parse::<SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(axum::http::HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().expect("net"), "10.0.0.0/8".parse().expect("net")];
        let xff = headers(&[("x-forwarded-for", "203.0.113.9")]);
        // Straight from the internet: the header is the client's own claim.
        assert_eq!(client_addr(ip("198.51.100.7"), &xff, &trusted), ip("198.51.100.7"));
        // Through our proxy: believed.
        assert_eq!(client_addr(ip("127.0.0.1"), &xff, &trusted), ip("203.0.113.9"));
        // A client that forges a left-hand entry gets its real address, the one our proxy appended.
        let forged = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(client_addr(ip("10.0.0.2"), &forged, &trusted), ip("203.0.113.9"));
        // Several header lines read as one list.
        let split = headers(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(client_addr(ip("127.0.0.1"), &split, &trusted), ip("203.0.113.9"));
        // RFC 7239, with IPv6 and ports.
        let fwd = headers(&[("forwarded", r#"for="[2001:db8::7]:4711";proto=https, for=10.0.0.5"#)]);
        assert_eq!(client_addr(ip("127.0.0.1"), &fwd, &trusted), ip("2001:db8::7"));
        // Garbage stops the walk at the last address we believe.
        let junk = headers(&[("x-forwarded-for", "not-an-ip, 10.0.0.5")]);
        assert_eq!(client_addr(ip("127.0.0.1"), &junk, &trusted), ip("10.0.0.5"));
        // No proxies configured: never believed.
        assert_eq!(client_addr(ip("127.0.0.1"), &xff, &[]), ip("127.0.0.1"));
    }
}

/// Property tests: forwarding headers are attacker-written; whatever they say,
/// the answer is the peer or an address they name, and nothing panics.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_forwarding_header_names_the_peer_or_one_of_its_addresses(xff in "[0-9a-f:.,\\[\\] ]{0,80}", fwd in "\\PC{0,80}") {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&xff) { headers.insert("x-forwarded-for", v); }
            if let Ok(v) = HeaderValue::from_str(&fwd) { headers.insert(header::FORWARDED, v); }
            let peer: IpAddr = "127.0.0.1".parse().expect("ip");
            let trusted: Vec<IpNet> = vec!["127.0.0.0/8".parse().expect("net")];
            let got = client_addr(peer, &headers, &trusted);
            prop_assert!(got == peer || xff.contains(&got.to_string()) || fwd.contains(&got.to_string()) || xff.contains('[') || fwd.contains('['));
            let untrusted: IpAddr = "198.51.100.1".parse().expect("ip");
            prop_assert_eq!(client_addr(untrusted, &headers, &trusted), untrusted);
        }
    }
}
