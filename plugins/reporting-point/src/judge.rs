//! Facts in, items out: the reporting point verdict, pure and table-tested.
//!
//! The reporting point is a ConfigMgr 2007 site role on IIS with Active Server Pages; its
//! files sit in the virtual directory `SMSReporting_<sitecode>` by default (Reporting Users
//! group, https://systemscenter.ru/smsv4.en/html/93241806-5752-4f1b-82ec-c2f77ef6ebca.htm;
//! requirements: IIS, ASP, Windows Authentication on Windows Server 2008,
//! https://systemscenter.ru/smsv4.en/html/63a63b54-043d-4fd2-b5da-190e225a5d7f.htm).
//! Only that directory answering proves the role: a 401 from the site root proves only IIS.

use patchdeck_kit::http::HttpError;
use patchdeck_kit::report::{detail, explain, item};
use patchdeck_kit::threshold;
use patchdeck_kit::wsus;
use patchdeck_probe_api::{Detail, Item, Rule, Status};

pub const ROLE: Rule = Rule {
    id: "reporting-point.role",
    severity: Status::Critical,
    title: "The SMSReporting_<site> directory answers (401 Negotiate/NTLM or 200 = installed; 404 = not installed; 5xx = broken)",
    source: "Reporting point requirements (IIS, ASP, Windows authentication)",
    url: RP_DOC,
    fix: "Install the reporting point role, or allow Active Server Pages in IIS.",
    assumption: false,
};
pub const URL_RULE: Rule = Rule {
    id: "reporting-point.url",
    severity: Status::Warning,
    title: "The URL is a reporting point's directory (SMSReporting_<site>) of the watched site",
    source: "Reporting Users group: the SMSReporting_<site code> virtual directory",
    url: VDIR_DOC,
    fix: "Set `url` to http://<server>/SMSReporting_<site code>/.",
    assumption: false,
};
pub const PROOF: Rule = Rule {
    id: "reporting-point.proof",
    severity: Status::Unknown,
    title: "A 401 proves the role only when a path that cannot exist does not answer 401 too",
    source: "patchdeck: a server that requires Windows authentication everywhere answers 401 on any path",
    url: "",
    fix: "Check the role in the console (Site System Status) or open the reports page with an account.",
    assumption: false,
};
pub const LOGIN: Rule = Rule {
    id: "reporting-point.login",
    severity: Status::Critical,
    title: "With credentials, the reporting point accepts the account and its reports page answers",
    source: "Reporting Users group: members may run reports on the SMSReporting_<site> directory",
    url: VDIR_DOC,
    fix: "Check the account's password and that it is in the site's Reporting Users group.",
    assumption: false,
};
pub const LATENCY: Rule = Rule {
    id: "reporting-point.latency",
    severity: Status::Warning,
    title: "The reporting point answers within latency_warn_ms / latency_crit_ms (both lines: a warning)",
    source: "patchdeck: no page gives a latency limit",
    url: "",
    fix: "Check the server's load and its connection to the site database.",
    assumption: true,
};

/// The reporting-point probe's rule index.
pub const RULES: &[Rule] = &[
    wsus::RULE_REACHABLE,
    wsus::RULE_NOT_CHECKED,
    ROLE,
    LOGIN,
    URL_RULE,
    PROOF,
    LATENCY,
];

pub const RP_DOC: &str =
    "https://systemscenter.ru/smsv4.en/html/63a63b54-043d-4fd2-b5da-190e225a5d7f.htm";
pub const VDIR_DOC: &str =
    "https://systemscenter.ru/smsv4.en/html/93241806-5752-4f1b-82ec-c2f77ef6ebca.htm";

/// What one anonymous GET saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub url: String,
    pub answer: Result<Answer, HttpError>,
    /// A path that cannot exist on the same server, asked when the role answered 401: if it
    /// gets 401 too, the server asks for Windows authentication everywhere.
    pub control: Option<(String, Result<Answer, HttpError>)>,
    /// The account the probe logs in as ("user CORP\\svc"), when it has credentials.
    pub who: Option<String>,
}

