//! `reporting-point`: is the ConfigMgr 2007 reporting point installed, and protected by
//! Windows authentication? (domain.md section 6)
//!
//! An anonymous GET of `http://<server>/SMSReporting_<SiteCode>/`:
//! 401 with `WWW-Authenticate: Negotiate`/`NTLM` -> OK (installed, protected);
//! 200 -> OK with a detail "anonymous access allowed"; 404 -> CRITICAL (role missing);
//! 5xx, refused, TLS error, timeout -> CRITICAL with the cause. Slow answers breach the
//! latency thresholds.

use patchdeck_kit::http::Http;
use patchdeck_kit::report::detail;
use patchdeck_kit::threshold;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, Host, Probe};
use patchdeck_probe_api::{Report, Status};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// e.g. "http://rp01.corp.example/SMSReporting_ABC/"
    pub url: String,
    #[serde(default = "patchdeck_kit::defaults::latency_warn_ms")]
    pub latency_warn_ms: u64,
    #[serde(default = "patchdeck_kit::defaults::latency_crit_ms")]
    pub latency_crit_ms: u64,
    #[serde(default)]
    pub tls_insecure: bool,
}

pub struct ReportingPoint {
    config: Config,
}

impl ReportingPoint {
    pub fn from_config(config: Config) -> Result<ReportingPoint, String> {
        if !(config.url.starts_with("http://") || config.url.starts_with("https://")) {
            return Err(format!(
                "field `url`: \"{}\" must start with http:// or https://",
                config.url
            ));
        }
        if config.latency_warn_ms > config.latency_crit_ms {
            return Err("field `latency_warn_ms` must not be above `latency_crit_ms`".into());
        }
        Ok(ReportingPoint { config })
    }

    pub fn run(&self, ctx: &CheckContext) -> Report {
        let c = &self.config;
        let http = Http::new(ctx.deadline, c.tls_insecure, Some(ctx.cancel_flag()));
        let mut details = vec![detail("URL", &c.url, None)];
        if c.tls_insecure {
            details.push(detail(
                "TLS",
                "certificate not verified (tls_insecure = true)",
                Some(Status::Warning),
            ));
        }
        let resp = match http.get(&c.url) {
            Ok(r) => r,
            Err(e) => {
                let mut r = Report::new(
                    Status::Critical,
                    format!("reporting point unreachable: {e}"),
                );
                r.details = details;
                return r;
            }
        };
        let ms = resp.elapsed.as_secs_f64() * 1000.0;
        details.push(detail("HTTP status", resp.status.to_string(), None));
        if let Some(server) = resp.header("Server") {
            details.push(detail("Server", server, None));
        }
        let auth: Vec<String> = resp
            .header_all("WWW-Authenticate")
            .iter()
            .filter_map(|v| v.split_whitespace().next())
            .map(str::to_owned)
            .collect();
        if !auth.is_empty() {
            details.push(detail("WWW-Authenticate", auth.join(", "), None));
        }
        let windows_auth: Vec<&str> = auth
            .iter()
            .map(String::as_str)
            .filter(|a| a.eq_ignore_ascii_case("Negotiate") || a.eq_ignore_ascii_case("NTLM"))
            .collect();
        let (mut status, mut summary) = match resp.status {
            401 if !windows_auth.is_empty() => (
                Status::Ok,
                format!(
                    "installed, Windows authentication ({})",
                    windows_auth.join(", ")
                ),
            ),
            401 => (
                Status::Warning,
                format!(
                    "answers 401 without Negotiate or NTLM (offers: {}): not the reporting point's Windows authentication",
                    if auth.is_empty() {
                        "nothing".to_owned()
                    } else {
                        auth.join(", ")
                    }
                ),
            ),
            200 => {
                details.push(detail(
                    "Access",
                    "anonymous access allowed",
                    Some(Status::Warning),
                ));
                (Status::Ok, "installed, anonymous access allowed".to_owned())
            }
            404 => (
                Status::Critical,
                "reporting point not installed at this URL (HTTP 404)".to_owned(),
            ),
            s @ 500..=599 => (
                Status::Critical,
                format!("reporting point broken: HTTP {s}"),
            ),
            s => (
                Status::Warning,
                format!("unexpected HTTP {s} from the reporting point"),
            ),
        };
        let lat = threshold::latency(ms, c.latency_warn_ms, c.latency_crit_ms);
        if lat != Status::Ok {
            details.push(detail(
                "Latency",
                format!(
                    "{ms:.0} ms (warn {} ms, crit {} ms)",
                    c.latency_warn_ms, c.latency_crit_ms
                ),
                Some(lat),
            ));
            if lat.severity() > status.severity() {
                status = lat;
            }
        }
        summary.push_str(&format!(" · {ms:.0} ms"));
        Report {
            status,
            summary,
            details,
            metrics: vec![threshold::latency_metric(
                "latency",
                ms,
                c.latency_warn_ms,
                c.latency_crit_ms,
            )],
            items: vec![],
        }
    }
}

impl Probe for ReportingPoint {
    fn create(config: serde_json::Value, _host: &Host) -> Result<Self, String> {
        let config: Config =
            serde_json::from_value(config).map_err(|e| format!("reporting-point config: {e}"))?;
        ReportingPoint::from_config(config)
    }

    fn check(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        if ctx.is_cancelled() {
            return Err(CheckError::Cancelled);
        }
        Ok(self.run(ctx))
    }
}

patchdeck_probe_api::export_probe!(
    ReportingPoint,
    kind: "reporting-point",
    version: env!("CARGO_PKG_VERSION"),
    description: "ConfigMgr 2007 reporting point: installed and protected by Windows authentication",
    config_schema: r#"{"type":"object","required":["url"],"properties":{"url":{"type":"string"},"latency_warn_ms":{"type":"integer"},"latency_crit_ms":{"type":"integer"},"tls_insecure":{"type":"boolean"}},"additionalProperties":false}"#
);
