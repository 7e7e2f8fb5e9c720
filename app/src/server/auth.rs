//! Who is signed in, and the limits on trying.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_sessions::Session;

use super::passwords::Passwords;
use super::sessions::USER_KEY;
use super::{Db, Viewer};
use crate::error::AppError;
use crate::model::{Address, CustomerId, User};

/// Password hashing and login rate limits, shared by every request.
#[derive(Debug)]
pub struct Auth {
    pub passwords: Passwords,
    by_account: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Auth {
    pub fn new(hash_concurrency: usize) -> anyhow::Result<Self> {
        Ok(Self {
            passwords: Passwords::new(hash_concurrency)?,
            // Per account: 10 tries, then one more every 6 s. Lenient, so an
            // attacker cannot keep a real user out for long.
            by_account: RateLimiter::keyed(per_minute(10)),
            // Per client address: 30 tries, then one more every 2 s.
            by_address: RateLimiter::keyed(per_minute(30)),
        })
    }

    /// `Err(wait)` when this account or address has tried too often.
    pub fn check_login(&self, username: &str, addr: Option<IpAddr>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if let Some(addr) = addr {
            self.by_address.check_key(&addr).map_err(|e| e.wait_time_from(now))?;
        }
        self.by_account.check_key(&username.to_lowercase()).map_err(|e| e.wait_time_from(now))
    }
}

/// The signed-in user's id from the session, if any.
pub async fn session_user(session: &Session) -> Option<i64> {
    session.get::<i64>(USER_KEY).await.ok().flatten()
}

/// The user behind a session, loaded fresh (a deleted user is signed out).
pub async fn current_user(db: &Db, session: &Session) -> anyhow::Result<Option<User>> {
    let Some(id) = session_user(session).await else { return Ok(None) };
    let Some(row) = db.user_by_id(id).await? else { return Ok(None) };
    let address = match (row.street, row.city, row.region, row.postal_code) {
        (Some(street), Some(city), Some(region), Some(postal_code)) => Some(Address { street, city, region, postal_code }),
        _ => None,
    };
    Ok(Some(User { id: CustomerId(row.id), username: row.username, is_staff: row.role == "staff", address }))
}

/// Who a session belongs to, for authorisation.
pub async fn viewer(db: &Db, session: &Session) -> Viewer {
    match current_user(db, session).await {
        Ok(Some(user)) if user.is_staff => Viewer::Staff(user.id),
        Ok(Some(user)) => Viewer::Customer(user.id),
        Ok(None) => Viewer::Anonymous,
        Err(err) => {
            tracing::error!(error = ?err, "loading the session's user failed");
            Viewer::Anonymous
        }
    }
}

/// The current request's session (inside a server function).
pub async fn request_session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| AppError::internal(anyhow::anyhow!("no session layer: {e}")))
}

/// Who makes the current request (inside a server function).
pub async fn request_viewer(db: &Db) -> Result<Viewer, AppError> {
    Ok(viewer(db, &request_session().await?).await)
}

/// The signed-in user making the current request (with their kept address), or 401.
pub async fn request_user(db: &Db) -> Result<User, AppError> {
    let session = request_session().await?;
    current_user(db, &session).await.map_err(AppError::internal)?.ok_or(AppError::Unauthorized)
}