/// The control URL next to `url`: the same server, a directory nobody creates.
pub fn control_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    Some(format!(
        "{scheme}://{authority}/patchdeck-control-no-such-directory/"
    ))
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub ms: f64,
    pub server: Option<String>,
    /// The schemes of every WWW-Authenticate header ("Negotiate", "NTLM", "Basic").
    pub auth: Vec<String>,
    /// What logging in did (Anonymous without credentials).
    pub login: patchdeck_kit::auth::Outcome,
}

/// The site code in the URL's `SMSReporting_<code>` directory, if it has one.
pub fn vdir_site(url: &str) -> Option<String> {
    let path = url.split_once("://").map_or(url, |(_, r)| r);
    path.split(['/', '?']).skip(1).find_map(|seg| {
        let (head, code) = seg.split_at_checked("SMSReporting_".len())?;
        head.eq_ignore_ascii_case("SMSReporting_")
            .then(|| code.to_ascii_uppercase())
            .filter(|c| !c.is_empty())
    })
}

/// The role item, the report's details, and the latency item when slow.
pub fn judge(
    s: &Seen,
    site_code: Option<&str>,
    warn_ms: u64,
    crit_ms: u64,
) -> (Vec<Item>, Vec<Detail>) {
    let mut details = vec![detail("URL", &s.url, None)];
    let a = match &s.answer {
        Ok(a) => a,
        Err(e) => {
            let v = wsus::unreachable(&s.url, e);
            let it = explain(
                item(
                    "role",
                    "Reporting point",
                    v.status,
                    format!("reporting point {}", v.summary),
                ),
                v.rule,
                v.evidence,
                v.fix,
            );
            return (vec![it], details);
        }
    };
    details.push(detail("HTTP status", a.status.to_string(), None));
    if let Some(server) = &a.server {
        details.push(detail("Server", server, None));
    }
    if !a.auth.is_empty() {
        details.push(detail("WWW-Authenticate", a.auth.join(", "), None));
    }
    let mut items = vec![role(s, a, site_code, &mut details)];
    // Slowness alone is a warning: no page gives a limit.
    let lat = threshold::latency(a.ms, warn_ms, crit_ms);
    if lat != Status::Ok {
        items.push(explain(
            item(
                "latency",
                "Latency",
                Status::Warning,
                format!(
                    "answered in {:.0} ms (over the {} ms line)",
                    a.ms,
                    if lat == Status::Critical {
                        crit_ms
                    } else {
                        warn_ms
                    }
                ),
            ),
            &LATENCY,
            format!("GET {} took {:.0} ms", s.url, a.ms),
            "Check the reporting point server's load and its connection to the site database.",
        ));
    }
    (items, details)
}

