//! Defaults shared by probe configs (as `#[serde(default = "patchdeck_kit::defaults::...")]`),
//! so every probe means the same thing by "the latency warning threshold".

/// Latency warning threshold, ms.
pub fn latency_warn_ms() -> u64 {
    500
}

/// Latency critical threshold, ms.
pub fn latency_crit_ms() -> u64 {
    2000
}

/// Share of clients (percent) that makes a warning.
pub fn warn_percent() -> f64 {
    5.0
}

/// Share of clients (percent) that makes it critical.
pub fn crit_percent() -> f64 {
    20.0
}

/// An export older than this (hours) is a warning: the export job probably stopped.
pub fn max_export_age_hours() -> u64 {
    26
}

pub fn yes() -> bool {
    true
}
