//! WSUS 3.0 as ConfigMgr 2007 needs it, shared by the probes that talk to WSUS (the `wsus`
//! probe and the NLB nodes of `sup-capacity`), so one server is judged by one rule wherever
//! it appears: the anonymous `GetConfig` call and its verdict, and what an HTTP status from
//! a WSUS web service means.

use crate::http::{Http, HttpError};
use crate::soap::{self, GetConfig, SoapError};
use crate::version::WinVersion;
use patchdeck_probe_api::{Rule, Status};
use serde::Deserialize;

/// Prerequisites for Software Updates (ConfigMgr 2007): "Software updates in Configuration
/// Manager 2007 Service Pack 1 (SP1) requires WSUS 3.0 SP1 or WSUS 3.0 Service Pack 2 (SP2).
/// WSUS 3.0 SP2 is required to support Configuration Manager 2007 SP2 software update
/// management for the Windows 7 and Windows Server 2008 R2 operating systems."
pub const SU_PREREQS: &str =
    "http://systemscenter.ru/smsv4.en/html/76638fa0-cbc7-4b42-9378-0a92a3be1201.htm";

/// [MS-WUSP] Windows Update Services: Client-Server Protocol (stored copy): the client web
/// service, GetConfig and ProtocolVersion (product behavior notes).
pub const MS_WUSP: &str = "https://studylib.net/doc/27543505/-ms-wusp-";
/// Secure WSUS 3.0 Deployment: with SSL, the web services (ClientWebService,
/// SimpleAuthWebService, ApiRemoting30, ...) require SSL; content and self-update stay HTTP.
pub const SECURE_WSUS_DOC: &str = "https://docs.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2008-R2-and-2008/cc708467(v=ws.10)";

/// The server answers HTTP at all (a server that is down is a verdict).
pub const RULE_REACHABLE: Rule = Rule {
    id: "wsus.reachable",
    severity: Status::Critical,
    title: "The WSUS server answers HTTP on the configured URL",
    source: "[MS-WUSP] Windows Update Services: Client-Server Protocol",
    url: MS_WUSP,
    fix: "Check that the server is up, that IIS runs on it, and that its port is open from here.",
    assumption: false,
};
/// A request the probe had no time (or permission) to make: nothing is known.
pub const RULE_NOT_CHECKED: Rule = Rule {
    id: "wsus.not-checked",
    severity: Status::Unknown,
    title: "Every request fits in the probe's time (else the check is not a verdict)",
    source: "patchdeck: a request not made, or made with too little time, says nothing about the server",
    url: "",
    fix: "Raise this probe's `timeout`.",
    assumption: false,
};
/// The web services answer 200 (503 = WsusPool stopped, 404 = vdir missing).
pub const RULE_WEB_SERVICES: Rule = Rule {
    id: "wsus.web-services",
    severity: Status::Critical,
    title: "The client, simple-auth and admin web services answer (503 = WsusPool stopped)",
    source: "[MS-WUSP] Windows Update Services: Client-Server Protocol",
    url: MS_WUSP,
    fix: WSUSPOOL_FIX,
    assumption: false,
};
/// IIS 403.4 "SSL required" on the web services: SSL is on, the probe asked over HTTP.
pub const RULE_SSL_REQUIRED: Rule = Rule {
    id: "wsus.ssl-required",
    severity: Status::Warning,
    title: "The web services are asked with the scheme they require (403.4 = SSL required)",
    source: "Secure WSUS 3.0 Deployment",
    url: SECURE_WSUS_DOC,
    fix: "Set `ssl_url` (https://<server>:8531 or :443) in this probe's config: the web services require SSL.",
    assumption: false,
};
/// What answers GetConfig is WSUS (a SOAP answer, not an error page or a fault).
pub const RULE_GET_CONFIG: Rule = Rule {
    id: "wsus.get-config",
    severity: Status::Critical,
    title: "GetConfig returns a WSUS answer (no SOAP fault, no error page)",
    source: "[MS-WUSP] Windows Update Services: Client-Server Protocol",
    url: MS_WUSP,
    fix: "Read SoftwareDistribution.log and the Application event log on the WSUS server.",
    assumption: false,
};
/// ConfigMgr 2007 SP1 needs WSUS 3.0 SP1 or SP2.
pub const RULE_VERSION: Rule = Rule {
    id: "wsus.version",
    severity: Status::Critical,
    title: "WSUS is 3.0 SP1 or SP2 (ProtocolVersion 3.1 or 3.2)",
    source: "Prerequisites for Software Updates (ConfigMgr 2007)",
    url: SU_PREREQS,
    fix: "Install WSUS 3.0 SP2 on this server.",
    assumption: false,
};
/// ConfigMgr 2007 SP2 with Windows 7 / 2008 R2 clients needs WSUS 3.0 SP2.
pub const RULE_VERSION_WINDOWS7: Rule = Rule {
    id: "wsus.version-windows7",
    severity: Status::Warning,
    title: "WSUS 3.0 SP2 when ConfigMgr 2007 SP2 manages Windows 7 / Server 2008 R2",
    source: "Prerequisites for Software Updates (ConfigMgr 2007)",
    url: SU_PREREQS,
    fix: "Install WSUS 3.0 SP2 on this server.",
    assumption: false,
};
/// The rules every probe that judges a WSUS server shares (wsus, sup-capacity's NLB nodes).
pub const SERVER_RULES: [Rule; 7] = [
    RULE_REACHABLE,
    RULE_NOT_CHECKED,
    RULE_WEB_SERVICES,
    RULE_SSL_REQUIRED,
    RULE_GET_CONFIG,
    RULE_VERSION,
    RULE_VERSION_WINDOWS7,
];

