//! `reporting-point`: is the ConfigMgr 2007 reporting point installed, and protected by
//! Windows authentication? An anonymous GET of `http://<server>/SMSReporting_<SiteCode>/`:
//! 401 with `WWW-Authenticate: Negotiate`/`NTLM` is OK (installed, protected); 200 is OK with
//! a detail "anonymous access allowed"; 404 is CRITICAL (role missing); 5xx, refused, TLS
//! error and timeout are CRITICAL with the cause. A URL without the SMSReporting_ directory
//! proves nothing (WARNING). Slow answers breach the latency thresholds. See [`judge`].

mod judge;

pub use judge::{Answer, Seen, vdir_site};

use patchdeck_kit::host::Endpoint;
use patchdeck_kit::http::Http;
use patchdeck_kit::report::detail;
use patchdeck_kit::threshold;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, ConfigProbe, Host};
use patchdeck_probe_api::{Report, Status};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// e.g. "http://rp01.corp.example/SMSReporting_ABC/"
    pub url: String,
    /// The site code the URL must name (optional).
    pub site_code: Option<String>,
    #[serde(default = "patchdeck_kit::defaults::latency_warn_ms")]
    pub latency_warn_ms: u64,
    #[serde(default = "patchdeck_kit::defaults::latency_crit_ms")]
    pub latency_crit_ms: u64,
    #[serde(default)]
    pub tls_insecure: bool,
    /// Credentials: with them the probe logs in and an authenticated 200 from the reports
    /// page proves the role end to end (see kit::auth).
    pub auth: Option<patchdeck_kit::auth::AuthConfig>,
}

pub struct ReportingPoint {
    config: Config,
    auth: Option<patchdeck_kit::auth::Authenticator>,
}

impl ConfigProbe for ReportingPoint {
    type Config = Config;
    const KIND: &'static str = "reporting-point";
    const RULES: &'static [patchdeck_probe_api::Rule] = judge::RULES;

    fn from_config(config: Config, _host: &Host) -> Result<ReportingPoint, String> {
        if Endpoint::parse(&config.url).is_none_or(|e| e.scheme != "http" && e.scheme != "https") {
            return Err(format!(
                "field `url`: \"{}\" must be an http:// or https:// URL with a host",
                config.url
            ));
        }
        if config.latency_warn_ms > config.latency_crit_ms {
            return Err("field `latency_warn_ms` must not be above `latency_crit_ms`".into());
        }
        if let Some(a) = &config.auth {
            a.validate("auth")?;
        }
        let auth = config
            .auth
            .clone()
            .map(patchdeck_kit::auth::Authenticator::new);
        Ok(ReportingPoint { config, auth })
    }

    fn run(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let c = &self.config;
        let http = Http::new(ctx.deadline, c.tls_insecure, Some(ctx.cancel_flag()))
            .with_auth(self.auth.as_ref());
        let get = |url: &str| {
            http.get(url).map(|r| Answer {
                status: r.status,
                ms: r.elapsed.as_secs_f64() * 1000.0,
                server: r.header("Server").map(str::to_owned),
                auth: r
                    .header_all("WWW-Authenticate")
                    .iter()
                    .filter_map(|v| v.split_whitespace().next())
                    .map(str::to_owned)
                    .collect(),
                login: r.auth.clone(),
            })
        };
        let answer = get(&c.url);
        let ms = answer.as_ref().ok().map(|a| a.ms);
        // A 401 proves the role only if a path that cannot exist is not 401 as well.
        let control = match &answer {
            Ok(a) if a.status == 401 && a.login == patchdeck_kit::auth::Outcome::Anonymous => {
                judge::control_url(&c.url).map(|u| (u.clone(), get(&u)))
            }
            _ => None,
        };
        let seen = Seen {
            url: c.url.clone(),
            answer,
            control,
            who: self.auth.as_ref().map(|a| a.config.who()),
        };
        let (mut items, mut details) = judge::judge(
            &seen,
            c.site_code.as_deref(),
            c.latency_warn_ms,
            c.latency_crit_ms,
        );
        if c.tls_insecure {
            details.push(detail(
                "TLS",
                "certificate not verified (tls_insecure = true)",
                Some(Status::Warning),
            ));
        }
        ctx.rules.apply(&mut items);
        let status = items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
        let worst = items
            .iter()
            .find(|i| i.status == status)
            .unwrap_or(&items[0]);
        let mut summary = worst.summary.clone();
        if let Some(ms) = ms.filter(|_| worst.id == "role") {
            summary.push_str(&format!(" · {ms:.0} ms"));
        }
        Ok(Report {
            status,
            summary,
            details,
            metrics: ms
                .map(|ms| {
                    threshold::latency_metric("latency", ms, c.latency_warn_ms, c.latency_crit_ms)
                })
                .into_iter()
                .collect(),
            items,
        })
    }
}

patchdeck_probe_api::export_probe!(
    ReportingPoint,
    kind: "reporting-point",
    version: env!("CARGO_PKG_VERSION"),
    description: "ConfigMgr 2007 reporting point: its SMSReporting_<site> directory answers, protected by Windows authentication",
    config_schema: r#"{"type":"object","required":["url"],"properties":{"url":{"type":"string"},"site_code":{"type":"string"},"latency_warn_ms":{"type":"integer"},"latency_crit_ms":{"type":"integer"},"tls_insecure":{"type":"boolean"},"auth":{"type":"object","properties":{"user":{"type":"string"},"password":{"type":"string"},"kerberos":{"type":"boolean"},"principal":{"type":"string"},"keytab":{"type":"string"}},"additionalProperties":false}},"additionalProperties":false}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schema_matches_the_config() {
        let schema = patchdeck_kit::schema::exported_schema(patchdeck_probe_v1);
        patchdeck_kit::schema::check::<Config>(&schema, "").unwrap();
    }
}
