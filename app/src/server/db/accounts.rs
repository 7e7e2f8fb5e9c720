//! Accounts: users (with their saved address) and the session store.

use super::core::{is_unique_violation, sql};
use super::{Backend, Db};
use crate::model::CustomerId;

/// A stored user, with the secret parts. Never leaves `server`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: CustomerId,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub recipient: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

/// What creating an account came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewUser {
    Created(CustomerId),
    NameTaken,
}

const USERS: &str = "SELECT id, username, password_hash, role, recipient, street, city, region, postal_code, country FROM users";

impl Db {
    pub async fn create_user(&self, username: &str, password_hash: &str, staff: bool) -> anyhow::Result<NewUser> {
        let role = if staff { "staff" } else { "customer" };
        let inserted = sql("INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) RETURNING id")
            .bind(username)
            .bind(password_hash)
            .bind(role)
            .scalar::<CustomerId>(self)
            .await;
        match inserted {
            Ok(id) => Ok(NewUser::Created(id)),
            Err(e) if is_unique_violation(&e) => Ok(NewUser::NameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Usernames match whatever their case.
    pub async fn user_by_name(&self, username: &str) -> anyhow::Result<Option<UserRow>> {
        Ok(sql(format!("{USERS} WHERE lower(username) = lower($1)")).bind(username).fetch_optional(self).await?)
    }

    pub async fn user_by_id(&self, id: CustomerId) -> anyhow::Result<Option<UserRow>> {
        Ok(sql(format!("{USERS} WHERE id = $1")).bind(id).fetch_optional(self).await?)
    }

    /// Whether any staff account exists.
    pub async fn has_staff(&self) -> anyhow::Result<bool> {
        Ok(sql("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'staff')").scalar(self).await?)
    }

    /// The session store on this database (its table comes with [`Db::migrate`]).
    pub fn session_store(&self) -> crate::server::sessions::SessionBackend {
        use crate::server::sessions::SessionBackend;
        match &self.backend {
            Backend::Sqlite(pool) => SessionBackend::sqlite(pool.clone(), self.identities.clone()),
            Backend::Postgres(pool) => SessionBackend::postgres(pool.clone(), self.identities.clone()),
        }
    }
}
