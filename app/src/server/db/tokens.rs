//! API tokens for other systems. Only a hash is stored; the token is shown once.

use super::Db;
use super::core::sql;

/// A stored API token (its hash stays in the database).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl Db {
    pub async fn create_token(&self, name: &str, hash: &str, scope: &str, created_by: Option<i64>) -> anyhow::Result<i64> {
        Ok(sql("INSERT INTO api_tokens (name, token_hash, scope, created_by) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(name)
            .bind(hash)
            .bind(scope)
            .bind(created_by)
            .scalar(self)
            .await?)
    }

    /// Every token, newest first.
    pub async fn tokens(&self) -> anyhow::Result<Vec<TokenRow>> {
        let d = self.dialect();
        let query = format!(
            "SELECT id, name, scope, {} AS created_at, {} AS last_used_at, {} AS revoked_at FROM api_tokens ORDER BY id DESC",
            d.time("created_at"),
            d.time("last_used_at"),
            d.time("revoked_at"),
        );
        Ok(sql(query).fetch_all(self).await?)
    }

    /// `false` when there is no such live token.
    pub async fn revoke_token(&self, id: i64) -> anyhow::Result<bool> {
        let query = format!("UPDATE api_tokens SET revoked_at = {} WHERE id = $1 AND revoked_at IS NULL", self.dialect().now);
        Ok(sql(query).bind(id).execute(self).await? == 1)
    }

    /// The id and scope of the live token with this hash (a read only).
    pub async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<(i64, String)>> {
        Ok(sql("SELECT id, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL").bind(hash).fetch_optional(self).await?)
    }

    /// Note that a token was used now.
    pub async fn touch_token(&self, id: i64) -> anyhow::Result<()> {
        sql(format!("UPDATE api_tokens SET last_used_at = {} WHERE id = $1", self.dialect().now)).bind(id).execute(self).await?;
        Ok(())
    }
}
