//! Blocking HTTP for probes. Every request's timeout is what is left of the call's deadline
//! (less a small margin), so a probe ends on its own socket timeouts before the host cuts it
//! off. Errors are classified into the causes an operator acts on: refused, DNS, TLS, timeout.

use std::io::Read;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};
use ureq::http;

/// Time kept back from the deadline so the probe's own timeout answers (CRITICAL, with the
/// cause) before the host's (UNKNOWN "timed out"): 10 % of the call's time, at least 250 ms
/// (at most half the call). With 100 ms the host won 40-80 % of the time under load.
fn margin(total: Duration) -> Duration {
    (total / 10).max(Duration::from_millis(250).min(total / 2))
}
/// Bodies are read up to this size by default; the rest is dropped.
pub const DEFAULT_BODY_CAP: usize = 10 * 1024 * 1024;

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    Refused(String),
    Dns(String),
    Tls(String),
    Timeout(Duration),
    /// Not sent: the call's deadline had already (nearly) passed.
    OutOfTime,
    /// Sent with less than half of the call's request time left (earlier requests used the
    /// rest), and that little time ran out: says nothing about the server.
    Starved(Duration),
    Cancelled,
    BadUrl(String),
    Other(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Refused(target) => write!(f, "connection refused by {target}"),
            HttpError::Dns(host) => write!(f, "cannot resolve host {host}"),
            HttpError::Tls(e) => write!(f, "TLS failure: {e}"),
            HttpError::Timeout(d) => write!(f, "no answer within {} ms (timed out)", d.as_millis()),
            HttpError::OutOfTime => write!(f, "not sent: the probe's time ran out"),
            HttpError::Starved(d) => write!(
                f,
                "the probe's time ran out: sent with only {} ms left, no answer in that time",
                d.as_millis()
            ),
            HttpError::Cancelled => write!(f, "cancelled by patchdeck"),
            HttpError::BadUrl(e) => write!(f, "bad URL: {e}"),
            HttpError::Other(e) => write!(f, "{e}"),
        }
    }
}

impl HttpError {
    /// True when the error says nothing about the server: the request was not sent, was
    /// cancelled, or was sent too late to be fair to it. Such a check is UNKNOWN ("not
    /// checked"), never CRITICAL.
    pub fn not_checked(&self) -> bool {
        matches!(
            self,
            HttpError::OutOfTime | HttpError::Cancelled | HttpError::Starved(_)
        )
    }
}

/// An HTTP answer (any status).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// True when the body was longer than the cap and was cut.
    pub truncated: bool,
    pub elapsed: Duration,
    /// What the login handshake did (Anonymous when there was none).
    pub auth: crate::auth::Outcome,
}

impl Resp {
    /// A header value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header that may repeat (WWW-Authenticate).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A client for one check call.
pub struct Http<'a> {
    agent: ureq::Agent,
    deadline: SystemTime,
    /// Kept back from the deadline (see [`margin`]).
    margin: Duration,
    /// The whole time for requests when the client was made (deadline less margin).
    full: Duration,
    cancel: Option<&'a AtomicU32>,
    auth: Option<&'a crate::auth::Authenticator>,
}