/// IIS's "403.4 Forbidden: SSL is required" page (IIS 6 and 7 word it alike).
pub fn ssl_required(status: u16, body: &str) -> bool {
    status == 403 && (body.contains("403.4") || body.contains("SSL is required"))
}

/// The ConfigMgr 2007 service pack of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ConfigMgrSp {
    SP1,
    SP2,
}

/// What the site needs from its WSUS.
#[derive(Debug, Clone, Copy)]
pub struct SiteNeeds {
    pub configmgr_sp: ConfigMgrSp,
    pub windows7_clients: bool,
}

impl Default for SiteNeeds {
    fn default() -> Self {
        SiteNeeds {
            configmgr_sp: ConfigMgrSp::SP1,
            windows7_clients: false,
        }
    }
}

/// One `GetConfig` call and what came back.
#[derive(Debug, Clone)]
pub struct GetConfigCall {
    pub url: String,
    pub answer: Result<GetConfigAnswer, HttpError>,
}

#[derive(Debug, Clone)]
pub struct GetConfigAnswer {
    pub status: u16,
    pub ms: f64,
    pub parsed: Result<GetConfig, SoapError>,
    /// IIS answered 403.4 "SSL required".
    pub ssl_required: bool,
}

/// Posts `GetConfig` to `<base>/ClientWebService/client.asmx` as the Windows Update Agent
/// does (never RegisterComputer or GetAuthorizationCookie: they would create phantom
/// computers; never Xpress compression).
pub fn get_config(http: &Http, base: &str) -> GetConfigCall {
    let url = format!(
        "{}/ClientWebService/client.asmx",
        base.trim_end_matches('/')
    );
    let headers = [
        ("Content-Type", "text/xml; charset=utf-8"),
        ("SOAPAction", soap::GET_CONFIG_ACTION),
    ];
    let body = soap::get_config_request();
    let answer = http
        .request("POST", &url, &headers, Some(body.as_bytes()), 1024 * 1024)
        .map(|r| {
            let text = r.text();
            GetConfigAnswer {
                status: r.status,
                ms: r.elapsed.as_secs_f64() * 1000.0,
                ssl_required: ssl_required(r.status, &text),
                // A SOAP fault comes with HTTP 500: parse before judging the status.
                parsed: soap::parse_get_config(&text),
            }
        });
    GetConfigCall { url, answer }
}

