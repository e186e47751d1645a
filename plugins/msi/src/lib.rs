//! `msi`: Windows Installer 3.1 v2 (msi.dll 3.1.4000.2435) on ConfigMgr 2007 clients, from a
//! software-inventory export of `v_GS_SoftwareFile` (domain.md 4). Clients below 3.1 miss
//! updates such as Office updates during the compliance scan. A client with no msi.dll row is
//! "unknown", never "compliant" (software inventory may not collect msi.dll).

use patchdeck_kit::inventory::{self, Cached, ExportError};
use patchdeck_kit::report::{detail, export_age, item, name_list};
use patchdeck_kit::threshold::{percent, thousands};
use patchdeck_kit::version::WinVersion;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, Host, Probe};
use patchdeck_probe_api::{Metric, Report, Status};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::SystemTime;

const LIST: usize = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub software_files_csv: PathBuf,
    /// All clients (`ResourceID, Name0` from v_R_System), to find those without msi.dll.
    pub clients_csv: Option<PathBuf>,
    #[serde(default = "min_version")]
    pub min_version: String,
    #[serde(default = "patchdeck_kit::defaults::warn_percent")]
    pub warn_percent: f64,
    #[serde(default = "patchdeck_kit::defaults::crit_percent")]
    pub crit_percent: f64,
    #[serde(default = "patchdeck_kit::defaults::max_export_age_hours")]
    pub max_export_age_hours: u64,
}

fn min_version() -> String {
    "3.1.4000.2435".into()
}

#[derive(Debug, Clone, Default)]
struct Census {
    /// Highest msi.dll version per client, and its name.
    clients: HashMap<i64, (String, Option<WinVersion>)>,
    unparsable: Vec<(String, String)>,
    /// Clients listed in clients_csv without an msi.dll row: count and first names.
    unknown: u64,
    unknown_names: Vec<String>,
    all_clients: Option<u64>,
}

/// What the report needs, folded from a census once per change of the exports (the
/// per-client map is not kept).
#[derive(Debug, Clone, Default)]
struct Summary {
    with_msi: u64,
    by_version: BTreeMap<Option<WinVersion>, u64>,
    below: u64,
    below_names: Vec<String>,
    unparsable: Vec<(String, String)>,
    unknown: u64,
    unknown_names: Vec<String>,
    all_clients: Option<u64>,
}

/// Reads both exports and folds them into a [`Summary`].
fn summarise(config: &Config, min: WinVersion) -> Result<Summary, ExportError> {
    let mut c = read_files(config)?;
    add_unknown(config, &mut c)?;
    let mut s = Summary {
        with_msi: c.clients.len() as u64,
        unparsable: c.unparsable,
        unknown: c.unknown,
        unknown_names: c.unknown_names,
        all_clients: c.all_clients,
        ..Summary::default()
    };
    for (name, v) in c.clients.into_values() {
        *s.by_version.entry(v).or_default() += 1;
        if v.is_some_and(|v| v < min) {
            s.below += 1;
            if s.below_names.len() < LIST {
                s.below_names.push(name);
            }
        }
    }
    s.below_names.sort();
    Ok(s)
}

pub struct Msi {
    config: Config,
    min: WinVersion,
    cache: Cached<Summary>,
}

fn read_files(config: &Config) -> Result<Census, ExportError> {
    let mut c = Census::default();
    inventory::read(
        &config.software_files_csv,
        &["ResourceID", "Name0", "FileName", "FileVersion"],
        |row| {
            if !row
                .get(2)
                .is_some_and(|f| f.eq_ignore_ascii_case("msi.dll"))
            {
                return Ok(());
            }
            let id: i64 = row
                .get(0)
                .ok_or_else(|| row.error(0, "empty ResourceID"))?
                .parse()
                .map_err(|_| row.error(0, "expected a number"))?;
            let name = row.get(1).unwrap_or("(no name)").to_owned();
            let version = match row.get(3) {
                None => None,
                // File versions often carry a build tag: "3.1.4000.2435 (srv03_sp1_rtm.050330-1612)".
                Some(v) => match v
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .parse::<WinVersion>()
                {
                    Ok(v) => Some(v),
                    Err(_) => {
                        if c.unparsable.len() < 50 {
                            c.unparsable.push((name.clone(), v.to_owned()));
                        }
                        None
                    }
                },
            };
            let entry = c.clients.entry(id).or_insert((name, None));
            if version > entry.1 {
                entry.1 = version;
            }
            Ok(())
        },
    )?;
    Ok(c)
}

fn add_unknown(config: &Config, c: &mut Census) -> Result<(), ExportError> {
    let Some(path) = &config.clients_csv else {
        return Ok(());
    };
    let mut all = 0u64;
    let (mut unknown, mut names) = (0u64, Vec::new());
    inventory::read(path, &["ResourceID", "Name0"], |row| {
        let id: i64 = row
            .get(0)
            .ok_or_else(|| row.error(0, "empty ResourceID"))?
            .parse()
            .map_err(|_| row.error(0, "expected a number"))?;
        all += 1;
        if !c.clients.contains_key(&id) {
            unknown += 1;
            if names.len() < LIST {
                names.push(row.get(1).unwrap_or("(no name)").to_owned());
            }
        }
        Ok(())
    })?;
    c.all_clients = Some(all);
    c.unknown = unknown;
    c.unknown_names = names;
    Ok(())
}

