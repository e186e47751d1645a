//! `wua`: the Windows Update Agent on ConfigMgr 2007 clients, judged from an export of
//! `v_UpdateScanStatus` joined to `v_R_System` (domain.md 2):
//! versions (numeric 4-part compare; unparsable ones counted and listed, never dropped),
//! clients below the ConfigMgr minimum, scan errors grouped by HRESULT with their names, stale
//! scans, and the age of the export itself.

use patchdeck_kit::hresult;
use patchdeck_kit::inventory::{self, Cached, ExportError};
use patchdeck_kit::report::{detail, item};
use patchdeck_kit::threshold::{percent, thousands};
use patchdeck_kit::version::WinVersion;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, Host, Probe};
use patchdeck_probe_api::{Metric, Report, Status};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Names listed for "clients below minimum".
const LIST_BELOW: usize = 500;
/// Names listed per other group.
const LIST_SOME: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub scan_status_csv: PathBuf,
    #[serde(default = "min_version")]
    pub min_version: String,
    /// The WUA the site's WSUS ships (e.g. "7.4.7600.226" for WSUS 3.0 SP2).
    pub expected_version: Option<String>,
    #[serde(default = "seven")]
    pub stale_days: u64,
    #[serde(default = "patchdeck_kit::defaults::warn_percent")]
    pub warn_percent: f64,
    #[serde(default = "patchdeck_kit::defaults::crit_percent")]
    pub crit_percent: f64,
    /// An export older than this many hours is a warning (is the export job running?).
    #[serde(default = "patchdeck_kit::defaults::max_export_age_hours")]
    pub max_export_age_hours: u64,
}

fn min_version() -> String {
    "7.0.6000.363".into()
}
fn seven() -> u64 {
    7
}

/// What one export says, independent of the time it is looked at (so it can be cached),
/// except for scan ages, kept as a histogram of scan days.
#[derive(Debug, Clone, Default)]
struct Census {
    clients: u64,
    duplicates: u64,
    versions: BTreeMap<WinVersion, u64>,
    unparsable: Vec<(String, String)>,
    unparsable_count: u64,
    no_version: u64,
    below: u64,
    below_names: Vec<String>,
    at_expected: u64,
    errors: BTreeMap<u32, (u64, Vec<String>)>,
    /// Clients per day of their last scan (days since the epoch); None = never.
    scan_days: BTreeMap<Option<i64>, u64>,
    /// A few names per scan day, for the stale list.
    scan_day_names: BTreeMap<Option<i64>, Vec<String>>,
}

pub struct Wua {
    config: Config,
    min: WinVersion,
    expected: Option<WinVersion>,
    cache: Cached<Census>,
}

const COLUMNS: &[&str] = &[
    "ResourceID",
    "Name0",
    "LastScanTime",
    "LastScanState",
    "LastErrorCode",
    "LastWUAVersion",
    "LastScanPackageLocation",
];

impl Wua {
    pub fn from_config(config: Config) -> Result<Wua, String> {
        let min = config
            .min_version
            .parse()
            .map_err(|e| format!("field `min_version`: {e}"))?;
        let expected = match &config.expected_version {
            Some(v) => Some(
                v.parse()
                    .map_err(|e| format!("field `expected_version`: {e}"))?,
            ),
            None => None,
        };
        if config.warn_percent > config.crit_percent {
            return Err("field `warn_percent` must not be above `crit_percent`".into());
        }
        Ok(Wua {
            config,
            min,
            expected,
            cache: Cached::default(),
        })
    }
}

