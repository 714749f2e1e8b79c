//! Failed sign-in limits (docs/API.md §3): after 5 failures for one email within 15
//! minutes, or 20 from one client address, sign-in answers 429 until the window
//! passes — even with the right password.
//!
//! An attempt is counted *before* its password is checked ([`LoginLimiter::reserve`])
//! and given back only when the password was right ([`LoginLimiter::refund`]), so a
//! burst of simultaneous guesses cannot all pass the check before any is counted.
//! Password hashing itself is capped ([`LoginLimiter::hashing_permit`]): each argon2
//! run costs 19 MiB and a core.
//!
//! Kept in memory: the limits protect one server's sign-in form. Several servers
//! behind one address each keep their own count, which at worst multiplies the
//! allowance by the number of servers.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_PER_EMAIL: usize = 5;
pub const MAX_PER_ADDRESS: usize = 20;
/// The longest email that can be an address at all (RFC 5321's path limit, less
/// the angle brackets); anything longer is refused before it is counted or looked up.
pub const MAX_EMAIL_CHARS: usize = 254;
/// Password hashes running at once. Argon2 as configured takes a core and 19 MiB
/// for each hash; the deployment target has 2 cores, so 2 keeps sign-in from
/// starving everything else and bounds its memory, whatever the burst.
pub const HASHING_PERMITS: usize = 2;
/// How long a sign-in waits for a hashing permit before it answers 429. Long enough
/// for a few colleagues signing in at the same moment to be served in turn.
pub const HASHING_WAIT: Duration = Duration::from_secs(1);
/// Bound on tracked keys, so a flood of random emails cannot grow memory forever.
const MAX_TRACKED: usize = 100_000;
/// Keys whose failures have all expired are swept out at least this often.
const SWEEP_EVERY_MS: i64 = 60 * 1000;

/// Who failures are counted against. Emails are kept as a hash of their normalized
/// form: fixed-size, and no list of submitted addresses sits in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Email([u8; 32]),
    Address(Option<IpAddr>),
}

impl Key {
    fn max(self) -> usize {
        match self {
            Key::Email(_) => MAX_PER_EMAIL,
            Key::Address(_) => MAX_PER_ADDRESS,
        }
    }
}

fn keys(email: &str, ip: Option<IpAddr>) -> [Key; 2] {
    let normalized = email.trim().to_lowercase();
    [Key::Email(Sha256::digest(normalized.as_bytes()).into()), Key::Address(ip)]
}

#[derive(Debug, Default)]
struct Failures {
    by_key: HashMap<Key, VecDeque<i64>>,
    last_sweep_ms: i64,
}

impl Failures {
    /// Drops every key whose failures have all left the window.
    fn sweep(&mut self, now_ms: i64) {
        self.by_key.retain(|_, times| times.back().is_some_and(|t| now_ms - t < WINDOW_MS));
        self.last_sweep_ms = now_ms;
    }
}

/// A counted sign-in attempt: it stays a failure unless refunded.
#[derive(Debug)]
#[must_use = "an attempt is a failure unless refunded after a right password"]
pub struct Attempt {
    keys: [Key; 2],
    at_ms: i64,
}

#[derive(Debug)]
pub struct LoginLimiter {
    failures: Mutex<Failures>,
    hashing: Arc<Semaphore>,
}

impl Default for LoginLimiter {
    fn default() -> LoginLimiter {
        LoginLimiter { failures: Mutex::default(), hashing: Arc::new(Semaphore::new(HASHING_PERMITS)) }
    }
}