/// A verdict with the words an operator needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: Status,
    pub summary: String,
    pub evidence: String,
    /// Empty when the status is OK.
    pub fix: String,
    /// The rule that judged it.
    pub rule: &'static Rule,
}

impl Verdict {
    pub fn ok(
        rule: &'static Rule,
        summary: impl Into<String>,
        evidence: impl Into<String>,
    ) -> Verdict {
        Verdict {
            status: Status::Ok,
            summary: summary.into(),
            evidence: evidence.into(),
            fix: String::new(),
            rule,
        }
    }

    pub fn bad(
        rule: &'static Rule,
        status: Status,
        summary: impl Into<String>,
        evidence: impl Into<String>,
        fix: impl Into<String>,
    ) -> Verdict {
        Verdict {
            status,
            summary: summary.into(),
            evidence: evidence.into(),
            fix: fix.into(),
            rule,
        }
    }
}

/// The most common WSUS outage: the IIS application pool WsusPool stops (it reaches its
/// private memory limit) and every web service in it answers 503.
pub const WSUSPOOL_FIX: &str = "Start the WsusPool application pool on the WSUS server (IIS Manager > Application Pools > WsusPool > Start); if it stops again, raise its private memory limit (Recycling settings) and check the Application event log.";

/// What an HTTP status from a WSUS web service (client.asmx, SimpleAuth.asmx, ApiRemoting30)
/// means to an operator.
pub fn service_status(url: &str, answer: &Result<u16, HttpError>) -> Verdict {
    service_status_ssl(url, answer, false)
}

/// [`service_status`] knowing whether a 403 was IIS's 403.4 "SSL required" page.
pub fn service_status_ssl(
    url: &str,
    answer: &Result<u16, HttpError>,
    ssl_required: bool,
) -> Verdict {
    let code = match answer {
        Err(e) => return unreachable(url, e),
        Ok(code) => *code,
    };
    let evidence = format!("GET {url} -> {code}");
    if ssl_required {
        return ssl_verdict(evidence);
    }
    let w = &RULE_WEB_SERVICES;
    match code {
        200 => Verdict::ok(w, "200 OK", evidence),
        401 | 403 => Verdict::bad(
            w,
            Status::Critical,
            format!(
                "HTTP {code}: clients are refused (the WSUS web services must allow anonymous access)"
            ),
            evidence,
            "Allow anonymous access on the ClientWebService and SimpleAuthWebService virtual directories of the WSUS web site (IIS Manager > Directory Security); WSUS setup configures them so.",
        ),
        503 => Verdict::bad(
            w,
            Status::Critical,
            "HTTP 503: the WsusPool application pool is probably stopped",
            evidence,
            WSUSPOOL_FIX,
        ),
        404 => Verdict::bad(
            w,
            Status::Critical,
            "HTTP 404: virtual directory missing",
            evidence,
            "The virtual directory is missing from the WSUS web site: check that the URL's port is the WSUS site's (80 or 8530), then repair WSUS 3.0 on the server so setup recreates it.",
        ),
        s => Verdict::bad(
            w,
            Status::Critical,
            format!("HTTP {s}"),
            evidence,
            "Read the Application event log (source Windows Server Update Services) and the IIS log on the WSUS server for this request.",
        ),
    }
}

/// IIS 403.4: SSL is on (`wsusutil configuressl`) and the probe asked over plain HTTP.
fn ssl_verdict(evidence: String) -> Verdict {
    Verdict::bad(
        &RULE_SSL_REQUIRED,
        Status::Warning,
        "the web services require SSL (IIS 403.4): set `ssl_url`",
        format!("{evidence}, IIS \"403.4 SSL required\""),
        format!(
            "Set `ssl_url` (https://<server>:8531, or :443 on the Default Web Site) in this probe's config: with SSL on, only the web services move to HTTPS; content and self-update stay on `url`. {SECURE_WSUS_DOC}"
        ),
    )
}

