//! Facts in, items out: is a distribution point ready for BITS? Pure and table-tested.
//!
//! What BITS needs, checkable from the network: `HEAD` -> 200 with `Content-Length` (else
//! 0x80200011 BG_E_MISSING_FILE_SIZE); a ranged `GET` -> 206 with the matching
//! `Content-Range` (a 200 that ignores Range is 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT;
//! 403 is 0x80190193). "A BITS-enabled distribution point must have Internet Information
//! Services (IIS) installed and WebDAV enabled" ([`BITS_DP_DOC`]): WebDAV missing is
//! CRITICAL. Anonymous access to DP content is off unless "Allow clients to connect
//! anonymously" is set ([`ANON_DOC`]): a 401 offering Negotiate/NTLM is a normal DP that
//! cannot be verified without credentials (UNKNOWN), never a broken one.

use crate::gather::Seen;
use patchdeck_kit::http::HttpError;
use patchdeck_kit::report::{detail, explain, item};
use patchdeck_kit::threshold;
use patchdeck_probe_api::{Detail, Item, Rule, Status};

/// About BITS-Enabled Distribution Points (ConfigMgr 2007).
pub const BITS_DP_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/f617ded4-bdac-485a-b69c-972e6a0ef30c.htm";
/// Distribution point Properties, General tab: "Allow clients to connect anonymously".
pub const ANON_DOC: &str =
    "http://systemscenter.ru/smsv4.en/html/7a41355c-8deb-476e-a267-cced42c9584b.htm";

/// BITS return values (bits.h): BG_E_MISSING_FILE_SIZE 0x80200011,
/// BG_E_INSUFFICIENT_RANGE_SUPPORT 0x80200013, and HTTP 403 as 0x80190193.
pub const BITS_ERRORS_DOC: &str =
    "https://learn.microsoft.com/en-us/windows/win32/bits/bits-return-values";

pub const REACHABLE: Rule = Rule {
    id: "bits.reachable",
    severity: Status::Critical,
    title: "The DP answers HTTP on the content URL",
    source: "About BITS-Enabled Distribution Points (ConfigMgr 2007)",
    url: BITS_DP_DOC,
    fix: NET_FIX,
    assumption: false,
};
pub const NOT_CHECKED_RULE: Rule = Rule {
    id: "bits.not-checked",
    severity: Status::Unknown,
    title: "Every DP and request fits in the probe's time (else it is not a verdict)",
    source: "patchdeck: a request not made, or made with too little time, says nothing about the DP",
    url: "",
    fix: TIME_FIX,
    assumption: false,
};
pub const CREDENTIALS: Rule = Rule {
    id: "bits.credentials",
    severity: Status::Unknown,
    title: "A DP that refuses anonymous access (ConfigMgr's default) can be verified only with credentials",
    source: "Distribution Point Properties: General tab (Allow clients to connect anonymously)",
    url: ANON_DOC,
    fix: CREDENTIALS_FIX,
    assumption: false,
};
pub const LOGIN: Rule = Rule {
    id: "bits.login",
    severity: Status::Critical,
    title: "The DP accepts the probe's credentials (NTLM or Kerberos), and its side of the handshake is sound",
    source: "About BITS-Enabled Distribution Points (ConfigMgr 2007)",
    url: BITS_DP_DOC,
    fix: "Check the account's password, that it may read the DP's package share, and the DP's IIS authentication.",
    assumption: false,
};
pub const WINDOWS_AUTH: Rule = Rule {
    id: "bits.windows-auth",
    severity: Status::Critical,
    title: "A DP asking for credentials offers Windows authentication (Negotiate/NTLM)",
    source: "About BITS-Enabled Distribution Points (ConfigMgr 2007)",
    url: BITS_DP_DOC,
    fix: "Enable Integrated Windows authentication on the DP's SMS_DP_SMSPKG virtual directory.",
    assumption: false,
};
pub const CONTENT_LENGTH: Rule = Rule {
    id: "bits.content-length",
    severity: Status::Critical,
    title: "HEAD on a package file answers 200 with Content-Length (else BG_E_MISSING_FILE_SIZE)",
    source: "BITS Return Values",
    url: BITS_ERRORS_DOC,
    fix: "Make IIS send Content-Length for package files.",
    assumption: false,
};
pub const ACCESS: Rule = Rule {
    id: "bits.access",
    severity: Status::Critical,
    title: "Clients may read the package files (403 = 0x80190193) and they are on the DP (404)",
    source: "BITS Return Values",
    url: BITS_ERRORS_DOC,
    fix: "Give clients read access to the package files; update the package on the DP.",
    assumption: false,
};
pub const RANGE: Rule = Rule {
    id: "bits.range",
    severity: Status::Critical,
    title: "A ranged GET answers 206 with the right Content-Range (else BG_E_INSUFFICIENT_RANGE_SUPPORT)",
    source: "BITS Return Values",
    url: BITS_ERRORS_DOC,
    fix: "Make IIS on the DP honour Range requests.",
    assumption: false,
};
pub const WEBDAV: Rule = Rule {
    id: "bits.webdav",
    severity: Status::Critical,
    title: "PROPFIND answers 207: a BITS-enabled DP must have IIS and WebDAV",
    source: "About BITS-Enabled Distribution Points (ConfigMgr 2007)",
    url: BITS_DP_DOC,
    fix: "Enable WebDAV on the DP (IIS 6: Web Service Extensions > WebDAV > Allowed).",
    assumption: false,
};
pub const HTTP_STATUS: Rule = Rule {
    id: "bits.http-status",
    severity: Status::Critical,
    title: "The DP's other answers are not errors (5xx and unexpected codes)",
    source: "About BITS-Enabled Distribution Points (ConfigMgr 2007)",
    url: BITS_DP_DOC,
    fix: "Read the IIS log on the DP for the request named.",
    assumption: false,
};
pub const LATENCY: Rule = Rule {
    id: "bits.latency",
    severity: Status::Warning,
    title: "HEAD answers within latency_warn_ms / latency_crit_ms (both lines: a warning; BITS is built for slow links)",
    source: "patchdeck: no page gives a latency limit for a DP; BITS throttles and resumes over slow links",
    url: "",
    fix: "Check the DP's load and the network path to it.",
    assumption: true,
};

