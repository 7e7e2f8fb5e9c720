//! Product images uploaded through the staff console, kept in the database so
//! every instance serves every image.

use super::Db;
use super::core::sql;

impl Db {
    pub async fn insert_image(&self, content_type: &str, bytes: &[u8]) -> anyhow::Result<i64> {
        Ok(sql("INSERT INTO images (content_type, bytes) VALUES ($1, $2) RETURNING id").bind(content_type).bind(bytes).scalar(self).await?)
    }

    /// An image's content type and bytes.
    pub async fn image(&self, id: i64) -> anyhow::Result<Option<(String, Vec<u8>)>> {
        Ok(sql("SELECT content_type, bytes FROM images WHERE id = $1").bind(id).fetch_optional(self).await?)
    }
}
