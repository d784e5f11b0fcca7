//! Which IP addresses a tenant-chosen URL may reach: public unicast only. Everything else
//! (private, loopback, link-local, cloud metadata, CGNAT, multicast, documentation, reserved)
//! would let a webhook URL probe the operator's own network. Addresses that embed an IPv4
//! address (IPv4-mapped, NAT64, 6to4) are judged by the address they embed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// IPv4 ranges that are not public unicast (IANA special-purpose registry), plus public
/// addresses that cloud providers use for metadata services.
const V4_FORBIDDEN: &[(&str, &str)] = &[
    ("0.0.0.0/8", "this network / unspecified"),
    ("10.0.0.0/8", "private"),
    (
        "100.64.0.0/10",
        "carrier-grade NAT (also Alibaba's metadata 100.100.100.200)",
    ),
    ("127.0.0.0/8", "loopback"),
    (
        "169.254.0.0/16",
        "link-local (also the 169.254.169.254 metadata service)",
    ),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved, and 255.255.255.255 broadcast"),
    ("168.63.129.16/32", "Azure's wire server (metadata)"),
];

/// IPv6 ranges inside global unicast (2000::/3) that are not public. Outside 2000::/3 every
/// address is refused (loopback, unspecified, ULA, link-local, multicast…) except the NAT64
/// prefix, judged by its embedded IPv4 address.
const V6_FORBIDDEN: &[(&str, &str)] = &[
    ("2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHID)"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
];

fn v4_nets() -> impl Iterator<Item = Ipv4Net> {
    V4_FORBIDDEN.iter().filter_map(|(net, _)| net.parse().ok())
}

fn v6_nets() -> impl Iterator<Item = Ipv6Net> {
    V6_FORBIDDEN.iter().filter_map(|(net, _)| net.parse().ok())
}

/// True when `ip` is not a public unicast address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_forbidden(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_forbidden(v4),
            None => v6_forbidden(v6),
        },
    }
}

fn v4_forbidden(ip: Ipv4Addr) -> bool {
    v4_nets().any(|net| net.contains(&ip))
}

fn v6_forbidden(ip: Ipv6Addr) -> bool {
    let global_unicast: Ipv6Net = "2000::/3".parse().expect("constant network");
    !global_unicast.contains(&ip) || v6_nets().any(|net| net.contains(&ip))
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::/48`).
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last32 = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(last32());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(s: &str) -> bool {
        is_forbidden(s.parse().unwrap())
    }

    #[test]
    fn every_table_entry_parses() {
        assert_eq!(v4_nets().count(), V4_FORBIDDEN.len());
        assert_eq!(v6_nets().count(), V6_FORBIDDEN.len());
    }

    #[test]
    fn non_public_ipv4_is_refused() {
        for ip in [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "100.127.255.254",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "0.0.0.0",
            "0.1.2.3",
            "198.18.0.1",
            "192.0.0.170",
            "192.88.99.1",
            "168.63.129.16",
        ] {
            assert!(forbidden(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_ipv4_is_allowed() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "192.169.0.1",
            "11.0.0.1",
            "223.255.255.254",
        ] {
            assert!(!forbidden(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn non_public_ipv6_is_refused() {
        for ip in [
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "ff05::2",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
            "::2",
            "100::1",
        ] {
            assert!(forbidden(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_ipv6_is_allowed() {
        for ip in ["2606:4700:4700::1111", "2a00:1450:4001::200e", "2400:cb00::1"] {
            assert!(!forbidden(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn embedded_ipv4_is_judged_by_what_it_embeds() {
        // IPv4-mapped.
        assert!(forbidden("::ffff:10.0.0.1"));
        assert!(forbidden("::ffff:127.0.0.1"));
        assert!(forbidden("::ffff:169.254.169.254"));
        assert!(!forbidden("::ffff:8.8.8.8"));
        // NAT64 (64:ff9b::/96).
        assert!(forbidden("64:ff9b::10.0.0.1"));
        assert!(forbidden("64:ff9b::a9fe:a9fe"));
        assert!(!forbidden("64:ff9b::8.8.8.8"));
        assert!(forbidden("64:ff9b:1::8.8.8.8"), "local-use NAT64 is not global");
        // 6to4 (2002::/16): 2002:0a00:0001:: embeds 10.0.0.1.
        assert!(forbidden("2002:a00:1::1"));
        assert!(forbidden("2002:7f00:1::"));
        assert!(forbidden("2002:c0a8:101::1"));
        assert!(!forbidden("2002:808:808::1"));
    }

    #[test]
    fn embedded_addresses_are_extracted() {
        assert_eq!(
            embedded_v4("64:ff9b::c0a8:101".parse().unwrap()),
            Some(Ipv4Addr::new(192, 168, 1, 1))
        );
        assert_eq!(
            embedded_v4("2002:a00:1::".parse().unwrap()),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(embedded_v4("2606:4700::1".parse().unwrap()), None);
    }
}
