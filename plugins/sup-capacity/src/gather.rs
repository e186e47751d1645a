//! The sup-capacity probe's I/O: clients per scan location from the export (cached while the
//! file is unchanged) and `GetConfig` from every NLB node.

use patchdeck_kit::host::Endpoint;
use patchdeck_kit::http::Http;
use patchdeck_kit::inventory::{self, ExportError};
use patchdeck_kit::time;
use patchdeck_kit::wsus::{self, GetConfigCall};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Clients per scan location, per day of their last scan (so "active" can be judged at any
/// later time from a cached read). Locations are keyed by their endpoint
/// (`http://sup01:8530`) when they parse as a URL, else by the lower-cased text.
#[derive(Debug, Clone, Default)]
pub struct Census {
    pub by_location: BTreeMap<String, BTreeMap<i64, u64>>,
    /// Of those, the clients whose last scan failed the way an overloaded SUP makes it fail:
    /// 0x8024401C (HTTP 408, request timeout) or 0x80244022 (HTTP 503, WsusPool stopped).
    pub failing_by_location: BTreeMap<String, BTreeMap<i64, u64>>,
}

/// The scan errors that are evidence of a SUP failing its clients under load (Windows Update
/// Agent networking error codes: 408 request timeout, 503 service unavailable).
pub const OVERLOAD_CODES: [u32; 2] = [0x8024_401C, 0x8024_4022];

/// The key of a `LastScanPackageLocation`.
pub fn location_key(loc: &str) -> String {
    match Endpoint::parse(loc) {
        Some(e) => e.to_string(),
        None => loc.trim().to_ascii_lowercase(),
    }
}

/// The columns of the kit's scan-status export this probe reads.
pub const COLUMNS: &[&str] = &[
    "ResourceID",
    "LastScanTime",
    "LastScanPackageLocation",
    "LastErrorCode",
];

pub fn census(path: &Path) -> Result<Census, ExportError> {
    let mut c = Census::default();
    let mut seen = HashSet::new();
    inventory::read(path, COLUMNS, |row| {
        let id = row.id(0)?;
        if !seen.insert(id) {
            return Ok(());
        }
        let (Some(t), Some(loc)) = (row.get(1), row.get(2)) else {
            return Ok(());
        };
        let day = time::day(inventory::parse_timestamp(t).ok_or_else(|| {
            row.error(
                1,
                format!("expected a time like 2026-11-20 13:45:12.000, got {t:?}"),
            )
        })?);
        let key = location_key(loc);
        let failing = row
            .get(3)
            .and_then(patchdeck_kit::hresult::parse)
            .is_some_and(|code| OVERLOAD_CODES.contains(&code));
        if failing {
            *c.failing_by_location
                .entry(key.clone())
                .or_default()
                .entry(day)
                .or_default() += 1;
        }
        *c.by_location
            .entry(key)
            .or_default()
            .entry(day)
            .or_default() += 1;
        Ok(())
    })?;
    Ok(c)
}

/// `GetConfig` from each node of each SUP (in config order).
pub fn nodes(http: &Http, sups: &[crate::Sup]) -> Vec<Vec<GetConfigCall>> {
    sups.iter()
        .map(|s| {
            s.nlb_nodes
                .iter()
                .map(|n| wsus::get_config(http, n))
                .collect()
        })
        .collect()
}
