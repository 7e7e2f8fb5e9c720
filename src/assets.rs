//! The built site's static files: content-hashed names, precompressed copies
//! and how long a browser may keep each answer.
//!
//! `cargo leptos build` (with `hash-files = true` in Cargo.toml) names every
//! `/pkg` file after its content (`livecart.<md5>.wasm`) and lists the names in
//! `hash.txt` beside the server binary; `--release --precompress` also writes a
//! brotli (quality 11) and a gzip copy of each file, which the static file
//! service sends as they are instead of compressing per request.

use std::path::{Path, PathBuf};

use anyhow::bail;
use axum::http::{HeaderMap, StatusCode, header};
use leptos::config::LeptosOptions;

/// A content-hashed file never changes under its name.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Pages show live figures and who is signed in: kept by nobody but the
/// browser, and fetched again on every visit (they carry no validator, so
/// that is a full render; they are small and compressed).
pub const PAGE: &str = "private, no-cache";
/// Files from `public/` keep their names across builds: an hour.
pub const PUBLIC_FILE: &str = "public, max-age=3600";
/// `/pkg` files without hashed names (wasm-bindgen's snippets, or a build
/// without `hash-files`): fetched again on every visit. (leptos_axum passes
/// only `Accept-Encoding` on to the file service, so a conditional request
/// still gets the whole file, never a 304.)
pub const REVALIDATE: &str = "no-cache";

/// Decide whether the site's `/pkg` files have hashed names and check that the
/// binary and the site come from the same build, so a deploy that copied one
/// and not the other stops with the reason instead of serving pages that never
/// hydrate. cargo-leptos says so itself (`LEPTOS_HASH_FILES`) when it runs the
/// server; a binary started on its own looks for `hash.txt` beside itself.
pub fn resolve_hashing(options: &mut LeptosOptions) -> anyhow::Result<()> {
    let said = std::env::var_os("LEPTOS_HASH_FILES").is_some();
    let listing = hash_file(options);
    check_site(options, listing.as_deref(), said)
}

/// [`resolve_hashing`] with the listing's place given: `said` when the
/// environment decided `hash_files` already.
fn check_site(options: &mut LeptosOptions, listing: Option<&Path>, said: bool) -> anyhow::Result<()> {
    if !said {
        options.hash_files = listing.is_some_and(Path::is_file);
    }
    let pkg = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    if !pkg.is_dir() {
        tracing::warn!(
            site = %pkg.display(),
            "no built site here: pages will render but never become interactive; \
             build it with `cargo leptos build` or point LEPTOS_SITE_ROOT at it"
        );
        return Ok(());
    }
    let output = &*options.output_name;
    if options.hash_files {
        let Some(path) = listing else { return Ok(()) };
        let listed = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let Some(js) = hash_of(&listed, "js") else {
            bail!("{} does not name the site's JavaScript file: rebuild with `cargo leptos build`", path.display());
        };
        let file = pkg.join(format!("{output}.{js}.js"));
        if !file.is_file() {
            bail!(
                "{} names {}, which is not there: the binary and the site ({}) come from different builds. \
                 Take both from one `cargo leptos build` (for production: `--release --split --precompress`)",
                path.display(),
                file.display(),
                options.site_root
            );
        }
    } else if !pkg.join(format!("{output}.js")).is_file() {
        bail!(
            "{} has no {output}.js: the site was built with hashed names, so the server needs the build's \
             hash.txt beside its binary (cargo leptos writes it next to target/release/livecart)",
            pkg.display()
        );
    }
    Ok(())
}

/// The split build's manifest of lazy pages' wasm files, for their preloads
/// (`app::server::preload`); `None` without a split build. With hashed names,
/// only the one this build's `hash.txt` names (an unhashed one is an older build's).
pub fn split_manifest(options: &LeptosOptions) -> Option<app::server::preload::Manifest> {
    let (manifest, loader) = if options.hash_files {
        let listed = std::fs::read_to_string(hash_file(options)?).ok()?;
        (format!("__wasm_split_manifest.{}.json", hash_of(&listed, "manifest")?), format!("__wasm_split.{}.js", hash_of(&listed, "split")?))
    } else {
        ("__wasm_split_manifest.json".to_string(), "__wasm_split.js".to_string())
    };
    let pkg = Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let files = serde_json::from_str(&std::fs::read_to_string(pkg.join(manifest)).ok()?).ok()?;
    Some(app::server::preload::Manifest { pkg: format!("/{}", options.site_pkg_dir), loader, files })
}

/// Where Leptos reads the hashed names from: `hash.txt` (or
/// `LEPTOS_HASH_FILE_NAME`) beside the running binary.
fn hash_file(options: &LeptosOptions) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(&*options.hash_file))
}

/// The hash a `hash.txt` lists for one kind of file (`js: abc…`).
fn hash_of<'a>(listed: &'a str, kind: &str) -> Option<&'a str> {
    listed.lines().filter_map(|line| line.split_once(':')).find(|(k, _)| k.trim() == kind).map(|(_, hash)| hash.trim())
}