/// The bits probe's rule index.
pub const RULES: &[Rule] = &[
    REACHABLE,
    NOT_CHECKED_RULE,
    CREDENTIALS,
    LOGIN,
    WINDOWS_AUTH,
    CONTENT_LENGTH,
    ACCESS,
    RANGE,
    WEBDAV,
    HTTP_STATUS,
    LATENCY,
];

/// A DP that refuses anonymous access is normal (ConfigMgr's default): nothing to fix on the
/// DP, and opening it to anonymous users would weaken it (and is impossible in native mode).
const CREDENTIALS_FIX: &str = "Nothing to fix on the DP: anonymous access is off by default, and it must stay off. Give the probe credentials instead: auth = { user = \"CORP\\\\svc-patchdeck\", password = { file = \"/etc/patchdeck/dp.secret\" } } (NTLM, file mode 0600) or auth = { kerberos = true, principal = \"svc-patchdeck@CORP.EXAMPLE\", keytab = \"/etc/patchdeck/patchdeck.keytab\" }, for an account that may read the DP's package share (README, Logging in).";

#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub webdav: bool,
    pub latency_warn_ms: u64,
    pub latency_crit_ms: u64,
}

/// One DP's verdict so far: the worst status, the first problem (summary, evidence, fix)
/// and the detail rows.
struct Verdict {
    status: Status,
    first: Option<(String, String, String, &'static Rule)>,
    details: Vec<Detail>,
}

impl Verdict {
    fn ok(&mut self, label: &str, value: impl Into<String>) {
        self.details.push(detail(label, value, Some(Status::Ok)));
    }

