//! Password hashing: argon2id at OWASP's parameters, off the async runtime,
//! a bounded number at a time.

use anyhow::Context as _;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::AppError;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// 3 to 40 letters, digits, '.', '_' or '-'.
pub fn check_username(username: &str) -> Result<String, AppError> {
    let u = username.trim();
    let ok_chars = u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !(3..=40).contains(&u.chars().count()) || !ok_chars {
        return Err(AppError::validation("username", "use 3 to 40 letters, digits, '.', '_' or '-'"));
    }
    Ok(u.to_string())
}

/// OWASP: at least 8 characters, long passphrases welcome, no composition rules.
pub fn check_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(AppError::validation("password", format!("use at least {MIN_LEN} characters")));
    }
    if n > MAX_LEN {
        return Err(AppError::validation("password", format!("use at most {MAX_LEN} characters")));
    }
    Ok(())
}

/// OWASP: argon2id, m = 19 MiB, t = 2, p = 1.
fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[derive(Debug)]
pub struct Passwords {
    permits: Semaphore,
    /// Verified against when the user does not exist, so both cases take as long.
    dummy: String,
}

impl Passwords {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy = hash_now("not a real password")?;
        Ok(Self { permits: Semaphore::new(concurrency.max(1)), dummy })
    }

    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || hash_now(&password)).await.context("hashing task")?
    }

    /// Whether `password` matches `hash`; with no hash, a dummy check of equal cost.
    pub async fn verify(&self, password: String, hash: Option<String>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy.clone());
        let matched = tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
            let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
            Ok(argon2()?.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .context("verifying task")??;
        Ok(real && matched)
    }
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()?.hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hashing: {e}"))?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let p = Passwords::new(2).expect("passwords");
        let hash = p.hash("correct horse battery staple".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(p.verify("correct horse battery staple".into(), Some(hash.clone())).await.expect("verify"));
        assert!(!p.verify("wrong".into(), Some(hash)).await.expect("verify"));
        assert!(!p.verify("not a real password".into(), None).await.expect("dummy never matches"));
    }
}
