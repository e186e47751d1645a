//! `sup-capacity`: is each software update point within its capacity (domain.md 5)?
//!
//! Clients per SUP = rows of the scan-status export whose `LastScanPackageLocation` is that
//! SUP and whose last scan is within `active_days`. Capacity = the limit (25,000 for a remote
//! SUP; `colocated_limit` for one on the site server, for which no figure is documented) times
//! the number of NLB nodes (at most 4 WSUS front ends per database). Every NLB node must answer
//! GetConfig, and all nodes must report the same protocol version.

use patchdeck_kit::http::Http;
use patchdeck_kit::inventory::{self, Cached, ExportError};
use patchdeck_kit::report::{detail, export_age, item};
use patchdeck_kit::soap;
use patchdeck_kit::threshold::thousands;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, Host, Probe};
use patchdeck_probe_api::{Item, Metric, Report, Status};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// NLB supports at most this many WSUS front ends per database.
const MAX_NODES: usize = 4;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sup {
    /// As it appears in LastScanPackageLocation, e.g. "http://SUP01:8530" (the NLB virtual
    /// name when load-balanced).
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

/// Clients per normalised scan location, per day of last scan (so "active" can be judged at
/// any later time from a cached read).
#[derive(Debug, Clone, Default)]
struct Census {
    by_location: BTreeMap<String, BTreeMap<i64, u64>>,
}

fn normalise(url: &str) -> String {
    let u = url.trim().trim_end_matches('/').to_ascii_lowercase();
    // Clients report the client web service path; SUPs are configured by base URL.
    u.split("/clientwebservice").next().unwrap_or(&u).to_owned()
}

fn census(config: &Config) -> Result<Census, ExportError> {
    let mut c = Census::default();
    let mut seen = std::collections::HashSet::new();
    inventory::read(
        &config.scan_status_csv,
        &["ResourceID", "LastScanTime", "LastScanPackageLocation"],
        |row| {
            let id: i64 = row
                .get(0)
                .ok_or_else(|| row.error(0, "empty ResourceID"))?
                .parse()
                .map_err(|_| row.error(0, "expected a number"))?;
            if !seen.insert(id) {
                return Ok(());
            }
            let (Some(t), Some(loc)) = (row.get(1), row.get(2)) else {
                return Ok(());
            };
            let day = inventory::parse_timestamp(t)
                .ok_or_else(|| {
                    row.error(
                        1,
                        format!("expected a time like 2026-11-20 13:45:12.000, got {t:?}"),
                    )
                })?
                .div_euclid(86_400);
            *c.by_location
                .entry(normalise(loc))
                .or_default()
                .entry(day)
                .or_default() += 1;
            Ok(())
        },
    )?;
    Ok(c)
}

pub struct SupCapacity {
    config: Config,
    cache: Cached<Census>,
}

impl SupCapacity {
    pub fn from_config(config: Config) -> Result<SupCapacity, String> {
        if config.sups.is_empty() {
            return Err("field `sups`: list at least one { url, colocated, nlb_nodes }".into());
        }
        for (i, s) in config.sups.iter().enumerate().flat_map(|(i, s)| {
            std::iter::once((i, &s.url)).chain(s.nlb_nodes.iter().map(move |n| (i, n)))
        }) {
            if !(s.starts_with("http://") || s.starts_with("https://")) {
                return Err(format!(
                    "field `sups[{i}]`: \"{s}\" must start with http:// or https://"
                ));
            }
        }
        Ok(SupCapacity {
            config,
            cache: Cached::default(),
        })
    }

    fn node_items(&self, sup: &Sup, http: &Http) -> (Vec<Item>, Status) {
        let mut items = Vec::new();
        let mut versions: Vec<String> = Vec::new();
        let mut status = Status::Ok;
        for (i, node) in sup.nlb_nodes.iter().enumerate() {
            let base = node.trim_end_matches('/');
            let url = format!("{base}/ClientWebService/client.asmx");
            let headers = [
                ("Content-Type", "text/xml; charset=utf-8"),
                ("SOAPAction", soap::GET_CONFIG_ACTION),
            ];
            let answer = http
                .request(
                    "POST",
                    &url,
                    &headers,
                    Some(soap::get_config_request().as_bytes()),
                    1024 * 1024,
                )
                .map_err(|e| format!("unreachable: {e}"))
                .and_then(|r| {
                    soap::parse_get_config(&r.text()).map_err(|e| format!("HTTP {}: {e}", r.status))
                });
            let it = match answer {
                Ok(cfg) => {
                    let pv = cfg.protocol_version().unwrap_or("(none)").to_owned();
                    versions.push(pv.clone());
                    item(
                        &format!("node{}", i + 1),
                        base,
                        Status::Ok,
                        format!("answers GetConfig (protocol {pv})"),
                    )
                }
                Err(e) => {
                    status = Status::Critical;
                    item(&format!("node{}", i + 1), base, Status::Critical, e)
                }
            };
            items.push(it);
        }
        versions.dedup();
        if versions.len() > 1 {
            status = status.worst(Status::Warning);
            items.push(item(
                "agreement",
                "Nodes agree",
                Status::Warning,
                format!(
                    "NLB nodes report different protocol versions: {}",
                    versions.join(", ")
                ),
            ));
        }
        (items, status)
    }

    fn run(&self, census: &Census, ctx: &CheckContext) -> Report {
        let cfg = &self.config;
        let now = SystemTime::now();
        let today = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
            .div_euclid(86_400);
        let active_since = today - cfg.active_days as i64;
        let active = |loc: &str| -> u64 {
            census
                .by_location
                .get(loc)
                .map_or(0, |days| days.range(active_since..).map(|(_, n)| n).sum())
        };
        let http = Http::new(ctx.deadline, cfg.tls_insecure, Some(ctx.cancel_flag()));
        let mut items = Vec::new();
        let mut status = Status::Ok;
        let mut summary_parts = Vec::new();
        let mut metrics = Vec::new();
        for sup in &cfg.sups {
            let key = normalise(&sup.url);
            let clients = active(&key);
            let limit = if sup.colocated {
                cfg.colocated_limit
            } else {
                cfg.remote_limit
            };
            let nodes = sup.nlb_nodes.len().max(1);
            let capacity = limit * nodes.min(MAX_NODES) as u64;
            let load = clients as f64 * 100.0 / capacity.max(1) as f64;
            let mut it = item(&key, sup.url.clone(), Status::Ok, String::new());
            let mut s = if load > 100.0 {
                Status::Critical
            } else if load >= cfg.warn_percent {
                Status::Warning
            } else {
                Status::Ok
            };
            let mut note = format!(
                "{} / {} clients ({load:.0} %) · {} · {} node{}",
                thousands(clients),
                thousands(capacity),
                if sup.colocated {
                    "co-located"
                } else {
                    "remote"
                },
                nodes,
                if nodes == 1 { "" } else { "s" }
            );
            if sup.nlb_nodes.len() <= 1 && clients > limit {
                s = Status::Critical;
                note.push_str(&format!(
                    " · over one server's {} clients: needs NLB",
                    thousands(limit)
                ));
            }
            if sup.nlb_nodes.len() > MAX_NODES {
                s = s.worst(Status::Warning);
                note.push_str(&format!(
                    " · {} NLB nodes is unsupported (at most {MAX_NODES} per WSUS database)",
                    sup.nlb_nodes.len()
                ));
            }
            it.details.push(detail(
                "Active clients",
                format!(
                    "{} (scanned in the last {} days)",
                    thousands(clients),
                    cfg.active_days
                ),
                None,
            ));
            it.details.push(detail(
                "Limit per server",
                if sup.colocated {
                    format!("{} (colocated_limit: no documented figure exists; this default is an assumption)", thousands(limit))
                } else {
                    format!("{} (remote SUP, ConfigMgr 2007 documentation)", thousands(limit))
                },
                None,
            ));
            let (nodes_items, nodes_status) = self.node_items(sup, &http);
            it.items = nodes_items;
            s = s.worst(nodes_status);
            it.status = s;
            it.summary = note;
            status = status.worst(s);
            summary_parts.push(format!(
                "{} {load:.0} %",
                sup.url
                    .split("//")
                    .nth(1)
                    .unwrap_or(&sup.url)
                    .split([':', '/'])
                    .next()
                    .unwrap_or("")
            ));
            metrics.push(Metric {
                label: format!(
                    "load_{}",
                    key.split("//")
                        .nth(1)
                        .unwrap_or(&key)
                        .replace([':', '/', '.'], "_")
                ),
                value: (load * 10.0).round() / 10.0,
                uom: "%".into(),
                warn: Some(cfg.warn_percent.to_string()),
                crit: Some("100".into()),
                min: Some(0.0),
                max: None,
            });
            items.push(it);
        }
        // Clients scanning against a server nobody configured.
        let known: Vec<String> = cfg.sups.iter().map(|s| normalise(&s.url)).collect();
        for loc in census.by_location.keys().filter(|l| !known.contains(l)) {
            let n = active(loc);
            if n == 0 {
                continue;
            }
            status = status.worst(Status::Warning);
            items.push(item(
                &format!("unlisted:{loc}"),
                format!("Unlisted SUP {loc}"),
                Status::Warning,
                format!(
                    "{} clients scan against a SUP URL not in `sups`",
                    thousands(n)
                ),
            ));
        }
        let mut details = vec![detail(
            "Export",
            cfg.scan_status_csv.display().to_string(),
            None,
        )];
        if let Some(age) = export_age(&cfg.scan_status_csv, now, cfg.max_export_age_hours) {
            status = status.worst(age.status.unwrap_or(Status::Ok));
            details.push(age);
        }
        if cfg.tls_insecure {
            details.push(detail(
                "TLS",
                "certificate not verified (tls_insecure = true)",
                Some(Status::Warning),
            ));
        }
        Report {
            status,
            summary: format!("SUP load: {}", summary_parts.join(" · ")),
            details,
            metrics,
            items,
        }
    }
}

impl Probe for SupCapacity {
    fn create(config: serde_json::Value, _host: &Host) -> Result<Self, String> {
        let config: Config =
            serde_json::from_value(config).map_err(|e| format!("sup-capacity config: {e}"))?;
        SupCapacity::from_config(config)
    }

    fn check(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let config = &self.config;
        let (census, _) = self
            .cache
            .get(&[&config.scan_status_csv], || census(config))
            .map_err(|e| CheckError::Failed(e.to_string()))?;
        Ok(self.run(&census, ctx))
    }
}

patchdeck_probe_api::export_probe!(
    SupCapacity,
    kind: "sup-capacity",
    version: env!("CARGO_PKG_VERSION"),
    description: "Software update point load vs capacity (25,000 clients per remote SUP) and NLB node health",
    config_schema: r#"{"type":"object","required":["scan_status_csv","sups"],"properties":{"scan_status_csv":{"type":"string"},"sups":{"type":"array"},"remote_limit":{"type":"integer"},"colocated_limit":{"type":"integer"},"warn_percent":{"type":"number"},"active_days":{"type":"integer"},"max_export_age_hours":{"type":"integer"},"tls_insecure":{"type":"boolean"}},"additionalProperties":false}"#
);