impl Msi {
    pub fn from_config(config: Config) -> Result<Msi, String> {
        let min = config
            .min_version
            .parse()
            .map_err(|e| format!("field `min_version`: {e}"))?;
        if config.warn_percent > config.crit_percent {
            return Err("field `warn_percent` must not be above `crit_percent`".into());
        }
        Ok(Msi {
            config,
            min,
            cache: Cached::default(),
        })
    }

    fn report(&self, c: &Summary, now: SystemTime) -> Report {
        let cfg = &self.config;
        let with_msi = c.with_msi;
        let population = c.all_clients.unwrap_or(with_msi).max(with_msi);
        let pct = |n: u64| {
            if population == 0 {
                0.0
            } else {
                n as f64 * 100.0 / population as f64
            }
        };
        let (by_version, below, below_names) = (&c.by_version, c.below, &c.below_names);
        let mut versions = item(
            "versions",
            "msi.dll versions",
            Status::Ok,
            format!("{} versions", by_version.len()),
        );
        for (v, n) in by_version.iter().rev() {
            let (id, title, s) = match v {
                Some(v) if *v < self.min => {
                    (v.to_string(), format!("msi.dll {v}"), Status::Critical)
                }
                Some(v) => (v.to_string(), format!("msi.dll {v}"), Status::Ok),
                None => (
                    "unreadable".into(),
                    "Unreadable version".into(),
                    Status::Warning,
                ),
            };
            let mut i = item(
                &id,
                title,
                s,
                format!("{} clients ({:.1} %)", thousands(*n), pct(*n)),
            );
            if id == "unreadable" {
                i.details = c
                    .unparsable
                    .iter()
                    .map(|(n, v)| detail(n, v.clone(), None))
                    .collect();
            }
            versions.items.push(i);
        }
        let below_status = percent(pct(below), cfg.warn_percent, cfg.crit_percent);
        let mut below_item = item(
            "below-minimum",
            format!("Below Windows Installer 3.1 v2 ({})", self.min),
            below_status,
            format!(
                "{} clients ({:.1} %) below {}: they miss updates such as Office updates",
                thousands(below),
                pct(below),
                self.min
            ),
        );
        below_item.details = name_list(below_names, below);
        let mut items = vec![versions, below_item];
        let mut status = below_status;
        if c.all_clients.is_some() {
            let s = percent(pct(c.unknown), cfg.warn_percent, cfg.crit_percent).worst(Status::Ok);
            let mut unknown = item(
                "unknown",
                "No msi.dll in inventory",
                s,
                format!(
                    "{} clients ({:.1} %) unknown, not compliant: is software inventory collecting msi.dll?",
                    thousands(c.unknown),
                    pct(c.unknown)
                ),
            );
            unknown.details = name_list(&c.unknown_names, c.unknown);
            status = status.worst(s);
            items.push(unknown);
        }
        let mut details = vec![detail(
            "Export",
            cfg.software_files_csv.display().to_string(),
            None,
        )];
        for path in std::iter::once(&cfg.software_files_csv).chain(cfg.clients_csv.iter()) {
            if let Some(mut age) = export_age(path, now, cfg.max_export_age_hours) {
                age.label = format!(
                    "Export age ({})",
                    path.file_name()
                        .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
                );
                status = status.worst(age.status.unwrap_or(Status::Ok));
                details.push(age);
            }
        }
        if population == 0 {
            status = Status::Unknown;
        }
        let mut summary = format!(
            "{} clients · {:.1} % at >= {} · {} below",
            thousands(population),
            pct(with_msi - below - by_version.get(&None).copied().unwrap_or(0)),
            self.min,
            thousands(below)
        );
        if c.all_clients.is_some() {
            summary.push_str(&format!(" · {} unknown", thousands(c.unknown)));
        }
        Report {
            status,
            summary,
            details,
            metrics: vec![Metric {
                label: "below_minimum_percent".into(),
                value: (pct(below) * 10.0).round() / 10.0,
                uom: "%".into(),
                warn: Some(cfg.warn_percent.to_string()),
                crit: Some(cfg.crit_percent.to_string()),
                min: Some(0.0),
                max: Some(100.0),
            }],
            items,
        }
    }
}

impl Probe for Msi {
    fn create(config: serde_json::Value, _host: &Host) -> Result<Self, String> {
        let config: Config =
            serde_json::from_value(config).map_err(|e| format!("msi config: {e}"))?;
        Msi::from_config(config)
    }

    fn check(&mut self, _ctx: &CheckContext) -> Result<Report, CheckError> {
        let (config, min) = (&self.config, self.min);
        let mut files = vec![config.software_files_csv.as_path()];
        files.extend(config.clients_csv.as_deref());
        let (summary, _) = self
            .cache
            .get(&files, || summarise(config, min))
            .map_err(|e| CheckError::Failed(e.to_string()))?;
        Ok(self.report(&summary, SystemTime::now()))
    }
}

patchdeck_probe_api::export_probe!(
    Msi,
    kind: "msi",
    version: env!("CARGO_PKG_VERSION"),
    description: "Windows Installer 3.1 v2 on ConfigMgr 2007 clients (v_GS_SoftwareFile export)",
    config_schema: r#"{"type":"object","required":["software_files_csv"],"properties":{"software_files_csv":{"type":"string"},"clients_csv":{"type":"string"},"min_version":{"type":"string"},"warn_percent":{"type":"number"},"crit_percent":{"type":"number"},"max_export_age_hours":{"type":"integer"}},"additionalProperties":false}"#
);
