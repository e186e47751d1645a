//! `wsus`: is the WSUS 3.0 server behind the software update point usable by ConfigMgr 2007
//! and its clients? Everything from the network, anonymously and read-only (domain.md 1).
//!
//! Items: client web service, version (SOAP `GetConfig`), simple auth web service,
//! self-update tree (on the configured port and on port 80), admin API. Never calls
//! RegisterComputer / GetAuthorizationCookie (that would leave phantom computers), never asks
//! for Xpress compression.

use patchdeck_kit::http::{Http, Resp};
use patchdeck_kit::report::detail;
use patchdeck_kit::soap::{self, SoapError};
use patchdeck_kit::threshold;
use patchdeck_kit::version::WinVersion;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, Host, Probe};
use patchdeck_probe_api::{Detail, Item, Metric, Report, Status};
use serde::Deserialize;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ConfigMgrSp {
    SP1,
    SP2,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// e.g. "http://sup01.corp:8530"
    pub url: String,
    /// HTTPS base for the web services when SSL is on (content and self-update stay on HTTP).
    pub ssl_url: Option<String>,
    /// Self-update tree on port 80; default `http://<host>:80/selfupdate/wuident.cab`.
    pub selfupdate_url: Option<String>,
    #[serde(default = "sp1")]
    pub configmgr_sp: ConfigMgrSp,
    #[serde(default)]
    pub windows7_clients: bool,
    #[serde(default = "patchdeck_kit::defaults::latency_warn_ms")]
    pub latency_warn_ms: u64,
    #[serde(default = "patchdeck_kit::defaults::latency_crit_ms")]
    pub latency_crit_ms: u64,
    #[serde(default)]
    pub tls_insecure: bool,
    /// Export of v_StatusMessage (`Component, MessageID, Time, MachineName`) for SUP sync.
    pub status_messages_csv: Option<std::path::PathBuf>,
    /// A last successful sync older than this is a warning ("26h", "2d"); twice as old, critical.
    #[serde(default = "sync_age")]
    pub sync_max_age: String,
    /// Export of Add/Remove Programs (`Name0, DisplayName0, Version0`) to find the WSUS 3.0
    /// Administration Console on the site server.
    pub site_server_programs_csv: Option<std::path::PathBuf>,
    /// The site server's name (as in Name0); the console is required there when the SUP is remote.
    pub site_server: Option<String>,
}

fn sync_age() -> String {
    "26h".into()
}

/// "26h", "2d", "90m" in seconds.
fn parse_age(s: &str) -> Option<i64> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    Some(
        n * match unit {
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return None,
        },
    )
}

fn sp1() -> ConfigMgrSp {
    ConfigMgrSp::SP1
}

pub struct Wsus {
    config: Config,
    services: String,
    selfupdate_80: String,
    sync_max_age: i64,
}

fn item(
    id: &str,
    title: &str,
    status: Status,
    summary: impl Into<String>,
    details: Vec<Detail>,
) -> Item {
    Item {
        details,
        ..patchdeck_kit::report::item(id, title, status, summary)
    }
}

/// What an HTTP status from a WSUS web service means to an operator.
fn service_status(code: u16) -> (Status, String) {
    match code {
        200 => (Status::Ok, "200 OK".into()),
        503 => (
            Status::Critical,
            "HTTP 503: the WsusPool application pool is probably stopped".into(),
        ),
        404 => (
            Status::Critical,
            "HTTP 404: virtual directory missing".into(),
        ),
        s => (Status::Critical, format!("HTTP {s}")),
    }
}

fn trim_base(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// scheme://host of a URL, for the default port-80 self-update URL.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let hostport = rest.split('/').next()?;
    Some(hostport.rsplit_once(':').map_or(hostport, |(h, _)| h))
}