/// Reads the export once into a census.
fn census(
    config: &Config,
    min: WinVersion,
    expected: Option<WinVersion>,
) -> Result<Census, ExportError> {
    {
        let mut c = Census::default();
        let mut seen: HashSet<i64> = HashSet::new();
        inventory::read(&config.scan_status_csv, COLUMNS, |row| {
            let id: i64 = match row.get(0) {
                Some(v) => v
                    .parse()
                    .map_err(|_| row.error(0, format!("expected a number, got {v:?}")))?,
                None => return Err(row.error(0, "empty ResourceID")),
            };
            if !seen.insert(id) {
                c.duplicates += 1;
                return Ok(());
            }
            c.clients += 1;
            let name = row.get(1).unwrap_or("(no name)").to_owned();
            let day = match row.get(2) {
                Some(t) => Some(
                    inventory::parse_timestamp(t)
                        .ok_or_else(|| {
                            row.error(
                                2,
                                format!("expected a time like 2026-11-20 13:45:12.000, got {t:?}"),
                            )
                        })?
                        .div_euclid(86_400),
                ),
                None => None,
            };
            *c.scan_days.entry(day).or_default() += 1;
            let names = c.scan_day_names.entry(day).or_default();
            if names.len() < LIST_SOME {
                names.push(name.clone());
            }
            if let Some(code) = row.get(4) {
                let code = hresult::parse(code)
                    .ok_or_else(|| row.error(4, format!("expected an HRESULT, got {code:?}")))?;
                if code != 0 {
                    let e = c.errors.entry(code).or_default();
                    e.0 += 1;
                    if e.1.len() < LIST_SOME {
                        e.1.push(name.clone());
                    }
                }
            }
            match row.get(5) {
                None => c.no_version += 1,
                Some(v) => match v.parse::<WinVersion>() {
                    Ok(v) => {
                        *c.versions.entry(v).or_default() += 1;
                        if v < min {
                            c.below += 1;
                            if c.below_names.len() < LIST_BELOW {
                                c.below_names.push(name.clone());
                            }
                        }
                        if expected.is_some_and(|e| v >= e) {
                            c.at_expected += 1;
                        }
                    }
                    Err(_) => {
                        c.unparsable_count += 1;
                        if c.unparsable.len() < LIST_SOME {
                            c.unparsable.push((name.clone(), v.to_owned()));
                        }
                    }
                },
            }
            Ok(())
        })?;
        Ok(c)
    }
}

