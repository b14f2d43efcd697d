//! Who is asking: passwords, session cookies, API keys and login rate limits.
//!
//! # Layout
//! - [`secrets`]: random tokens, SHA-256 digests, argon2id password hashes.
//! - [`extract`]: the [`AuthUser`] extractor, the one place REST requests are authenticated.
//! - [`limiter`]: login attempts per IP and per account.

pub mod extract;
pub mod limiter;
pub mod secrets;

pub use extract::{AuthUser, SESSION_COOKIE};
