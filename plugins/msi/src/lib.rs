//! `msi`: Windows Installer on ConfigMgr 2007 clients, from a software-inventory export of
//! `v_GS_SoftwareFile` (msi.dll rows with their folder) and the client list. Only the system
//! copy (`<Windows>\system32\msi.dll`) is the running Windows Installer. Clients below 3.1
//! miss updates such as Office updates during the compliance scan (critical line); 3.1 v1
//! meets "Windows Installer 3.1" but not the client prerequisite 3.1.4000.2435 (warning at
//! most). A client with no system msi.dll row is "unknown", never "compliant".

mod gather;
mod judge;
pub mod rules;

pub use gather::{Census, is_system_copy};
pub use judge::{Rules, judge};

use patchdeck_kit::inventory::Cached;
use patchdeck_kit::report::ExportAge;
use patchdeck_probe_api::Report;
use patchdeck_probe_api::sdk::{CheckContext, CheckError, ConfigProbe, Host};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::SystemTime;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `ResourceID, Name0, FileName, FileVersion, FilePath` from v_GS_SoftwareFile.
    pub software_files_csv: PathBuf,
    /// All clients (`ResourceID, Name0` from v_R_System), to find those without msi.dll.
    pub clients_csv: Option<PathBuf>,
    /// The client prerequisite (Windows Installer 3.1 v2).
    #[serde(default = "min_version")]
    pub min_version: String,
    /// The first Windows Installer 3.1 build (3.1 v1).
    #[serde(default = "v31_version")]
    pub v31_version: String,
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
fn v31_version() -> String {
    "3.1.4000.1823".into()
}

pub struct Msi {
    config: Config,
    rules: Rules,
    cache: Cached<Census>,
}

impl ConfigProbe for Msi {
    type Config = Config;
    const KIND: &'static str = "msi";
    const RULES: &'static [patchdeck_probe_api::Rule] = rules::RULES;

    fn from_config(config: Config, host: &Host) -> Result<Msi, String> {
        if host.config_check() {
            use patchdeck_kit::exports::{CLIENTS, MSI_FILES, check_file};
            let age = config.max_export_age_hours;
            check_file(
                &config.software_files_csv,
                MSI_FILES.columns,
                MSI_FILES.config_key,
                age,
            )?;
            if let Some(c) = &config.clients_csv {
                check_file(c, CLIENTS.columns, CLIENTS.config_key, age)?;
            }
        }
        let min = config
            .min_version
            .parse()
            .map_err(|e| format!("field `min_version`: {e}"))?;
        let v31 = config
            .v31_version
            .parse()
            .map_err(|e| format!("field `v31_version`: {e}"))?;
        if v31 > min {
            return Err("field `v31_version` must not be above `min_version`".into());
        }
        if config.warn_percent > config.crit_percent {
            return Err("field `warn_percent` must not be above `crit_percent`".into());
        }
        let rules = Rules {
            min,
            v31,
            warn_percent: config.warn_percent,
            crit_percent: config.crit_percent,
            export: config.software_files_csv.display().to_string(),
        };
        Ok(Msi {
            config,
            rules,
            cache: Cached::default(),
        })
    }

    fn run(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        let c = &self.config;
        let mut files = vec![c.software_files_csv.as_path()];
        files.extend(c.clients_csv.as_deref());
        let (census, _) = self
            .cache
            .get(&files, || {
                gather::census(&c.software_files_csv, c.clients_csv.as_deref())
            })
            .map_err(|e| CheckError::Failed(e.to_string()))?;
        let now = SystemTime::now();
        let ages: Vec<ExportAge> = files
            .iter()
            .filter_map(|p| ExportAge::of(p, now, c.max_export_age_hours))
            .collect();
        if let Some(old) = ages.iter().find(|a| a.too_old()) {
            return Ok(old.unknown_report(&rules::EXPORT));
        }
        let details = ages
            .iter()
            .map(|a| {
                let mut d = a.detail();
                d.label = format!(
                    "Export age ({})",
                    std::path::Path::new(&a.path)
                        .file_name()
                        .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
                );
                d
            })
            .collect();
        Ok(judge(&census, &self.rules, details, ctx.rules))
    }
}

patchdeck_probe_api::export_probe!(
    Msi,
    kind: "msi",
    version: env!("CARGO_PKG_VERSION"),
    description: "Windows Installer 3.1 (v2) on ConfigMgr 2007 clients (v_GS_SoftwareFile export)",
    config_schema: r#"{"type":"object","required":["software_files_csv"],"properties":{"software_files_csv":{"type":"string"},"clients_csv":{"type":"string"},"min_version":{"type":"string"},"v31_version":{"type":"string"},"warn_percent":{"type":"number"},"crit_percent":{"type":"number"},"max_export_age_hours":{"type":"integer","minimum":0}},"additionalProperties":false}"#
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