impl<'a> Http<'a> {
    /// `deadline`: the call's deadline. `tls_insecure`: accept any certificate (say so in the
    /// report). `cancel`: the call's cancel flag, checked before every request.
    pub fn new(
        deadline: SystemTime,
        tls_insecure: bool,
        cancel: Option<&'a AtomicU32>,
    ) -> Http<'a> {
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(tls_insecure)
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .allow_non_standard_methods(true)
            .user_agent("patchdeck")
            // Never ask for compression: WSUS would answer Xpress-compressed bodies.
            .accept_encoding(ureq::config::AutoHeaderValue::None)
            .tls_config(tls)
            .build();
        let total = deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        Http {
            agent: ureq::Agent::new_with_config(config),
            deadline,
            margin: margin(total),
            full: total.saturating_sub(margin(total)),
            cancel,
            auth: None,
        }
    }

    /// Logs in with these credentials when a server answers 401 (see [`crate::auth`]).
    pub fn with_auth(mut self, auth: Option<&'a crate::auth::Authenticator>) -> Http<'a> {
        self.auth = auth;
        self
    }

    /// The same client (deadline, margin, connection pool) logging in with other
    /// credentials: one client per call keeps the call's time budget whole.
    pub fn as_login(&self, auth: Option<&'a crate::auth::Authenticator>) -> Http<'a> {
        Http {
            agent: self.agent.clone(),
            deadline: self.deadline,
            margin: self.margin,
            full: self.full,
            cancel: self.cancel,
            auth,
        }
    }

    /// Time left for requests. Each request is bounded by it as a whole (connect, headers
    /// and body: ureq's global timeout), not only per socket read.
    pub fn remaining(&self) -> Duration {
        self.deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .saturating_sub(self.margin)
    }

    /// Sends a request; any HTTP status is an `Ok`. The body is read up to `body_cap` bytes.
    /// With credentials ([`Http::with_auth`]) a 401 offering Negotiate or NTLM is answered on
    /// the same kept-alive connection, every leg inside the call's deadline; the response says
    /// what the handshake did ([`Resp::auth`]).
    pub fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        body_cap: usize,
    ) -> Result<Resp, HttpError> {
        let first = self.send(method, url, headers, body, body_cap)?;
        match self.auth {
            Some(a) if first.status == 401 => {
                self.login(a, first, method, url, headers, body, body_cap)
            }
            _ => Ok(first),
        }
    }

    /// The 401 -> token -> answer legs of one handshake.
    #[allow(clippy::too_many_arguments)]
    fn login(
        &self,
        a: &crate::auth::Authenticator,
        first: Resp,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        body_cap: usize,
    ) -> Result<Resp, HttpError> {
        use crate::auth::{MAX_LEGS, Outcome, offered, server_token};
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let www = |r: &Resp| -> Vec<String> {
            r.header_all("WWW-Authenticate")
                .into_iter()
                .map(str::to_owned)
                .collect()
        };
        let with = |mut r: Resp, o: Outcome| {
            r.auth = o;
            r
        };
        let schemes = offered(&first.header_all("WWW-Authenticate"));
        let Some(scheme) = a.pick(&schemes) else {
            return Ok(with(first, Outcome::NotOffered { offered: schemes }));
        };
        let host =
            crate::host::Endpoint::parse(url).map_or_else(String::new, |e| e.host.to_string());
        let mut hs = match a.start(&host) {
            Ok(h) => h,
            Err(e) => return Ok(with(first, Outcome::ClientFailed(e))),
        };
        let mut input: Option<Vec<u8>> = None;
        let mut last = first;
        for _ in 0..MAX_LEGS {
            let token = match hs.step(input.as_deref()) {
                Ok(t) => t,
                Err(e) if input.is_some() => {
                    return Ok(with(
                        last,
                        Outcome::ServerInvalid(format!(
                            "the server's {scheme} token was refused by GSSAPI: {e}"
                        )),
                    ));
                }
                Err(e) => {
                    a.reset();
                    return Ok(with(last, Outcome::ClientFailed(e)));
                }
            };
            let value = format!("{scheme} {}", b64.encode(&token));
            let mut h: Vec<(&str, &str)> = headers.to_vec();
            h.push(("Authorization", &value));
            let r = self.send(method, url, &h, body, body_cap)?;
            let values = www(&r);
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let server = match server_token(&values, scheme) {
                Ok(t) => t,
                Err(e) => return Ok(with(r, Outcome::ServerInvalid(e))),
            };
            if r.status != 401 {
                // Mutual authentication: the server's last token must verify.
                if let (Some(t), false) = (&server, hs.complete())
                    && let Err(e) = hs.step(Some(t))
                {
                    return Ok(with(
                        r,
                        Outcome::ServerInvalid(format!(
                            "the server's {scheme} mutual authentication failed: {e}"
                        )),
                    ));
                }
                return Ok(with(r, Outcome::Accepted(scheme.to_owned())));
            }
            match server {
                Some(t) if !hs.complete() => {
                    input = Some(t);
                    last = r;
                }
                Some(_) => {
                    return Ok(with(
                        r,
                        Outcome::ServerInvalid(format!(
                            "the server asked for another {scheme} leg after the handshake was complete"
                        )),
                    ));
                }
                None => {
                    a.reset();
                    return Ok(with(
                        r,
                        Outcome::Refused {
                            scheme: scheme.to_owned(),
                        },
                    ));
                }
            }
        }
        Ok(with(
            last,
            Outcome::ServerInvalid(format!(
                "the server still asked for more after {MAX_LEGS} {scheme} legs"
            )),
        ))
    }

    /// One request, no login.
    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        body_cap: usize,
    ) -> Result<Resp, HttpError> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed) != 0) {
            return Err(HttpError::Cancelled);
        }
        let budget = self.remaining();
        if budget.is_zero() {
            return Err(HttpError::OutOfTime);
        }
        let mut builder = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let target = target_of(url);
        let started = Instant::now();
        let result = match body {
            Some(b) => {
                let req = builder
                    .body(b.to_vec())
                    .map_err(|e| HttpError::BadUrl(format!("{url}: {e}")))?;
                let req = self
                    .agent
                    .configure_request(req)
                    .timeout_global(Some(budget))
                    .build();
                self.agent.run(req)
            }
            None => {
                let req = builder
                    .body(())
                    .map_err(|e| HttpError::BadUrl(format!("{url}: {e}")))?;
                let req = self
                    .agent
                    .configure_request(req)
                    .timeout_global(Some(budget))
                    .build();
                self.agent.run(req)
            }
        };
        let https = url.starts_with("https://");
        let starved = |e: HttpError| match e {
            // A timeout of a request that had most of the call's time is the server's; one
            // sent with the leftovers is the probe's budget running out.
            HttpError::Timeout(_) if budget < self.full / 2 => HttpError::Starved(budget),
            e => e,
        };
        let resp = result
            .map_err(|e| classify(e, &target, https, started.elapsed()))
            .map_err(starved)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut buf = Vec::new();
        // A 401's body is drained (up to 64 KiB) so that the kept-alive connection can carry
        // the next leg of a login: NTLM authenticates the connection, not the request.
        let body_cap = if status == 401 {
            body_cap.max(64 * 1024)
        } else {
            body_cap
        };
        let mut reader = resp.into_body().into_reader().take(body_cap as u64 + 1);
        if method != "HEAD" {
            reader
                .read_to_end(&mut buf)
                .map_err(|e| classify_io(e, &target, https, started.elapsed()))
                .map_err(starved)?;
        }
        let truncated = buf.len() > body_cap;
        buf.truncate(body_cap);
        Ok(Resp {
            status,
            headers,
            body: buf,
            truncated,
            elapsed: started.elapsed(),
            auth: crate::auth::Outcome::Anonymous,
        })
    }

    pub fn get(&self, url: &str) -> Result<Resp, HttpError> {
        self.request("GET", url, &[], None, DEFAULT_BODY_CAP)
    }

    pub fn head(&self, url: &str) -> Result<Resp, HttpError> {
        self.request("HEAD", url, &[], None, 0)
    }
}

