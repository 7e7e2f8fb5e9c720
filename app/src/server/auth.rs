//! Who is signed in, and the limits on trying.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use tower_sessions::Session;

use super::limiter::{Limiter, Taken};
use super::passwords::Passwords;
use super::sessions::USER_KEY;
use super::{Db, Viewer};
use crate::error::AppError;
use crate::model::{Address, CustomerId, User};

/// The client's address, as the host worked it out (the TCP peer, or the
/// forwarding headers of a trusted proxy). Put in each request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// How often one may fail to sign in, and register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Failed sign-ins per account per minute (a burst of this many, then one
    /// more every 60/n s). Lenient, so an attacker cannot keep a user out long.
    pub failures_per_account: u32,
    /// Failed sign-ins per client address per minute.
    pub failures_per_address: u32,
    /// Registrations per client address per hour (each costs a password hash).
    pub registrations_per_address: u32,
    /// Questions one account may ask per hour (a burst of this many, then
    /// one more every 60/n minutes).
    pub questions_per_account: u32,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self { failures_per_account: 10, failures_per_address: 30, registrations_per_address: 20, questions_per_account: 10 }
    }
}

/// Password hashing and the sign-in and registration limits, shared by every request.
#[derive(Debug)]
pub struct Auth {
    pub passwords: Passwords,
    by_account: Limiter<String>,
    by_address: Limiter<IpAddr>,
    registrations: Limiter<IpAddr>,
    anonymous_carts: Limiter<IpAddr>,
    questions: Limiter<CustomerId>,
    votes: Limiter<CustomerId>,
    messages: Limiter<CustomerId>,
    renames: Limiter<CustomerId>,
}

/// Carts a client address may start without signing in, per hour (each is a
/// session row, kept until it expires).
const ANONYMOUS_CARTS_PER_HOUR: u32 = 120;

/// Votes (and taking them back) one account may cast per minute.
const VOTES_PER_MINUTE: u32 = 60;

/// Messages one account may write per minute, over all its conversations.
const MESSAGES_PER_MINUTE: u32 = 30;

/// Display-name changes one account may make per hour (each rewrites every
/// question it asked, for everyone viewing them).
const RENAMES_PER_HOUR: u32 = 10;

/// A sign-in attempt under way: its tokens are given back if it succeeds.
#[derive(Debug)]
#[must_use]
pub struct LoginAttempt {
    account: Taken<String>,
    address: Option<Taken<IpAddr>>,
}

fn per(n: u32, period: Duration) -> (u32, Duration) {
    let n = n.max(1);
    (n, period / n)
}

impl Auth {
    pub fn new(hash_concurrency: usize, limits: SignInLimits) -> anyhow::Result<Self> {
        let minute = Duration::from_secs(60);
        let (a, a_every) = per(limits.failures_per_account, minute);
        let (b, b_every) = per(limits.failures_per_address, minute);
        let (r, r_every) = per(limits.registrations_per_address, 60 * minute);
        Ok(Self {
            passwords: Passwords::new(hash_concurrency)?,
            by_account: Limiter::new(a, a_every),
            by_address: Limiter::new(b, b_every),
            registrations: Limiter::new(r, r_every),
            anonymous_carts: {
                let (c, c_every) = per(ANONYMOUS_CARTS_PER_HOUR, 60 * minute);
                Limiter::new(c, c_every)
            },
            questions: {
                let (q, q_every) = per(limits.questions_per_account, 60 * minute);
                Limiter::new(q, q_every)
            },
            votes: {
                let (v, v_every) = per(VOTES_PER_MINUTE, minute);
                Limiter::new(v, v_every)
            },
            messages: {
                let (m, m_every) = per(MESSAGES_PER_MINUTE, minute);
                Limiter::new(m, m_every)
            },
            renames: {
                let (r, r_every) = per(RENAMES_PER_HOUR, 60 * minute);
                Limiter::new(r, r_every)
            },
        })
    }

    /// Start a sign-in attempt, or `Err(wait)` when this account or address has
    /// failed too often. Only failures count: pass a success to [`Auth::succeeded`].
    pub fn begin_login(&self, username: &str, addr: Option<IpAddr>) -> Result<LoginAttempt, Duration> {
        let now = Instant::now();
        let account = self.by_account.take(&username.to_lowercase(), now)?;
        let address = match addr.map(|a| self.by_address.take(&a, now)).transpose() {
            Ok(address) => address,
            Err(wait) => {
                self.by_account.refund(account, now);
                return Err(wait);
            }
        };
        Ok(LoginAttempt { account, address })
    }

    /// The attempt signed in: it does not count against the limits.
    pub fn succeeded(&self, attempt: LoginAttempt) {
        let now = Instant::now();
        self.by_account.refund(attempt.account, now);
        if let Some(address) = attempt.address {
            self.by_address.refund(address, now);
        }
    }

    /// `Err(wait)` when this address has registered too often lately.
    pub fn begin_register(&self, addr: Option<IpAddr>) -> Result<(), Duration> {
        match addr {
            Some(addr) => self.registrations.take(&addr, Instant::now()).map(drop),
            None => Ok(()),
        }
    }