impl Wsus {
    pub fn from_config(config: Config) -> Result<Wsus, String> {
        for (field, v) in [
            ("url", Some(&config.url)),
            ("ssl_url", config.ssl_url.as_ref()),
            ("selfupdate_url", config.selfupdate_url.as_ref()),
        ] {
            if let Some(v) = v
                && !(v.starts_with("http://") || v.starts_with("https://"))
            {
                return Err(format!(
                    "field `{field}`: \"{v}\" must start with http:// or https://"
                ));
            }
        }
        let services = trim_base(config.ssl_url.as_deref().unwrap_or(&config.url)).to_owned();
        let selfupdate_80 = match &config.selfupdate_url {
            Some(u) => u.clone(),
            None => format!(
                "http://{}:80/selfupdate/wuident.cab",
                host_of(&config.url).ok_or("field `url`: no host in it")?
            ),
        };
        let sync_max_age = parse_age(&config.sync_max_age).ok_or_else(|| {
            format!(
                "field `sync_max_age`: \"{}\" is not a duration like \"26h\" or \"2d\"",
                config.sync_max_age
            )
        })?;
        if config.site_server_programs_csv.is_some() != config.site_server.is_some() {
            return Err("fields `site_server_programs_csv` and `site_server` go together".into());
        }
        Ok(Wsus {
            config,
            services,
            selfupdate_80,
            sync_max_age,
        })
    }

    fn get_service(&self, http: &Http, id: &str, title: &str, path: &str) -> Item {
        let url = format!("{}{path}", self.services);
        match http.get(&url) {
            Ok(r) => {
                let (s, text) = service_status(r.status);
                item(id, title, s, text, vec![detail("URL", url, None)])
            }
            Err(e) => item(
                id,
                title,
                Status::Critical,
                format!("unreachable: {e}"),
                vec![detail("URL", url, None)],
            ),
        }
    }

    /// `GetConfig`: returns the item, the protocol version and the latency.
    fn version(&self, http: &Http) -> (Item, Option<String>, Option<f64>) {
        let url = format!("{}/ClientWebService/client.asmx", self.services);
        let body = soap::get_config_request();
        let headers = [
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", soap::GET_CONFIG_ACTION),
        ];
        let mut details = vec![detail("URL", &url, None)];
        let resp: Resp =
            match http.request("POST", &url, &headers, Some(body.as_bytes()), 1024 * 1024) {
                Ok(r) => r,
                Err(e) => {
                    return (
                        item(
                            "version",
                            "Version (GetConfig)",
                            Status::Critical,
                            format!("unreachable: {e}"),
                            details,
                        ),
                        None,
                        None,
                    );
                }
            };
        let ms = resp.elapsed.as_secs_f64() * 1000.0;
        let text = resp.text();
        // A SOAP fault comes with HTTP 500; parse before judging the status.
        let parsed = soap::parse_get_config(&text);
        let fail = |summary: String, details: Vec<Detail>| {
            (
                item(
                    "version",
                    "Version (GetConfig)",
                    Status::Critical,
                    summary,
                    details,
                ),
                None,
                Some(ms),
            )
        };
        let config = match parsed {
            Ok(c) if resp.status == 200 => c,
            Err(SoapError::Fault {
                code,
                message,
                error_code,
            }) => {
                details.push(detail("faultcode", &code, None));
                if let Some(e) = &error_code {
                    details.push(detail("ErrorCode", e, Some(Status::Critical)));
                }
                details.push(detail("faultstring", &message, None));
                let e = SoapError::Fault {
                    code,
                    message,
                    error_code,
                };
                return fail(e.to_string(), details);
            }
            _ if resp.status == 503 => return fail(service_status(503).1, details),
            Ok(_) => {
                return fail(
                    format!("HTTP {} with a GetConfig result", resp.status),
                    details,
                );
            }
            Err(e) if resp.status != 200 => {
                return fail(format!("HTTP {}: {e}", resp.status), details);
            }
            Err(e) => return fail(e.to_string(), details),
        };
        details.push(detail("Latency", format!("{ms:.0} ms"), None));
        let Some(pv) = config.protocol_version().map(str::to_owned) else {
            details.push(detail(
                "ProtocolVersion",
                "(absent)",
                Some(Status::Critical),
            ));
            return (
                item(
                    "version",
                    "Version (GetConfig)",
                    Status::Critical,
                    "WSUS older than 3.0 (no ProtocolVersion): ConfigMgr 2007 needs WSUS 3.0 SP1 or later",
                    details,
                ),
                None,
                Some(ms),
            );
        };
        let (status, summary) = match pv.parse::<WinVersion>().map(|v| v.major_minor()) {
            Ok((3, 0)) => (Status::Critical, "WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs WSUS 3.0 SP1 or SP2".to_owned()),
            Ok((3, 1)) if self.config.configmgr_sp == ConfigMgrSp::SP2 && self.config.windows7_clients => (
                Status::Warning,
                "WSUS 3.0 SP1: WSUS 3.0 SP2 is needed for Windows 7 / Server 2008 R2 clients with ConfigMgr 2007 SP2".to_owned(),
            ),
            Ok((3, 1)) => (Status::Ok, "WSUS 3.0 SP1".to_owned()),
            Ok((3, 2)) => (Status::Ok, "WSUS 3.0 SP2".to_owned()),
            Ok((major, _)) if major > 3 => (Status::Ok, format!("WSUS protocol {pv} (later than 3.0 SP2)")),
            Ok(_) => (Status::Critical, format!("WSUS protocol {pv} is older than 3.0")),
            Err(e) => (Status::Unknown, format!("unreadable ProtocolVersion: {e}")),
        };
        details.push(detail("ProtocolVersion", &pv, Some(status)));
        (
            item("version", "Version (GetConfig)", status, summary, details),
            Some(pv),
            Some(ms),
        )
    }