#[cfg(test)]
mod margin_tests {
    use super::*;

    #[test]
    fn the_margin_is_a_tenth_at_least_250_ms_at_most_half() {
        assert_eq!(margin(Duration::from_secs(10)), Duration::from_secs(1));
        assert_eq!(margin(Duration::from_secs(3)), Duration::from_millis(300));
        assert_eq!(margin(Duration::from_secs(1)), Duration::from_millis(250));
        assert_eq!(
            margin(Duration::from_millis(200)),
            Duration::from_millis(100)
        );
    }
}

/// host:port of a URL, for messages.
fn target_of(url: &str) -> String {
    match url.parse::<http::Uri>() {
        Ok(u) => {
            let port = u.port_u16().unwrap_or(if u.scheme_str() == Some("https") {
                443
            } else {
                80
            });
            format!("{}:{port}", u.host().unwrap_or("?"))
        }
        Err(_) => url.to_owned(),
    }
}

fn host_of(target: &str) -> &str {
    target.rsplit_once(':').map_or(target, |(h, _)| h)
}

fn classify(e: ureq::Error, target: &str, https: bool, elapsed: Duration) -> HttpError {
    match e {
        ureq::Error::Io(io) => classify_io(io, target, https, elapsed),
        ureq::Error::Timeout(_) => HttpError::Timeout(elapsed),
        ureq::Error::HostNotFound => HttpError::Dns(host_of(target).to_owned()),
        ureq::Error::ConnectionFailed => HttpError::Refused(target.to_owned()),
        ureq::Error::Tls(m) => HttpError::Tls(m.to_owned()),
        ureq::Error::Rustls(r) => HttpError::Tls(r.to_string()),
        ureq::Error::BadUri(m) => HttpError::BadUrl(m),
        other => HttpError::Other(other.to_string()),
    }
}