    /// `Err(wait)` when this address has started too many carts (sessions)
    /// without signing in lately.
    pub fn begin_anonymous_cart(&self, addr: Option<IpAddr>) -> Result<(), Duration> {
        match addr {
            Some(addr) => self.anonymous_carts.take(&addr, Instant::now()).map(drop),
            None => Ok(()),
        }
    }

    /// `Err(wait)` when this account has asked too many questions lately.
    pub fn begin_question(&self, asker: CustomerId) -> Result<(), Duration> {
        self.questions.take(&asker, Instant::now()).map(drop)
    }

    /// `Err(wait)` when this account has voted too often lately.
    pub fn begin_vote(&self, voter: CustomerId) -> Result<(), Duration> {
        self.votes.take(&voter, Instant::now()).map(drop)
    }

    /// `Err(wait)` when this account has written too many messages lately.
    pub fn begin_message(&self, writer: CustomerId) -> Result<(), Duration> {
        self.messages.take(&writer, Instant::now()).map(drop)
    }

    /// `Err(wait)` when this account has changed its display name too often lately.
    pub fn begin_rename(&self, who: CustomerId) -> Result<(), Duration> {
        self.renames.take(&who, Instant::now()).map(drop)
    }

    /// Forget every key whose limit has recovered (run now and then).
    pub fn prune(&self) {
        let now = Instant::now();
        self.by_account.prune(now);
        self.by_address.prune(now);
        self.registrations.prune(now);
        self.anonymous_carts.prune(now);
        self.questions.prune(now);
        self.votes.prune(now);
        self.messages.prune(now);
        self.renames.prune(now);
    }

    /// Keys the limiters remember, for tests and metrics.
    pub fn tracked_keys(&self) -> usize {
        self.by_account.len()
            + self.by_address.len()
            + self.registrations.len()
            + self.anonymous_carts.len()
            + self.questions.len()
            + self.votes.len()
    }
}

/// The current request's client address (inside a server function).
pub fn request_client_addr() -> Option<IpAddr> {
    let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
    parts.extensions.get::<ClientAddr>().map(|c| c.0)
}

/// The signed-in user's id from the session, if any. A session store that
/// cannot be read (the database is unreachable) is an error, never "signed
/// out": a shopper must not be told to sign in because of an outage.
pub async fn session_user(session: &Session) -> anyhow::Result<Option<CustomerId>> {
    session.get::<CustomerId>(USER_KEY).await.map_err(|e| anyhow::anyhow!("reading the session: {e}"))
}

/// The user behind a session (a deleted user is signed out). Read from the
/// database at most once a second per session (see [`Identities`]); the read
/// also renews a session in use whose expiry is a day or more old.
///
/// [`Identities`]: super::identities::Identities
pub async fn current_user(db: &Db, session: &Session) -> anyhow::Result<Option<User>> {
    let now = Instant::now();
    let lookup = match session.id().map(|id| (id, db.identities().get(&id, now))) {
        Some((_, Ok(user))) => return Ok(Some(user)),
        Some((id, Err(lookup))) => Some((id, lookup)),
        None => None,
    };
    let Some(id) = session_user(session).await? else { return Ok(None) };
    if super::sessions::renewal_due(session).await {
        // Saved (with a fresh expiry and cookie) when the response goes out.
        session.set_expiry(Some(tower_sessions::Expiry::OnInactivity(super::sessions::IDLE_EXPIRY)));
    }
    let Some(row) = db.user_by_id(id).await? else { return Ok(None) };
    let address = match (row.street, row.city, row.region, row.postal_code) {
        (Some(street), Some(city), Some(region), Some(postal_code)) => Some(Address {
            name: row.recipient.unwrap_or_default(),
            street,
            city,
            region,
            postal_code,
            country: row.country.unwrap_or_default(),
        }),
        _ => None,
    };
    let user = User { id: row.id, username: row.username, is_staff: row.role == "staff", address };
    // Only if the session still has the id it was looked up by.
    if let Some((id, lookup)) = lookup.filter(|(id, _)| session.id() == Some(*id)) {
        db.identities().remember(lookup, id, &user, now);
    }
    Ok(Some(user))
}

/// Who a session belongs to, for authorisation. An error when the session or
/// its user cannot be read: callers answer 503/500, not "anonymous".
pub async fn viewer(db: &Db, session: &Session) -> anyhow::Result<Viewer> {
    Ok(match current_user(db, session).await? {
        Some(user) if user.is_staff => Viewer::Staff(user.id),
        Some(user) => Viewer::Customer(user.id),
        None => Viewer::Anonymous,
    })
}

/// The current request's session (inside a server function).
pub async fn request_session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(|e| AppError::internal(anyhow::anyhow!("no session layer: {e}")))
}

/// Who makes the current request (inside a server function).
pub async fn request_viewer(db: &Db) -> Result<Viewer, AppError> {
    viewer(db, &request_session().await?).await.map_err(AppError::internal)
}

/// The signed-in user making the current request (with their kept address), or 401.
pub async fn request_user(db: &Db) -> Result<User, AppError> {
    let session = request_session().await?;
    current_user(db, &session).await.map_err(AppError::internal)?.ok_or(AppError::Unauthorized)
}
