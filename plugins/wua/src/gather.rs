//! Reads a `v_UpdateScanStatus` export into a [`Census`]: what the export says, independent
//! of when it is judged (scan ages are kept as days, so a cached census can be judged later).

use crate::judge::Rules;
use patchdeck_kit::hresult;
use patchdeck_kit::inventory::{self, ExportError};
use patchdeck_kit::report::Names;
use patchdeck_kit::time;
use patchdeck_kit::version::WinVersion;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Names kept for "clients below minimum" (the rest are counted).
pub const LIST_BELOW: usize = 500;
/// Names kept per other group.
pub const LIST_SOME: usize = 50;

/// Why a client's last scan counts as failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Failure {
    /// `LastErrorCode` is not 0 (the HRESULT, as u32).
    Code(u32),
    /// `LastScanState` 5 (failed) or 6 (completed with errors) while `LastErrorCode` is 0.
    State(u8),
}

/// What one export says.
#[derive(Debug, Clone, Default)]
pub struct Census {
    pub clients: u64,
    pub duplicates: u64,
    pub versions: BTreeMap<WinVersion, u64>,
    /// Clients whose LastWUAVersion is not a.b.c.d: name and value.
    pub unparsable: Vec<(String, String)>,
    pub unparsable_count: u64,
    pub no_version: u64,
    pub below_min: Names,
    /// Every client below the expected agent (those below the minimum included).
    pub below_expected: Names,
    pub failures: BTreeMap<Failure, Names>,
    /// Clients per `LastScanState` 0..=6; index 7 counts NULL or values outside 0..=6.
    pub states: [u64; 8],
    /// Clients per day of their last scan (days since the epoch); `None` = never scanned.
    pub scan_days: BTreeMap<Option<i64>, Names>,
}

/// The export's columns this probe reads (the kit's scan-status export, less the SUP column).
pub const COLUMNS: &[&str] = patchdeck_kit::exports::SCAN_STATUS.columns.split_at(6).0;

/// Reads the export once (streaming; memory grows only with distinct ResourceIDs).
pub fn census(path: &Path, rules: &Rules) -> Result<Census, ExportError> {
    let mut c = Census {
        below_min: Names::new(LIST_BELOW),
        below_expected: Names::new(LIST_BELOW),
        ..Census::default()
    };
    let mut seen: HashSet<i64> = HashSet::new();
    // Few distinct version strings in a fleet: parse each once.
    let mut parsed: HashMap<String, Option<WinVersion>> = HashMap::new();
    let expected = rules.expected.as_ref().map(|(v, _)| *v);
    inventory::read(path, COLUMNS, |row| {
        let id = row.id(0)?;
        if !seen.insert(id) {
            c.duplicates += 1;
            return Ok(());
        }
        c.clients += 1;
        let name = row.get(1).unwrap_or("(no name)");
        let day = match row.get(2) {
            Some(t) => Some(time::day(time::parse_timestamp(t).ok_or_else(|| {
                row.error(
                    2,
                    format!("expected a time like 2026-11-20 13:45:12.000, got {t:?}"),
                )
            })?)),
            None => None,
        };
        c.scan_days
            .entry(day)
            .or_insert_with(|| Names::new(LIST_SOME))
            .push(name);
        let state = row
            .get(3)
            .and_then(|s| s.parse::<u8>().ok())
            .filter(|s| *s <= 6);
        c.states[usize::from(state.unwrap_or(7))] += 1;
        let code = match row.get(4) {
            Some(code) => hresult::parse(code)
                .ok_or_else(|| row.error(4, format!("expected an HRESULT, got {code:?}")))?,
            None => 0,
        };
        let failure = match (code, state) {
            (0, Some(s @ (5 | 6))) => Some(Failure::State(s)),
            (0, _) => None,
            (code, _) => Some(Failure::Code(code)),
        };
        if let Some(f) = failure {
            c.failures
                .entry(f)
                .or_insert_with(|| Names::new(LIST_SOME))
                .push(name);
        }
        let Some(v) = row.get(5) else {
            c.no_version += 1;
            return Ok(());
        };
        let version = match parsed.get(v) {
            Some(p) => *p,
            None => {
                let p = v.parse::<WinVersion>().ok();
                parsed.insert(v.to_owned(), p);
                p
            }
        };
        match version {
            Some(v) => {
                *c.versions.entry(v).or_default() += 1;
                if v < rules.min {
                    c.below_min.push(name);
                }
                if expected.is_some_and(|e| v < e) {
                    c.below_expected.push(name);
                }
            }
            None => {
                c.unparsable_count += 1;
                if c.unparsable.len() < LIST_SOME {
                    c.unparsable.push((name.to_owned(), v.to_owned()));
                }
            }
        }
        Ok(())
    })?;
    Ok(c)
}