    #[allow(clippy::too_many_arguments)]
    fn fail(
        &mut self,
        label: &str,
        rule: &'static Rule,
        status: Status,
        reason: impl Into<String>,
        evidence: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let reason = reason.into();
        let worse = status.severity() > self.status.severity() || self.first.is_none();
        self.status = self.status.worst(status);
        if worse {
            self.first = Some((reason.clone(), evidence.into(), fix.into(), rule));
        }
        self.details.push(detail(label, reason, Some(status)));
    }
}

fn windows_auth(auth: &[String]) -> Vec<&str> {
    auth.iter()
        .map(String::as_str)
        .filter(|a| a.eq_ignore_ascii_case("Negotiate") || a.eq_ignore_ascii_case("NTLM"))
        .collect()
}

const NOT_CHECKED: &str =
    "not checked: the probe's time ran out (raise `timeout` or `concurrency`)";
const TIME_FIX: &str = "Raise this probe's `timeout` or `concurrency` so every DP fits in one run.";
const NET_FIX: &str = "Check that the DP is up, that IIS (World Wide Web Publishing Service) runs on it and that port 80/443 is open from here.";

/// A failed request: UNKNOWN when it was never sent for lack of time, else CRITICAL.
fn no_answer(v: &mut Verdict, label: &str, what: &str, e: &HttpError) {
    match e {
        e if e.not_checked() => {
            v.fail(
                label,
                &NOT_CHECKED_RULE,
                Status::Unknown,
                NOT_CHECKED,
                format!("{what}: {e}"),
                TIME_FIX,
            );
        }
        e => v.fail(
            label,
            &REACHABLE,
            Status::Critical,
            format!("unreachable: {e}"),
            format!("{what}: {e}"),
            NET_FIX,
        ),
    }
}

/// A 401 after logging in (or trying to): the login's outcome is the verdict. Returns false
/// when no login was tried (no credentials) and the plain 401 rules apply.
fn login_verdict(
    v: &mut Verdict,
    label: &str,
    seen: &str,
    a: &crate::gather::Answer,
    who: Option<&str>,
) -> bool {
    use patchdeck_kit::auth::Outcome;
    if a.status != 401 {
        return false;
    }
    let who = who.unwrap_or("the configured account");
    match &a.login {
        Outcome::Refused { scheme } => v.fail(
            label,
            &LOGIN,
            Status::Critical,
            format!("credentials refused ({who}, {scheme})"),
            format!("{seen}: {scheme} login as {who} answered 401 again"),
            format!("Check the password or keytab of {who} and that the account may read the DP's package share (SMS_DP_SMSPKG<drive>$ permissions); the DP's Security event log (logon failures, event 4625/529) names the reason."),
        ),
        Outcome::ClientFailed(e) => v.fail(
            label,
            &CREDENTIALS,
            Status::Unknown,
            format!("cannot log in as {who}: {e}"),
            format!("{seen}; logging in failed on this host: {e}"),
            "Check the credentials on this host: the keytab (klist -k), a ticket (klist; kinit -k -t <keytab> <principal>), the KDC in /etc/krb5.conf, and for NTLM the gss-ntlmssp package.",
        ),
        Outcome::ServerInvalid(e) => v.fail(
            label,
            &LOGIN,
            Status::Critical,
            format!("login failed: {e}"),
            format!("{seen}: {e}"),
            "The DP (or a proxy in front of it) breaks the Windows authentication handshake: check IIS's authentication providers on the SMS_DP_SMSPKG virtual directory and any proxy between here and the DP.",
        ),
        _ => return false,
    }
    true
}

/// The DP's item, judged without credentials.
#[cfg(test)]
pub fn judge(name: &str, s: &Seen, r: Rules) -> Item {
    judge_as(name, s, r, None)
}

/// The DP's item; `who` names the account the probe logs in as ("user CORP\\svc").
pub fn judge_as(name: &str, s: &Seen, r: Rules, who: Option<&str>) -> Item {
    let mut v = Verdict {
        status: Status::Ok,
        first: None,
        details: vec![detail("URL", &s.url, None)],
    };
    let mut ms = None;
    match &s.head {
        Err(e) => no_answer(&mut v, "HEAD", &format!("HEAD {}", s.url), e),
        Ok(h) => {
            ms = Some(h.ms);
            head(&mut v, s, h, who);
        }
    }
    if let Some(((a, b), answer)) = &s.range {
        range(&mut v, s, (*a, *b), answer, who);
    }
    if r.webdav
        && let Some(p) = &s.propfind
    {
        webdav(&mut v, s, p, who);
    }
    let logged_in = [
        s.head.as_ref().ok(),
        s.range.as_ref().and_then(|(_, r)| r.as_ref().ok()),
        s.propfind.as_ref().and_then(|p| p.as_ref().ok()),
    ]
    .into_iter()
    .flatten()
    .find_map(|a| match &a.login {
        patchdeck_kit::auth::Outcome::Accepted(scheme) => Some(scheme.clone()),
        _ => None,
    });
    if let Some(scheme) = logged_in {
        v.ok(
            "Login",
            format!("{scheme} as {}", who.unwrap_or("the configured account")),
        );
    }
    let mut metrics = vec![];
    if let Some(ms) = ms {
        // BITS is built for slow links: latency alone is at most a warning.
        let lat = threshold::latency(ms, r.latency_warn_ms, r.latency_crit_ms);
        if lat != Status::Ok {
            v.fail(
                "Latency",
                &LATENCY,
                Status::Warning,
                format!("slow: {ms:.0} ms (BITS-ready otherwise; latency alone is a warning)"),
                format!("HEAD {} answered in {ms:.0} ms", s.url),
                "Check the DP's load and the network path to it (a DP across a WAN link is slow by nature: raise latency_warn_ms for it or turn off bits.latency in [probe.rules]).",
            );
        }
        metrics.push(threshold::latency_metric(
            "latency",
            ms,
            r.latency_warn_ms,
            r.latency_crit_ms,
        ));
    }
    let summary = match (&v.first, ms) {
        (Some((reason, _, _, _)), _) => reason.clone(),
        (None, Some(ms)) => format!("BITS-ready · {ms:.0} ms"),
        (None, None) => "BITS-ready".into(),
    };
    let mut it = item(name, name, v.status, summary);
    it.details = v.details;
    it.metrics = metrics;
    match v.first {
        Some((_, evidence, fix, rule)) if it.status != Status::Ok => {
            explain(it, rule, evidence, fix)
        }
        _ => it,
    }
}

fn head(v: &mut Verdict, s: &Seen, h: &crate::gather::Answer, who: Option<&str>) {
    let seen = format!("HEAD {} -> {}", s.url, h.status);
    if login_verdict(v, "HEAD", &seen, h, who) {
        return;
    }
    let windows = windows_auth(&h.auth);
    match (h.status, h.content_length) {
        (200, Some(n)) => v.ok("HEAD", format!("200, Content-Length {n}")),
        (200, None) => v.fail(
            "HEAD",
            &CONTENT_LENGTH,
            Status::Critical,
            "no Content-Length: BITS would fail with 0x80200011 BG_E_MISSING_FILE_SIZE",
            format!("{seen} without Content-Length"),
            "Make IIS send Content-Length for package files (no compression or chunked encoding on the SMS_DP_SMSPKG virtual directory).",
        ),
        (401, _) if !windows.is_empty() => v.fail(
            "HEAD",
            &CREDENTIALS,
            Status::Unknown,
            "Range and WebDAV cannot be verified without credentials (anonymous access is off, ConfigMgr's default)",
            format!("{seen}, WWW-Authenticate {}", h.auth.join(", ")),
            format!("{CREDENTIALS_FIX} {ANON_DOC}"),
        ),
        (401, _) => v.fail(
            "HEAD",
            &WINDOWS_AUTH,
            Status::Critical,
            format!(
                "HTTP 401 without Windows authentication (offers: {}): clients cannot log on",
                if h.auth.is_empty() { "nothing".to_owned() } else { h.auth.join(", ") }
            ),
            if who.is_some() {
                format!("{seen}; patchdeck never answers Basic: a password is never sent in clear")
            } else {
                seen
            },
            "Enable Integrated Windows authentication on the DP's SMS_DP_SMSPKG virtual directory in IIS Manager.",
        ),
        (403, _) => v.fail(
            "HEAD",
            &ACCESS,
            Status::Critical,
            "HTTP 403: BITS would fail with 0x80190193",
            seen,
            "Give clients read access to the SMS_DP_SMSPKG virtual directory (IIS permissions, request filtering of the file's extension on IIS 7).",
        ),
        (404, _) => v.fail(
            "HEAD",
            &ACCESS,
            Status::Critical,
            "HTTP 404: content not on this DP",
            seen,
            "Update the package on this DP (Distribution Points node) or correct the URL in this probe's config.",
        ),
        (code, _) => v.fail(
            "HEAD",
            &HTTP_STATUS,
            Status::Critical,
            format!("HTTP {code} on HEAD"),
            seen,
            "Read the IIS log on the DP for this request.",
        ),
    }
}

fn range(
    v: &mut Verdict,
    s: &Seen,
    (a, b): (u64, u64),
    answer: &Result<crate::gather::Answer, HttpError>,
    who: Option<&str>,
) {
    let asked = format!("GET {} Range bytes={a}-{b}", s.url);
    let r = match answer {
        Err(e) => return no_answer(v, "Range", &asked, e),
        Ok(r) => r,
    };
    if login_verdict(v, "Range", &format!("{asked} -> 401"), r, who) {
        return;
    }
    let total = match &s.head {
        Ok(h) => h.content_length.unwrap_or(0),
        Err(_) => 0,
    };
    let want = format!("bytes {a}-{b}/{total}");
    let got = r.content_range.clone().unwrap_or_default();
    let range_fix = "BITS resumes with byte ranges: make IIS on the DP honour Range (no proxy or filter that strips it; static file handler for the package folder).";
    match r.status {
        206 if got != want => v.fail(
            "Range",
            &RANGE,
            Status::Critical,
            format!("206 with Content-Range \"{got}\", expected \"{want}\""),
            format!("{asked} -> 206, Content-Range \"{got}\""),
            range_fix,
        ),
        206 if r.body_len != b - a + 1 || r.truncated => v.fail(
            "Range",
            &RANGE,
            Status::Critical,
            format!("206 with {} bytes, expected {}", r.body_len, b - a + 1),
            format!("{asked} -> 206 with {} bytes", r.body_len),
            range_fix,
        ),
        206 => v.ok("Range", format!("206, {want}")),
        200 => v.fail(
            "Range",
            &RANGE,
            Status::Critical,
            "ignores Range (200 instead of 206): BITS would fail with 0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT",
            format!(
                "{asked} -> 200{}",
                if got.is_empty() { " without Content-Range".to_owned() } else { format!(", Content-Range \"{got}\"") }
            ),
            range_fix,
        ),
        403 => v.fail(
            "Range",
            &ACCESS,
            Status::Critical,
            "HTTP 403 on a ranged GET: BITS would fail with 0x80190193",
            format!("{asked} -> 403"),
            "Give clients read access to the package files on this DP (IIS permissions).",
        ),
        code => v.fail(
            "Range",
            &HTTP_STATUS,
            Status::Critical,
            format!("HTTP {code} on a ranged GET"),
            format!("{asked} -> {code}"),
            "Read the IIS log on the DP for this request.",
        ),
    }
}

fn webdav(
    v: &mut Verdict,
    s: &Seen,
    p: &Result<crate::gather::Answer, HttpError>,
    who: Option<&str>,
) {
    let folder = crate::gather::folder_of(&s.url);
    let asked = format!("PROPFIND {folder} Depth 1");
    let p = match p {
        Err(e) => return no_answer(v, "WebDAV", &asked, e),
        Ok(p) => p,
    };
    if login_verdict(v, "WebDAV", &format!("{asked} -> 401"), p, who) {
        return;
    }
    let fix = format!(
        "Enable WebDAV on the DP: IIS 6 Web Service Extensions > WebDAV > Allowed; on Windows Server 2008 install and configure the WebDAV extension for IIS 7. \"A BITS-enabled distribution point must have IIS installed and WebDAV enabled\": {BITS_DP_DOC}"
    );
    match p.status {
        207 => v.ok("WebDAV", "PROPFIND 207 Multi-Status"),
        401 if !windows_auth(&p.auth).is_empty() => v.fail(
            "WebDAV",
            &CREDENTIALS,
            Status::Unknown,
            "WebDAV cannot be verified without credentials (anonymous access is off, ConfigMgr's default)",
            format!("{asked} -> 401, WWW-Authenticate {}", p.auth.join(", ")),
            format!("{CREDENTIALS_FIX} {ANON_DOC}"),
        ),
        code => v.fail(
            "WebDAV",
            &WEBDAV,
            Status::Critical,
            format!("WebDAV not answering (PROPFIND HTTP {code}): a BITS-enabled DP needs IIS WebDAV"),
            format!("{asked} -> {code}"),
            fix,
        ),
    }
}

#[cfg(test)]
mod tests;
