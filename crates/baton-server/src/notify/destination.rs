//! The private-destination guard: a notification URL must not lead to loopback, private or link-local addresses.
//!
//! A webhook URL is chosen by whoever writes the policy; without this guard it
//! could make the server call its own admin ports, the cloud metadata service
//! (169.254.169.254) or hosts on the internal network. The check resolves the
//! host and refuses it if **any** of its addresses is private.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// Why a notification URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Not an absolute URL.
    #[error("invalid notification url")]
    InvalidUrl,
    /// Neither `http` nor `https`.
    #[error("notification url scheme must be http or https, not `{0}`")]
    UnsupportedScheme(String),
    /// The host is or resolves to a private address.
    #[error(
        "notification url host `{host}` is a private address ({address}); allow_private is off"
    )]
    PrivateAddress {
        /// The host as written in the URL.
        host: String,
        /// The private address it is or resolves to.
        address: IpAddr,
    },
    /// The host did not resolve.
    #[error("notification url host `{0}` does not resolve")]
    Unresolvable(String),
}

/// Checks a notification URL: `http` or `https`, and unless `allow_private`,
/// a host whose every address is public (see [`is_private`]). Host names are
/// resolved with the system resolver.
///
/// The check is made when a channel is configured and again before an
/// attempt; the HTTP client resolves the name once more when it connects.
pub async fn check_destination(url: &str, allow_private: bool) -> Result<(), DestinationError> {
    let url = Url::parse(url).map_err(|_| DestinationError::InvalidUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DestinationError::UnsupportedScheme(url.scheme().to_owned()));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(DestinationError::InvalidUrl)?;
    // The URL parser writes IPv4 hosts in dotted decimal (`0x7f.1` is
    // `127.0.0.1`) and IPv6 ones in brackets.
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>();
    let addresses: Vec<IpAddr> = match literal {
        Ok(ip) => vec![ip],
        Err(_) if allow_private => return Ok(()),
        Err(_) => {
            let unresolvable = || DestinationError::Unresolvable(host.to_owned());
            let found = tokio::net::lookup_host((host, port))
                .await
                .map_err(|_| unresolvable())?;
            let addresses: Vec<IpAddr> = found.map(|socket| socket.ip()).collect();
            if addresses.is_empty() {
                return Err(unresolvable());
            }
            addresses
        }
    };
    if allow_private {
        return Ok(());
    }
    match addresses.into_iter().find(|ip| is_private(*ip)) {
        Some(address) => Err(DestinationError::PrivateAddress {
            host: host.to_owned(),
            address,
        }),
        None => Ok(()),
    }
}

/// Whether a notification must not go to `ip` (without `allow_private`):
/// unspecified, loopback, RFC 1918 private, link-local, shared (carrier-grade
/// NAT, 100.64.0.0/10), broadcast, IPv6 unique-local and site-local, and the
/// IPv4-mapped or -compatible IPv6 forms of all these.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_unspecified()
                || v6.is_loopback()
                || (first & 0xfe00) == 0xfc00 // unique local, fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local, fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated), fec0::/10
                || is_v4_compatible(v6)
        }
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || a == 0 // "this network", 0.0.0.0/8
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || (a == 100 && (b & 0xc0) == 64) // shared address space, 100.64.0.0/10
}

/// `::a.b.c.d` (deprecated, but some stacks still route it to IPv4).
fn is_v4_compatible(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    s[..6] == [0; 6]
        && is_private_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_public_addresses() {
        let cases = [
            ("127.0.0.1", true),
            ("127.255.0.9", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("172.31.255.255", true),
            ("192.168.0.1", true),
            ("169.254.169.254", true),
            ("100.100.100.200", true),
            ("0.0.0.0", true),
            ("0.1.2.3", true),
            ("255.255.255.255", true),
            ("::1", true),
            ("::", true),
            ("fd00::1", true),
            ("fc00::1", true),
            ("fe80::1", true),
            ("fec0::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("::127.0.0.1", true),
            ("93.184.215.14", false),
            ("172.32.0.1", false),
            ("100.128.0.1", false),
            ("8.8.8.8", false),
            ("2606:4700::1111", false),
            ("::ffff:8.8.8.8", false),
        ];
        for (ip, expect) in cases {
            assert_eq!(is_private(ip.parse().unwrap()), expect, "{ip}");
        }
    }
}