/// No HTTP answer at all: CRITICAL (a target that is down is a verdict), except when the
/// request was never sent for lack of time or was cancelled: then nothing is known.
pub fn unreachable(url: &str, e: &HttpError) -> Verdict {
    let evidence = format!("{url}: {e}");
    match e {
        e if e.not_checked() => Verdict::bad(
            &RULE_NOT_CHECKED,
            Status::Unknown,
            format!("not checked: {e}"),
            evidence,
            "Raise this probe's `timeout` (or lower the load on the server) so every request fits.",
        ),
        HttpError::Tls(_) => Verdict::bad(
            &RULE_REACHABLE,
            Status::Critical,
            format!("unreachable: {e}"),
            evidence,
            "Check the server's certificate (name, expiry, issuer trusted here) or the URL's scheme and port.",
        ),
        _ => Verdict::bad(
            &RULE_REACHABLE,
            Status::Critical,
            format!("unreachable: {e}"),
            evidence,
            "Check that the server is up, that IIS (World Wide Web Publishing Service) runs on it, and that its port is open from here.",
        ),
    }
}

/// The WSUS version and health from a `GetConfig` call, for a site with `needs`. Returns
/// the verdict and the ProtocolVersion when one was read.
///
/// ProtocolVersion 3.0 = WSUS 3.0 RTM, 3.1 = SP1, 3.2 = SP2; WSUS 2.0 and 2.0 SP1 send none
/// ([MS-WUSP] Windows Update Services: Client-Server Protocol, GetConfig and its product
/// behavior notes; stored copy https://studylib.net/doc/27543505/-ms-wusp-).
/// Requirements: [`SU_PREREQS`].
pub fn judge_get_config(call: &GetConfigCall, needs: SiteNeeds) -> (Verdict, Option<String>) {
    let a = match &call.answer {
        Err(e) => return (unreachable(&call.url, e), None),
        Ok(a) => a,
    };
    let seen = |what: &str| format!("POST GetConfig {} -> HTTP {}, {what}", call.url, a.status);
    if a.ssl_required {
        return (ssl_verdict(seen("no SOAP answer")), None);
    }
    let g = &RULE_GET_CONFIG;
    let cfg = match (&a.parsed, a.status) {
        (Ok(c), 200) => c,
        (Err(e @ SoapError::Fault { error_code, .. }), _) => {
            let fix = match error_code.as_deref() {
                Some("ServerBusy") => {
                    "WSUS is overloaded (ServerBusy): check WsusPool's memory and the SQL database; it clears when the pool has room again."
                }
                _ => {
                    "Read SoftwareDistribution.log and the Application event log on the WSUS server."
                }
            };
            return (
                Verdict::bad(
                    g,
                    Status::Critical,
                    e.to_string(),
                    seen("a SOAP fault"),
                    fix,
                ),
                None,
            );
        }
        (_, 503) => {
            let s = service_status(&call.url, &Ok(503));
            return (
                Verdict {
                    evidence: seen("no SOAP answer"),
                    ..s
                },
                None,
            );
        }
        (Ok(_), s) => {
            return (
                Verdict::bad(
                    g,
                    Status::Critical,
                    format!("HTTP {s} with a GetConfig result"),
                    seen("a GetConfig result"),
                    "Read the IIS log on the WSUS server: the client web service answers with an unexpected status.",
                ),
                None,
            );
        }
        (Err(e), 200) => {
            return (
                Verdict::bad(
                    g,
                    Status::Critical,
                    e.to_string(),
                    seen(&format!("not a GetConfig answer: {e}")),
                    "Something other than WSUS answers at this URL (an error page?): check the URL's port against the WSUS web site in IIS.",
                ),
                None,
            );
        }
        (Err(e), s) => {
            let base = service_status(&call.url, &Ok(s));
            return (
                Verdict::bad(
                    base.rule,
                    Status::Critical,
                    format!("HTTP {s}: {e}"),
                    seen("no SOAP answer"),
                    base.fix,
                ),
                None,
            );
        }
    };
    let Some(pv) = cfg.protocol_version().map(str::to_owned) else {
        return (
            Verdict::bad(
                &RULE_VERSION,
                Status::Critical,
                "WSUS older than 3.0 (no ProtocolVersion): ConfigMgr 2007 needs WSUS 3.0 SP1 or later",
                seen("no ProtocolVersion property"),
                format!(
                    "This is WSUS 2.x or not WSUS at all: install WSUS 3.0 SP2 on this server. {SU_PREREQS}"
                ),
            ),
            None,
        );
    };
    let v = protocol_verdict(&pv, needs, seen(&format!("ProtocolVersion {pv}")));
    (v, Some(pv))
}