impl Wua {
    fn report(&self, c: &Census, now: SystemTime) -> Report {
        let cfg = &self.config;
        let pct = |n: u64| {
            if c.clients == 0 {
                0.0
            } else {
                n as f64 * 100.0 / c.clients as f64
            }
        };
        // Versions, newest first.
        let mut versions = item(
            "versions",
            "WUA versions",
            Status::Ok,
            format!("{} versions", c.versions.len()),
        );
        for (v, n) in c.versions.iter().rev() {
            let s = if *v < self.min {
                Status::Critical
            } else {
                Status::Ok
            };
            let mut i = item(
                &v.to_string(),
                format!("WUA {v}"),
                s,
                format!("{} clients ({:.1} %)", thousands(*n), pct(*n)),
            );
            if s == Status::Critical {
                i.summary
                    .push_str(&format!(" · below the ConfigMgr 2007 minimum {}", self.min));
            }
            versions.items.push(i);
        }
        if c.unparsable_count > 0 {
            let mut i = item(
                "unparsable",
                "Unreadable versions",
                Status::Warning,
                format!(
                    "{} clients report a version that is not a.b.c.d",
                    thousands(c.unparsable_count)
                ),
            );
            i.details = c
                .unparsable
                .iter()
                .map(|(n, v)| detail(n, v.clone(), None))
                .collect();
            versions.items.push(i);
        }
        if c.no_version > 0 {
            versions.items.push(item(
                "no-version",
                "No version reported",
                Status::Ok,
                format!(
                    "{} clients have not reported a WUA version yet",
                    thousands(c.no_version)
                ),
            ));
        }

        let below_pct = pct(c.below);
        let below_status = percent(below_pct, cfg.warn_percent, cfg.crit_percent);
        let mut below = item(
            "below-minimum",
            format!("Below {}", self.min),
            below_status,
            format!(
                "{} clients ({below_pct:.1} %) below the minimum {}",
                thousands(c.below),
                self.min
            ),
        );
        below.details = c
            .below_names
            .iter()
            .map(|n| detail(n, String::new(), None))
            .collect();
        if c.below as usize > c.below_names.len() {
            below.details.push(detail(
                "…",
                format!("{} more", thousands(c.below - c.below_names.len() as u64)),
                None,
            ));
        }

        let error_clients: u64 = c.errors.values().map(|e| e.0).sum();
        let mut errors = item(
            "scan-errors",
            "Scan errors",
            percent(pct(error_clients), cfg.warn_percent, cfg.crit_percent),
            format!(
                "{} clients failed their last scan",
                thousands(error_clients)
            ),
        );
        let mut by_count: Vec<(&u32, &(u64, Vec<String>))> = c.errors.iter().collect();
        by_count.sort_by_key(|(code, (n, _))| (std::cmp::Reverse(*n), **code));
        for (code, (n, names)) in by_count {
            let hint = hresult::describe(*code).map_or("unknown code", |d| d.1);
            let mut i = item(
                &format!("0x{code:08X}"),
                hresult::title(*code),
                Status::Warning,
                format!("{} clients · {hint}", thousands(*n)),
            );
            i.details = names
                .iter()
                .map(|n| detail(n, String::new(), None))
                .collect();
            errors.items.push(i);
        }

        let today = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
            .div_euclid(86_400);
        let stale_limit = today - cfg.stale_days as i64;
        let mut stale_n = 0;
        let mut stale_names = Vec::new();
        for (day, n) in &c.scan_days {
            if day.is_none_or(|d| d < stale_limit) {
                stale_n += n;
                if let Some(names) = c.scan_day_names.get(day) {
                    stale_names.extend(
                        names
                            .iter()
                            .take(LIST_SOME.saturating_sub(stale_names.len()))
                            .cloned(),
                    );
                }
            }
        }
        let mut stale = item(
            "stale",
            "Stale scans",
            percent(pct(stale_n), cfg.warn_percent, cfg.crit_percent),
            format!(
                "{} clients have not scanned for {} days",
                thousands(stale_n),
                cfg.stale_days
            ),
        );
        stale.details = stale_names
            .into_iter()
            .map(|n| detail(&n, String::new(), None))
            .collect();

        let mut details = vec![detail(
            "Export",
            cfg.scan_status_csv.display().to_string(),
            None,
        )];
        let mut status = below_status.worst(errors.status).worst(stale.status);
        if c.clients == 0 {
            status = Status::Unknown;
        }
        if let Some(age) =
            patchdeck_kit::report::export_age(&cfg.scan_status_csv, now, cfg.max_export_age_hours)
        {
            status = status.worst(age.status.unwrap_or(Status::Ok));
            details.push(age);
        }
        if c.duplicates > 0 {
            details.push(detail(
                "Duplicate rows",
                format!("{} ignored", thousands(c.duplicates)),
                None,
            ));
        }
        details.push(detail("Minimum", self.min.to_string(), None));
        if let Some(e) = self.expected {
            details.push(detail("Expected", e.to_string(), None));
        }

        let mut summary = format!("{} clients", thousands(c.clients));
        if let Some(e) = self.expected {
            summary.push_str(&format!(" · {:.1} % at >= {e}", pct(c.at_expected)));
        }
        summary.push_str(&format!(
            " · {} below minimum · {} scan errors",
            thousands(c.below),
            thousands(error_clients)
        ));
        if c.clients == 0 {
            summary = "the export lists no clients".into();
        }
        let m = |label: &str, value: f64, uom: &str, warn: Option<f64>, crit: Option<f64>| Metric {
            label: label.into(),
            value: (value * 10.0).round() / 10.0,
            uom: uom.into(),
            warn: warn.map(|w| w.to_string()),
            crit: crit.map(|w| w.to_string()),
            min: Some(0.0),
            max: None,
        };
        Report {
            status,
            summary,
            details,
            metrics: vec![
                m("clients", c.clients as f64, "", None, None),
                m(
                    "below_minimum_percent",
                    below_pct,
                    "%",
                    Some(cfg.warn_percent),
                    Some(cfg.crit_percent),
                ),
                m("scan_errors", error_clients as f64, "", None, None),
                m("stale", stale_n as f64, "", None, None),
            ],
            items: vec![versions, below, errors, stale],
        }
    }
}

impl Probe for Wua {
    fn create(config: serde_json::Value, _host: &Host) -> Result<Self, String> {
        let config: Config =
            serde_json::from_value(config).map_err(|e| format!("wua config: {e}"))?;
        Wua::from_config(config)
    }

    fn check(&mut self, _ctx: &CheckContext) -> Result<Report, CheckError> {
        let path = self.config.scan_status_csv.clone();
        let (config, min, expected) = (&self.config, self.min, self.expected);
        let (census, _cached) = self
            .cache
            .get(&[&path], || census(config, min, expected))
            .map_err(|e| CheckError::Failed(e.to_string()))?;
        Ok(self.report(&census, SystemTime::now()))
    }
}

patchdeck_probe_api::export_probe!(
    Wua,
    kind: "wua",
    version: env!("CARGO_PKG_VERSION"),
    description: "Windows Update Agent on ConfigMgr 2007 clients: versions, scan errors, stale scans (v_UpdateScanStatus export)",
    config_schema: r#"{"type":"object","required":["scan_status_csv"],"properties":{"scan_status_csv":{"type":"string"},"min_version":{"type":"string"},"expected_version":{"type":"string"},"stale_days":{"type":"integer"},"warn_percent":{"type":"number"},"crit_percent":{"type":"number"},"max_export_age_hours":{"type":"integer"}},"additionalProperties":false}"#
);