fn role(s: &Seen, a: &Answer, site_code: Option<&str>, details: &mut Vec<Detail>) -> Item {
    let seen = format!(
        "anonymous GET {} -> {}{}",
        s.url,
        a.status,
        if a.auth.is_empty() {
            String::new()
        } else {
            format!(", WWW-Authenticate {}", a.auth.join(", "))
        }
    );
    let make_ruled = |rule: &Rule, status: Status, summary: String, fix: String| {
        let it = item("role", "Reporting point", status, summary);
        if status == Status::Ok {
            it
        } else {
            explain(it, rule, seen.clone(), fix)
        }
    };
    let make =
        |status: Status, summary: String, fix: String| make_ruled(&ROLE, status, summary, fix);
    let Some(site) = vdir_site(&s.url) else {
        return make_ruled(
            &URL_RULE,
            Status::Warning,
            format!(
                "not a reporting point URL: HTTP {} from a URL without the SMSReporting_<site> directory proves only IIS",
                a.status
            ),
            format!(
                "Set `url` to the reporting point's directory, e.g. http://<server>/SMSReporting_<site code>/ ({VDIR_DOC})."
            ),
        );
    };
    if let Some(want) = site_code
        && !want.eq_ignore_ascii_case(&site)
    {
        return make_ruled(
            &URL_RULE,
            Status::Warning,
            format!(
                "the URL is site {site}'s reporting point, site_code is {}",
                want.to_ascii_uppercase()
            ),
            format!(
                "Point `url` at SMSReporting_{} or correct `site_code`.",
                want.to_ascii_uppercase()
            ),
        );
    }
    if let Some(it) = logged_in(s, a, &site, &seen) {
        return it;
    }
    let windows: Vec<&str> = a
        .auth
        .iter()
        .map(String::as_str)
        .filter(|m| m.eq_ignore_ascii_case("Negotiate") || m.eq_ignore_ascii_case("NTLM"))
        .collect();
    match a.status {
        401 if !windows.is_empty() => match &s.control {
            Some((curl, Ok(c))) if c.status == 401 => {
                details.push(detail(
                    "Control",
                    format!("GET {curl} -> 401 too"),
                    Some(Status::Unknown),
                ));
                let it = item(
                    "role",
                    "Reporting point",
                    Status::Unknown,
                    "not proven: the server asks for Windows authentication on every path (a path that cannot exist answers 401 too)",
                );
                explain(
                    it,
                    &PROOF,
                    format!("{seen}; control GET {curl} -> 401"),
                    format!(
                        "The 401 may come from IIS alone. Open http://<server>/SMSReporting_{site}/Report.asp with a Reporting Users account, or check the role under Site Systems and Site Status in the ConfigMgr console; credentials for this probe are planned. {VDIR_DOC}"
                    ),
                )
            }
            Some((curl, Err(e))) => {
                let v = wsus::unreachable(curl, e);
                details.push(detail("Control", format!("GET {curl}: {e}"), None));
                explain(
                    item(
                        "role",
                        "Reporting point",
                        Status::Unknown,
                        format!("not proven: the control request failed ({e})"),
                    ),
                    &PROOF,
                    format!("{seen}; control GET {curl}: {e}"),
                    v.fix,
                )
            }
            control => {
                if let Some((curl, Ok(c))) = control {
                    details.push(detail(
                        "Control",
                        format!("GET {curl} -> {} (only the role's directory asks for credentials)", c.status),
                        Some(Status::Ok),
                    ));
                }
                make(
                    Status::Ok,
                    format!("installed, Windows authentication ({})", windows.join(", ")),
                    String::new(),
                )
            }
        },
        401 => make(
            Status::Warning,
            format!(
                "answers 401 without Negotiate or NTLM (offers: {}): not the reporting point's Windows authentication",
                if a.auth.is_empty() { "nothing".to_owned() } else { a.auth.join(", ") }
            ),
            format!("Enable Integrated Windows authentication on the SMSReporting_{site} directory in IIS Manager ({RP_DOC})."),
        ),
        200 => {
            details.push(detail("Access", "anonymous access allowed", Some(Status::Warning)));
            make(Status::Ok, "installed, anonymous access allowed".into(), String::new())
        }
        404 => make(
            Status::Critical,
            "reporting point not installed at this URL (HTTP 404)".into(),
            format!("On IIS 6, first check that Active Server Pages is Allowed (IIS Manager > Web Service Extensions): IIS 6 answers 404 for .asp pages while ASP is prohibited. Otherwise install the reporting point role on this server (site system properties, New Roles), or correct `url` ({RP_DOC})."),
        ),
        code @ 500..=599 => make(
            Status::Critical,
            format!("reporting point broken: HTTP {code}"),
            "Check that Active Server Pages is enabled in IIS and read the IIS log and the Application event log on the reporting point.".into(),
        ),
        code => make(
            Status::Warning,
            format!("unexpected HTTP {code} from the reporting point"),
            format!("Check the SMSReporting_{site} directory's permissions and authentication in IIS Manager ({VDIR_DOC})."),
        ),
    }
}