fn classify_io(e: std::io::Error, target: &str, https: bool, elapsed: Duration) -> HttpError {
    use std::io::ErrorKind::*;
    // A body read that ran into the whole-request deadline: ureq's Timeout inside io::Error.
    let ureq_timeout = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|u| matches!(u, ureq::Error::Timeout(_)));
    if ureq_timeout {
        return HttpError::Timeout(elapsed);
    }
    match e.kind() {
        ConnectionRefused => HttpError::Refused(target.to_owned()),
        TimedOut | WouldBlock => HttpError::Timeout(elapsed),
        // On https, a connection that ends or is garbled before any HTTP answer is a failed
        // handshake, typically a plain-HTTP port.
        UnexpectedEof | InvalidData if https => HttpError::Tls(format!(
            "handshake with {target} failed ({e}); is this an HTTPS port?"
        )),
        _ => {
            let text = e.to_string();
            if text.contains("failed to lookup address")
                || text.contains("Name or service not known")
            {
                HttpError::Dns(host_of(target).to_owned())
            } else if text.contains("invalid peer certificate")
                || text.contains("tls")
                || text.contains("TLS")
            {
                HttpError::Tls(text)
            } else {
                HttpError::Other(format!("{target}: {text}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    // Name resolution is classified from the error alone: resolving a name in a test would
    // send a query off this machine.
    #[test]
    fn io_errors_are_classified_by_cause() {
        let t = Duration::from_millis(5);
        let dns = Error::other("failed to lookup address information: Name or service not known");
        assert_eq!(
            classify_io(dns, "sup01.corp:8530", false, t),
            HttpError::Dns("sup01.corp".into())
        );
        let e = classify(ureq::Error::HostNotFound, "sup01.corp:8530", false, t);
        assert_eq!(e.to_string(), "cannot resolve host sup01.corp");
        let refused = Error::new(ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            classify_io(refused, "dp01:80", false, t),
            HttpError::Refused("dp01:80".into())
        );
        assert_eq!(
            classify_io(Error::new(ErrorKind::TimedOut, "t"), "dp01:80", false, t),
            HttpError::Timeout(t)
        );
        let tls = Error::other("invalid peer certificate: UnknownIssuer");
        assert!(matches!(
            classify_io(tls, "sup01:8531", true, t),
            HttpError::Tls(_)
        ));
        let eof = || Error::new(ErrorKind::UnexpectedEof, "unexpected end of file");
        assert!(matches!(
            classify_io(eof(), "sup01:8531", true, t),
            HttpError::Tls(_)
        ));
        assert!(matches!(
            classify_io(eof(), "sup01:8530", false, t),
            HttpError::Other(_)
        ));
        assert_eq!(target_of("http://sup01.corp:8530/"), "sup01.corp:8530");
    }
}
