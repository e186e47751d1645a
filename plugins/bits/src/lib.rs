//! `bits`: can BITS download package content from each distribution point?
//!
//! Per DP, on a content file URL (`http://dp01/SMS_DP_SMSPKGD%24/ABC00012/file.cab`): HEAD,
//! a ranged GET of a middle range, and PROPFIND on the folder (see [`judge`] for the rules
//! and their sources). DPs are checked concurrently (`concurrency` at a time) within the
//! call's deadline; those never tried for lack of time are UNKNOWN "not checked".

mod gather;
mod judge;

use patchdeck_kit::auth::{AuthConfig, Authenticator};
use patchdeck_kit::host::Endpoint;
use patchdeck_kit::http::Http;
use patchdeck_kit::report::{detail, metric};
use patchdeck_probe_api::sdk::{CheckContext, CheckError, ConfigProbe, Host};
use patchdeck_probe_api::{Item, Overrides, Report, Rule, Status};
use serde::Deserialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dp {
    pub name: String,
    pub url: String,
    /// Credentials for this DP (else the probe's `auth`).
    pub auth: Option<AuthConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub distribution_points: Vec<Dp>,
    #[serde(default = "patchdeck_kit::defaults::yes")]
    pub webdav: bool,
    #[serde(default = "eight")]
    pub concurrency: usize,
    #[serde(default = "patchdeck_kit::defaults::latency_warn_ms")]
    pub latency_warn_ms: u64,
    #[serde(default = "patchdeck_kit::defaults::latency_crit_ms")]
    pub latency_crit_ms: u64,
    #[serde(default)]
    pub tls_insecure: bool,
    /// Credentials for DPs that refuse anonymous access (ConfigMgr's default): NTLM or
    /// Kerberos (see kit::auth).
    pub auth: Option<AuthConfig>,
}

fn eight() -> usize {
    8
}

pub struct Bits {
    config: Config,
    /// Per DP: its authenticator (its own, the probe's, or none).
    auth: Vec<Option<Arc<Authenticator>>>,
}

impl ConfigProbe for Bits {
    type Config = Config;
    const KIND: &'static str = "bits";
    const RULES: &'static [Rule] = judge::RULES;

    fn from_config(config: Config, _host: &Host) -> Result<Bits, String> {
        if config.distribution_points.is_empty() {
            return Err("field `distribution_points`: list at least one { name, url }".into());
        }
        for (i, dp) in config.distribution_points.iter().enumerate() {
            if Endpoint::parse(&dp.url).is_none_or(|e| e.scheme != "http" && e.scheme != "https") {
                return Err(format!(
                    "field `distribution_points[{i}].url`: \"{}\" must be an http:// or https:// URL with a host",
                    dp.url
                ));
            }
        }
        if config.concurrency == 0 {
            return Err("field `concurrency` must be at least 1".into());
        }
        // Each DP is one item, one series, one row: names must be unique.
        for (i, dp) in config.distribution_points.iter().enumerate() {
            if let Some(j) = config.distribution_points[..i]
                .iter()
                .position(|d| d.name.eq_ignore_ascii_case(&dp.name))
            {
                return Err(format!(
                    "field `distribution_points[{i}].name`: \"{}\" is also distribution_points[{j}]'s name; names must be unique",
                    dp.name
                ));
            }
        }
        if let Some(a) = &config.auth {
            a.validate("auth")?;
        }
        let shared = config.auth.clone().map(|a| Arc::new(Authenticator::new(a)));
        let mut auth = Vec::new();
        for (i, dp) in config.distribution_points.iter().enumerate() {
            auth.push(match &dp.auth {
                Some(a) => {
                    a.validate(&format!("distribution_points[{i}].auth"))?;
                    Some(Arc::new(Authenticator::new(a.clone())))
                }
                None => shared.clone(),
            });
        }
        Ok(Bits { config, auth })
    }

    fn run(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let c = &self.config;
        let dps = &c.distribution_points;
        let rules = judge::Rules {
            webdav: c.webdav,
            latency_warn_ms: c.latency_warn_ms,
            latency_crit_ms: c.latency_crit_ms,
        };
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Item>>> = Mutex::new((0..dps.len()).map(|_| None).collect());
        std::thread::scope(|s| {
            for _ in 0..c.concurrency.min(dps.len()) {
                s.spawn(|| {
                    let base = Http::new(ctx.deadline, c.tls_insecure, Some(ctx.cancel_flag()));
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= dps.len() || ctx.is_cancelled() {
                            return;
                        }
                        let auth = self.auth[i].as_deref();
                        let http = base.as_login(auth);
                        let seen = gather::gather(&http, &dps[i].url, c.webdav);
                        let who = auth.map(|a| a.config.who());
                        let it = judge::judge_as(&dps[i].name, &seen, rules, who.as_deref());
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(it);
                    }
                });
            }
        });
        if ctx.is_cancelled() {
            return Err(CheckError::Cancelled);
        }
        let items: Vec<Item> = results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .flatten()
            .collect();
        Ok(report(items, dps.len(), ctx.rules))
    }
}

/// The probe's report from the DPs' items: the worst DP's cause in the summary.
fn report(mut items: Vec<Item>, total: usize, rules: &Overrides) -> Report {
    rules.apply(&mut items);
    // A slow DP that passes every BITS check is BITS-ready (latency alone is a warning).
    let ready = items
        .iter()
        .filter(|i| i.status == Status::Ok || i.rule.as_deref() == Some(judge::LATENCY.id))
        .count();
    let status = items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
    let mut summary = format!("{ready}/{total} DPs BITS-ready");
    if let Some(bad) = items
        .iter()
        .find(|i| i.status == status && status != Status::Ok)
    {
        summary.push_str(&format!(" · {} {}", bad.id, bad.summary));
    }
    Report {
        status,
        summary,
        details: vec![detail("Distribution points", total.to_string(), None)],
        metrics: vec![
            metric("dps_ready", ready as f64, "")
                .max(total as f64)
                .done(),
        ],
        items,
    }
}

patchdeck_probe_api::export_probe!(
    Bits,
    kind: "bits",
    version: env!("CARGO_PKG_VERSION"),
    description: "BITS downloads from ConfigMgr 2007 distribution points: HEAD size, Range, WebDAV",
    config_schema: r#"{"type":"object","required":["distribution_points"],"properties":{"distribution_points":{"type":"array","items":{"type":"object","required":["name","url"],"properties":{"name":{"type":"string"},"url":{"type":"string"},"auth":{"type":"object","properties":{"user":{"type":"string"},"password":{"type":"string"},"kerberos":{"type":"boolean"},"principal":{"type":"string"},"keytab":{"type":"string"}},"additionalProperties":false}},"additionalProperties":false}},"webdav":{"type":"boolean"},"concurrency":{"type":"integer","minimum":1},"latency_warn_ms":{"type":"integer"},"latency_crit_ms":{"type":"integer"},"tls_insecure":{"type":"boolean"},"auth":{"type":"object","properties":{"user":{"type":"string"},"password":{"type":"string"},"kerberos":{"type":"boolean"},"principal":{"type":"string"},"keytab":{"type":"string"}},"additionalProperties":false}},"additionalProperties":false}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schema_matches_the_config() {
        let schema = patchdeck_kit::schema::exported_schema(patchdeck_probe_v1);
        patchdeck_kit::schema::check::<Config>(&schema, "").unwrap();
        patchdeck_kit::schema::check::<Dp>(&schema, "distribution_points").unwrap();
    }
}
