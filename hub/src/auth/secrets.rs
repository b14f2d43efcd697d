//! Random secrets and their stored digests. Plaintext keys, tokens and passwords never
//! reach the database or the log: keys and tokens are stored as SHA-256 (they carry 256
//! random bits, so a fast digest is safe), passwords as argon2id.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use std::sync::{Condvar, Mutex, PoisonError};

/// Characters of a key or token kept for display (`lsk_` + 8 hex digits).
pub const DISPLAY_PREFIX_LEN: usize = 12;

/// A new secret: `prefix` followed by 256 random bits in hex.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Hex SHA-256 of a secret, the only form stored.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The first characters of a secret, safe to show and store.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(DISPLAY_PREFIX_LEN).collect()
}

/// Password hashes computed at once. Each argon2id computation takes 19 MiB, so a burst
/// of logins would otherwise cost 19 MiB per request in flight (the allocator may keep
/// that memory long after); queued requests wait a few milliseconds instead.
const HASHING_AT_ONCE: usize = 2;

/// Runs `f` once one of the [`HASHING_AT_ONCE`] slots is free (a blocking wait: callers
/// are on blocking threads already).
fn with_hashing_slot<T>(f: impl FnOnce() -> T) -> T {
    static FREE: Mutex<usize> = Mutex::new(HASHING_AT_ONCE);
    static FREED: Condvar = Condvar::new();
    struct Slot;
    impl Drop for Slot {
        fn drop(&mut self) {
            *FREE.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            FREED.notify_one();
        }
    }
    let mut free = FREE.lock().unwrap_or_else(PoisonError::into_inner);
    while *free == 0 {
        free = FREED.wait(free).unwrap_or_else(PoisonError::into_inner);
    }
    *free -= 1;
    drop(free);
    let _slot = Slot;
    f()
}

/// argon2id hash in PHC string format.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    with_hashing_slot(|| {
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
}

/// Whether `password` matches a stored hash; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        with_hashing_slot(|| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
}

/// A hash to verify against when the account does not exist, so a login for an
/// unknown email costs as much time as one for a known email.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// However many threads check passwords, at most `HASHING_AT_ONCE` hash at a time,
    /// and every one of them gets its turn.
    #[test]
    fn hashing_is_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    with_hashing_slot(|| {
                        let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
                        PEAK.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        RUNNING.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let peak = PEAK.load(Ordering::SeqCst);
        assert!((1..=HASHING_AT_ONCE).contains(&peak), "peak {peak}");
    }

    /// Tokens are prefixed, 256-bit and distinct; digests are stable.
    #[test]
    fn tokens() {
        let a = random_token("lsk_");
        let b = random_token("lsk_");
        assert!(a.starts_with("lsk_") && a.len() == 4 + 64);
        assert_ne!(a, b);
        assert_eq!(sha256_hex(&a), sha256_hex(&a));
        assert_ne!(sha256_hex(&a), a);
        assert_eq!(display_prefix(&a).len(), DISPLAY_PREFIX_LEN);
    }

    /// A password verifies against its own hash only.
    #[test]
    fn passwords() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "garbage"));
    }
}
