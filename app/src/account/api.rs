//! Account server functions. Each works from a plain HTML form too: on success
//! it redirects (to `next` when that is a path on this site).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::User;

#[cfg(feature = "ssr")]
mod ssr {
    use tower_sessions::Session;

    use crate::error::AppError;

    pub use crate::server::auth::request_session as session;

    pub use crate::server::auth::request_client_addr as client_ip;

    pub use crate::server::passwords::{check_password, check_username};

    /// Only same-site paths; anything else goes home.
    pub fn safe_next(next: Option<String>) -> String {
        match next {
            // Browsers drop tabs and line breaks from a URL: "/\t/evil" is "//evil".
            Some(n)
                if n.starts_with('/')
                    && !n.starts_with("//")
                    && !n.contains('\\')
                    && !crate::model::has_control(&n, false)
                    && n.len() < 512 =>
            {
                n
            }
            _ => "/".to_string(),
        }
    }

    /// Start a fresh session for the user: a new id, the old one dead.
    pub async fn sign_in(session: &Session, user_id: crate::model::CustomerId) -> Result<(), AppError> {
        session.cycle_id().await.map_err(|e| AppError::internal(anyhow::anyhow!("cycling the session id: {e}")))?;
        session
            .insert(crate::server::sessions::USER_KEY, user_id)
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("saving the session: {e}")))
    }
}

/// The signed-in user, or `None`.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    let ctx = crate::server::context::server_context()?;
    let session = ssr::session().await?;
    crate::server::auth::current_user(&ctx.db, &session).await.map_err(AppError::internal)
}

#[server(endpoint = "register")]
pub async fn register(username: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let run = async {
        let ctx = crate::server::context::server_context()?;
        let username = ssr::check_username(&username)?;
        ssr::check_password(&password)?;
        if let Err(wait) = ctx.auth.begin_register(ssr::client_ip()) {
            return Err(AppError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) });
        }
        let hash = ctx.auth.passwords.hash(password).await.map_err(AppError::internal)?;
        let id = ctx.db.create_user(&username, &hash, false).await.map_err(AppError::internal)?;
        let crate::server::db::NewUser::Created(id) = id else {
            return Err(AppError::validation("username", "that username is taken"));
        };
        ssr::sign_in(&ssr::session().await?, id).await
    };
    run.await.map_err(AppError::respond)?;
    leptos_axum::redirect(&ssr::safe_next(next));
    Ok(())
}

#[server(endpoint = "login")]
pub async fn login(username: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let run = async {
        let ctx = crate::server::context::server_context()?;
        if username.chars().count() > 40 || password.chars().count() > crate::server::passwords::MAX_LEN {
            return Err(AppError::BadCredentials);
        }
        // Only failures count: the attempt's tokens come back when it signs in.
        let attempt = match ctx.auth.begin_login(username.trim(), ssr::client_ip()) {
            Ok(attempt) => attempt,
            Err(wait) => return Err(AppError::TooManyRequests { retry_after_secs: wait.as_secs().max(1) }),
        };
        let user = ctx.db.user_by_name(username.trim()).await.map_err(AppError::internal)?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        // The same work and the same answer whether or not the user exists.
        let ok = ctx.auth.passwords.verify(password, hash).await.map_err(AppError::internal)?;
        match user {
            Some(user) if ok => {
                ctx.auth.succeeded(attempt);
                ssr::sign_in(&ssr::session().await?, user.id).await
            }
            _ => Err(AppError::BadCredentials),
        }
    };
    run.await.map_err(AppError::respond)?;
    leptos_axum::redirect(&ssr::safe_next(next));
    Ok(())
}

/// End the session on the server; the sockets opened with this session (not the
/// user's other devices) lose their private topics.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let ctx = crate::server::context::server_context()?;
    let session = ssr::session().await?;
    // A session that cannot be read is ended all the same (and its sockets told).
    let signed_in = crate::server::auth::session_user(&session).await.map_or(true, |user| user.is_some());
    let key = session.id().map(|id| crate::server::sessions::sign_out_key(&id));
    session.flush().await.map_err(|e| AppError::internal(anyhow::anyhow!("ending the session: {e}")))?;
    if let (true, Some(key)) = (signed_in, key) {
        // Through the change log, so sockets on every instance hear of it, in
        // order with the changes around it.
        ctx.db.log_sign_out(key).await.map_err(AppError::internal)?;
    }
    leptos_axum::redirect("/");
    Ok(())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::ssr::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/orders".into())), "/orders");
        for hostile in ["//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "https://evil.example"] {
            assert_eq!(safe_next(Some(hostile.into())), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