/// The verdict on a ProtocolVersion for a site with `needs`.
fn protocol_verdict(pv: &str, needs: SiteNeeds, evidence: String) -> Verdict {
    let upgrade = format!("Install WSUS 3.0 SP2 on this server. {SU_PREREQS}");
    match pv.parse::<WinVersion>().map(|v| v.major_minor()) {
        Ok((3, 0)) => Verdict::bad(
            &RULE_VERSION,
            Status::Critical,
            "WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs WSUS 3.0 SP1 or SP2",
            evidence,
            upgrade,
        ),
        Ok((3, 1)) if needs.configmgr_sp == ConfigMgrSp::SP2 && needs.windows7_clients => {
            Verdict::bad(
                &RULE_VERSION_WINDOWS7,
                Status::Warning,
                "WSUS 3.0 SP1: WSUS 3.0 SP2 is needed for Windows 7 / Server 2008 R2 clients with ConfigMgr 2007 SP2",
                evidence,
                upgrade,
            )
        }
        Ok((3, 1)) => Verdict::ok(&RULE_VERSION, "WSUS 3.0 SP1", evidence),
        Ok((3, 2)) => Verdict::ok(&RULE_VERSION, "WSUS 3.0 SP2", evidence),
        Ok((major, _)) if major > 3 => Verdict::ok(
            &RULE_VERSION,
            format!("WSUS protocol {pv} (later than 3.0 SP2)"),
            evidence,
        ),
        Ok(_) => Verdict::bad(
            &RULE_VERSION,
            Status::Critical,
            format!("WSUS protocol {pv} is older than 3.0"),
            evidence,
            upgrade,
        ),
        Err(e) => Verdict::bad(
            &RULE_GET_CONFIG,
            Status::Unknown,
            format!("unreadable ProtocolVersion: {e}"),
            evidence,
            "Check what answers at this URL: WSUS 3.0 sends ProtocolVersion 3.0, 3.1 or 3.2.",
        ),
    }
}

