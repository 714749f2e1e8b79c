//! Failed sign-in limits (API.md §3): after 5 failures for one email within 15
//! minutes, or 20 from one client address, sign-in answers 429 until the window
//! passes — even with the right password.
//!
//! Kept in memory: the limits protect one server's sign-in form. Several servers
//! behind one address each keep their own count, which at worst multiplies the
//! allowance by the number of servers.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_PER_EMAIL: usize = 5;
pub const MAX_PER_ADDRESS: usize = 20;
/// Bound on tracked keys, so a flood of random emails cannot grow memory forever.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl LoginLimiter {
    fn keys(email: &str, ip: Option<IpAddr>) -> [(String, usize); 2] {
        let ip = ip.map(|ip| ip.to_string()).unwrap_or_default();
        [(format!("email:{}", email.trim().to_lowercase()), MAX_PER_EMAIL), (format!("ip:{ip}"), MAX_PER_ADDRESS)]
    }

    /// `Some(seconds)` to wait when sign-in is blocked for this email or address.
    pub fn blocked(&self, email: &str, ip: Option<IpAddr>, now_ms: i64) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for (key, max) in Self::keys(email, ip) {
            if let Some(times) = map.get_mut(&key) {
                while times.front().is_some_and(|t| now_ms - t >= WINDOW_MS) {
                    times.pop_front();
                }
                if times.len() >= max {
                    // Blocked until the oldest failure that keeps it at the limit expires.
                    let until = times[times.len() - max] + WINDOW_MS;
                    let secs = ((until - now_ms) as f64 / 1000.0).ceil() as u64;
                    wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
                }
            }
        }
        wait
    }

    pub fn fail(&self, email: &str, ip: Option<IpAddr>, now_ms: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED {
            map.retain(|_, times| times.back().is_some_and(|t| now_ms - t < WINDOW_MS));
        }
        for (key, _) in Self::keys(email, ip) {
            map.entry(key).or_default().push_back(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_for_one_email_block_it_for_the_window() {
        let l = LoginLimiter::default();
        let ip = Some("10.0.0.1".parse().unwrap());
        for i in 0..5 {
            assert_eq!(l.blocked("a@x.com", ip, i * 1000), None);
            l.fail("A@x.com", ip, i * 1000);
        }
        assert_eq!(l.blocked("a@x.com", ip, 5_000), Some(900 - 5));
        assert_eq!(l.blocked("b@x.com", ip, 5_000), None);
        assert_eq!(l.blocked("a@x.com", ip, WINDOW_MS + 1_000), None);
    }

    #[test]
    fn twenty_failures_from_one_address_block_every_email() {
        let l = LoginLimiter::default();
        let ip = Some("10.0.0.2".parse().unwrap());
        for i in 0..20 {
            l.fail(&format!("u{i}@x.com"), ip, 0);
        }
        assert!(l.blocked("fresh@x.com", ip, 1).is_some());
        assert_eq!(l.blocked("fresh@x.com", Some("10.0.0.3".parse().unwrap()), 1), None);
    }
}
