//! Small builders for report parts that every probe writes the same way.

use patchdeck_probe_api::{Detail, Item, Status};
use std::path::Path;
use std::time::SystemTime;

pub fn detail(label: &str, value: impl Into<String>, status: Option<Status>) -> Detail {
    Detail {
        label: label.into(),
        value: value.into(),
        status,
    }
}

pub fn item(
    id: &str,
    title: impl Into<String>,
    status: Status,
    summary: impl Into<String>,
) -> Item {
    Item {
        id: id.into(),
        title: title.into(),
        status,
        summary: summary.into(),
        details: vec![],
        metrics: vec![],
        items: vec![],
    }
}

/// "Export age" of a file: a warning when older than `max_hours` (the export job stopped?).
pub fn export_age(path: &Path, now: SystemTime, max_hours: u64) -> Option<Detail> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let age_h = now
        .duration_since(modified)
        .map_or(0, |d| d.as_secs() / 3600);
    let (status, mut value) = (
        if age_h > max_hours {
            Status::Warning
        } else {
            Status::Ok
        },
        format!("written {age_h} h ago"),
    );
    if status == Status::Warning {
        value.push_str(" (older than max_export_age_hours: is the export job running?)");
    }
    Some(detail("Export age", value, Some(status)))
}

/// Names as detail rows, with a "… N more" row when the list was cut.
pub fn name_list(names: &[String], total: u64) -> Vec<Detail> {
    let mut d: Vec<Detail> = names.iter().map(|n| detail(n, "", None)).collect();
    if total > names.len() as u64 {
        d.push(detail(
            "…",
            format!(
                "{} more",
                crate::threshold::thousands(total - names.len() as u64)
            ),
            None,
        ));
    }
    d
}
