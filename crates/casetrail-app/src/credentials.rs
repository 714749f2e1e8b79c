//! Secrets casetrail hands out and checks: random tokens, API key secrets, the hashes
//! the store keeps of them, and argon2id password hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// API key secrets start with this, so leaked keys are easy to recognize and scan for.
pub const KEY_PREFIX: &str = "ctk_";

/// 32 random bytes, base64url: session tokens, CSRF tokens, key secrets, passwords.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The OS RNG failing leaves nothing secure to do; refuse loudly.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API key secret as shown once to its creator.
pub fn new_key_secret() -> String {
    format!("{KEY_PREFIX}{}", random_token())
}

/// What the store keeps of a key secret or session token: its SHA-256. These are
/// 256-bit random values, so a fast hash is enough (unlike passwords).
pub fn token_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// An argon2id PHC string. CPU-bound (tens of milliseconds): call it off the async
/// runtime ([`hash_password_blocking`]).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

/// [`hash_password`] on a blocking thread.
pub async fn hash_password_blocking(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// Failed sign-ins count for this long (docs/API.md §3: 15 minutes); older ones are
/// forgotten by the periodic sweep.
pub const LOGIN_WINDOW_MS: i64 = 15 * 60 * 1000;