impl LoginLimiter {
    /// Counts an attempt for this email and address, or `Err(seconds to wait)` when
    /// either is at its limit (then nothing is counted).
    pub fn reserve(&self, email: &str, ip: Option<IpAddr>, now_ms: i64) -> Result<Attempt, u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.by_key.len() >= MAX_TRACKED || now_ms - failures.last_sweep_ms >= SWEEP_EVERY_MS {
            failures.sweep(now_ms);
        }
        let keys = keys(email, ip);
        let mut wait = None;
        for key in keys {
            let Some(times) = failures.by_key.get_mut(&key) else { continue };
            while times.front().is_some_and(|t| now_ms - t >= WINDOW_MS) {
                times.pop_front();
            }
            let max = key.max();
            if times.len() >= max {
                // Blocked until the oldest failure that keeps it at the limit expires.
                let until = times[times.len() - max] + WINDOW_MS;
                let secs = ((until - now_ms) as f64 / 1000.0).ceil() as u64;
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        if let Some(wait) = wait {
            return Err(wait);
        }
        for key in keys {
            failures.by_key.entry(key).or_default().push_back(now_ms);
        }
        Ok(Attempt { keys, at_ms: now_ms })
    }

    /// Gives an attempt back: the password was right, or it was never checked.
    pub fn refund(&self, attempt: Attempt) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for key in attempt.keys {
            let Some(times) = failures.by_key.get_mut(&key) else { continue };
            if let Some(at) = times.iter().rposition(|t| *t == attempt.at_ms) {
                times.remove(at);
            }
            if times.is_empty() {
                failures.by_key.remove(&key);
            }
        }
    }

    /// A permit to hash one password, waiting at most [`HASHING_WAIT`]; `None` when
    /// the hashing is still full by then.
    pub async fn hashing_permit(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(HASHING_WAIT, self.hashing.clone().acquire_owned()).await.ok()?.ok()
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn five_failures_for_one_email_block_it_for_the_window() {
        let l = LoginLimiter::default();
        let ip = ip("10.0.0.1");
        for i in 0..5 {
            assert!(l.reserve("A@x.com ", ip, i * 1000).is_ok(), "attempt {i}");
        }
        assert_eq!(l.reserve("a@x.com", ip, 5_000).unwrap_err(), 900 - 5);
        assert!(l.reserve("b@x.com", ip, 5_000).is_ok());
        assert!(l.reserve("a@x.com", ip, WINDOW_MS + 1_000).is_ok());
    }

    #[test]
    fn twenty_failures_from_one_address_block_every_email() {
        let l = LoginLimiter::default();
        let ip = ip("10.0.0.2");
        for i in 0..20 {
            let _failed = l.reserve(&format!("u{i}@x.com"), ip, 0).unwrap();
        }
        assert!(l.reserve("fresh@x.com", ip, 1).is_err());
        assert!(l.reserve("fresh@x.com", Some("10.0.0.3".parse().unwrap()), 1).is_ok());
    }

    #[test]
    fn a_refunded_attempt_is_not_a_failure_and_leaves_no_key() {
        let l = LoginLimiter::default();
        let ip = ip("10.0.0.4");
        for i in 0..10 {
            let attempt = l.reserve("right@x.com", ip, i).unwrap();
            l.refund(attempt);
        }
        assert_eq!(l.tracked(), 0, "nothing is kept for sign-ins that succeeded");
        for i in 0..4 {
            let _failed = l.reserve("right@x.com", ip, 100 + i).unwrap();
        }
        let fifth = l.reserve("right@x.com", ip, 200).unwrap();
        assert!(l.reserve("right@x.com", ip, 201).is_err(), "the in-flight fifth attempt counts");
        l.refund(fifth);
        assert!(l.reserve("right@x.com", ip, 202).is_ok());
    }

    #[test]
    fn keys_are_fixed_size_hashes_and_expired_ones_are_swept() {
        let l = LoginLimiter::default();
        let long = "x".repeat(10_000);
        let _failed = l.reserve(&long, ip("10.0.0.5"), 0).unwrap();
        let failures = l.failures.lock().unwrap();
        let expected = Key::Email(Sha256::digest(long.as_bytes()).into());
        assert!(failures.by_key.contains_key(&expected));
        drop(failures);
        assert_eq!(l.tracked(), 2);
        // Past the window, the next call sweeps both keys away and tracks its own two.
        let _later = l.reserve("other@x.com", ip("10.0.0.6"), WINDOW_MS + SWEEP_EVERY_MS).unwrap();
        assert_eq!(l.tracked(), 2);
        let failures = l.failures.lock().unwrap();
        assert!(!failures.by_key.contains_key(&expected));
    }

    #[tokio::test]
    async fn hashing_permits_are_capped() {
        let l = LoginLimiter::default();
        let mut held = Vec::new();
        for _ in 0..HASHING_PERMITS {
            held.push(l.hashing_permit().await.expect("a free permit"));
        }
        assert!(l.hashing_permit().await.is_none(), "full: no permit within the wait");
        held.pop();
        assert!(l.hashing_permit().await.is_some());
    }
}