/// The `Cache-Control` an answer should carry, when it has none of its own:
/// hashed `/pkg` files for a year, other `/pkg` files revalidated, other
/// static files an hour, pages private and revalidated. API answers and
/// errors get none.
pub fn cache_policy(path: &str, pkg_dir: &str, hashed: bool, status: StatusCode, headers: &HeaderMap) -> Option<&'static str> {
    if headers.contains_key(header::CACHE_CONTROL) || !(status.is_success() || status == StatusCode::NOT_MODIFIED) {
        return None;
    }
    let in_pkg = path.strip_prefix('/').and_then(|p| p.strip_prefix(pkg_dir)).is_some_and(|rest| rest.starts_with('/'));
    if in_pkg {
        // wasm-bindgen's snippets keep their names: the wasm imports them so.
        return Some(if hashed && !path.contains("/snippets/") { IMMUTABLE } else { REVALIDATE });
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("text/html") {
        Some(PAGE)
    } else if headers.contains_key(header::LAST_MODIFIED) && !path.starts_with("/api/") {
        // Only the static file service sets Last-Modified.
        Some(PUBLIC_FILE)
    } else {
        None
    }
}

/// A static file may be sent as brotli, gzip or as it is, by what the client
/// accepts; the file service does not say so (tower-http's `ServeDir` sets no
/// `Vary` for its precompressed copies), and a shared cache would then hand a
/// brotli body to a client that cannot read it. Files are told apart by the
/// `Last-Modified` only the file service sets, and by a 304 (only the file
/// service revalidates; its 304 has no `Last-Modified` but must vary as the
/// 200 did).
pub fn vary_on_encoding(status: StatusCode, headers: &mut HeaderMap) {
    if !headers.contains_key(header::LAST_MODIFIED) && status != StatusCode::NOT_MODIFIED {
        return;
    }
    let varies = headers.get_all(header::VARY).iter().any(|v| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains("accept-encoding")));
    if !varies {
        headers.append(header::VARY, axum::http::HeaderValue::from_static("accept-encoding"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.clone(), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn hashed_pkg_files_are_immutable_and_nothing_else_is() {
        let file = headers(&[(header::LAST_MODIFIED, "Mon, 30 Nov 2026 07:00:00 GMT"), (header::CONTENT_TYPE, "application/wasm")]);
        let ok = StatusCode::OK;
        assert_eq!(cache_policy("/pkg/livecart.abc.wasm", "pkg", true, ok, &file), Some(IMMUTABLE));
        assert_eq!(cache_policy("/pkg/chunk_3.def.wasm", "pkg", true, StatusCode::NOT_MODIFIED, &file), Some(IMMUTABLE));
        assert_eq!(cache_policy("/pkg/livecart.wasm", "pkg", false, ok, &file), Some(REVALIDATE));
        assert_eq!(cache_policy("/pkg/snippets/x/inline0.js", "pkg", true, ok, &file), Some(REVALIDATE));
        assert_eq!(cache_policy("/pkgs/x.js", "pkg", true, ok, &file), Some(PUBLIC_FILE));
        assert_eq!(cache_policy("/favicon.svg", "pkg", true, ok, &file), Some(PUBLIC_FILE));
        // A stale hashed name that is gone: never cached.
        assert_eq!(cache_policy("/pkg/livecart.old.wasm", "pkg", true, StatusCode::NOT_FOUND, &file), None);
        let page = headers(&[(header::CONTENT_TYPE, "text/html; charset=utf-8")]);
        assert_eq!(cache_policy("/products/1", "pkg", true, ok, &page), Some(PAGE));
        let json = headers(&[(header::CONTENT_TYPE, "application/json")]);
        assert_eq!(cache_policy("/api/v1/products", "pkg", true, ok, &json), None);
        let own = headers(&[(header::CACHE_CONTROL, "no-store")]);
        assert_eq!(cache_policy("/pkg/livecart.abc.js", "pkg", true, ok, &own), None);
    }

    #[test]
    fn a_binary_and_a_site_from_different_builds_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let site = dir.path().join("site");
        std::fs::create_dir_all(site.join("pkg")).expect("pkg");
        let listing = dir.path().join("hash.txt");
        let mut options = LeptosOptions::builder().output_name("livecart").site_root(site.to_string_lossy().to_string()).build();

        // No listing beside the binary, unhashed site: fine, hashing off.
        std::fs::write(site.join("pkg/livecart.js"), "x").expect("js");
        check_site(&mut options, Some(&listing), false).expect("an unhashed build");
        assert!(!options.hash_files);

        // A listing that names what the site has: hashing on.
        std::fs::write(&listing, "js: AbC\nwasm: dEf\ncss: ghi\n").expect("listing");
        std::fs::write(site.join("pkg/livecart.AbC.js"), "x").expect("hashed js");
        check_site(&mut options, Some(&listing), false).expect("a hashed build");
        assert!(options.hash_files);

        // A listing from another build.
        std::fs::write(&listing, "js: Other\n").expect("listing");
        let err = check_site(&mut options, Some(&listing), false).expect_err("mismatch").to_string();
        assert!(err.contains("different builds"), "{err}");

        // A hashed site without its listing.
        std::fs::remove_file(&listing).expect("rm");
        std::fs::remove_file(site.join("pkg/livecart.js")).expect("rm");
        let err = check_site(&mut options, Some(&listing), false).expect_err("no listing").to_string();
        assert!(err.contains("hash.txt"), "{err}");

        // No site at all: a warning, not an error (the API still works).
        let mut bare =
            LeptosOptions::builder().output_name("livecart").site_root(dir.path().join("none").to_string_lossy().to_string()).build();
        check_site(&mut bare, Some(&listing), false).expect("no site");
    }

    #[test]
    fn hash_txt_lines_are_read_by_kind() {
        let listed = "js: AbC\nwasm: dEf\ncss: ghi\nmanifest: jkl\n";
        assert_eq!(hash_of(listed, "js"), Some("AbC"));
        assert_eq!(hash_of(listed, "wasm"), Some("dEf"));
        assert_eq!(hash_of(listed, "split"), None);
    }
}
