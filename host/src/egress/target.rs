//! Checks of a URL a tenant asks us to call, before any connection: scheme, credentials, and
//! hosts written as IP addresses (which never reach the resolver, so the guard checks them here).

use std::net::IpAddr;

use reqwest::Url;

use super::policy::Policy;

/// Longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why a URL is refused, said to the tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadUrl {
    #[error("must be an absolute URL")]
    Unparsable,
    #[error("must be at most {MAX_URL_LEN} characters")]
    TooLong,
    #[error("must use https")]
    HttpsRequired,
    #[error("must use http or https")]
    Scheme,
    #[error("must not contain credentials")]
    Credentials,
    #[error("must have a host")]
    NoHost,
    #[error("must not point to a private, loopback, link-local or reserved address")]
    Forbidden,
}

/// Parses and checks `raw`; `allow_http` also accepts plain `http`.
pub fn check(raw: &str, allow_http: bool, policy: &Policy) -> Result<Url, BadUrl> {
    if raw.len() > MAX_URL_LEN {
        return Err(BadUrl::TooLong);
    }
    let url = Url::parse(raw.trim()).map_err(|_| BadUrl::Unparsable)?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err(BadUrl::HttpsRequired),
        _ => return Err(BadUrl::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BadUrl::Credentials);
    }
    match literal_ip(&url) {
        Some(ip) if !policy.permits(ip) => Err(BadUrl::Forbidden),
        _ if url.host_str().is_none_or(str::is_empty) => Err(BadUrl::NoHost),
        _ => Ok(url),
    }
}

/// The address of a URL whose host is an IP literal.
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(raw: &str) -> Result<Url, BadUrl> {
        check(raw, false, &Policy::default())
    }

    #[test]
    fn good_urls_pass() {
        assert!(checked("https://hooks.example.com/in?x=1").is_ok());
        assert!(checked("https://8.8.8.8/in").is_ok());
        assert!(check("http://hooks.example.com/", true, &Policy::default()).is_ok());
    }

    #[test]
    fn bad_urls_say_why() {
        assert_eq!(checked("not a url"), Err(BadUrl::Unparsable));
        assert_eq!(checked("http://hooks.example.com/"), Err(BadUrl::HttpsRequired));
        assert_eq!(checked("ftp://hooks.example.com/"), Err(BadUrl::Scheme));
        assert_eq!(checked("file:///etc/passwd"), Err(BadUrl::Scheme));
        assert_eq!(checked("gopher://127.0.0.1:6379/"), Err(BadUrl::Scheme));
        assert_eq!(checked("https://user:pw@hooks.example.com/"), Err(BadUrl::Credentials));
        assert_eq!(checked("https://user@hooks.example.com/"), Err(BadUrl::Credentials));
        assert_eq!(
            checked(&format!("https://x.example/{}", "a".repeat(3000))),
            Err(BadUrl::TooLong)
        );
        for private in [
            "https://127.0.0.1/",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[fd00::1]/",
            "https://0x7f000001/",
            "https://2130706433/",
        ] {
            assert_eq!(checked(private), Err(BadUrl::Forbidden), "{private}");
        }
    }

    #[test]
    fn allowed_networks_open_literal_hosts() {
        let policy = Policy::new("127.0.0.1/32".parse().unwrap());
        assert!(check("http://127.0.0.1:9/x", true, &policy).is_ok());
        assert_eq!(check("http://[::1]:9/x", true, &policy), Err(BadUrl::Forbidden));
    }
}