/// The service-pack level named by a ProtocolVersion or a WSUS build ("3.2.7600.226"):
/// "RTM", "SP1", "SP2", or `None`.
pub fn level_of_version(v: &str) -> Option<&'static str> {
    match v.parse::<WinVersion>().ok()?.major_minor() {
        (3, 0) => Some("RTM"),
        (3, 1) => Some("SP1"),
        (3, 2) => Some("SP2"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16, body: &str) -> GetConfigCall {
        GetConfigCall {
            url: "http://sup01:8530/ClientWebService/client.asmx".into(),
            answer: Ok(GetConfigAnswer {
                status,
                ms: 12.0,
                parsed: soap::parse_get_config(body),
                ssl_required: ssl_required(status, body),
            }),
        }
    }

    fn with_pv(pv: Option<&str>) -> String {
        let prop = pv.map_or(String::new(), |v| {
            format!("<ConfigurationProperty><Name>ProtocolVersion</Name><Value>{v}</Value></ConfigurationProperty>")
        });
        format!(
            "<s:Envelope xmlns:s=\"{}\"><s:Body><GetConfigResponse xmlns=\"{}\"><GetConfigResult><Properties>{prop}</Properties></GetConfigResult></GetConfigResponse></s:Body></s:Envelope>",
            soap::SOAP_ENV,
            soap::CLIENT_NS
        )
    }

    #[test]
    fn protocol_versions_and_site_needs() {
        let sp2_w7 = SiteNeeds {
            configmgr_sp: ConfigMgrSp::SP2,
            windows7_clients: true,
        };
        let cases = [
            (Some("3.0"), SiteNeeds::default(), Status::Critical),
            (Some("3.1"), SiteNeeds::default(), Status::Ok),
            (Some("3.1"), sp2_w7, Status::Warning),
            (Some("3.2"), sp2_w7, Status::Ok),
            (Some("4.0"), sp2_w7, Status::Ok),
            (Some("2.9"), SiteNeeds::default(), Status::Critical),
            (Some("x"), SiteNeeds::default(), Status::Unknown),
            (None, SiteNeeds::default(), Status::Critical),
        ];
        for (pv, needs, want) in cases {
            let (v, got_pv) = judge_get_config(&answered(200, &with_pv(pv)), needs);
            assert_eq!(v.status, want, "{pv:?}: {}", v.summary);
            assert_eq!(got_pv.as_deref(), pv);
            assert_eq!(v.fix.is_empty(), want == Status::Ok, "{pv:?}");
            assert!(v.evidence.contains("POST GetConfig"), "{}", v.evidence);
        }
    }

    #[test]
    fn a_503_names_wsuspool_and_a_missed_deadline_is_unknown() {
        let (v, _) = judge_get_config(
            &answered(503, "<h1>Service Unavailable</h1>"),
            SiteNeeds::default(),
        );
        assert_eq!(v.status, Status::Critical);
        assert_eq!(
            v.summary,
            "HTTP 503: the WsusPool application pool is probably stopped"
        );
        assert!(v.fix.contains("WsusPool"));
        let late = GetConfigCall {
            url: "u".into(),
            answer: Err(HttpError::OutOfTime),
        };
        assert_eq!(
            judge_get_config(&late, SiteNeeds::default()).0.status,
            Status::Unknown
        );
        let refused = GetConfigCall {
            url: "u".into(),
            answer: Err(HttpError::Refused("127.0.0.1:1".into())),
        };
        assert_eq!(
            judge_get_config(&refused, SiteNeeds::default()).0.status,
            Status::Critical
        );
    }

    /// Web services refusing anonymous clients (401/403) are told to allow anonymous access
    /// (WSUS setup configures them so), not to read the event log.
    #[test]
    fn refused_web_services_name_anonymous_access() {
        for code in [401, 403] {
            let v = service_status("http://sup01:8530/ClientWebService/client.asmx", &Ok(code));
            assert_eq!(v.status, Status::Critical);
            assert!(v.fix.contains("Allow anonymous access"), "{}", v.fix);
            assert_eq!(v.rule.id, "wsus.web-services");
        }
        let body = "<h2>HTTP Error 403.4 - Forbidden: SSL is required to view this resource.</h2>";
        assert!(ssl_required(403, body));
        assert!(!ssl_required(
            403,
            "<h2>403.1 Execute access forbidden</h2>"
        ));
    }

    #[test]
    fn levels_from_versions() {
        assert_eq!(level_of_version("3.2.7600.226"), Some("SP2"));
        assert_eq!(level_of_version("3.1"), Some("SP1"));
        assert_eq!(level_of_version("3.0.6000.273"), Some("RTM"));
        assert_eq!(level_of_version(""), None);
        assert_eq!(level_of_version("9.0"), None);
    }
}
