//! No server-side request forgery (docs/API.md §13): a stream may not send to
//! loopback, private, link-local, unique-local, shared or unspecified addresses,
//! unless the configuration allows private destinations.
//!
//! The check is made on the *resolved* addresses, never on the spelling of the host:
//! `0x7f.1`, `2130706433`, `[::ffff:127.0.0.1]` and a name whose DNS answer is
//! 127.0.0.1 all resolve to a loopback address and are refused alike. It is made when
//! a stream is created or changed, and again at every connection (`connect_checked`,
//! and the HTTP client's resolver in `sinks.rs`), so a name that resolves elsewhere
//! later cannot get through; the connection goes to the address that was checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a destination was refused; the text is safe to show and to store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("{0} does not resolve")]
    Unresolved(String),
    #[error("{host} resolves to {addr}, a private, loopback or link-local address")]
    Private { host: String, addr: IpAddr },
}

/// Whether an IPv4 address is one a stream may not reach.
fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || a == 0 // 0.0.0.0/8, "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b)) // shared address space, 100.64.0.0/10
        || ip.is_broadcast()
        || ip.is_multicast()
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
}

/// Whether an address is one a stream may not reach. IPv6 forms that carry an IPv4
/// address (mapped, compatible, NAT64, 6to4) are judged by that address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return forbidden_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (first & 0xffc0) == 0xfe80 // link local, fe80::/10
                || (first & 0xffc0) == 0xfec0 // site local (deprecated), fec0::/10
        }
    }
}

/// The IPv4 address inside an IPv6 one, for the forms that route to it.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(mapped) = v6.to_ipv4_mapped() {
        return Some(mapped);
    }
    // ::a.b.c.d (IPv4-compatible, deprecated) but not :: or ::1, judged as IPv6.
    if s[..6].iter().all(|&x| x == 0) && !(s[6] == 0 && s[7] <= 1) {
        return Some(low);
    }
    // 64:ff9b::/96, NAT64.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0) {
        return Some(low);
    }
    // 2002:AABB:CCDD::/48, 6to4.
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

/// Refuses addresses a stream may not reach, unless `allow_private`.
pub fn check_addrs(host: &str, addrs: &[SocketAddr], allow_private: bool) -> Result<(), DestinationError> {
    if addrs.is_empty() {
        return Err(DestinationError::Unresolved(host.to_string()));
    }
    if allow_private {
        return Ok(());
    }
    // Every answer must be allowed: a client may connect to any of them.
    match addrs.iter().find(|a| is_forbidden(a.ip())) {
        Some(bad) => Err(DestinationError::Private { host: host.to_string(), addr: bad.ip() }),
        None => Ok(()),
    }
}

/// Resolves `host:port` and checks every address it resolves to.
pub async fn resolve_checked(host: &str, port: u16, allow_private: bool) -> Result<Vec<SocketAddr>, DestinationError> {
    // A bracketed IPv6 literal, as URLs write it.
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((bare, port)).await {
        Ok(found) => found.collect(),
        Err(_) => Vec::new(),
    };
    check_addrs(host, &addrs, allow_private)?;
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn private_loopback_link_local_shared_and_unspecified_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "192.0.0.8",
        ] {
            assert!(is_forbidden(ip(bad)), "{bad} should be refused");
        }
        for good in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_forbidden(ip(good)), "{good} should be allowed");
        }
    }

    #[tokio::test]
    async fn any_spelling_of_loopback_resolves_to_it_and_is_refused() {
        for spelling in ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "[::1]", "[::ffff:127.0.0.1]", "localhost"] {
            let refused = resolve_checked(spelling, 80, false).await;
            assert!(refused.is_err(), "{spelling} got through: {refused:?}");
        }
        let allowed = resolve_checked("127.0.0.1", 80, true).await.unwrap();
        assert_eq!(allowed, vec!["127.0.0.1:80".parse::<SocketAddr>().unwrap()]);
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_refused() {
        let refused = resolve_checked("no-such-host.invalid", 443, true).await;
        assert_eq!(refused, Err(DestinationError::Unresolved("no-such-host.invalid".into())));
    }
}