    /// wuident.cab must answer HEAD (with Content-Length) and a ranged GET.
    fn selfupdate(&self, http: &Http, id: &str, title: &str, url: &str) -> Item {
        let mut details = vec![detail("URL", url, None)];
        let missing = |e: String, details: Vec<Detail>| {
            item(
                id,
                title,
                Status::Critical,
                format!("{e}: clients that cannot fetch wuident.cab stop talking to this server"),
                details,
            )
        };
        let head = match http.head(url) {
            Ok(r) => r,
            Err(e) => return missing(format!("unreachable: {e}"), details),
        };
        let Some(len) = head
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|_| head.status == 200)
        else {
            return missing(
                format!("HEAD answered HTTP {} without a size", head.status),
                details,
            );
        };
        details.push(detail(
            "HEAD",
            format!("200, Content-Length {len}"),
            Some(Status::Ok),
        ));
        let end = len.saturating_sub(1).min(99);
        match http.request(
            "GET",
            url,
            &[("Range", &format!("bytes=0-{end}"))],
            None,
            4096,
        ) {
            Ok(r) if r.status == 206 => {
                details.push(detail("Range", "206 Partial Content", Some(Status::Ok)));
                item(
                    id,
                    title,
                    Status::Ok,
                    "wuident.cab served (HEAD and Range)",
                    details,
                )
            }
            Ok(r) => missing(
                format!("ranged GET answered HTTP {} instead of 206", r.status),
                details,
            ),
            Err(e) => missing(format!("unreachable: {e}"), details),
        }
    }

    fn admin_api(&self, http: &Http) -> Item {
        let url = format!("{}/ApiRemoting30/WebService.asmx", self.services);
        let details = vec![detail("URL", &url, None)];
        let (id, title) = ("admin-api", "Admin API (ApiRemoting30)");
        match http.get(&url) {
            Ok(r) if r.status == 401 || r.status == 200 => item(
                id,
                title,
                Status::Ok,
                format!(
                    "HTTP {}: answering (the site server's WSUS console uses it)",
                    r.status
                ),
                details,
            ),
            Ok(r) => {
                let (_, text) = service_status(r.status);
                item(id, title, Status::Critical, text, details)
            }
            Err(e) => item(
                id,
                title,
                Status::Critical,
                format!("unreachable: {e}"),
                details,
            ),
        }
    }

    fn run(&self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let c = &self.config;
        let http = Http::new(ctx.deadline, c.tls_insecure, Some(ctx.cancel_flag()));
        let mut items = Vec::new();
        items.push(self.get_service(
            &http,
            "client",
            "Client web service",
            "/ClientWebService/client.asmx",
        ));
        let (version, pv, ms) = self.version(&http);
        items.push(version);
        if ctx.is_cancelled() {
            return Err(CheckError::Cancelled);
        }
        items.push(self.get_service(
            &http,
            "simpleauth",
            "Simple auth web service",
            "/SimpleAuthWebService/SimpleAuth.asmx",
        ));
        let port_url = format!("{}/selfupdate/wuident.cab", trim_base(&c.url));
        items.push(self.selfupdate(
            &http,
            "selfupdate",
            "Self-update (configured port)",
            &port_url,
        ));
        if self.selfupdate_80 != port_url {
            items.push(self.selfupdate(
                &http,
                "selfupdate-80",
                "Self-update (port 80)",
                &self.selfupdate_80,
            ));
        }
        items.push(self.admin_api(&http));
        if let Some(csv) = &c.status_messages_csv {
            items.push(self.sync(csv));
        }
        if let (Some(csv), Some(server)) = (&c.site_server_programs_csv, &c.site_server) {
            items.push(self.console(csv, server, pv.as_deref()));
        }

        let mut status = items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
        let mut details = vec![detail("Server", &c.url, None)];
        if c.tls_insecure {
            details.push(detail(
                "TLS",
                "certificate not verified (tls_insecure = true)",
                Some(Status::Warning),
            ));
        }
        let mut metrics = Vec::new();
        if let Some(ms) = ms {
            let lat = threshold::latency(ms, c.latency_warn_ms, c.latency_crit_ms);
            if lat != Status::Ok {
                details.push(detail(
                    "GetConfig latency",
                    format!("{ms:.0} ms"),
                    Some(lat),
                ));
                status = status.worst(lat);
            }
            metrics.push(threshold::latency_metric(
                "getconfig_latency",
                ms,
                c.latency_warn_ms,
                c.latency_crit_ms,
            ));
        }
        if let Some(v) = pv.as_deref().and_then(|v| v.parse::<f64>().ok()) {
            metrics.push(Metric {
                label: "protocol_version".into(),
                value: v,
                uom: String::new(),
                warn: None,
                crit: None,
                min: None,
                max: None,
            });
        }
        let ok = items.iter().filter(|i| i.status == Status::Ok).count();
        let version_text = items[1].summary.split(':').next().unwrap_or("").to_owned();
        let mut summary = match (&pv, items[1].status) {
            (Some(pv), Status::Ok) => format!("{version_text} (protocol {pv})"),
            (Some(pv), _) => format!("{version_text} (protocol {pv})"),
            (None, _) => items[1].summary.clone(),
        };
        summary.push_str(&format!(" · {ok}/{} services OK", items.len()));
        if let Some(ms) = ms {
            summary.push_str(&format!(" · {ms:.0} ms"));
        }
        if let Some(bad) = items
            .iter()
            .find(|i| i.status != Status::Ok && i.id != "version")
        {
            summary.push_str(&format!(" · {}: {}", bad.title, bad.summary));
        }
        Ok(Report {
            status,
            summary,
            details,
            metrics,
            items,
        })
    }
}

