//! Credentials: argon2id password hashes, random tokens stored only as SHA-256 hashes, and the
//! login throttle. No HTTP here.

use std::collections::HashMap;
use std::net::IpAddr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored hash (constant time inside argon2).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so both paths cost the same.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password-0000").unwrap_or_default())
}

/// Checks the password policy; returns what is wrong.
pub fn check_password_policy(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!(
            "password must be at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if password.len() > 1024 {
        return Err("password must be at most 1024 bytes".into());
    }
    Ok(())
}

/// A new random token with a readable prefix (`tly_`, `tis_`…), 256 bits of entropy.
pub fn new_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// SHA-256 of a token: what is stored and looked up.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Generates a readable random password for CLI resets.
pub fn generate_password() -> String {
    let bytes: [u8; 18] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Counts failed logins per e-mail and per client address in a sliding window.
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Vec<i64>>>,
    limit: usize,
    window: i64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            failures: Mutex::new(HashMap::new()),
            limit: 10,
            window: 15 * 60,
        }
    }
}

impl LoginThrottle {
    fn keys(email: &str, ip: Option<IpAddr>) -> Vec<String> {
        let mut k = vec![format!("e:{}", email.to_lowercase())];
        if let Some(ip) = ip {
            k.push(format!("i:{ip}"));
        }
        k
    }

    /// Seconds to wait before another attempt is allowed, if blocked.
    pub fn blocked_for(&self, email: &str, ip: Option<IpAddr>, now: i64) -> Option<u64> {
        let map = self.failures.lock();
        Self::keys(email, ip)
            .iter()
            .filter_map(|k| map.get(k))
            .filter_map(|times| {
                let recent: Vec<i64> = times
                    .iter()
                    .copied()
                    .filter(|t| *t > now - self.window)
                    .collect();
                (recent.len() >= self.limit)
                    .then(|| (recent[recent.len() - self.limit] + self.window - now).max(1) as u64)
            })
            .max()
    }

    /// Records a failed attempt.
    pub fn fail(&self, email: &str, ip: Option<IpAddr>, now: i64) {
        let mut map = self.failures.lock();
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, v| v.iter().any(|t| *t > now - window));
        }
        for k in Self::keys(email, ip) {
            let v = map.entry(k).or_default();
            v.retain(|t| *t > now - self.window);
            v.push(now);
        }
    }

    /// Clears the e-mail's counter after a success.
    pub fn succeed(&self, email: &str) {
        self.failures
            .lock()
            .remove(&format!("e:{}", email.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn throttle_blocks_after_ten_failures() {
        let t = LoginThrottle::default();
        for i in 0..10 {
            assert!(t.blocked_for("a@b.c", None, 100 + i).is_none());
            t.fail("a@b.c", None, 100 + i);
        }
        assert!(t.blocked_for("A@b.c", None, 120).is_some());
        assert!(t.blocked_for("a@b.c", None, 100 + 15 * 60 + 1).is_none());
        assert_eq!(token_hash("x"), token_hash("x"));
        assert!(new_token("tly_").starts_with("tly_"));
    }
}
