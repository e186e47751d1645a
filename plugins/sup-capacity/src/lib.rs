//! `sup-capacity`: is each software update point within its capacity?
//!
//! Clients per SUP = clients whose `LastScanPackageLocation` is that SUP (the same server by
//! kit's host rule: short name or FQDN, any case, default port implied) and whose last scan
//! is within `active_days`. Capacity = the limit (25,000 for a remote SUP; `colocated_limit`
//! for one on the site server, for which no figure is documented) times the number of NLB
//! nodes (at most 4). Every NLB node must answer GetConfig as a WSUS 3.0 (judged like the
//! wsus probe judges its server), and all nodes must report the same protocol version.
//!
//! [`gather`] reads and asks; [`judge`] decides.

mod gather;
mod judge;

use patchdeck_kit::host::Endpoint;
use patchdeck_kit::http::Http;
use patchdeck_kit::inventory::Cached;
use patchdeck_kit::report::{ExportAge, detail};
use patchdeck_kit::time;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, ConfigProbe, Host};
use patchdeck_probe_api::{Report, Status};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::SystemTime;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sup {
    /// As clients write it in LastScanPackageLocation, e.g. "http://SUP01:8530" (the NLB
    /// virtual name when load-balanced).
    pub url: String,
    #[serde(default)]
    pub colocated: bool,
    /// Base URLs of the WSUS front ends behind the NLB virtual name.
    #[serde(default)]
    pub nlb_nodes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub scan_status_csv: PathBuf,
    pub sups: Vec<Sup>,
    #[serde(default = "remote")]
    pub remote_limit: u64,
    #[serde(default = "colocated")]
    pub colocated_limit: u64,
    #[serde(default = "eighty")]
    pub warn_percent: f64,
    /// A SUP whose active clients fail scans with 408/503 (0x8024401C, 0x80244022) at this
    /// share or more is CRITICAL: the evidence that it is failing them, not just busy.
    #[serde(default = "patchdeck_kit::defaults::crit_percent")]
    pub crit_percent: f64,
    #[serde(default = "thirty")]
    pub active_days: u64,
    #[serde(default = "patchdeck_kit::defaults::max_export_age_hours")]
    pub max_export_age_hours: u64,
    #[serde(default)]
    pub tls_insecure: bool,
}

fn remote() -> u64 {
    25_000
}
fn colocated() -> u64 {
    15_000
}
fn eighty() -> f64 {
    80.0
}
fn thirty() -> u64 {
    30
}

pub struct SupCapacity {
    config: Config,
    rules: judge::Rules,
    cache: Cached<gather::Census>,
}

impl ConfigProbe for SupCapacity {
    type Config = Config;
    const KIND: &'static str = "sup-capacity";
    const RULES: &'static [patchdeck_probe_api::Rule] = judge::RULES;

    fn from_config(config: Config, host: &Host) -> Result<SupCapacity, String> {
        if host.config_check() {
            patchdeck_kit::exports::check_file(
                &config.scan_status_csv,
                gather::COLUMNS,
                "scan_status_csv",
                config.max_export_age_hours,
            )?;
        }
        if config.sups.is_empty() {
            return Err("field `sups`: list at least one { url, colocated, nlb_nodes }".into());
        }
        for (i, s) in config.sups.iter().enumerate() {
            for u in std::iter::once(&s.url).chain(&s.nlb_nodes) {
                if Endpoint::parse(u).is_none_or(|e| e.scheme != "http" && e.scheme != "https") {
                    return Err(format!(
                        "field `sups[{i}]`: \"{u}\" must be an http:// or https:// URL with a host"
                    ));
                }
            }
        }
        let rules = judge::Rules {
            remote_limit: config.remote_limit,
            colocated_limit: config.colocated_limit,
            warn_percent: config.warn_percent,
            crit_percent: config.crit_percent,
            active_days: config.active_days,
        };
        Ok(SupCapacity {
            config,
            rules,
            cache: Cached::default(),
        })
    }

    fn run(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let path = self.config.scan_status_csv.clone();
        let (census, _) = self
            .cache
            .get(&[&path], || gather::census(&path))
            .map_err(|e| CheckError::Failed(e.to_string()))?;
        let http = Http::new(
            ctx.deadline,
            self.config.tls_insecure,
            Some(ctx.cancel_flag()),
        );
        let nodes = gather::nodes(&http, &self.config.sups);
        if ctx.is_cancelled() {
            return Err(CheckError::Cancelled);
        }
        let age = ExportAge::of(&path, SystemTime::now(), self.config.max_export_age_hours);
        if let Some(a) = age.as_ref().filter(|a| a.too_old()) {
            return Ok(a.unknown_report(&judge::EXPORT));
        }
        // Active windows are counted back from the time the export was taken.
        let taken = age.as_ref().map_or_else(SystemTime::now, |a| a.taken);
        Ok(self.report(&census, &nodes, taken, age, ctx.rules))
    }
}

