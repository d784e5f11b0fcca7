//! Capabilities: what a manifest may request and a tenant may grant at install time.
//! `kv`, `customers:read`, `customers:write`, `messages:send` and `http:<host>` (one per host).

use std::collections::BTreeSet;

/// A capability as written in a manifest or an install request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    Kv,
    CustomersRead,
    CustomersWrite,
    MessagesSend,
    /// Outbound HTTP to this host (lower-case, no port).
    Http(String),
}

impl Capability {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "kv" => Capability::Kv,
            "customers:read" => Capability::CustomersRead,
            "customers:write" => Capability::CustomersWrite,
            "messages:send" => Capability::MessagesSend,
            _ => {
                let host = s.strip_prefix("http:")?;
                let valid = !host.is_empty()
                    && host.len() <= 253
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
                if !valid {
                    return None;
                }
                Capability::Http(host.to_owned())
            }
        })
    }

    pub fn name(&self) -> String {
        match self {
            Capability::Kv => "kv".into(),
            Capability::CustomersRead => "customers:read".into(),
            Capability::CustomersWrite => "customers:write".into(),
            Capability::MessagesSend => "messages:send".into(),
            Capability::Http(host) => format!("http:{host}"),
        }
    }
}

/// The capabilities an installation was granted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants(BTreeSet<Capability>);

impl Grants {
    pub fn new(caps: impl IntoIterator<Item = Capability>) -> Self {
        Self(caps.into_iter().collect())
    }

    pub fn allows(&self, cap: &Capability) -> bool {
        self.0.contains(cap)
    }

    /// Whether any outbound host was granted.
    pub fn any_http(&self) -> bool {
        self.0.iter().any(|c| matches!(c, Capability::Http(_)))
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(Capability::name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_round_trip_and_bad_ones_are_refused() {
        for s in [
            "kv",
            "customers:read",
            "customers:write",
            "messages:send",
            "http:api.example.com",
        ] {
            assert_eq!(Capability::parse(s).map(|c| c.name()), Some(s.to_owned()));
        }
        for s in [
            "KV",
            "http:",
            "http:Evil.com",
            "http:a.com:443",
            "http:a.com/x",
            "files",
        ] {
            assert_eq!(Capability::parse(s), None, "{s}");
        }
        let g = Grants::new([Capability::Kv]);
        assert!(g.allows(&Capability::Kv) && !g.allows(&Capability::CustomersRead) && !g.any_http());
    }
}
