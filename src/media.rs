//! Product images uploaded through the staff console. They live in the database
//! (so every instance serves every image) and are served at `/media/{id}`.

use app::server::Viewer;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower_sessions::Session;

use crate::api::v1::ApiError;
use crate::state::AppState;

/// Largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;

/// The image type from the file's first bytes; SVG is refused (it can carry script).
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// `POST /api/images` (staff): the raw image as the body; answers `{"url": "/media/12"}`.
pub async fn upload(State(state): State<AppState>, session: Session, body: Bytes) -> Result<Response, ApiError> {
    match app::server::auth::viewer(&state.db, &session).await.map_err(|e| ApiError::from(app::error::AppError::internal(e)))? {
        Viewer::Staff(_) => {}
        Viewer::Customer(_) => return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only staff can upload images")),
        Viewer::Anonymous => return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in as staff to upload images")),
    }
    if body.is_empty() {
        return Err(ApiError::invalid("image", "the image is empty"));
    }
    let Some(content_type) = sniff(&body) else {
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "upload a PNG, JPEG, GIF or WebP image"));
    };
    let id = state.db.insert_image(content_type, &body).await.map_err(|e| ApiError::from(app::error::AppError::internal(e)))?;
    Ok((StatusCode::CREATED, Json(json!({ "url": format!("/media/{id}") }))).into_response())
}

/// `GET /media/{id}`: an uploaded image, cached for good (ids are never reused).
pub async fn serve(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return StatusCode::NOT_FOUND.into_response() };
    match state.db.image(id).await {
        Ok(Some((content_type, bytes))) => {
            ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_string())], bytes)
                .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "reading an image failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /images/placeholder/{id}.svg`: the picture drawn for a product without
/// a photo. Kept for good when `?v=` names the product's current name (the
/// address changes with the name), for a minute otherwise.
pub async fn placeholder(
    State(state): State<AppState>,
    Path(file): Path<String>,
    axum::extract::Query(query): axum::extract::Query<PlaceholderQuery>,
) -> Response {
    use app::model::ProductId;
    use app::server::placeholder::{picture_version, product_svg};

    let Some(id) = file.strip_suffix(".svg").and_then(|id| id.parse::<i64>().ok()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.db.products_by_ids(&[ProductId(id)]).await {
        // Archived ones too: staff still list them (and their names were public).
        Ok(rows) => match rows.into_iter().find(|p| p.id.0 == id) {
            Some(product) => {
                let current = query.v.as_deref() == Some(picture_version(&product.name).as_str());
                let cache = if current { "public, max-age=31536000, immutable" } else { "public, max-age=60" };
                ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, cache)], product_svg(id, &product.name)).into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        },
        Err(err) => {
            tracing::error!(error = ?err, "reading a product for its picture failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct PlaceholderQuery {
    v: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::sniff;

    #[test]
    fn only_raster_images_are_recognised() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"), None);
    }
}