impl SupCapacity {
    fn report(
        &self,
        census: &gather::Census,
        nodes: &[Vec<patchdeck_kit::wsus::GetConfigCall>],
        now: SystemTime,
        age: Option<ExportAge>,
        overrides: &patchdeck_probe_api::Overrides,
    ) -> Report {
        let cfg = &self.config;
        let since = time::day(time::unix(now))
            .saturating_sub(i64::try_from(cfg.active_days).unwrap_or(i64::MAX));
        let owners = judge::assign(census, &cfg.sups);
        let mut items = Vec::new();
        let mut metrics = Vec::new();
        let mut loads = Vec::new();
        // (item id, cause for the summary)
        let mut causes: Vec<(String, String)> = Vec::new();
        for (i, sup) in cfg.sups.iter().enumerate() {
            let mine = || owners.iter().filter(|(_, o)| *o == Some(i));
            let clients: u64 = mine()
                .map(|(loc, _)| judge::active(census, loc, since))
                .sum();
            let failing: u64 = mine()
                .map(|(loc, _)| judge::failing(census, loc, since))
                .sum();
            let v = judge::sup(sup, (clients, failing), &nodes[i], &self.rules);
            loads.push(format!("{} {:.0} %", judge::short(&sup.url), v.load));
            metrics.push(judge::load_metric(sup, v.load, cfg.warn_percent));
            if let Some(c) = v.cause {
                causes.push((
                    v.item.id.clone(),
                    format!("{}: {c}", judge::short(&sup.url)),
                ));
            }
            items.push(v.item);
        }
        for (loc, _) in owners.iter().filter(|(_, o)| o.is_none()) {
            let n = judge::active(census, loc, since);
            if n > 0 {
                let it = judge::unlisted(loc, n);
                causes.push((it.id.clone(), format!("{}: {}", it.title, it.summary)));
                items.push(it);
            }
        }
        overrides.apply(&mut items);
        let mut details = vec![detail(
            "Export",
            cfg.scan_status_csv.display().to_string(),
            None,
        )];
        details.extend(age.as_ref().map(ExportAge::detail));
        if cfg.tls_insecure {
            details.push(detail(
                "TLS",
                "certificate not verified (tls_insecure = true)",
                Some(Status::Warning),
            ));
        }
        let status = items.iter().fold(Status::Ok, |w, i| w.worst(i.status));
        let mut summary = format!("SUP load: {}", loads.join(" · "));
        let cause = items
            .iter()
            .filter(|i| i.status == status && status != Status::Ok)
            .find_map(|i| causes.iter().find(|(id, _)| *id == i.id));
        if let Some((_, cause)) = cause {
            summary.push_str(&format!(" · {cause}"));
        }
        Report {
            status,
            summary,
            details,
            metrics,
            items,
        }
    }
}

patchdeck_probe_api::export_probe!(
    SupCapacity,
    kind: "sup-capacity",
    version: env!("CARGO_PKG_VERSION"),
    description: "Software update point load vs capacity (25,000 clients per remote SUP) and NLB node health",
    config_schema: r#"{"type":"object","required":["scan_status_csv","sups"],"properties":{"scan_status_csv":{"type":"string"},"sups":{"type":"array","items":{"type":"object","required":["url"],"properties":{"url":{"type":"string"},"colocated":{"type":"boolean"},"nlb_nodes":{"type":"array","items":{"type":"string"}}},"additionalProperties":false}},"remote_limit":{"type":"integer","minimum":0},"colocated_limit":{"type":"integer","minimum":0},"warn_percent":{"type":"number"},"crit_percent":{"type":"number"},"active_days":{"type":"integer","minimum":0},"max_export_age_hours":{"type":"integer","minimum":0},"tls_insecure":{"type":"boolean"}},"additionalProperties":false}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schema_matches_the_config() {
        let schema = patchdeck_kit::schema::exported_schema(patchdeck_probe_v1);
        patchdeck_kit::schema::check::<Config>(&schema, "").unwrap();
        patchdeck_kit::schema::check::<Sup>(&schema, "sups").unwrap();
    }
}
