//! The operator's exceptions to the SSRF guard, and the one decision that combines them with
//! [`ranges`](super::ranges).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::ranges;

/// Networks the guard lets through anyway: `SWITCHBOARD_WEBHOOKS_ALLOW_NETS`, comma-separated
/// CIDRs (a bare address means just that address).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NetList(pub Vec<IpNet>);

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a CIDR network such as 10.0.0.0/8")]
pub struct BadNet(String);

impl FromStr for NetList {
    type Err = BadNet;
    fn from_str(s: &str) -> Result<Self, BadNet> {
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.parse::<IpNet>()
                    .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| BadNet(part.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(NetList)
    }
}

impl TryFrom<String> for NetList {
    type Error = BadNet;
    fn try_from(s: String) -> Result<Self, BadNet> {
        s.parse()
    }
}

impl From<NetList> for String {
    fn from(n: NetList) -> String {
        n.to_string()
    }
}

impl fmt::Display for NetList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

/// Whether an address may be connected to.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    allow: NetList,
}

impl Policy {
    pub fn new(allow: NetList) -> Self {
        Self { allow }
    }

    /// Public unicast addresses, and anything in the operator's allowed networks.
    pub fn permits(&self, ip: IpAddr) -> bool {
        // `::ffff:127.0.0.1` is 127.0.0.1 for the allow-list as it is for the classifier.
        let ip = ip.to_canonical();
        self.allow.0.iter().any(|net| net.contains(&ip)) || !ranges::is_forbidden(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_networks_override_the_guard_and_nothing_else() {
        let policy = Policy::new("127.0.0.1/32, 10.1.0.0/16".parse().unwrap());
        assert!(policy.permits("127.0.0.1".parse().unwrap()));
        assert!(policy.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(policy.permits("10.1.2.3".parse().unwrap()));
        assert!(!policy.permits("127.0.0.2".parse().unwrap()));
        assert!(!policy.permits("10.2.0.1".parse().unwrap()));
        assert!(!policy.permits("::1".parse().unwrap()));
        assert!(policy.permits("8.8.8.8".parse().unwrap()));
        assert!(!Policy::default().permits("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn net_lists_parse_and_print() {
        let list: NetList = "127.0.0.1, ::1/128,".parse().unwrap();
        assert_eq!(list.to_string(), "127.0.0.1/32,::1/128");
        assert_eq!("".parse::<NetList>().unwrap(), NetList::default());
        assert!("10.0.0.0/33".parse::<NetList>().is_err());
        assert!("localhost".parse::<NetList>().is_err());
    }
}