impl Wsus {
    /// SUP synchronisation from SMS_WSUS_SYNC_MANAGER status messages: 6702 done, 6703 failed.
    fn sync(&self, csv: &std::path::Path) -> Item {
        use patchdeck_kit::inventory;
        let (id, title) = ("sync", "SUP synchronisation");
        let (mut last_ok, mut last_fail): (Option<i64>, Option<i64>) = (None, None);
        let read = inventory::read(csv, &["Component", "MessageID", "Time"], |row| {
            if !row
                .get(0)
                .is_some_and(|c| c.eq_ignore_ascii_case("SMS_WSUS_SYNC_MANAGER"))
            {
                return Ok(());
            }
            let Some(t) = row.get(2) else { return Ok(()) };
            let t = inventory::parse_timestamp(t)
                .ok_or_else(|| row.error(2, format!("expected a time, got {t:?}")))?;
            match row.get(1) {
                Some("6702") => last_ok = last_ok.max(Some(t)),
                Some("6703") => last_fail = last_fail.max(Some(t)),
                _ => {}
            }
            Ok(())
        });
        if let Err(e) = read {
            return item(id, title, Status::Unknown, e.to_string(), vec![]);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let hours = |t: i64| (now - t).max(0) / 3600;
        let details = vec![
            detail(
                "Last success (6702)",
                last_ok.map_or("never".into(), |t| format!("{} h ago", hours(t))),
                None,
            ),
            detail(
                "Last failure (6703)",
                last_fail.map_or("none".into(), |t| format!("{} h ago", hours(t))),
                None,
            ),
        ];
        let Some(ok) = last_ok else {
            return item(
                id,
                title,
                Status::Critical,
                "no successful sync (6702) in the status messages",
                details,
            );
        };
        let age = now - ok;
        let age_status = if age > 2 * self.sync_max_age {
            Status::Critical
        } else if age > self.sync_max_age {
            Status::Warning
        } else {
            Status::Ok
        };
        if let Some(fail) = last_fail.filter(|f| *f > ok) {
            let s = Status::Warning.worst(age_status);
            return item(
                id,
                title,
                s,
                format!(
                    "last sync failed (6703) {} h ago; last success {} h ago",
                    hours(fail),
                    hours(ok)
                ),
                details,
            );
        }
        let summary = match age_status {
            Status::Ok => format!("last sync succeeded (6702) {} h ago", hours(ok)),
            _ => format!(
                "last successful sync (6702) was {} h ago, over sync_max_age {}",
                hours(ok),
                self.config.sync_max_age
            ),
        };
        item(id, title, age_status, summary, details)
    }

    /// The WSUS 3.0 Administration Console on the site server, at the server's service pack.
    fn console(&self, csv: &std::path::Path, server: &str, pv: Option<&str>) -> Item {
        use patchdeck_kit::inventory;
        let (id, title) = ("console", "WSUS 3.0 Administration Console");
        let short = |h: &str| h.split('.').next().unwrap_or(h).to_ascii_lowercase();
        let sup_host = host_of(&self.config.url).map(short).unwrap_or_default();
        if short(server) == sup_host {
            return item(
                id,
                title,
                Status::Ok,
                format!("not needed: WSUS is installed on the site server {server}"),
                vec![],
            );
        }
        let mut found: Option<(String, String)> = None;
        let read = inventory::read(csv, &["Name0", "DisplayName0", "Version0"], |row| {
            let on_server = row.get(0).is_some_and(|n| short(n) == short(server));
            let is_wsus = row
                .get(1)
                .is_some_and(|d| d.contains("Windows Server Update Services 3.0"));
            if on_server && is_wsus && found.is_none() {
                found = Some((
                    row.get(1).unwrap_or("").to_owned(),
                    row.get(2).unwrap_or("").to_owned(),
                ));
            }
            Ok(())
        });
        if let Err(e) = read {
            return item(id, title, Status::Unknown, e.to_string(), vec![]);
        }
        let Some((name, version)) = found else {
            return item(
                id,
                title,
                Status::Critical,
                format!(
                    "not installed on the site server {server}: it cannot configure or synchronise the remote SUP"
                ),
                vec![],
            );
        };
        let details = vec![detail("Installed", format!("{name} ({version})"), None)];
        let sp = |v: &str| match v.parse::<WinVersion>().map(|v| v.major_minor()) {
            Ok((3, 0)) => "RTM",
            Ok((3, 1)) => "SP1",
            Ok((3, 2)) => "SP2",
            _ => "?",
        };
        let console_sp = sp(&version);
        match pv.map(sp) {
            Some(server_sp) if server_sp != console_sp && server_sp != "?" => item(
                id,
                title,
                Status::Critical,
                format!(
                    "console is WSUS 3.0 {console_sp}, the server is {server_sp}: the service-pack levels must match"
                ),
                details,
            ),
            _ if console_sp == "RTM" => item(
                id,
                title,
                Status::Critical,
                "console is WSUS 3.0 RTM: ConfigMgr 2007 SP1 needs the SP1 or SP2 console",
                details,
            ),
            _ => item(
                id,
                title,
                Status::Ok,
                format!("installed on {server} (WSUS 3.0 {console_sp})"),
                details,
            ),
        }
    }
}

impl Probe for Wsus {
    fn create(config: serde_json::Value, _host: &Host) -> Result<Self, String> {
        let config: Config =
            serde_json::from_value(config).map_err(|e| format!("wsus config: {e}"))?;
        Wsus::from_config(config)
    }

    fn check(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        if ctx.is_cancelled() {
            return Err(CheckError::Cancelled);
        }
        self.run(ctx)
    }
}

patchdeck_probe_api::export_probe!(
    Wsus,
    kind: "wsus",
    version: env!("CARGO_PKG_VERSION"),
    description: "WSUS 3.0 for ConfigMgr 2007: web services, version (GetConfig), self-update, admin API",
    config_schema: r#"{"type":"object","required":["url"],"properties":{"url":{"type":"string"},"ssl_url":{"type":"string"},"selfupdate_url":{"type":"string"},"configmgr_sp":{"enum":["SP1","SP2"]},"windows7_clients":{"type":"boolean"},"latency_warn_ms":{"type":"integer"},"latency_crit_ms":{"type":"integer"},"tls_insecure":{"type":"boolean"}},"additionalProperties":false}"#
);
