//! The site-database exports the probes read, as the shipped export kit writes them
//! (`examples/exports/`): one CSV per query, each written to a temporary name and renamed
//! into place, then a manifest `exports.csv` in the same folder, written last:
//!
//! ```text
//! File,Rows,TakenUtc,SiteCode,KitVersion
//! scan_status.csv,30000,2026-11-30 02:00:05,ABC,1
//! ```
//!
//! `TakenUtc` is when the query started (SQL Server's GETUTCDATE()), so ages (last scan, last
//! sync) are judged against the time the data was taken, not when patchdeck read it; `Rows`
//! lets a reader refuse a truncated file. Without a manifest the file's mtime serves.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// One export: the file the kit writes, the config key that names it, the probes that read
/// it, and the columns they read (the SQL's select list must give exactly these names).
#[derive(Debug, Clone, Copy)]
pub struct ExportSpec {
    pub file: &'static str,
    pub sql: &'static str,
    pub config_key: &'static str,
    pub probes: &'static [&'static str],
    pub columns: &'static [&'static str],
}

pub const SCAN_STATUS: ExportSpec = ExportSpec {
    file: "scan_status.csv",
    sql: "scan_status.sql",
    config_key: "scan_status_csv",
    probes: &["wua", "sup-capacity"],
    columns: &[
        "ResourceID",
        "Name0",
        "LastScanTime",
        "LastScanState",
        "LastErrorCode",
        "LastWUAVersion",
        "LastScanPackageLocation",
    ],
};

pub const MSI_FILES: ExportSpec = ExportSpec {
    file: "msi_files.csv",
    sql: "msi_files.sql",
    config_key: "software_files_csv",
    probes: &["msi"],
    columns: &["ResourceID", "Name0", "FileName", "FileVersion", "FilePath"],
};

pub const CLIENTS: ExportSpec = ExportSpec {
    file: "clients.csv",
    sql: "clients.sql",
    config_key: "clients_csv",
    probes: &["msi"],
    columns: &["ResourceID", "Name0"],
};

pub const STATUS_MESSAGES: ExportSpec = ExportSpec {
    file: "status_messages.csv",
    sql: "status_messages.sql",
    config_key: "status_messages_csv",
    probes: &["wsus"],
    columns: &["Component", "MessageID", "Time", "SiteCode", "MachineName"],
};

pub const SITE_SERVER_PROGRAMS: ExportSpec = ExportSpec {
    file: "site_server_programs.csv",
    sql: "site_server_programs.sql",
    config_key: "site_server_programs_csv",
    probes: &["wsus"],
    columns: &["Name0", "DisplayName0", "Version0"],
};

pub const SUP_PROPERTIES: ExportSpec = ExportSpec {
    file: "sup_properties.csv",
    sql: "sup_properties.sql",
    config_key: "sup_properties_csv",
    probes: &["wsus"],
    columns: &["SiteCode", "ServerName", "PropertyName", "Value"],
};

pub const SYNC_FAILURES: ExportSpec = ExportSpec {
    file: "sync_failures.csv",
    sql: "sync_failures.sql",
    config_key: "sync_failures_csv",
    probes: &["wsus"],
    columns: &["RecordID", "Time", "SiteCode", "InsStrIndex", "InsStrValue"],
};

pub const COMPONENT_MESSAGES: ExportSpec = ExportSpec {
    file: "component_messages.csv",
    sql: "component_messages.sql",
    config_key: "component_messages_csv",
    probes: &["wsus"],
    columns: &[
        "Component",
        "SiteCode",
        "Severity",
        "MessageID",
        "Time",
        "RecordID",
        "InsStrIndex",
        "InsStrValue",
    ],
};

/// The console's own component status: SMS_ComponentSummarizer (v_ComponentSummarizer) for the
/// tally interval "Since 12:00AM", whose `Status` is the colour of the component's icon in the
/// console, judged with the site's own thresholds and threshold period.
pub const COMPONENT_SUMMARY: ExportSpec = ExportSpec {
    file: "component_summary.csv",
    sql: "component_summary.sql",
    config_key: "component_summary_csv",
    probes: &["wsus"],
    columns: &[
        "SiteCode",
        "MachineName",
        "ComponentName",
        "Status",
        "State",
        "Errors",
        "Warnings",
    ],
};

