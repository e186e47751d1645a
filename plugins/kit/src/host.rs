//! One rule for "is this the same server?", used by every probe that compares host names or
//! URLs (the WSUS console on the site server, clients' scan locations against configured SUPs).
//!
//! Clients and administrators write a server as they were told: short name, FQDN, any case,
//! with or without a trailing dot, with or without the scheme's default port
//! (ConfigMgr 2007 clients record the SUP URL they were given in `LastScanPackageLocation`).
//! - IP addresses compare whole (`10.1.2.3` is not `10.1.2.4`), and never equal a name;
//! - names compare case-insensitively without a trailing dot; a short name (no dot) equals an
//!   FQDN whose first label it is (`SUP01` = `sup01.corp.example`); two FQDNs must be equal;
//! - URLs: the same scheme, the same host by the rule above, and the same port, the scheme's
//!   default (80 for http, 443 for https) implied when none is written. Paths are ignored.

use std::net::IpAddr;

/// A host as written: an IP address or a lower-cased name without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostName {
    Ip(IpAddr),
    Name(String),
}

impl HostName {
    pub fn parse(text: &str) -> HostName {
        let t = text.trim();
        let bare = t
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(t);
        match bare.parse::<IpAddr>() {
            Ok(ip) => HostName::Ip(ip),
            Err(_) => HostName::Name(t.trim_end_matches('.').to_ascii_lowercase()),
        }
    }

    /// The same host by the rule in the module documentation.
    pub fn same(&self, other: &HostName) -> bool {
        match (self, other) {
            (HostName::Ip(a), HostName::Ip(b)) => a == b,
            (HostName::Name(a), HostName::Name(b)) => {
                if a == b {
                    return true;
                }
                let first = |n: &str| n.split('.').next().unwrap_or(n).to_owned();
                match (a.contains('.'), b.contains('.')) {
                    (false, true) => *a == first(b),
                    (true, false) => first(a) == *b,
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for HostName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostName::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            HostName::Ip(ip) => write!(f, "{ip}"),
            HostName::Name(n) => f.write_str(n),
        }
    }
}

/// True when two host names (not URLs) are the same server.
pub fn same_host(a: &str, b: &str) -> bool {
    HostName::parse(a).same(&HostName::parse(b))
}

/// scheme, host and port of a URL (path, query and user info dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub scheme: String,
    pub host: HostName,
    pub port: u16,
}

impl Endpoint {
    /// Parses `scheme://[user@]host[:port][/path]`; `None` when it is not such a URL or the
    /// scheme has no known default port and none is given.
    pub fn parse(url: &str) -> Option<Endpoint> {
        let (scheme, rest) = url.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.split(['/', '?', '#']).next()?;
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (ip, after) = v6.split_once(']')?;
            (format!("[{ip}]"), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => match scheme.as_str() {
                "http" => 80,
                "https" => 443,
                _ => return None,
            },
        };
        Some(Endpoint {
            scheme,
            host: HostName::parse(&host),
            port,
        })
    }

    pub fn same(&self, other: &Endpoint) -> bool {
        self.scheme == other.scheme && self.port == other.port && self.host.same(&other.host)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// True when two URLs point at the same server and port (paths ignored).
pub fn same_endpoint(a: &str, b: &str) -> bool {
    match (Endpoint::parse(a), Endpoint::parse(b)) {
        (Some(a), Some(b)) => a.same(&b),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addresses_compare_whole() {
        assert!(
            !same_host("10.1.2.3", "10.1.2.4"),
            "not cut at the first dot"
        );
        assert!(same_host("10.1.2.3", "10.1.2.3"));
        assert!(!same_host("10.1.2.3", "10"));
        assert!(same_host("[::1]", "::1"));
        assert!(
            !same_host("127.0.0.1", "localhost"),
            "an IP never equals a name"
        );
    }

    #[test]
    fn short_names_equal_their_fqdn_and_case_and_trailing_dots_do_not_matter() {
        assert!(same_host("SUP01", "sup01.corp.example"));
        assert!(same_host("sup01.corp.example.", "SUP01"));
        assert!(same_host("Sup01.Corp.Example", "sup01.corp.example"));
        assert!(
            !same_host("sup01.corp.example", "sup01.lab.example"),
            "two FQDNs must match"
        );
        assert!(!same_host("SUP01", "sup02.corp.example"));
        assert!(!same_host("SUP0", "sup01"));
    }

    #[test]
    fn urls_imply_the_default_port_and_ignore_paths() {
        assert!(same_endpoint(
            "http://SUP01:8530",
            "http://sup01.corp.example:8530/ClientWebService/client.asmx"
        ));
        assert!(same_endpoint("http://sup01", "http://SUP01:80/"));
        assert!(same_endpoint("https://sup01/", "https://sup01:443"));
        assert!(!same_endpoint("http://sup01:8530", "http://sup01"));
        assert!(
            !same_endpoint("http://sup01:443", "https://sup01"),
            "scheme differs"
        );
        assert!(!same_endpoint(
            "http://10.1.2.3:8530",
            "http://10.1.2.4:8530"
        ));
        assert!(same_endpoint("http://[::1]:8530/x", "http://[::1]:8530"));
        assert!(same_endpoint("http://user@sup01:8530", "http://sup01:8530"));
        assert!(!same_endpoint("not a url", "http://sup01"));
        assert_eq!(
            Endpoint::parse("HTTP://SUP01.corp.:8530/x")
                .unwrap()
                .to_string(),
            "http://sup01.corp:8530"
        );
    }
}
