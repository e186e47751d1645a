//! `wua`: the Windows Update Agent on ConfigMgr 2007 clients, judged from an export of
//! `v_UpdateScanStatus` joined to `v_R_System`: agent versions against the ConfigMgr minimum
//! and against the agent of the site's WSUS, scan failures (by `LastScanState` and by
//! `LastErrorCode`), stale scans, and the age of the export itself.
//!
//! [`gather`] reads the export into facts (I/O, cached while the file is unchanged); [`judge`]
//! turns facts into items (pure, table-tested).

mod gather;
mod judge;
pub mod rules;

pub use gather::Census;
pub use judge::{Rules, judge};

use patchdeck_kit::inventory::Cached;
use patchdeck_kit::report::ExportAge;
use patchdeck_kit::version::WinVersion;
use patchdeck_probe_api::Report;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, ConfigProbe, Host};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::SystemTime;

/// The WSUS 3.0 service-pack level whose agent the clients must run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum WsusLevel {
    SP1,
    SP2,
}

impl WsusLevel {
    /// The Windows Update Agent that ships with (and self-updates clients from) each level.
    /// The seed requires "the version of the WUA client associated with the installed version
    /// of WSUS 3.0" (Prerequisites for Software Updates,
    /// http://systemscenter.ru/smsv4.en/html/76638fa0-cbc7-4b42-9378-0a92a3be1201.htm) but
    /// names no build; these pairings (SP1: 7.1.6001.65, SP2: 7.4.7600.226) are not on any
    /// page we could find, so `expected_version` overrides them.
    pub fn agent(self) -> WinVersion {
        match self {
            WsusLevel::SP1 => WinVersion::new(7, 1, 6001, 65),
            WsusLevel::SP2 => WinVersion::new(7, 4, 7600, 226),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WsusLevel::SP1 => "WSUS 3.0 SP1",
            WsusLevel::SP2 => "WSUS 3.0 SP2",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub scan_status_csv: PathBuf,
    /// ConfigMgr 2007 client prerequisite: "Windows Update Agent version 7.0.6000.363"
    /// (http://technet.microsoft.com/en-us/library/bb680537.aspx).
    #[serde(default = "min_version")]
    pub min_version: String,
    /// The agent of the site's WSUS, e.g. "7.4.7600.226"; or give `wsus_level`.
    pub expected_version: Option<String>,
    /// "SP1" or "SP2": the expected agent is the one that level ships (see [`WsusLevel`]).
    pub wsus_level: Option<WsusLevel>,
    #[serde(default = "fourteen")]
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
/// Twice the compliance scan's default schedule (once a week, 1727d91e): a healthy client
/// that missed one scan (off for a week) is not stale.
fn fourteen() -> u64 {
    14
}

pub struct Wua {
    config: Config,
    rules: Rules,
    cache: Cached<Census>,
}

impl ConfigProbe for Wua {
    type Config = Config;
    const KIND: &'static str = "wua";
    const RULES: &'static [patchdeck_probe_api::Rule] = rules::RULES;

    fn from_config(config: Config, host: &Host) -> Result<Wua, String> {
        if host.config_check() {
            patchdeck_kit::exports::check_file(
                &config.scan_status_csv,
                gather::COLUMNS,
                "scan_status_csv",
                config.max_export_age_hours,
            )?;
        }
        let min: WinVersion = config
            .min_version
            .parse()
            .map_err(|e| format!("field `min_version`: {e}"))?;
        let expected = match (&config.expected_version, config.wsus_level) {
            (Some(_), Some(_)) => {
                return Err(
                    "fields `expected_version` and `wsus_level` say the same thing: give one"
                        .into(),
                );
            }
            (Some(v), None) => Some((
                v.parse()
                    .map_err(|e| format!("field `expected_version`: {e}"))?,
                format!("expected_version {v}"),
            )),
            (None, Some(level)) => Some((level.agent(), format!("the agent of {}", level.name()))),
            (None, None) => None,
        };
        if config.warn_percent > config.crit_percent {
            return Err("field `warn_percent` must not be above `crit_percent`".into());
        }
        let rules = Rules {
            min,
            expected,
            stale_days: config.stale_days,
            warn_percent: config.warn_percent,
            crit_percent: config.crit_percent,
            export: config.scan_status_csv.display().to_string(),
        };
        Ok(Wua {
            config,
            rules,
            cache: Cached::default(),
        })
    }

    fn run(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let path = self.config.scan_status_csv.clone();
        let rules = &self.rules;
        let (census, _cached) = self
            .cache
            .get(&[&path], || gather::census(&path, rules))
            .map_err(|e| CheckError::Failed(e.to_string()))?;
        let age = ExportAge::of(&path, SystemTime::now(), self.config.max_export_age_hours);
        if let Some(a) = age.as_ref().filter(|a| a.too_old()) {
            return Ok(a.unknown_report(&rules::EXPORT));
        }
        // Ages are judged as of the time the export was taken.
        let taken = age.as_ref().map_or_else(SystemTime::now, |a| a.taken);
        Ok(judge(
            &census,
            rules,
            taken,
            age.as_ref().map(ExportAge::detail),
            ctx.rules,
        ))
    }
}

patchdeck_probe_api::export_probe!(
    Wua,
    kind: "wua",
    version: env!("CARGO_PKG_VERSION"),
    description: "Windows Update Agent on ConfigMgr 2007 clients: versions, scan failures, stale scans (v_UpdateScanStatus export)",
    config_schema: r#"{"type":"object","required":["scan_status_csv"],"properties":{"scan_status_csv":{"type":"string"},"min_version":{"type":"string"},"expected_version":{"type":"string"},"wsus_level":{"enum":["SP1","SP2"]},"stale_days":{"type":"integer","minimum":0},"warn_percent":{"type":"number"},"crit_percent":{"type":"number"},"max_export_age_hours":{"type":"integer","minimum":0}},"additionalProperties":false}"#
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schema_matches_the_config() {
        let schema = patchdeck_kit::schema::exported_schema(patchdeck_probe_v1);
        patchdeck_kit::schema::check::<Config>(&schema, "").unwrap();
    }

    #[test]
    fn wsus_level_gives_the_documented_agent_and_excludes_expected_version() {
        use patchdeck_probe_api::sdk::Probe;
        let host = Host::detached();
        let w = <Wua as Probe>::create(
            serde_json::json!({"scan_status_csv": "x.csv", "wsus_level": "SP2"}),
            &host,
        )
        .unwrap();
        assert_eq!(
            w.rules.expected.as_ref().unwrap().0.to_string(),
            "7.4.7600.226"
        );
        let e = <Wua as Probe>::create(
            serde_json::json!({"scan_status_csv": "x.csv", "wsus_level": "SP2", "expected_version": "7.4.7600.226"}),
            &host,
        )
        .err()
        .unwrap();
        assert!(e.contains("give one"), "{e}");
        let e = <Wua as Probe>::create(
            serde_json::json!({"scan_status_csv": "x.csv", "wsus_level": "SP3"}),
            &host,
        )
        .err()
        .unwrap();
        assert!(e.starts_with("wua config: unknown variant `SP3`"), "{e}");
    }
}
