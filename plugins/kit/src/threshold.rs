//! Thresholds shared by probes.

use patchdeck_probe_api::{Metric, Status};

/// Status of a latency against warn/crit limits in milliseconds (strictly above = breach).
pub fn latency(ms: f64, warn_ms: u64, crit_ms: u64) -> Status {
    if ms > crit_ms as f64 {
        Status::Critical
    } else if ms > warn_ms as f64 {
        Status::Warning
    } else {
        Status::Ok
    }
}

/// A latency metric with its Nagios ranges.
pub fn latency_metric(label: &str, ms: f64, warn_ms: u64, crit_ms: u64) -> Metric {
    Metric {
        label: label.to_owned(),
        value: (ms * 10.0).round() / 10.0,
        uom: "ms".into(),
        warn: Some(warn_ms.to_string()),
        crit: Some(crit_ms.to_string()),
        min: Some(0.0),
        max: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_not_breaches() {
        assert_eq!(latency(500.0, 500, 2000), Status::Ok);
        assert_eq!(latency(500.1, 500, 2000), Status::Warning);
        assert_eq!(latency(2000.0, 500, 2000), Status::Warning);
        assert_eq!(latency(2000.1, 500, 2000), Status::Critical);
        assert_eq!(latency_metric("latency", 41.66, 500, 2000).value, 41.7);
    }
}