/// The verdict when the probe logged in (or tried to): an authenticated 200 from the role's
/// directory proves the role end to end; 5xx after logging in is ASP or its database.
fn logged_in(s: &Seen, a: &Answer, site: &str, seen: &str) -> Option<Item> {
    use patchdeck_kit::auth::Outcome;
    let who = s.who.as_deref().unwrap_or("the configured account");
    let bad = |rule: &Rule, status: Status, summary: String, fix: String| {
        Some(explain(
            item("role", "Reporting point", status, summary),
            rule,
            format!("{seen}; login as {who}: {:?}", a.login),
            fix,
        ))
    };
    match &a.login {
        Outcome::Accepted(scheme) => match a.status {
            200 => Some(item(
                "role",
                "Reporting point",
                Status::Ok,
                format!("installed: the reports page answered {who} ({scheme})"),
            )),
            code @ 500..=599 => bad(
                &ROLE,
                Status::Critical,
                format!("reporting point broken: HTTP {code} after logging in (ASP or its connection to the site database)"),
                format!("Read the IIS log and the Application event log on the reporting point; check that Active Server Pages is allowed and that the reporting point can reach the site database (SMS_{site}). {RP_DOC}"),
            ),
            _ => None,
        },
        Outcome::Refused { scheme } => bad(
            &LOGIN,
            Status::Critical,
            format!("credentials refused ({who}, {scheme})"),
            format!("Check the password or keytab of {who} and that the account is in the site's Reporting Users group (SMSReporting_{site}). {VDIR_DOC}"),
        ),
        Outcome::ClientFailed(e) => bad(
            &PROOF,
            Status::Unknown,
            format!("cannot log in as {who}: {e}"),
            "Check the credentials on this host: the keytab (klist -k), a ticket (klist), the KDC in /etc/krb5.conf, and for NTLM the gss-ntlmssp package.".into(),
        ),
        Outcome::ServerInvalid(e) => bad(
            &LOGIN,
            Status::Critical,
            format!("login failed: {e}"),
            "The server (or a proxy in front of it) breaks the Windows authentication handshake: check IIS's authentication providers on the SMSReporting directory.".into(),
        ),
        Outcome::Anonymous | Outcome::NotOffered { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(url: &str, status: u16, auth: &[&str]) -> Seen {
        Seen {
            url: url.into(),
            answer: Ok(Answer {
                status,
                ms: 5.0,
                server: Some("Microsoft-IIS/6.0".into()),
                auth: auth.iter().map(|s| s.to_string()).collect(),
                login: patchdeck_kit::auth::Outcome::Anonymous,
            }),
            control: None,
            who: None,
        }
    }

    /// (url, status, WWW-Authenticate schemes, site_code, expected status, expected summary)
    type Case<'a> = (
        &'a str,
        u16,
        &'a [&'a str],
        Option<&'a str>,
        Status,
        &'a str,
    );

    #[test]
    fn only_the_reporting_directory_proves_the_role() {
        let rp = "http://rp01/SMSReporting_ABC/";
        let cases: &[Case] = &[
            (
                rp,
                401,
                &["Negotiate", "NTLM"],
                None,
                Status::Ok,
                "installed, Windows authentication (Negotiate, NTLM)",
            ),
            (
                "http://rp01/smsreporting_abc/Report.asp?ReportID=1",
                200,
                &[],
                Some("ABC"),
                Status::Ok,
                "installed, anonymous access allowed",
            ),
            (
                "http://rp01/",
                401,
                &["Negotiate", "NTLM"],
                None,
                Status::Warning,
                "not a reporting point URL: HTTP 401 from a URL without the SMSReporting_<site> directory proves only IIS",
            ),
            (
                "http://rp01/Reports/",
                401,
                &["NTLM"],
                None,
                Status::Warning,
                "not a reporting point URL: HTTP 401 from a URL without the SMSReporting_<site> directory proves only IIS",
            ),
            (
                rp,
                401,
                &["Negotiate"],
                Some("XYZ"),
                Status::Warning,
                "the URL is site ABC's reporting point, site_code is XYZ",
            ),
            (
                rp,
                401,
                &["Basic"],
                None,
                Status::Warning,
                "answers 401 without Negotiate or NTLM (offers: Basic): not the reporting point's Windows authentication",
            ),
            (
                rp,
                404,
                &[],
                None,
                Status::Critical,
                "reporting point not installed at this URL (HTTP 404)",
            ),
            (
                rp,
                503,
                &[],
                None,
                Status::Critical,
                "reporting point broken: HTTP 503",
            ),
        ];
        for (url, code, auth, site, status, summary) in cases {
            let (items, _) = judge(&seen(url, *code, auth), *site, 500, 2000);
            let it = &items[0];
            assert_eq!(
                (it.status, it.summary.as_str()),
                (*status, *summary),
                "{url} {code}"
            );
            assert_eq!(
                it.fix.is_some() && it.evidence.is_some(),
                *status != Status::Ok
            );
        }
    }

    #[test]
    fn site_codes_from_urls() {
        assert_eq!(
            vdir_site("http://rp/SMSReporting_ABC/").as_deref(),
            Some("ABC")
        );
        assert_eq!(
            vdir_site("https://rp:8443/smsreporting_x01/Report.asp?ReportID=3").as_deref(),
            Some("X01")
        );
        assert_eq!(vdir_site("http://rp/"), None);
        assert_eq!(
            vdir_site("http://SMSReporting_ABC.corp/"),
            None,
            "a host name is not the directory"
        );
        assert_eq!(vdir_site("http://rp/SMSReporting_/"), None);
    }

    /// A server that requires Windows authentication on the whole site answers 401 on any
    /// path, SMSReporting_<site> included: that 401 proves nothing until a path that cannot
    /// exist answers otherwise.
    #[test]
    fn a_401_everywhere_does_not_prove_the_role() {
        let rp = "http://rp01/SMSReporting_ABC/";
        assert_eq!(
            control_url(rp).as_deref(),
            Some("http://rp01/patchdeck-control-no-such-directory/")
        );
        let mut s = seen(rp, 401, &["Negotiate", "NTLM"]);
        let control = |status: u16| {
            let mut c = seen(
                "http://rp01/patchdeck-control-no-such-directory/",
                status,
                &["Negotiate", "NTLM"],
            );
            (
                c.url.clone(),
                std::mem::replace(&mut c.answer, Err(HttpError::Cancelled)),
            )
        };
        s.control = Some(control(401));
        let (items, _) = judge(&s, Some("ABC"), 500, 2000);
        assert_eq!(items[0].status, Status::Unknown, "{}", items[0].summary);
        assert_eq!(items[0].rule.as_deref(), Some("reporting-point.proof"));
        s.control = Some(control(404));
        let (items, details) = judge(&s, Some("ABC"), 500, 2000);
        assert_eq!(
            (items[0].status, items[0].summary.as_str()),
            (
                Status::Ok,
                "installed, Windows authentication (Negotiate, NTLM)"
            )
        );
        assert!(details.iter().any(|d| d.label == "Control"));
    }

    #[test]
    fn a_404_names_iis6_asp_first_and_slowness_is_a_warning() {
        let (items, _) = judge(
            &seen("http://rp01/SMSReporting_ABC/", 404, &[]),
            None,
            500,
            2000,
        );
        assert!(
            items[0]
                .fix
                .as_deref()
                .unwrap()
                .contains("Active Server Pages is Allowed"),
            "{:?}",
            items[0].fix
        );
        let mut slow = seen("http://rp01/SMSReporting_ABC/", 200, &[]);
        if let Ok(a) = &mut slow.answer {
            a.ms = 9_000.0;
        }
        let (items, _) = judge(&slow, None, 500, 2000);
        assert_eq!(items[1].status, Status::Warning);
        assert_eq!(items[1].rule.as_deref(), Some("reporting-point.latency"));
    }
}