/// The WSUS server's own synchronisation source, from the SUP's WSUS database (SUSDB), not the
/// site database: `tbConfigurationA.SyncToMu` (0 an upstream WSUS server, 1 Microsoft Update)
/// and `tbConfigurationA.UpstreamServerName`, as "Verifying WSUS Server Settings" (cc708545)
/// names them. ConfigMgr sets it when the SUP is created and does not reset it when someone
/// changes it in the WSUS console ("Troubleshooting Software Updates Synchronization").
pub const WSUS_CONFIGURATION: ExportSpec = ExportSpec {
    file: "wsus_configuration.csv",
    sql: "wsus_configuration.sql",
    config_key: "wsus_configuration_csv",
    probes: &["wsus"],
    columns: &["SyncToMu", "UpstreamServerName"],
};

/// Every export of the kit run against the site database.
pub const ALL: [ExportSpec; 9] = [
    SCAN_STATUS,
    MSI_FILES,
    CLIENTS,
    STATUS_MESSAGES,
    SITE_SERVER_PROGRAMS,
    SUP_PROPERTIES,
    SYNC_FAILURES,
    COMPONENT_MESSAGES,
    COMPONENT_SUMMARY,
];

/// The exports the kit runs against a SUP's WSUS database (SUSDB), when given its SQL server.
pub const SUSDB: [ExportSpec; 1] = [WSUS_CONFIGURATION];

/// The manifest's file name, next to the exports.
pub const MANIFEST: &str = "exports.csv";

/// What the manifest says about one export file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub rows: u64,
    pub taken: SystemTime,
    pub site_code: String,
}

/// The manifest entry for `path`, when a manifest next to it lists it and is not older than
/// the file (a file renamed into place after the manifest belongs to the next run, whose
/// manifest is not written yet: its entry would describe another file).
pub fn entry(path: &Path) -> Option<Entry> {
    let name = path.file_name()?.to_str()?;
    let manifest = path.with_file_name(MANIFEST);
    let m_time = std::fs::metadata(&manifest)
        .and_then(|m| m.modified())
        .ok()?;
    let f_time = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    if f_time > m_time + Duration::from_secs(2) {
        return None;
    }
    let text = std::fs::read(&manifest).ok()?;
    if text.len() > 64 * 1024 {
        return None;
    }
    let text = String::from_utf8_lossy(&text);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()?
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let col = |n: &str| header.iter().position(|h| h == n);
    let (fc, rc, tc) = (col("file")?, col("rows")?, col("takenutc")?);
    let sc = col("sitecode");
    for line in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.get(fc).is_some_and(|v| v.eq_ignore_ascii_case(name)) {
            let rows = f.get(rc)?.parse().ok()?;
            let taken = crate::time::parse_timestamp(f.get(tc)?)?;
            let taken = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(taken).ok()?);
            return Some(Entry {
                rows,
                taken,
                site_code: sc.and_then(|i| f.get(i)).unwrap_or(&"").to_string(),
            });
        }
    }
    None
}

/// When the export at `path` was taken: its manifest's `TakenUtc` when a manifest lists it,
/// else the file's mtime; `None` when the file's time cannot be read.
pub fn taken(path: &Path) -> Option<SystemTime> {
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    Some(entry(path).map_or(mtime, |e| e.taken))
}

/// Refuses a file whose data rows disagree with its manifest: a truncated or half-copied
/// export is never judged.
pub fn check_rows(path: &Path, rows: u64) -> Result<(), String> {
    match entry(path) {
        Some(e) if e.rows != rows => Err(format!(
            "export incomplete: {} has {rows} rows, its manifest ({MANIFEST}) says {}: not judged until the next complete export",
            path.display(),
            e.rows
        )),
        _ => Ok(()),
    }
}

/// For `config check`: the export exists, is a readable regular file, has the columns, and
/// is younger than `max_age_hours` (by its manifest, else its mtime). `key` names the field.
pub fn check_file(
    path: &Path,
    spec_columns: &[&str],
    key: &str,
    max_age_hours: u64,
) -> Result<(), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("field `{key}`: export {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "field `{key}`: export {} is not a regular file",
            path.display()
        ));
    }
    std::fs::File::open(path)
        .map_err(|e| format!("field `{key}`: export {}: {e}", path.display()))?;
    let header = crate::inventory::header(path).map_err(|e| format!("field `{key}`: {e}"))?;
    let missing: Vec<&str> = spec_columns
        .iter()
        .filter(|c| !header.iter().any(|h| h.eq_ignore_ascii_case(c)))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "field `{key}`: export {} lacks the column{} {} (see examples/exports)",
            path.display(),
            if missing.len() == 1 { "" } else { "s" },
            missing
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(age) = crate::report::ExportAge::of(path, SystemTime::now(), max_age_hours)
        && age.too_old()
    {
        return Err(format!(
            "field `{key}`: export {} was taken {} h ago, over max_export_age_hours {} (is the export job running?)",
            path.display(),
            age.age_h,
            max_age_hours
        ));
    }
    Ok(())
}
